"""The policies of the attention-PPO study (spec seeds_001 part A, A.3 and A.7.1).

Every policy shares the source's heads: policy Linear(128 -> 256) -> ReLU -> Dropout(0.1) ->
Linear(256 -> actions) and value the same shape with one output, on a shared trunk.  They
differ in how the observation becomes tokens and what the trunk does with them:

- ``attn_faithful``: the published design.  The whole observation goes through one
  Linear(d_obs -> 128) to a *single* token, then 2 self-attention layers (8 heads, dropout 0.1 on
  the attention weights and on the output projection, post-LN residual, no feed-forward
  sublayer) and attention pooling (a learned vector initialised N(0, 1), dropout on the pooling
  weight).  Over one token every softmax is exactly 1, so the "attention" is
  ``x <- LN(x + Dropout(W_o(Dropout(1) * W_v x)))`` and the pooling is ``Dropout(1) * x``: an
  MLP of residual LayerNorm blocks (tests/test_ppo.py proves it).
- ``mlp``: the "without attention" ablation: Linear(d_obs -> 128) straight into the heads
  (the trunk's attention layers and pooling removed, spec A.7.1(b)).
- ``attn_feature_tokens`` (reconstruction): one token per observation feature,
  ``e_i = o_i u_i + c_i + p_i``, then the same trunk; only here do the weights say which
  feature the policy attends to.
- ``attn_history`` (reconstruction): the last ``history`` observations as tokens (zero-padded
  at an episode's start), each through Linear(d_obs -> 128) plus a sinusoidal position code.

:class:`NumpyActor` is the same function in NumPy for acting: at batch size 1 (the faithful
loop acts in one environment for 100k steps) torch's per-call overhead dominated the run.  It
reads the torch module's weights after every update and draws its dropout masks from its own
generator, so acting stays deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

POLICIES = ("attn_faithful", "mlp", "attn_feature_tokens", "attn_history")


@dataclass(frozen=True)
class PolicySettings:
    """The network's shape (spec A.3: d_model 128, 8 heads, 2 layers, hidden 256, dropout 0.1)."""

    policy: str = "attn_faithful"
    d_model: int = 128
    heads: int = 8
    layers: int = 2
    hidden: int = 256
    dropout: float = 0.1
    history: int = 4  # attn_history: observations per input


class Uniforms:
    """Where dropout draws its masks: a NumPy generator (PCG64 fills float32 arrays several
    times faster than torch's CPU generator, which took a third of an update's time)."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def mask(self, shape: torch.Size, p: float) -> Tensor:
        """torch's dropout mask: keep where u >= p, scaled by 1 / (1 - p)."""
        u = self.rng.random(tuple(shape), dtype=np.float32)
        return torch.from_numpy((u >= np.float32(p)) * np.float32(1.0 / (1.0 - p)))

    def head_mask(self, rows: int, heads: int, width: int, p: float) -> Tensor:
        """A [rows, heads] mask, each head's entry repeated over its ``width`` channels."""
        u = self.rng.random((rows, heads), dtype=np.float32)
        keep = (u >= np.float32(p)) * np.float32(1.0 / (1.0 - p))
        return torch.from_numpy(np.repeat(keep, width, axis=1))


