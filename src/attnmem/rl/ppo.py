"""PPO for the attention-PPO study (spec seeds_001 part A, A.4), in two modes.

Shared (the source's hard-coded values): Adam lr 3e-4 (no schedule), gamma 0.99, GAE lambda
0.95, clip 0.2, value coefficient 0.5, entropy coefficient 0.01, grad-norm clip 0.5, 4 epochs of
shuffled minibatches of 64 over a 1,000-step rollout, no value clipping, no KL stop, no
observation or reward normalisation.  Loss = -mean(min(rho A, clip(rho, 1 +- eps) A))
+ 0.5 mean((V - R)^2) - 0.01 H[pi], with R = A + V_old (before A is standardised).

- ``faithful``, the published loop: one environment; **reset at the start of every rollout**
  (the episode in progress is dropped); ``done = terminated or truncated`` (time-limit
  truncation is terminal); GAE bootstraps the rollout's last step from the value of the last
  *stored* observation V(o_{n-1}) (not the next one); advantages standardised over the whole
  rollout; dropout active while acting and evaluating (the model is never put in eval mode).
- ``clean``: ``envs`` environments stepped together (``rollout / envs`` steps each), episodes
  continue across rollouts, the last step bootstraps from V(o_n), a truncated step bootstraps
  from the value of its final observation (truncation is not terminal), the policy acts in eval
  mode (no dropout), and advantages are standardised per minibatch (as CleanRL's PPO).

Updates run the torch module in train mode (dropout on) in both modes, as the source's did.
Acting runs :class:`~attnmem.rl.ppo_policies.NumpyActor`, the same function in NumPy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from attnmem.optim import OPTIMIZERS as LIBRARY_OPTIMIZERS
from attnmem.optim import build_optimizer
from attnmem.rl.ppo_policies import (
    NumpyActor,
    PolicySettings,
    PPOPolicy,
    Uniforms,
    log_softmax,
)
from attnmem.run import Diverged

Mode = Literal["faithful", "clean"]
MODES = ("faithful", "clean")
ENVS = ("CartPole-v1", "Acrobot-v1", "MountainCar-v0")
#: Gymnasium's "solved" thresholds (spec A.5)
THRESHOLDS = {"CartPole-v1": 475.0, "Acrobot-v1": -100.0, "MountainCar-v0": -110.0}
#: The least and largest return an episode can have: the normalised area under the curve maps
#: these to 0 and 1.
RETURN_RANGE = {
    "CartPole-v1": (0.0, 500.0),
    "Acrobot-v1": (-500.0, 0.0),
    "MountainCar-v0": (-200.0, 0.0),
}
#: "adam" is torch's Adam as the source used it; the others are the library's optimizers.
OPTIMIZERS = ("adam", *LIBRARY_OPTIMIZERS)
#: Optimizers that treat every weight alone: they can step all parameters as one flat tensor.
ELEMENTWISE = ("adam", "adamw")


class FlatParameters:
    """Every parameter of a module as a view of one flat tensor, its gradient a view of one
    flat gradient (backward accumulates into the views in place).  An elementwise optimizer
    then steps one tensor, and clipping takes one norm: the same update in a few operations
    instead of a few per tensor (a third of a small network's update time went there).
    Per-tensor optimizers (OrthAdam, AdamP project each weight matrix) do not use it."""

    def __init__(self, module: nn.Module):
        params = list(module.parameters())
        total = sum(p.numel() for p in params)
        self.weights = nn.Parameter(torch.zeros(total))
        self.grad = torch.zeros(total)
        self.weights.grad = self.grad
        at = 0
        with torch.no_grad():
            for p in params:
                n = p.numel()
                self.weights[at : at + n].copy_(p.reshape(-1))
                p.data = self.weights.data[at : at + n].view_as(p)
                p.grad = self.grad[at : at + n].view_as(p)
                at += n

    def zero_grad(self) -> None:
        self.grad.zero_()

    def clip(self, max_norm: float) -> None:
        """torch's clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is below 1."""
        scale = (max_norm / (torch.linalg.vector_norm(self.grad) + 1e-6)).clamp(max=1.0)
        self.grad.mul_(scale)


def make_optimizer(
    name: str, params: Sequence[Tensor], lr: float, weight_decay: float
) -> torch.optim.Optimizer:
    if name == "adam":
        if weight_decay:
            raise ValueError("adam takes no weight decay (the source's); use adamw")
        return torch.optim.Adam(params, lr=lr, fused=True)
    return build_optimizer(name, params, lr, weight_decay)


def make_env(env_id: str) -> gym.Env:
    if env_id not in ENVS:
        raise ValueError(f"unknown PPO env {env_id!r}; allowed: {list(ENVS)}")
    # the passive checker only re-validates every step's spaces: measured overhead, no numbers
    return gym.make(env_id, disable_env_checker=True)


@dataclass(frozen=True)
class PPOSettings:
    """One agent: its mode, network, optimizer and PPO hyperparameters (spec A.4)."""

    mode: Mode = "faithful"
    policy: str = "attn_faithful"
    optimizer: str = "adam"
    lr: float = 3e-4
    weight_decay: float = 0.0
    gamma: float = 0.99
    lam: float = 0.95
    clip: float = 0.2
    vf_coef: float = 0.5
    ent_coef: float = 0.01
    max_grad_norm: float = 0.5
    epochs: int = 4
    minibatch: int = 64
    rollout: int = 1000  # environment steps per update (all environments together)
    envs: int = 4  # clean mode only: environments stepped together (faithful: always 1)
    d_model: int = 128
    heads: int = 8
    layers: int = 2
    hidden: int = 256
    dropout: float = 0.1
    history: int = 4

    @property
    def n_envs(self) -> int:
        return 1 if self.mode == "faithful" else self.envs

    @property
    def network(self) -> PolicySettings:
        return PolicySettings(
            self.policy, self.d_model, self.heads, self.layers, self.hidden, self.dropout,
            self.history,
        )  # fmt: skip


class VecEnv:
    """``n`` Gymnasium environments stepped in turn, each reset as soon as its episode ends
    (the observation returned for it is then the next episode's first, and the finished
    episode's last observation is handed back separately).

    Written out instead of gymnasium's SyncVectorEnv: that copies and merges info dicts every
    step, which cost more than CartPole's physics.  ``frames`` > 1 keeps the last ``frames``
    observations per environment (zeros before an episode's first), oldest first.
    """

    def __init__(self, env_id: str, n: int, frames: int = 1):
        self.envs = [make_env(env_id) for _ in range(n)]
        self.frames = frames
        self.observations = self.envs[0].observation_space.shape[0]
        self.actions = int(self.envs[0].action_space.n)
        self.stack = np.zeros((n, frames, self.observations), dtype=np.float32)
        self.returns = np.zeros(n)
        self.lengths = np.zeros(n, dtype=np.int64)

    def _first(self, i: int, obs: np.ndarray) -> None:
        self.stack[i] = 0.0
        self.stack[i, -1] = obs

    def inputs(self) -> np.ndarray:
        """The policy's input per environment, [n, frames * observations]."""
        return self.stack.reshape(len(self.envs), -1).copy()

    def reset(self, seeds: Sequence[int] | None = None) -> np.ndarray:
        for i, env in enumerate(self.envs):
            obs, _ = env.reset(seed=None if seeds is None else int(seeds[i]))
            self._first(i, obs)
        self.returns[:] = 0.0
        self.lengths[:] = 0
        return self.inputs()

    def step(self, actions: np.ndarray) -> dict[str, Any]:
        """Step every environment; ``final`` holds the last input of each episode that ended
        (None for the others), ``episodes`` the (return, length) of each."""
        n = len(self.envs)
        rewards = np.zeros(n, dtype=np.float32)
        terminated = np.zeros(n, dtype=bool)
        truncated = np.zeros(n, dtype=bool)
        final: list[np.ndarray | None] = [None] * n
        episodes = []
        for i, env in enumerate(self.envs):
            obs, reward, term, trunc, _ = env.step(int(actions[i]))
            rewards[i], terminated[i], truncated[i] = reward, term, trunc
            self.returns[i] += reward
            self.lengths[i] += 1
            if self.frames > 1:
                self.stack[i, :-1] = self.stack[i, 1:]
            self.stack[i, -1] = obs
            if term or trunc:
                final[i] = self.stack[i].reshape(-1).copy()
                episodes.append((float(self.returns[i]), int(self.lengths[i])))
                self.returns[i], self.lengths[i] = 0.0, 0
                self._first(i, env.reset()[0])
        return {
            "inputs": self.inputs(),
            "rewards": rewards,
            "terminated": terminated,
            "truncated": truncated,
            "final": final,
            "episodes": episodes,
        }

    def state_dict(self) -> dict[str, Any]:
        # the environments pickle whole (physics state, random generator, step counters)
        return {
            "envs": self.envs,
            "stack": self.stack.copy(),
            "returns": self.returns.copy(),
            "lengths": self.lengths.copy(),
        }

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        self.envs = saved["envs"]
        self.stack[:] = saved["stack"]
        self.returns[:] = saved["returns"]
        self.lengths[:] = saved["lengths"]

    def close(self) -> None:
        for env in self.envs:
            env.close()


def gae(
    rewards: np.ndarray,
    values: np.ndarray,
    next_values: np.ndarray,
    terminal: np.ndarray,
    done: np.ndarray,
    gamma: float,
    lam: float,
) -> np.ndarray:
    """Generalised advantage estimates, [T, n].

    ``next_values[t]`` is the value of step t's successor state, ``terminal[t]`` says it has
    none (no bootstrap), ``done[t]`` that the next step belongs to another episode (the
    recursion stops):  delta_t = r_t + gamma (1 - terminal_t) next_t - V_t,
    A_t = delta_t + gamma lambda (1 - done_t) A_{t+1}.  See :func:`successors` for what each
    mode passes.
    """
    steps = rewards.shape[0]
    advantages = np.zeros(rewards.shape, dtype=np.float64)
    running = np.zeros(rewards.shape[1:], dtype=np.float64)
    for t in reversed(range(steps)):
        delta = rewards[t] + gamma * (1.0 - terminal[t]) * next_values[t] - values[t]
        running = delta + gamma * lam * (1.0 - done[t]) * running
        advantages[t] = running
    return advantages


def successors(
    mode: str,
    values: np.ndarray,
    last_values: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    final_values: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(next_values, terminal, done)`` for :func:`gae`.

    faithful: the successor of step t < T-1 is V_{t+1}, of the last step V_{T-1} itself (the
    source's bootstrap from the last *stored* value), and truncation is terminal.
    clean: the last step's successor is V(o_T) (``last_values``), a truncated step's is the
    value of its final observation (``final_values``), and only termination is terminal.
    """
    done = (terminated | truncated).astype(np.float64)
    if mode == "faithful":
        next_values = np.concatenate([values[1:], values[-1:]])
        return next_values, done, done
    next_values = np.concatenate([values[1:], last_values[None]])
    next_values = np.where(truncated & ~terminated, final_values, next_values)
    return next_values, terminated.astype(np.float64), done


class PPO:
    """Network, optimizer, the acting generators and one update."""

    def __init__(self, observations: int, actions: int, settings: PPOSettings, seed: int):
        if settings.mode not in MODES:
            raise ValueError(f"unknown mode {settings.mode!r}; allowed: {list(MODES)}")
        if settings.rollout % settings.n_envs:
            raise ValueError(f"rollout {settings.rollout} is not a multiple of envs")
        self.settings = settings
        self.policy = PPOPolicy(observations, actions, settings.network)
        self.policy.train()  # never switched off: the update always sees dropout (the source)
        self.actor = NumpyActor(self.policy)
        self.flat = FlatParameters(self.policy) if settings.optimizer in ELEMENTWISE else None
        params = [self.flat.weights] if self.flat else list(self.policy.parameters())
        self.optimizer = make_optimizer(
            settings.optimizer, params, settings.lr, settings.weight_decay
        )
        # acting (faithful dropout masks, action samples) and minibatch order: own streams
        self.rng = np.random.Generator(np.random.PCG64(seed))
        self.shuffle = torch.Generator().manual_seed(seed)
        self.noise = np.random.Generator(np.random.PCG64(seed + 1))  # the update's dropout
        self.policy.draw_from(Uniforms(self.noise))

    @property
    def acting_dropout(self) -> bool:
        return self.settings.mode == "faithful"

    def act(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sampled actions, their log-probabilities and the values, for inputs [B, ...]."""
        logits, values = self.actor.forward(inputs, self.rng if self.acting_dropout else None)
        logp = log_softmax(logits.astype(np.float64))
        cumulative = np.cumsum(np.exp(logp), axis=-1)
        draws = self.rng.random(len(inputs)) * cumulative[:, -1]
        actions = np.minimum((cumulative < draws[:, None]).sum(-1), logits.shape[1] - 1)
        return actions, logp[np.arange(len(actions)), actions], values

    def values(self, inputs: np.ndarray) -> np.ndarray:
        """V of the inputs as the acting policy sees them (used by clean mode's bootstraps)."""
        return self.actor.forward(inputs, self.rng if self.acting_dropout else None)[1]

    def greedy(self, inputs: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        """argmax actions; ``rng`` applies dropout (faithful evaluation), None does not."""
        return self.actor.forward(inputs, rng)[0].argmax(-1)

    def update(self, batch: dict[str, np.ndarray]) -> dict[str, float]:
        """4 epochs of shuffled minibatches over one rollout (flattened [N, ...] arrays);
        returns the last minibatch's losses."""
        s = self.settings
        obs = torch.as_tensor(batch["inputs"], dtype=torch.float32)
        actions = torch.as_tensor(batch["actions"], dtype=torch.long)
        old_logp = torch.as_tensor(batch["logp"], dtype=torch.float32)
        advantages = torch.as_tensor(batch["advantages"], dtype=torch.float32)
        returns = torch.as_tensor(batch["returns"], dtype=torch.float32)
        if s.mode == "faithful":  # standardised once over the whole rollout
            advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        n = obs.shape[0]
        params = list(self.policy.parameters())
        stats: dict[str, Tensor] = {}
        for _ in range(s.epochs):
            order = torch.randperm(n, generator=self.shuffle)
            for start in range(0, n, s.minibatch):
                idx = order[start : start + s.minibatch]
                logits, value = self.policy(obs[idx])
                logp_all = F.log_softmax(logits, dim=-1)
                logp = logp_all.gather(1, actions[idx, None]).squeeze(1)
                ent = -(logp_all.exp() * logp_all).sum(-1).mean()
                adv = advantages[idx]
                if s.mode == "clean" and adv.numel() > 1:
                    adv = (adv - adv.mean()) / (adv.std() + 1e-8)
                ratio = torch.exp(logp - old_logp[idx])
                surrogate = torch.min(ratio * adv, ratio.clamp(1 - s.clip, 1 + s.clip) * adv)
                policy_loss = -surrogate.mean()
                value_loss = (value - returns[idx]).pow(2).mean()
                loss = policy_loss + s.vf_coef * value_loss - s.ent_coef * ent
                if self.flat is not None:
                    self.flat.zero_grad()
                    loss.backward()
                    self.flat.clip(s.max_grad_norm)
                else:
                    self.optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(params, s.max_grad_norm, foreach=True)
                self.optimizer.step()
                stats = {
                    "policy_loss": policy_loss.detach(),
                    "value_loss": value_loss.detach(),
                    "entropy": ent.detach(),
                    "loss": loss.detach(),
                }
        out = {k: float(v) for k, v in stats.items()}
        if not all(math.isfinite(v) for v in out.values()):
            raise Diverged
        self.actor.load(self.policy)
        return out

    def state_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": self.rng.bit_generator.state,
            "shuffle": self.shuffle.get_state(),
            "noise": self.noise.bit_generator.state,
        }

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        self.policy.load_state_dict(saved["policy"])
        self.optimizer.load_state_dict(saved["optimizer"])
        self.rng.bit_generator.state = saved["rng"]
        self.shuffle.set_state(saved["shuffle"])
        self.noise.bit_generator.state = saved["noise"]
        self.actor.load(self.policy)


def collect(agent: PPO, env: VecEnv, inputs: np.ndarray, steps: int) -> dict[str, Any]:
    """One rollout of ``steps`` steps per environment from ``inputs``; returns the flattened
    batch (with advantages and returns), the next inputs and the finished episodes."""
    s = agent.settings
    n = len(env.envs)
    shape = (steps, n)
    stored = np.zeros((*shape, inputs.shape[1]), dtype=np.float32)
    actions = np.zeros(shape, dtype=np.int64)
    logp = np.zeros(shape)
    values = np.zeros(shape)
    rewards = np.zeros(shape)
    terminated = np.zeros(shape, dtype=bool)
    truncated = np.zeros(shape, dtype=bool)
    final_values = np.zeros(shape)
    episodes: list[tuple[float, int]] = []
    for t in range(steps):
        stored[t] = inputs
        actions[t], logp[t], values[t] = agent.act(inputs)
        out = env.step(actions[t])
        rewards[t], terminated[t], truncated[t] = (
            out["rewards"],
            out["terminated"],
            out["truncated"],
        )
        if s.mode == "clean":
            cut = [i for i in range(n) if truncated[t, i] and not terminated[t, i]]
            if cut:
                final_values[t, cut] = agent.values(np.stack([out["final"][i] for i in cut]))
        episodes += out["episodes"]
        inputs = out["inputs"]
    last_values = agent.values(inputs) if s.mode == "clean" else values[-1]
    next_values, terminal, done = successors(
        s.mode, values, last_values, terminated, truncated, final_values
    )
    advantages = gae(rewards, values, next_values, terminal, done, s.gamma, s.lam)
    returns = advantages + values

    def flat(a: np.ndarray) -> np.ndarray:
        # environment-major, so a one-environment rollout keeps its order
        return a.swapaxes(0, 1).reshape(steps * n, *a.shape[2:])

    batch = {
        "inputs": flat(stored),
        "actions": flat(actions),
        "logp": flat(logp),
        "advantages": flat(advantages),
        "returns": flat(returns),
    }
    return {"batch": batch, "inputs": inputs, "episodes": episodes}


def evaluate(
    agent: PPO,
    env_id: str,
    episodes: int,
    seed: int,
    rng: np.random.Generator | None,
    visited: list[np.ndarray] | None = None,
) -> list[float]:
    """Returns of ``episodes`` greedy episodes on their own environments, episode k reset with
    seed ``seed + k``, all stepped together.  ``rng``: faithful evaluation keeps dropout on
    (the source never left train mode); None is eval mode.  ``visited`` collects the inputs
    the policy acted on."""
    env = VecEnv(env_id, episodes, agent.policy.frames)
    inputs = env.reset([seed + k for k in range(episodes)])
    active = np.ones(episodes, dtype=bool)
    returns = np.zeros(episodes)
    while active.any():
        live = np.flatnonzero(active)
        actions = np.zeros(episodes, dtype=np.int64)
        actions[live] = agent.greedy(inputs[live], rng)
        if visited is not None:
            visited.append(inputs[live])
        for i in live:
            obs, reward, term, trunc, _ = env.envs[i].step(int(actions[i]))
            returns[i] += reward
            if env.frames > 1:
                env.stack[i, :-1] = env.stack[i, 1:]
            env.stack[i, -1] = obs
            if term or trunc:
                active[i] = False
        inputs = env.inputs()
    env.close()
    return returns.tolist()


def attention_profile(agent: PPO, inputs: np.ndarray) -> dict[str, list[float]]:
    """Mean attention weight each token receives over ``inputs`` (eval mode, before dropout):
    per self-attention layer (averaged over heads and queries) and for the pooling.  Tokens are
    observation features (attn_feature_tokens), past frames (attn_history) or the single
    token of the published design (weights identically 1); the MLP has none."""
    if agent.policy.kind == "mlp" or len(inputs) == 0:
        return {}
    was_training = agent.policy.training
    agent.policy.eval()
    with torch.inference_mode():
        _, maps = agent.policy.features(torch.as_tensor(inputs, dtype=torch.float32))
    agent.policy.train(was_training)
    profile = {
        f"layer{i + 1}": weights.mean(dim=(0, 1, 2)).tolist() for i, weights in enumerate(maps[:-1])
    }
    profile["pool"] = maps[-1].mean(0).tolist()
    return profile
