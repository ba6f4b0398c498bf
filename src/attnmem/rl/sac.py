"""Soft actor-critic as the thesis ran it (``faithful``), with its bugs fixed (``clean``), and as
textbook SAC for the engine check (``reference``).

Seed000 §3.3.  The thesis's two modes: batch 256, replay 100k, τ 0.005, lr 3e-4, one update per
environment step, tanh-squashed Gaussian policy, twin critics with the minimum, soft target
updates, 5-step returns.

``faithful`` keeps every quirk of the two agents as they ran:
  - OrthAdam (AMSGrad, wd 1e-4) for the actor, each critic and α; α is a raw scalar (init 0.2);
  - log-probabilities are never summed over action dimensions: the critic target, the actor loss
    and the α loss all work per dimension, with the entropy target -|A| per dimension;
  - the n-step window (``store_transition``'s deque) is never cleared at episode ends; each step
    that finds it full stores one transition from its first step, summing rewards up to and
    including the first *later* step that terminated (the first step's own ``done`` is never
    read) and masking the bootstrap there; truncation is not ``done``; the bootstrap is γ¹;
  - the Gram-Schmidt init (:func:`~attnmem.rl.sac_networks.gram_schmidt_`) on both actors'
    input and mean-head weights and on every critic's hidden weights, critic outputs
    N(0, √(2/256)): the initial action means are large and the first actions saturated;
  - MLP agent: critic loss 0.5·MSE, updates once the buffer holds more than 256 transitions, and
    the first critic's target starts from its own random weights (never copied);
  - attention agent: plain MSE, updates after 10,000 transitions, the policy loss is computed on
    the *next* states with the next-actions sampled for the critic target, both with the hidden
    stored for the window's *first* state, and the n-step reward counts the newest reward twice
    (undiscounted the second time).
``clean`` is standard SAC for both actors: Adam, log α, log-probabilities summed, target -|A|,
γⁿ bootstrap with the window flushed at episode ends (bootstrapping through truncation), 0.5·MSE
for both critics, orthogonal critic init, correct targets, policy loss on the sampled states
(each with its own hidden), and the same warm-up (uniform random actions, no updates) for both
actors.

``reference`` is a textbook SAC to check the engine against published curves (anchors.md §2c,
the Additions' Spinning Up runs): the clean code path with the settings of Tianshou's MuJoCo SAC,
whose fixed-α, lr 1e-3 family Spinning Up's published runs share: actor and twin critics of
256 × 256 ReLU without LayerNorm, log σ read off the state (clamped to [-20, 2]), torch's
default init, Adam 1e-3, α fixed at 0.2, 1-step targets, batch 256, replay 1e6, 10,000
uniformly random steps before the first update, one update per step (:data:`REFERENCE`; a
run's ``replay``/``batch``/warm-up settings, the thesis's, do not apply to it).  It answers
"is this SAC healthy?", which neither thesis design can: their 5-step LayerNorm-GELU agents
with a free log σ have no published early curve.

All modes act with the actor in eval mode (no dropout; see :meth:`SAC.act`).  Neither source
says whether the faithful agents acted randomly before their first update; here they act with
their policy from the first step (only updates wait).
"""

from __future__ import annotations

import copy
import math
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
import torch
from torch import Tensor, nn

from attnmem.optim import OrthAdam
from attnmem.rl.sac_networks import (
    AttentionActor,
    Critic,
    MLPActor,
    StackedTwinCritic,
    TwinCritic,
)

Mode = Literal["faithful", "clean", "reference"]
MODES = ("faithful", "clean", "reference")
ACTORS = ("mlp", "attention_split")
ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU}


