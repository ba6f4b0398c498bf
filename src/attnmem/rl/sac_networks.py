"""The SAC study's networks (seed000 §3.3): two actors and a twin critic.

- :class:`MLPActor` (the thesis's baseline): Linear(obs -> 256) -> LN -> GELU -> Linear(256 -> act)
  gives the mean; log σ is a free per-dimension parameter, N(log √(2/act), 0.01), clamped to
  [-11, 11].
- :class:`AttentionActor`: per frame of a ``frames``-frame stack Linear(obs -> 32) -> LN -> GELU,
  then AttentionSplit(32, 256, 4), then Linear(256 -> act) on the last frame; σ = exp(logstd)
  with logstd ~ N(√(2/act), 0.01), neither logged nor clamped (as ran).  Its context (frames × 256)
  is handed back in as the hidden of the next environment step.
- Initialisation (``init``): ``"gram_schmidt"`` is the source's (:func:`gram_schmidt_` on both
  actors' input and mean-head weights and on the critics' hidden weights, the critics' output
  weights N(0, √(2/256))); ``"orthogonal"`` puts ``orthogonal_`` on the hidden weights and
  leaves the rest at PyTorch's default; ``"torch"`` is PyTorch's default throughout.
- :class:`TwinCritic`: two critics Linear(in -> 256) -> LN -> GELU -> Linear(256 -> 1), kept as
  separate modules (so per-tensor optimizers such as OrthAdam see each critic's own tensors) but
  evaluated together with one batched matmul per layer; :class:`StackedTwinCritic` stores the
  same two critics stacked, for elementwise optimizers (the clean mode).

``hidden`` may list several widths and ``layer_norm=False`` drops the norms: the benchmark uses
this to match Stable-Baselines3's default 256 × 256 ReLU networks.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from attnmem.models.attention_split import AttentionSplit


def _mlp(
    inputs: int, hidden: tuple[int, ...], outputs: int, layer_norm: bool, activation: type
) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = inputs
    for size in hidden:
        layers.append(nn.Linear(width, size))
        if layer_norm:
            layers.append(nn.LayerNorm(size))
        layers.append(activation())
        width = size
    layers.append(nn.Linear(width, outputs))
    return nn.Sequential(*layers)


Init = Literal["torch", "orthogonal", "gram_schmidt"]
INITS = ("torch", "orthogonal", "gram_schmidt")


@torch.no_grad()
def gram_schmidt_(weight: Tensor) -> Tensor:
    """The source's ``Orthonorm_weight`` (SAC.py and SAC_Attention.py), in place.

    A N(0, √(2/numel)) draw of the weight's shape is Gram-Schmidt-orthogonalised over its
    *columns* (the source works on the transpose's rows), classically: each column loses its
    projections, computed from its original values, onto the already processed columns, which
    are not normalised until the end; then every column is scaled to unit norm.  The first
    min(in, out) columns come out orthonormal.  The columns beyond ``out`` (a mean head's 256
    columns in R^6) have nothing left to keep: what survives the projections is rounding
    noise amplified by the later projections onto it, so they come out unit-norm in directions
    the rounding decides (here as in the source; the order of the sums differs, so the digits
    do): all of them ± one direction, so the head's outputs tend to move together.  Unit-norm
    columns make a 256 -> 6 head's outputs large: the source's initial action means have an SD
    of about 5, so its first actions are saturated.

    When the first of those columns rounds to exactly zero the source's division makes the
    weights NaN (about one draw in ten for a 256 -> 2 head, none in 300 for 256 -> 6); such a
    network could not have trained, so the draw is repeated until the weights are finite.
    """
    for _ in range(100):
        basis = torch.empty_like(weight).normal_(0, math.sqrt(2 / weight.numel()))
        basis = basis.t().contiguous()  # a strided transpose makes each row product slow
        for i in range(1, basis.shape[0]):
            done = basis[:i]
            basis[i] -= ((done @ basis[i]) / done.square().sum(-1)) @ done
        basis /= basis.square().sum(-1, keepdim=True).sqrt()
        if torch.isfinite(basis).all():
            return weight.copy_(basis.t())
    raise RuntimeError(
        f"no finite Gram-Schmidt init of a {tuple(weight.shape)} weight in 100 draws"
    )


def _init_linears(net: nn.Sequential, init: Init, head: Literal["gram_schmidt", "normal"]) -> None:
    """``init`` on every Linear of ``net``; the last gets ``head`` under ``"gram_schmidt"``
    (the actor's mean head is Gram-Schmidt, the critic's output N(0, √(2/fan_in)) in the
    source) and stays at PyTorch's default under ``"orthogonal"``."""
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; allowed: {list(INITS)}")
    *hidden, last = [m for m in net if isinstance(m, nn.Linear)]
    if init == "orthogonal":
        for layer in hidden:
            nn.init.orthogonal_(layer.weight)
    elif init == "gram_schmidt":
        for layer in hidden:
            gram_schmidt_(layer.weight)
        if head == "gram_schmidt":
            gram_schmidt_(last.weight)
        else:
            nn.init.normal_(last.weight, 0, math.sqrt(2 / last.in_features))


class MLPActor(nn.Module):
    recurrent = False

    def __init__(
        self,
        observations: int,
        actions: int,
        hidden: tuple[int, ...] = (256,),
        layer_norm: bool = True,
        activation: type = nn.GELU,
        init: Init = "orthogonal",
        state_std: bool = False,
    ):
        super().__init__()
        self.actions, self.state_std = actions, state_std
        # the thesis's actor has one free log σ per action; textbook SAC (the reference mode)
        # reads log σ off the state, from a second head on the same trunk (here: the last
        # layer's second half), clamped to [-20, 2] as Tianshou and Spinning Up clamp it
        outputs = 2 * actions if state_std else actions
        self.mean = _mlp(observations, hidden, outputs, layer_norm, activation)
        _init_linears(self.mean, init, head="gram_schmidt")
        if not state_std:
            self.log_std = nn.Parameter(
                torch.randn(actions) * 0.01 + math.log(math.sqrt(2 / actions))
            )

    def forward(self, state: Tensor, hidden: Tensor | None = None):
        """-> (mean, log σ, context=None)."""
        if self.state_std:
            mean, log_std = self.mean(state).split(self.actions, dim=-1)
            return mean, log_std.clamp(-20, 2), None
        return self.mean(state), self.log_std.clamp(-11, 11).expand(state.shape[0], -1), None


class AttentionActor(nn.Module):
    recurrent = True

    def __init__(
        self,
        observations: int,
        actions: int,
        frames: int = 5,
        embed: int = 32,
        hidden: int = 256,
        heads: int = 4,
        init: Init = "torch",
    ):
        super().__init__()
        if init not in ("torch", "gram_schmidt"):
            raise ValueError(f"unknown attention actor init {init!r}: 'torch' or 'gram_schmidt'")
        self.frames, self.context_shape = frames, (frames, heads, hidden // heads)
        self.embed = nn.Sequential(nn.Linear(observations, embed), nn.LayerNorm(embed), nn.GELU())
        if init == "gram_schmidt":  # SAC_Attention.py's Actor: fc1 (the embedding)
            gram_schmidt_(self.embed[0].weight)
        self.attention = AttentionSplit(embed, hidden, heads)
        self.out = nn.Linear(hidden, actions)
        if init == "gram_schmidt":  # ... and fc2 (the mean head)
            gram_schmidt_(self.out.weight)
        self.logstd = nn.Parameter(torch.randn(actions) * 0.01 + math.sqrt(2 / actions))

    def forward(self, stack: Tensor, hidden: Tensor | None = None):
        """(B, frames, obs) and the previous step's context -> (mean, log σ, context)."""
        out, context = self.attention(self.embed(stack), hidden)
        return self.out(out[:, -1]), self.logstd.expand(stack.shape[0], -1), context


class Critic(nn.Module):
    def __init__(
        self,
        inputs: int,
        hidden: tuple[int, ...] = (256,),
        layer_norm: bool = True,
        activation: type = nn.GELU,
        init: Init = "orthogonal",
    ):
        super().__init__()
        self.net = _mlp(inputs, hidden, 1, layer_norm, activation)
        _init_linears(self.net, init, head="normal")


def _twin_layers(
    q1: nn.Sequential, q2: nn.Sequential
) -> tuple[list[str], list[Tensor], list[Tensor]]:
    """-> (kinds, weights, biases): each layer's kind ("linear", "norm" or "act") and, for the
    layers with parameters, both critics' stacked: linear (2, in, out), norm (2, 1, size)."""
    kinds: list[str] = []
    weights: list[Tensor] = []
    biases: list[Tensor] = []
    for first, second in zip(q1, q2, strict=True):
        if isinstance(first, nn.Linear | nn.LayerNorm):
            linear = isinstance(first, nn.Linear)
            weight = torch.stack([first.weight, second.weight])
            kinds.append("linear" if linear else "norm")
            weights.append(weight.transpose(1, 2) if linear else weight.unsqueeze(1))
            biases.append(torch.stack([first.bias, second.bias]).unsqueeze(1))
        else:
            kinds.append("act")
    return kinds, weights, biases


def _twin_forward(
    kinds: list[str],
    weights: Iterable[Tensor],
    biases: Iterable[Tensor],
    activation: nn.Module,
    state: Tensor,
    action: Tensor,
    frozen: bool,
) -> Tensor:
    x = torch.cat([state, action], dim=-1).expand(2, -1, -1)
    params = zip(weights, biases, strict=True)
    for kind in kinds:
        if kind == "act":
            x = activation(x)
            continue
        weight, bias = next(params)
        if frozen:
            weight, bias = weight.detach(), bias.detach()
        if kind == "linear":
            x = torch.baddbmm(bias, x, weight)
        else:
            x = torch.addcmul(bias, F.layer_norm(x, x.shape[-1:]), weight)
    return x.squeeze(-1)


class TwinCritic(nn.Module):
    """Q1 and Q2 of (state, action) as two :class:`Critic` modules, evaluated together with one
    batched matmul per layer.  Each critic keeps its own tensors, so per-tensor optimizers such
    as OrthAdam (the faithful mode) see them; the price is stacking the weights at every call."""

    def __init__(self, inputs: int, **critic):
        super().__init__()
        self.q1, self.q2 = Critic(inputs, **critic), Critic(inputs, **critic)
        layers = self.q1.net
        self.activation = next(m for m in layers if not isinstance(m, nn.Linear | nn.LayerNorm))

    def forward(self, state: Tensor, action: Tensor, frozen: bool = False) -> Tensor:
        """-> (2, B): both critics' values.  ``frozen`` lets gradients reach the inputs only
        (the actor's loss), sparing the weight gradients nobody uses."""
        layers = _twin_layers(self.q1.net, self.q2.net)
        return _twin_forward(*layers, self.activation, state, action, frozen)


class StackedTwinCritic(nn.Module):
    """The same two critics (same initial weights, drawn the same way) stored stacked: each
    layer's weights are one (2, ...) parameter.  Spares :class:`TwinCritic`'s stacking copies
    and their backward; an optimizer then updates both critics as one tensor per layer, which
    is exact for elementwise optimizers such as Adam (the clean mode)."""

    def __init__(self, inputs: int, **critic):
        super().__init__()
        pair = TwinCritic(inputs, **critic)
        self.activation = pair.activation
        self.kinds, weights, biases = _twin_layers(pair.q1.net, pair.q2.net)
        self.weights = nn.ParameterList([w.detach().contiguous() for w in weights])
        self.biases = nn.ParameterList([b.detach().contiguous() for b in biases])

    def forward(self, state: Tensor, action: Tensor, frozen: bool = False) -> Tensor:
        """-> (2, B), as :meth:`TwinCritic.forward`."""
        return _twin_forward(
            self.kinds, self.weights, self.biases, self.activation, state, action, frozen
        )