class Dropout(nn.Module):
    """torch's dropout, its mask from ``source`` (torch.rand when none is set)."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p
        self.source: Uniforms | None = None

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        if self.source is not None:
            return x * self.source.mask(x.shape, self.p)
        return x * ((torch.rand(x.shape) >= self.p).to(x.dtype) * (1.0 / (1.0 - self.p)))

    def per_head(self, x: Tensor, heads: int) -> Tensor:
        """Dropout of a single-token layer's attention weights (all 1), applied to the
        context: each head's channels of ``x`` [B, d] kept or dropped together.  The same
        draws, in the same order, as dropping the [B, heads, 1, 1] weights themselves."""
        if not self.training or self.p == 0.0:
            return x
        b, width = x.shape[0], x.shape[1] // heads
        if self.source is not None:
            return x * self.source.head_mask(b, heads, width, self.p)
        keep = (torch.rand(b, heads) >= self.p).to(x.dtype) * (1.0 / (1.0 - self.p))
        return x * keep.repeat_interleave(width, dim=1)


class SelfAttentionLayer(nn.Module):
    """The source's SelfAttentionLayer: multi-head attention (biased Q, K, V, O linears, dropout
    on the attention weights) and ``x <- LayerNorm(x + Dropout(out))``; no feed-forward.

    Over one token the softmax of its single score is exactly 1 whatever Q and K are, so unless
    ``full`` is set the layer does not compute them: the same output and the same gradients
    (Q's and K's are exactly zero, and stay None instead).  tests/test_ppo.py checks both paths.
    """

    full = False

    def __init__(self, d_model: int, heads: int, dropout: float):
        super().__init__()
        self.heads, self.d_k = heads, d_model // heads
        self.q, self.k = nn.Linear(d_model, d_model), nn.Linear(d_model, d_model)
        self.v, self.o = nn.Linear(d_model, d_model), nn.Linear(d_model, d_model)
        self.attn_drop, self.out_drop = Dropout(dropout), Dropout(dropout)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The layer's output and its attention weights [B, heads, L, L] (before dropout)."""
        b, length, d = x.shape

        def split(t: Tensor) -> Tensor:
            return t.view(b, length, self.heads, self.d_k).transpose(1, 2)

        v = split(self.v(x))
        if length == 1 and not self.full:
            weights = x.new_ones(b, self.heads, 1, 1)
        else:
            q, k = split(self.q(x)), split(self.k(x))
            weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(self.d_k), dim=-1)
        context = (self.attn_drop(weights) @ v).transpose(1, 2).reshape(b, length, d)
        return self.norm(x + self.out_drop(self.o(context))), weights

    def single(self, x: Tensor) -> Tensor:
        """The layer over one token held as [B, d]: LN(x + Dropout(W_o(Dropout(1) * W_v x)))."""
        context = self.attn_drop.per_head(self.v(x), self.heads)
        return self.norm(x + self.out_drop(self.o(context)))


class AttentionPooling(nn.Module):
    """softmax over the tokens of x . a (a ~ N(0, 1)), dropout on the weights, weighted sum."""

    def __init__(self, d_model: int, dropout: float):
        super().__init__()
        self.query = nn.Parameter(torch.randn(d_model))
        self.drop = Dropout(dropout)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        weights = torch.softmax(x @ self.query, dim=-1)  # [B, L]
        return (self.drop(weights).unsqueeze(-1) * x).sum(1), weights


def sinusoidal(length: int, d_model: int) -> Tensor:
    """The Transformer's sinusoidal position code, [length, d_model]."""
    position = torch.arange(length, dtype=torch.float32).unsqueeze(1)
    rate = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(1e4) / d_model))
    code = torch.zeros(length, d_model)
    code[:, 0::2], code[:, 1::2] = torch.sin(position * rate), torch.cos(position * rate)
    return code


def head(d_model: int, hidden: int, out: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(d_model, hidden), nn.ReLU(), Dropout(dropout), nn.Linear(hidden, out)
    )


class PPOPolicy(nn.Module):
    """Actor and critic sharing one trunk; ``forward(obs) -> (logits, value)``.

    ``obs`` is [B, inputs]: the observation, or for ``attn_history`` the last ``history``
    observations flattened oldest first (:attr:`inputs`).
    """

    def __init__(self, observations: int, actions: int, settings: PolicySettings):
        super().__init__()
        if settings.policy not in POLICIES:
            raise ValueError(f"unknown policy {settings.policy!r}; allowed: {list(POLICIES)}")
        self.settings, self.kind = settings, settings.policy
        self.observations, self.actions = observations, actions
        d, p = settings.d_model, settings.dropout
        self.frames = settings.history if self.kind == "attn_history" else 1
        self.inputs = observations * self.frames
        if self.kind == "attn_feature_tokens":
            self.scale = nn.Parameter(torch.randn(observations, d))  # u_i
            self.offset = nn.Parameter(torch.zeros(observations, d))  # c_i
            self.identity = nn.Parameter(torch.randn(observations, d))  # p_i
        else:
            self.embed = nn.Linear(observations, d)
        if self.kind == "attn_history":
            self.register_buffer("position", sinusoidal(self.frames, d), persistent=False)
        if self.kind != "mlp":
            self.layers = nn.ModuleList(
                SelfAttentionLayer(d, settings.heads, p) for _ in range(settings.layers)
            )
            self.pool = AttentionPooling(d, p)
        self.policy_head = head(d, settings.hidden, actions, p)
        self.value_head = head(d, settings.hidden, 1, p)

    def draw_from(self, source: Uniforms | None) -> None:
        """Make every dropout of the network draw its uniforms from ``source``."""
        for module in self.modules():
            if isinstance(module, Dropout):
                module.source = source

    def tokens(self, obs: Tensor) -> Tensor:
        """[B, L, d_model]: one token (faithful), one per feature, or one per past frame."""
        if self.kind == "attn_feature_tokens":
            return obs.unsqueeze(-1) * self.scale + self.offset + self.identity
        if self.kind == "attn_history":
            frames = obs.view(obs.shape[0], self.frames, self.observations)
            return self.embed(frames) + self.position
        return self.embed(obs).unsqueeze(1)

    def features(self, obs: Tensor) -> tuple[Tensor, list[Tensor]]:
        """The pooled feature [B, d_model] and every attention map (each layer's, then the
        pooling's), before dropout."""
        if self.kind == "mlp":
            return self.embed(obs), []
        if self.kind == "attn_faithful" and not SelfAttentionLayer.full:
            return self._single_token(obs)
        x, maps = self.tokens(obs), []
        for layer in self.layers:
            x, weights = layer(x)
            maps.append(weights)
        pooled, weights = self.pool(x)
        return pooled, [*maps, weights]

    def _single_token(self, obs: Tensor) -> tuple[Tensor, list[Tensor]]:
        """The published design without the tensors a single token makes constant: every
        softmax is 1, so Q, K and the pooling's scores are not computed (the weights are
        returned as the ones they are).  Same outputs, same gradients, half the operations."""
        x = self.embed(obs)
        for layer in self.layers:
            x = layer.single(x)
        ones = x.new_ones(x.shape[0], 1)
        pooled = self.pool.drop(ones) * x
        heads = self.settings.heads
        maps = [x.new_ones(x.shape[0], heads, 1, 1) for _ in self.layers]
        return pooled, [*maps, ones]

    def forward(self, obs: Tensor) -> tuple[Tensor, Tensor]:
        z, _ = self.features(obs)
        return self.policy_head(z), self.value_head(z).squeeze(-1)