@dataclass(frozen=True)
class SACSettings:
    mode: Mode = "clean"
    actor: str = "mlp"
    gamma: float = 0.99
    tau: float = 0.005
    batch: int = 256
    replay: int = 100_000
    n_step: int = 5
    lr: float = 3e-4
    weight_decay: float = 1e-4  # OrthAdam's, faithful mode only
    alpha: float = 0.2
    warmup: int | None = None  # None: faithful MLP 256, faithful attention and clean 10,000
    frames: int = 5  # frame stack of the attention actor
    hidden: tuple[int, ...] = (256,)
    layer_norm: bool = True
    activation: str = "gelu"

    @classmethod
    def reference(cls, actor: str = "mlp") -> SACSettings:
        """The reference mode's agent: fixed settings, whatever a run's ``run:`` block says."""
        return cls(mode="reference", actor=actor, **REFERENCE)

    @property
    def learn_alpha(self) -> bool:
        """Faithful and clean tune α; the reference keeps it fixed (its code path, like its
        state-dependent log σ and torch's init, goes with the mode)."""
        return self.mode != "reference"

    @property
    def recurrent(self) -> bool:
        return self.actor == "attention_split"

    @property
    def reads_next_hidden(self) -> bool:
        """Whether updates read the next state's hidden (the faithful attention agent uses the
        first state's: see :meth:`SAC.update`), so whether the replay keeps it."""
        return self.recurrent and self.mode != "faithful"

    @property
    def warmup_transitions(self) -> int:
        if self.warmup is not None:
            return self.warmup
        return 256 if self.mode == "faithful" and self.actor == "mlp" else 10_000


#: Tianshou's MuJoCo SAC (examples/mujoco/mujoco_sac.py at 39acf209, anchors.md §2c): the
#: reference mode's settings.
REFERENCE: dict[str, Any] = {
    "hidden": (256, 256),
    "layer_norm": False,
    "activation": "relu",
    "lr": 1e-3,
    "alpha": 0.2,
    "n_step": 1,
    "batch": 256,
    "replay": 1_000_000,
    "warmup": 10_000,
}


class Transition(NamedTuple):
    state: Tensor
    hidden: Tensor | None
    action: Tensor
    reward: float
    next_state: Tensor
    next_hidden: Tensor | None
    terminated: bool
    truncated: bool


class Stored(NamedTuple):
    """What the replay keeps: an n-step transition with its bootstrap factor."""

    state: Tensor
    hidden: Tensor | None
    action: Tensor
    reward: float
    next_state: Tensor
    next_hidden: Tensor | None
    discount: float  # multiplies (min Q' - α log π') in the target; 0 after termination


class NStep:
    """Turns single steps into n-step transitions, in the faithful or the clean way.

    Its window holds each step's hidden (the actor's input context), so a checkpoint of the
    window carries the first state's hidden that the faithful attention agent's update reads.
    """

    def __init__(self, settings: SACSettings):
        self.n, self.gamma = settings.n_step, settings.gamma
        self.faithful = settings.mode == "faithful"
        self.double_count = self.faithful and settings.recurrent
        self.window: deque[Transition] = deque(maxlen=self.n)

    def _stored(self, items: list[Transition], discount: float) -> Stored:
        """``items[0]``'s state and action, the discounted sum of the items' rewards, and the
        last item's next state."""
        reward = sum(self.gamma**i * t.reward for i, t in enumerate(items))
        first, last = items[0], items[-1]
        return Stored(
            first.state,
            first.hidden,
            first.action,
            reward,
            last.next_state,
            last.next_hidden,
            discount,
        )

    def _faithful(self) -> Stored:
        """The source's ``store_transition`` on a full window (``temp``).

        Its loop adds ``temp[0]``'s reward without reading its ``done``, then stops at (and
        includes) the first later step whose ``done`` is set and stores that step's next state
        and ``done``; ``done`` is ``env.step``'s terminated (truncation only ends the source's
        episode loop and never reaches the buffer).  The target is ``reward + gamma * mask *
        (...)``: γ¹, masked by the stored ``done``.
        """
        items = list(self.window)
        end = next((i for i in range(1, len(items)) if items[i].terminated), len(items) - 1)
        stored = self._stored(items[: end + 1], 0.0 if items[end].terminated else self.gamma)
        if self.double_count:
            # SAC_Attention.py starts the sum from `reward`, the newest step's reward (the
            # argument), whether or not the loop stopped before reaching it
            stored = stored._replace(reward=stored.reward + items[-1].reward)
        return stored

    def push(self, t: Transition) -> list[Stored]:
        self.window.append(t)
        if self.faithful:  # never cleared: windows run on across episode ends
            return [self._faithful()] if len(self.window) == self.n else []
        if t.terminated or t.truncated:
            items = list(self.window)
            self.window.clear()
            out = []
            for start in range(len(items)):
                rest = items[start:]
                discount = 0.0 if t.terminated else self.gamma ** len(rest)
                out.append(self._stored(rest, discount))
            return out
        if len(self.window) < self.n:
            return []
        stored = self._stored(list(self.window), self.gamma**self.n)
        self.window.popleft()
        return [stored]

    def state_dict(self) -> list[Transition]:
        return list(self.window)

    def load_state_dict(self, items: list) -> None:
        self.window = deque((Transition(*t) for t in items), maxlen=self.n)


