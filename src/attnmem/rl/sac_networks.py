"""The SAC study's networks (seed000 §3.3): two actors and a twin critic.

- :class:`MLPActor` (the thesis's baseline): Linear(obs -> 256) -> LN -> GELU -> Linear(256 -> act)
  gives the mean; log σ is a free per-dimension parameter, N(log √(2/act), 0.01), clamped to
  [-11, 11]; hidden weights orthogonal (the source's Gram-Schmidt init, spec: orthogonal_ is
  close enough).
- :class:`AttentionActor`: per frame of a ``frames``-frame stack Linear(obs -> 32) -> LN -> GELU,
  then AttentionSplit(32, 256, 4), then Linear(256 -> act) on the last frame; σ = exp(logstd)
  with logstd ~ N(√(2/act), 0.01), neither logged nor clamped (as ran).  Its context (frames × 256)
  is handed back in as the hidden of the next environment step.
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


def orthogonal_hidden(net: nn.Sequential) -> None:
    """Orthogonal weights for every Linear but the last (the source's hidden-layer init)."""
    linears = [m for m in net if isinstance(m, nn.Linear)]
    for layer in linears[:-1]:
        nn.init.orthogonal_(layer.weight)


class MLPActor(nn.Module):
    recurrent = False

    def __init__(
        self,
        observations: int,
        actions: int,
        hidden: tuple[int, ...] = (256,),
        layer_norm: bool = True,
        activation: type = nn.GELU,
        orthogonal: bool = True,
    ):
        super().__init__()
        self.mean = _mlp(observations, hidden, actions, layer_norm, activation)
        if orthogonal:
            orthogonal_hidden(self.mean)
        self.log_std = nn.Parameter(torch.randn(actions) * 0.01 + math.log(math.sqrt(2 / actions)))

    def forward(self, state: Tensor, hidden: Tensor | None = None):
        """-> (mean, log σ, context=None)."""
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
    ):
        super().__init__()
        self.frames, self.context_shape = frames, (frames, heads, hidden // heads)
        self.embed = nn.Sequential(nn.Linear(observations, embed), nn.LayerNorm(embed), nn.GELU())
        self.attention = AttentionSplit(embed, hidden, heads)
        self.out = nn.Linear(hidden, actions)
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
        orthogonal: bool = True,
    ):
        super().__init__()
        self.net = _mlp(inputs, hidden, 1, layer_norm, activation)
        if orthogonal:
            orthogonal_hidden(self.net)


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