def _numpy(t: Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().cpu().numpy().astype(np.float32))


class NumpyActor:
    """The policy's forward pass in NumPy, float32, for acting and evaluating.

    ``forward(obs, rng)`` with a generator applies every dropout of the module in train mode
    (masks ``u >= p`` scaled by 1 / (1 - p), as torch's), without one it is the eval-mode
    function.  Over a single token the attention weights are exactly 1 (softmax of one score),
    so Q and K are not computed there: the same numbers, two matrix products fewer.
    """

    def __init__(self, policy: PPOPolicy):
        self.kind, self.settings = policy.kind, policy.settings
        self.frames, self.observations = policy.frames, policy.observations
        self.load(policy)

    def load(self, policy: PPOPolicy) -> None:
        """Copy the module's current weights (after every update)."""
        w: dict[str, Any] = {}
        with torch.no_grad():
            if self.kind == "attn_feature_tokens":
                w["scale"] = _numpy(policy.scale)
                w["shift"] = _numpy(policy.offset + policy.identity)
            else:
                w["embed"] = (_numpy(policy.embed.weight.T), _numpy(policy.embed.bias))
            if self.kind == "attn_history":
                w["position"] = _numpy(policy.position)
            layers = []
            for layer in getattr(policy, "layers", []):
                # Q, K, V as one product: [d, 3d]
                qkv = torch.cat([layer.q.weight, layer.k.weight, layer.v.weight]).T
                bias = torch.cat([layer.q.bias, layer.k.bias, layer.v.bias])
                layers.append(
                    {
                        "qkv": (_numpy(qkv), _numpy(bias)),
                        "v": (_numpy(layer.v.weight.T), _numpy(layer.v.bias)),
                        "o": (_numpy(layer.o.weight.T), _numpy(layer.o.bias)),
                        "norm": (
                            _numpy(layer.norm.weight),
                            _numpy(layer.norm.bias),
                            float(layer.norm.eps),
                        ),
                    }
                )
            w["layers"] = layers
            if self.kind != "mlp":
                w["query"] = _numpy(policy.pool.query)
            # both heads' first layers as one product: [d, 2 * hidden]
            first = torch.cat([policy.policy_head[0].weight, policy.value_head[0].weight]).T
            first_bias = torch.cat([policy.policy_head[0].bias, policy.value_head[0].bias])
            w["first"] = (_numpy(first), _numpy(first_bias))
            w["pi"] = (_numpy(policy.policy_head[3].weight.T), _numpy(policy.policy_head[3].bias))
            w["v"] = (_numpy(policy.value_head[3].weight.T), _numpy(policy.value_head[3].bias))
        self.w = w

    def forward(
        self, obs: np.ndarray, rng: np.random.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(logits [B, actions], values [B]) for obs [B, inputs]."""
        obs = np.asarray(obs, dtype=np.float32)
        if self.kind in ("attn_faithful", "mlp"):
            return self._single_token(obs, rng)
        return self._tokens(obs, rng)

    def _heads(self, z: np.ndarray, keep: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        w, hidden = self.w, self.settings.hidden
        h = np.maximum(z @ w["first"][0] + w["first"][1], np.float32(0.0))
        if keep is not None:
            h *= keep
        logits = h[:, :hidden] @ w["pi"][0] + w["pi"][1]
        values = (h[:, hidden:] @ w["v"][0] + w["v"][1])[:, 0]
        return logits, values

    @staticmethod
    def _norm(y: np.ndarray, gain: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
        # np.add.reduce: ndarray.mean's Python wrapper cost more than the sum at batch size 1
        d = np.float32(y.shape[-1])
        centred = y - np.add.reduce(y, axis=-1, keepdims=True) / d
        var = np.add.reduce(centred * centred, axis=-1, keepdims=True) / d
        return centred / np.sqrt(var + np.float32(eps)) * gain + bias

    def _single_token(
        self, obs: np.ndarray, rng: np.random.Generator | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The published design and the MLP on [B, d] arrays: every mask of a step from one
        draw (the lean path for acting one step at a time)."""
        w, s = self.w, self.settings
        b, d, heads = obs.shape[0], s.d_model, s.heads
        layers = w["layers"]
        keep = None
        if rng is not None:
            width = len(layers) * (heads + d) + (0 if self.kind == "mlp" else 1) + 2 * s.hidden
            u = rng.random((b, width), dtype=np.float32)
            keep = (u >= np.float32(s.dropout)) * np.float32(1.0 / (1.0 - s.dropout))
        x = obs @ w["embed"][0] + w["embed"][1]
        if self.kind == "mlp":
            return self._heads(x, keep)
        at = 0
        for layer in layers:
            # softmax over one key is exactly 1: the context is the (dropped) 1 times V
            v = x @ layer["v"][0] + layer["v"][1]
            if keep is not None:
                v = (v.reshape(b, heads, d // heads) * keep[:, at : at + heads, None]).reshape(b, d)
                at += heads
            y = v @ layer["o"][0] + layer["o"][1]
            if keep is not None:
                y *= keep[:, at : at + d]
                at += d
            x = self._norm(x + y, *layer["norm"])
        if keep is not None:  # the pooling weight, softmax of one score: 1, then dropout
            x = x * keep[:, at : at + 1]
            at += 1
        return self._heads(x, None if keep is None else keep[:, at:])

    def _tokens(
        self, obs: np.ndarray, rng: np.random.Generator | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Feature and history tokens: real attention over L > 1 tokens."""
        w, s = self.w, self.settings
        p, scale = np.float32(s.dropout), np.float32(1.0 / (1.0 - s.dropout))
        b = obs.shape[0]

        def drop(x: np.ndarray) -> np.ndarray:
            if rng is None:
                return x
            return x * ((rng.random(x.shape, dtype=np.float32) >= p) * scale)

        if self.kind == "attn_feature_tokens":
            x = obs[:, :, None] * w["scale"] + w["shift"]
        else:
            frames = obs.reshape(b, self.frames, self.observations)
            x = frames @ w["embed"][0] + w["embed"][1] + w["position"]
        length, d = x.shape[1], x.shape[2]
        heads, d_k = s.heads, d // s.heads
        for layer in w["layers"]:
            qkv = (x @ layer["qkv"][0] + layer["qkv"][1]).reshape(b, length, 3, heads, d_k)
            q, k, v = (qkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))
            scores = q @ k.transpose(0, 1, 3, 2) / np.float32(math.sqrt(d_k))
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            weights = scores / scores.sum(-1, keepdims=True)
            context = (drop(weights) @ v).transpose(0, 2, 1, 3).reshape(b, length, d)
            x = self._norm(x + drop(context @ layer["o"][0] + layer["o"][1]), *layer["norm"])
        scores = x @ w["query"]
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        pool = scores / scores.sum(-1, keepdims=True)
        z = (drop(pool)[:, :, None] * x).sum(1)
        return self._heads(z, None if rng is None else drop(np.ones((b, 2 * s.hidden), np.float32)))


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def entropy(logits: Tensor) -> Tensor:
    """Entropy of the categorical with these logits, per row."""
    logp = F.log_softmax(logits, dim=-1)
    return -(logp.exp() * logp).sum(-1)