class Replay:
    """Preallocated ring buffer of n-step transitions.

    With a ``context_shape`` it keeps each transition's hidden, and its next hidden unless
    ``next_hidden`` is false (the faithful attention agent never reads it: half the memory).
    """

    def __init__(
        self, capacity: int, state_shape, actions: int, context_shape=None, next_hidden=True
    ):
        self.capacity, self.size, self.position = capacity, 0, 0
        self.fields: dict[str, Tensor] = {
            "state": torch.zeros(capacity, *state_shape),
            "action": torch.zeros(capacity, actions),
            "reward": torch.zeros(capacity),
            "next_state": torch.zeros(capacity, *state_shape),
            "discount": torch.zeros(capacity),
        }
        if context_shape is not None:
            self.fields["hidden"] = torch.zeros(capacity, *context_shape)
            if next_hidden:
                self.fields["next_hidden"] = torch.zeros(capacity, *context_shape)

    def add(self, item: Stored) -> None:
        i = self.position
        for name, value in item._asdict().items():
            if name in self.fields:
                self.fields[name][i] = value if isinstance(value, Tensor) else float(value)
        self.position = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch: int, generator: torch.Generator) -> dict[str, Tensor]:
        idx = torch.randint(0, self.size, (batch,), generator=generator)
        return {name: values[idx] for name, values in self.fields.items()}

    def state_dict(self) -> dict[str, Any]:
        # only the filled part: a checkpoint early in a run stays small
        filled = min(self.size, self.capacity)
        return {
            "size": self.size,
            "position": self.position,
            "fields": {k: v[:filled].clone() for k, v in self.fields.items()},
        }

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        self.size, self.position = saved["size"], saved["position"]
        for name, values in saved["fields"].items():
            self.fields[name][: values.shape[0]] = values


def squashed_sample(mean: Tensor, log_std: Tensor, faithful: bool = False) -> tuple[Tensor, Tensor]:
    """tanh(N(mean, σ)) and its per-dimension log-probability.

    The tanh correction log(1 - a²) needs a guard for saturated actions.  faithful: the
    source's log(1 - a² + 1e-8), in its order (1 - a² first, so a float32 a = 1 gives log 1e-8
    = -18.4); clean: log1p(-a² + 1e-6) (-13.8 there).
    """
    noise = torch.randn_like(mean)
    action = torch.tanh(mean + log_std.exp() * noise)
    log_prob = (
        -0.5 * noise.square()
        - log_std
        - 0.5 * math.log(2 * math.pi)
        - (
            torch.log(1 - action.square() + 1e-8)
            if faithful
            else torch.log1p(-action.square() + 1e-6)
        )
    )
    return action, log_prob


