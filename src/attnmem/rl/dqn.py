"""The DQN teacher of the teacher study (seed000 §3.2, step 1) and its greedy rollouts.

Both modes share the source's settings: Q = Linear(obs -> 256) -> LayerNorm -> GELU ->
Linear(256 -> actions), OrthAdam (lr 1e-3, wd 1e-4), replay 10,000, batch 128, gamma 0.95, epsilon
1.0 x 0.9995 per update (floor 0.01), one update per environment step once the buffer holds
capacity - 1 transitions, no target network.

- ``faithful`` (the code that produced Table 4): the target is r + gamma * (argmax_a Q(s', a) as a
  *number*) * (1 - done), and episodes end on termination only (truncation is ignored, so a
  MountainCar episode can run for thousands of steps).  Actions lag one step, in training as in
  the rollout: an episode's first action is chosen on its reset state, and the action executed
  at s_k (k >= 1) is the one chosen on s_{k-1} (epsilon-greedy in training, greedy in the
  rollout, where the label stored with s_k is that executed action).
- ``clean`` (thesis Alg. 9): target r + gamma * max_a Q(s', a) * (1 - terminated); an episode
  also ends at truncation (bootstrapping through it); training and rollout act on s_k itself.

The loss is the mean squared TD error (neither source names it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import gymnasium as gym
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from attnmem.optim import OrthAdam

ENVS = ("Acrobot-v1", "CartPole-v1", "MountainCar-v0")
Mode = Literal["faithful", "clean"]
MODES = ("faithful", "clean")


def q_network(observations: int, actions: int, hidden: int = 256) -> nn.Module:
    return nn.Sequential(
        nn.Linear(observations, hidden), nn.LayerNorm(hidden), nn.GELU(), nn.Linear(hidden, actions)
    )


def make_env(env_id: str) -> gym.Env:
    if env_id not in ENVS:
        raise ValueError(f"unknown teacher env {env_id!r}; allowed: {list(ENVS)}")
    return gym.make(env_id)


@dataclass(frozen=True)
class DQNSettings:
    steps: int = 40_000
    replay: int = 10_000
    batch: int = 128
    gamma: float = 0.95
    lr: float = 1e-3
    weight_decay: float = 1e-4
    epsilon_decay: float = 0.9995
    epsilon_floor: float = 0.01
    hidden: int = 256


class Replay:
    """A fixed-size ring buffer of transitions held as tensors."""

    def __init__(self, capacity: int, observations: int):
        self.states = torch.zeros(capacity, observations)
        self.next_states = torch.zeros(capacity, observations)
        self.actions = torch.zeros(capacity, dtype=torch.long)
        self.rewards = torch.zeros(capacity)
        self.terminal = torch.zeros(capacity)
        self.capacity, self.size, self.position = capacity, 0, 0

    def add(self, state, action: int, reward: float, next_state, terminal: bool) -> None:
        i = self.position
        self.states[i] = torch.as_tensor(state)
        self.next_states[i] = torch.as_tensor(next_state)
        self.actions[i], self.rewards[i], self.terminal[i] = action, reward, float(terminal)
        self.position = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch: int, generator: torch.Generator) -> tuple[Tensor, ...]:
        idx = torch.randint(0, self.size, (batch,), generator=generator)
        return (
            self.states[idx],
            self.actions[idx],
            self.rewards[idx],
            self.next_states[idx],
            self.terminal[idx],
        )


def td_target(
    q: nn.Module, rewards: Tensor, next_states: Tensor, terminal: Tensor, gamma: float, mode: Mode
) -> Tensor:
    with torch.no_grad():
        next_q = q(next_states)
        # faithful: the source bootstrapped from the argmax *index*, not the value
        bootstrap = next_q.argmax(dim=1).float() if mode == "faithful" else next_q.max(dim=1).values
    return rewards + gamma * bootstrap * (1.0 - terminal)


def greedy(q: nn.Module, state) -> int:
    with torch.no_grad():
        return int(q(torch.as_tensor(state, dtype=torch.float32).unsqueeze(0)).argmax())


def epsilon_greedy(q: nn.Module, state, epsilon: float, actions: int, rng: torch.Generator) -> int:
    """A uniform random action with probability ``epsilon``, else the greedy one; draws one
    uniform from ``rng``, and one action index when it explores."""
    if torch.rand((), generator=rng).item() < epsilon:
        return int(torch.randint(0, actions, (), generator=rng))
    return greedy(q, state)


def train_dqn(
    env_id: str,
    mode: Mode,
    seed: int,
    settings: DQNSettings,
    log: logging.Logger,
    on_episode: Callable[[int, float], None] | None = None,
    on_update: Callable[[int, float, float], None] | None = None,
) -> nn.Module:
    """Train the teacher; ``on_episode(step, return)`` and ``on_update(step, loss, epsilon)``
    report progress."""
    env = make_env(env_id)
    observations, actions = env.observation_space.shape[0], int(env.action_space.n)
    q = q_network(observations, actions, settings.hidden)
    optimizer = OrthAdam(q.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    replay = Replay(settings.replay, observations)
    rng = torch.Generator().manual_seed(seed)
    epsilon, episode_return = 1.0, 0.0
    # faithful (qlearn.py's train): an episode's first `action` is chosen on its reset state;
    # each step then chooses `next_action` on `state` *before* `state = next_state`, and that is
    # the action executed at the next state: the action at s_k was chosen on s_{k-1}
    lag = mode == "faithful"
    state, _ = env.reset(seed=seed)
    queued = epsilon_greedy(q, state, epsilon, actions, rng) if lag else None
    for step in range(1, settings.steps + 1):
        action = epsilon_greedy(q, state, epsilon, actions, rng) if queued is None else queued
        next_state, reward, terminated, truncated, _ = env.step(action)
        if lag:
            queued = epsilon_greedy(q, state, epsilon, actions, rng)
        replay.add(state, action, float(reward), next_state, terminated)
        episode_return += float(reward)
        if replay.size >= settings.replay - 1:
            states, taken, rewards, nexts, terminal = replay.sample(settings.batch, rng)
            target = td_target(q, rewards, nexts, terminal, settings.gamma, mode)
            predicted = q(states).gather(1, taken.unsqueeze(1)).squeeze(1)
            loss = F.mse_loss(predicted, target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            epsilon = max(settings.epsilon_floor, epsilon * settings.epsilon_decay)
            if on_update is not None:
                on_update(step, loss.item(), epsilon)
        if terminated or (truncated and mode == "clean"):
            if on_episode is not None:
                on_episode(step, episode_return)
            state, _ = env.reset()
            episode_return = 0.0
            if lag:  # the queued action dies with its episode
                queued = epsilon_greedy(q, state, epsilon, actions, rng)
        else:
            state = next_state
    env.close()
    return q


def rollout(
    q: nn.Module, env_id: str, steps: int, mode: Mode, seed: int
) -> tuple[Tensor, Tensor, list[float]]:
    """``steps`` greedy steps: states (steps, obs), labels (steps,) and finished episodes' returns.

    The label of s_k is the action executed at s_k (faithful: the greedy action of s_{k-1}).
    """
    env = make_env(env_id)
    q.eval()
    states = torch.zeros(steps, env.observation_space.shape[0])
    labels = torch.zeros(steps, dtype=torch.long)
    returns, episode_return = [], 0.0
    state, _ = env.reset(seed=seed)
    previous = None
    for k in range(steps):
        best = greedy(q, state)
        action = previous if mode == "faithful" and previous is not None else best
        states[k], labels[k] = torch.as_tensor(state), action
        previous = best
        state, reward, terminated, truncated, _ = env.step(action)
        episode_return += float(reward)
        if terminated or (truncated and mode == "clean"):
            returns.append(episode_return)
            state, _ = env.reset()
            episode_return = 0.0
    env.close()
    return states, labels, returns


def windows(states: Tensor, labels: Tensor, length: int = 10) -> tuple[Tensor, Tensor]:
    """Non-overlapping windows of ``length`` consecutive states (they may cross episodes),
    labelled with the action at each window's last step."""
    n = states.shape[0] // length
    x = states[: n * length].reshape(n, length, states.shape[1])
    return x, labels[length - 1 : n * length : length].clone()