class SAC(nn.Module):
    """The agent: networks, optimizers, α, and one gradient update."""

    def __init__(self, observations: int, actions: int, settings: SACSettings):
        super().__init__()
        s = self.settings = settings
        self.faithful, self.actions = s.mode == "faithful", actions
        activation = ACTIVATIONS[s.activation]
        # faithful: the source's Gram-Schmidt init in both agents (SAC.py and SAC_Attention.py
        # alike: actor fc1 and fc2, critic fc1, critic fc2 ~ N(0, √(2/256)))
        reference = s.mode == "reference"
        init = "gram_schmidt" if self.faithful else "torch" if reference else "orthogonal"
        if s.recurrent:
            actor_init = "gram_schmidt" if self.faithful else "torch"
            self.actor: nn.Module = AttentionActor(observations, actions, s.frames, init=actor_init)
        else:
            self.actor = MLPActor(
                observations, actions, s.hidden, s.layer_norm, activation, init, reference
            )
        critic = {
            "hidden": s.hidden,
            "layer_norm": s.layer_norm,
            "activation": activation,
            "init": init,
        }
        # faithful: OrthAdam works per tensor, so each critic keeps its own tensors
        twin = TwinCritic if self.faithful else StackedTwinCritic
        self.critic: nn.Module = twin(observations + actions, **critic)
        self.target = copy.deepcopy(self.critic)
        if self.faithful and not s.recurrent:
            # the source never copied critic1 into critic1_target: it starts from its own weights
            self.target.q1 = Critic(observations + actions, **critic)
        self.target.requires_grad_(False)
        if self.faithful:
            self.alpha = nn.Parameter(torch.tensor(s.alpha))

            def make(params):
                return OrthAdam(params, lr=s.lr, weight_decay=s.weight_decay, amsgrad=True)

            # α shares the actor's optimizer: both work tensor by tensor with the same settings,
            # so this equals the source's separate optimizer, one step call cheaper
            self.optimizers = {
                "critic1": make(self.critic.q1.parameters()),
                "critic2": make(self.critic.q2.parameters()),
                "actor": make([*self.actor.parameters(), self.alpha]),
            }
        else:
            self.log_alpha = nn.Parameter(
                torch.tensor(math.log(s.alpha)), requires_grad=s.learn_alpha
            )
            tuned = [self.log_alpha] if s.learn_alpha else []
            self.optimizers = {
                "critic": torch.optim.Adam(self.critic.parameters(), lr=s.lr, fused=True),
                "actor": torch.optim.Adam([*self.actor.parameters(), *tuned], lr=s.lr, fused=True),
            }
        self.target_entropy = -float(actions)
        self.critic_scale = 1.0 if (self.faithful and s.recurrent) else 0.5
        self._critic_params = list(self.critic.parameters())
        self._target_params = list(self.target.parameters())

    def alpha_value(self) -> Tensor:
        return (self.alpha if self.faithful else self.log_alpha.exp()).detach()

    def policy(self, state: Tensor, hidden: Tensor | None = None):
        mean, log_std, context = self.actor(state, hidden)
        action, log_prob = squashed_sample(mean, log_std, self.faithful)
        if not self.faithful:
            log_prob = log_prob.sum(-1, keepdim=True)
        return action, log_prob, context

    @torch.no_grad()
    def act(self, state: Tensor, hidden: Tensor | None, deterministic: bool = False):
        """One observation (or frame stack) -> (action, context for the next step).

        The actor acts in eval mode (no dropout) and is put back as it was: updates train it
        with dropout.  faithful: the source's ``train`` wraps each action in
        ``self.actor.eval()`` ... ``self.actor.train()``.  clean: the same, as standard
        practice does (SB3 collects rollouts with ``set_training_mode(False)``): the behaviour
        policy is the policy itself rather than one dropout draw of it, and the contexts the
        replay stores (and feeds back as hiddens) are deterministic.
        """
        training = self.actor.training
        self.actor.eval()
        hidden = hidden.unsqueeze(0) if hidden is not None else None
        mean, log_std, context = self.actor(state.unsqueeze(0), hidden)
        self.actor.train(training)
        if deterministic:
            action = torch.tanh(mean)
        else:
            action = squashed_sample(mean, log_std)[0]
        return action[0], (context[0] if context is not None else None)

    def _last(self, state: Tensor) -> Tensor:
        """Critics see only the last frame of a stack."""
        return state[:, -1] if self.settings.recurrent else state

    def update(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """One gradient step of critics, actor and α; returns the (detached) losses."""
        s, a, r = batch["state"], batch["action"], batch["reward"].unsqueeze(-1)
        s2, discount = batch["next_state"], batch["discount"].unsqueeze(-1)
        h, h2 = batch.get("hidden"), batch.get("next_hidden")
        alpha = self.alpha_value()
        on_next = self.faithful and self.settings.recurrent
        if on_next:
            # SAC_Attention.py's update: `self.actor(next_state, hiddens)`, where `hiddens` is
            # the hidden stored with the window's first state (`temp[0]` in store_transition);
            # the next-actions are reused, with their gradient, by the policy loss
            a2, logp2, _ = self.policy(s2, h)
        else:
            with torch.no_grad():
                a2, logp2, _ = self.policy(s2, h2)
        with torch.no_grad():
            q_next = self.target(self._last(s2), a2).min(0).values.unsqueeze(-1)
            # faithful: logp2 is per dimension, so the target is (B, |A|) and broadcasts
            target = r + discount * (q_next - alpha * logp2.detach())
        q = self.critic(self._last(s), a).unsqueeze(-1)  # (2, B, 1)
        critic_loss = self.critic_scale * (q - target).square().mean(dim=(1, 2)).sum()
        critic_opts = [v for k, v in self.optimizers.items() if k.startswith("critic")]
        for opt in critic_opts:
            opt.zero_grad(set_to_none=True)
        critic_loss.backward()
        for opt in critic_opts:
            opt.step()

        if on_next:
            states, new_action, log_prob = s2, a2, logp2
        else:
            new_action, log_prob, _ = self.policy(s, h)
            states = s
        q_pi = self.critic(self._last(states), new_action, frozen=True).min(0).values
        actor_loss = (alpha * log_prob - q_pi.unsqueeze(-1)).mean()
        entropy_gap = log_prob.detach() + self.target_entropy
        if self.faithful:
            alpha_loss = (-self.alpha * entropy_gap).mean()
        elif self.settings.learn_alpha:
            alpha_loss = -(self.log_alpha * entropy_gap).mean()
        else:
            alpha_loss = torch.zeros(())
        # one backward for both: the actor loss sees α detached and the α loss sees log π
        # detached, so each gradient is what its own backward would give
        self.optimizers["actor"].zero_grad(set_to_none=True)
        (actor_loss + alpha_loss).backward()
        self.optimizers["actor"].step()

        with torch.no_grad():
            torch._foreach_lerp_(self._target_params, self._critic_params, self.settings.tau)
        return {
            "critic_loss": critic_loss.detach(),
            "actor_loss": actor_loss.detach(),
            "alpha": self.alpha_value(),
        }

    def checkpoint(self) -> dict[str, Any]:
        return {
            "modules": self.state_dict(),
            "optimizers": {k: v.state_dict() for k, v in self.optimizers.items()},
        }

    def restore(self, saved: dict[str, Any]) -> None:
        self.load_state_dict(saved["modules"])
        for name, opt in self.optimizers.items():
            opt.load_state_dict(saved["optimizers"][name])


class FrameStack:
    """The attention actor's last ``frames`` observations; a reset fills it with the first."""

    def __init__(self, frames: int):
        self.frames: deque[Tensor] = deque(maxlen=frames)

    def reset(self, observation: np.ndarray) -> Tensor:
        first = torch.as_tensor(observation, dtype=torch.float32)
        self.frames.extend([first] * self.frames.maxlen)  # type: ignore[list-item]
        return torch.stack(list(self.frames))

    def push(self, observation: np.ndarray) -> Tensor:
        self.frames.append(torch.as_tensor(observation, dtype=torch.float32))
        return torch.stack(list(self.frames))
