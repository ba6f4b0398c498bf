"""Networks with fast Hebbian plasticity for continual familiarity (spec seed003 §2).

Every plastic layer keeps a matrix P (one per sequence in the batch, zero at the start):
  A (additive):        a = (W + P) u + b
  M (multiplicative):  a = (W ⊙ (1 + P)) u + b     (a synapse with W = 0 stays silent)
and after h = f(a) is computed with the old P:  P <- σ(ℓ) P + η ⊙ (h uᵀ).
η is a full matrix ("full"), one value per postsynaptic neuron ("neuron") or a scalar
("scalar", initialised to -0.5).  Networks: Memo (every layer plastic), Dyn_RO (layers >= 2
use only the previous frame's Hebbian term), Nonl_RO (static readout layers), Stack (parallel
branches), and an exact HebbFF control.
"""

from __future__ import annotations

import itertools
from typing import Literal

import torch
from torch import Tensor, nn

from attnmem.components import pick

Kind = Literal["A", "M"]
EtaMode = Literal["full", "neuron", "scalar"]


def _xavier(*shape: int) -> nn.Parameter:
    weight = torch.empty(*shape)
    nn.init.xavier_normal_(weight)
    return nn.Parameter(weight)


class PlasticLayer(nn.Module):
    """One plastic layer; its P is passed in and returned, so a batch keeps one P per sequence."""

    def __init__(
        self, n_in: int, n_out: int, kind: Kind, eta: EtaMode = "full", raw_decay: bool = False
    ) -> None:
        super().__init__()
        # raw_decay: HebbFF's λ used as is, its value projected into [0, 1], instead of σ(ℓ)
        self.raw_decay = raw_decay
        if kind not in ("A", "M"):
            raise ValueError(f"plasticity kind must be 'A' or 'M', got {kind!r}")
        self.kind = kind
        self.weight = _xavier(n_out, n_in)
        self.bias = _xavier(n_out, 1)
        self.decay_logit = nn.Parameter(torch.tensor(1.0))  # σ(1) ≈ 0.731 at the start
        if eta == "full":
            self.eta = _xavier(n_out, n_in)
        elif eta == "neuron":
            self.eta = _xavier(n_out, 1)
        elif eta == "scalar":
            self.eta = nn.Parameter(torch.tensor(-0.5))
        else:
            raise ValueError(f"eta mode must be 'full', 'neuron' or 'scalar', got {eta!r}")

    def zero_state(self, batch: int) -> Tensor:
        return self.weight.new_zeros(batch, *self.weight.shape)

    def effective_weight(self, plastic: Tensor) -> Tensor:
        """(B, n_out, n_in): W + P (A) or W ⊙ (1 + P) (M)."""
        if self.kind == "A":
            return self.weight + plastic
        return torch.addcmul(self.weight, self.weight, plastic)  # W + W ⊙ P in one op

    def preactivation(self, u: Tensor, plastic: Tensor) -> Tensor:
        """(B, n_out) from u (B, n_in): one batched matmul with the bias folded in."""
        return torch.baddbmm(self.bias, self.effective_weight(plastic), u[:, :, None])[:, :, 0]

    def decay(self) -> Tensor:
        if self.raw_decay:
            # As HebbFF does (update_hebb): the parameter's *value* is clamped into [0, 1] in
            # place before it is used, and the gradient reaches it unmasked.  A clamp inside the
            # graph would pass no gradient once Adam pushed λ past 1, and λ would stay stuck at
            # 1 (no forgetting) for the rest of the run.
            with torch.no_grad():
                self.decay_logit.clamp_(0.0, 1.0)
            return self.decay_logit
        return torch.sigmoid(self.decay_logit)

    def hebbian(self, h: Tensor, u: Tensor) -> Tensor:
        """η ⊙ (h uᵀ), per sequence."""
        return self.eta * (h[:, :, None] * u[:, None, :])

    def updated(self, plastic: Tensor, h: Tensor, u: Tensor, decay: Tensor | None = None) -> Tensor:
        """σ(ℓ) P + η ⊙ (h uᵀ); pass ``decay`` to reuse it across the frames of a sequence."""
        decay = self.decay() if decay is None else decay
        return torch.addcmul(decay * plastic, self.eta, h[:, :, None] * u[:, None, :])


class _Readout(nn.Module):
    def __init__(self, n_in: int) -> None:
        super().__init__()
        self.weight = _xavier(1, n_in)
        self.bias = nn.Parameter(torch.randn(1))

    def forward(self, h: Tensor) -> Tensor:
        """h (..., n) -> (...): applied once to all frames after the recurrent loop."""
        return torch.sigmoid(h @ self.weight[0] + self.bias[0])


class Memo(nn.Module):
    """Every layer plastic; tanh on all layers but the last, which uses σ.  One layer = HebbFF
    with a learned η and λ = σ(ℓ).  With ``dynamic_readout`` this is Dyn_RO: layers >= 2 use
    P(t) = η ⊙ h(t-1) h_prev(t-1)ᵀ, rebuilt every frame, with no memory."""

    def __init__(
        self,
        d: int,
        dims: list[int],
        kinds: list[Kind],
        eta: EtaMode = "full",
        dynamic_readout: bool = False,
    ) -> None:
        super().__init__()
        if len(dims) != len(kinds):
            raise ValueError(f"one plasticity kind per layer: dims {dims}, kinds {kinds}")
        sizes = [d, *dims]
        self.layers = nn.ModuleList(
            PlasticLayer(sizes[i], sizes[i + 1], kinds[i], eta) for i in range(len(dims))
        )
        self.dynamic_readout = dynamic_readout
        self.readout = _Readout(dims[-1])

    def forward(self, x: Tensor, trace: list[dict[str, list[Tensor]]] | None = None) -> Tensor:
        """x: (B, L, d) -> outputs (B, L) in (0, 1), one per frame.

        With ``trace`` (a list), each frame appends {"hidden": [h_l], "plastic": [P_l]}: the
        activities and the plastic matrices each layer used at that frame (before its update).
        """
        # Per-frame work is kept to the recurrence: the readout runs once on all frames, and
        # each decay is computed once per sequence (the loop is bound by per-op overhead).
        plastic = [layer.zero_state(x.shape[0]) for layer in self.layers]
        decays = [layer.decay() for layer in self.layers]
        hidden = []
        last = len(self.layers) - 1
        for u in x.unbind(1):
            if trace is not None:
                trace.append({"hidden": [], "plastic": [p.detach().clone() for p in plastic]})
            for i, layer in enumerate(self.layers):
                a = layer.preactivation(u, plastic[i])
                h = torch.sigmoid(a) if i == last else torch.tanh(a)
                if trace is not None:
                    trace[-1]["hidden"].append(h.detach().clone())
                if self.dynamic_readout and i > 0:
                    plastic[i] = layer.hebbian(h, u)
                else:
                    plastic[i] = layer.updated(plastic[i], h, u, decays[i])
                u = h
            hidden.append(u)
        return self.readout(torch.stack(hidden, dim=1))


def dyn_ro(d: int, dims: list[int], kinds: list[Kind], eta: EtaMode = "full") -> Memo:
    """Dyn_RO: Memo whose layers after the first keep no memory of their own."""
    return Memo(d, dims, kinds, eta, dynamic_readout=True)


class NonlRO(nn.Module):
    """Layer 1 plastic (tanh); later layers static σ(W h + b); then the σ readout."""

    def __init__(self, d: int, dims: list[int], kind: Kind, eta: EtaMode = "full") -> None:
        super().__init__()
        self.memory = PlasticLayer(d, dims[0], kind, eta)
        self.static = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(dims))
        for layer in self.static:
            nn.init.xavier_normal_(layer.weight)
            nn.init.normal_(layer.bias, std=(2 / (layer.out_features + 1)) ** 0.5)
        self.readout = _Readout(dims[-1])

    def forward(self, x: Tensor) -> Tensor:
        plastic = self.memory.zero_state(x.shape[0])
        decay = self.memory.decay()
        hidden = []
        for u in x.unbind(1):
            h = torch.tanh(self.memory.preactivation(u, plastic))
            plastic = self.memory.updated(plastic, h, u, decay)
            hidden.append(h)
        h = torch.stack(hidden, dim=1)
        for layer in self.static:  # static layers have no state: all frames at once
            h = torch.sigmoid(layer(h))
        return self.readout(h)


class Stack(nn.Module):
    """Parallel plastic branches reading x directly; the readout sees [h_1; h_2; ...]."""

    def __init__(self, d: int, dims: list[int], kinds: list[Kind], eta: EtaMode = "full") -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            PlasticLayer(d, n, k, eta) for n, k in zip(dims, kinds, strict=True)
        )
        self.readout = _Readout(sum(dims))

    def forward(self, x: Tensor) -> Tensor:
        plastic = [b.zero_state(x.shape[0]) for b in self.branches]
        decays = [b.decay() for b in self.branches]
        hidden = []
        for u in x.unbind(1):
            hs = []
            for i, branch in enumerate(self.branches):
                h = torch.sigmoid(branch.preactivation(u, plastic[i]))
                plastic[i] = branch.updated(plastic[i], h, u, decays[i])
                hs.append(h)
            hidden.append(torch.cat(hs, dim=-1))
        return self.readout(torch.stack(hidden, dim=1))


class HebbFF(Memo):
    """The exact HebbFF control: Memo [n] additive, scalar η₀ = -5/d, raw λ₀ = 0.99 (its value
    kept in [0, 1] by projection, as HebbFF's update_hebb does), W ~ N(0, 1/d), biases ~ N(0, 1)."""

    def __init__(self, d: int, n: int) -> None:
        super().__init__(d, [n], ["A"], eta="scalar")
        layer = self.layers[0]
        with torch.no_grad():
            layer.weight.normal_(0.0, (1.0 / d) ** 0.5)
            layer.bias.normal_(0.0, 1.0)
            layer.eta.fill_(-5.0 / d)
            layer.decay_logit.fill_(0.99)  # a raw λ here, not a logit
        layer.raw_decay = True


#: Table 1's columns (report of seed 003) and the exact HebbFF control:
#: name -> (family, plasticity of each layer).  "size" counts the plastic neurons (spec §0):
#: FC [n], Nonl [n, n] (its second layer is static), Memo / Dyn / Stack [n/2, n/2], HebbFF [n].
NETWORKS: dict[str, tuple[str, tuple[Kind, ...]]] = {
    "fc_M": ("fc", ("M",)),
    "nonl_M": ("nonl", ("M",)),
    "dyn_MM": ("dyn", ("M", "M")),
    "dyn_MA": ("dyn", ("M", "A")),
    "memo_MM": ("memo", ("M", "M")),
    "memo_MA": ("memo", ("M", "A")),
    "fc_A": ("fc", ("A",)),
    "nonl_A": ("nonl", ("A",)),
    "dyn_AM": ("dyn", ("A", "M")),
    "dyn_AA": ("dyn", ("A", "A")),
    "memo_AM": ("memo", ("A", "M")),
    "memo_AA": ("memo", ("A", "A")),
    "stack_MA": ("stack", ("M", "A")),
    "hebbff": ("hebbff", ("A",)),
}


def build_network(name: str, size: int, d: int = 25, eta: EtaMode = "full") -> nn.Module:
    """One network of the grid with ``size`` plastic neurons."""
    family, kinds = pick(NETWORKS, name, "network")
    if family in ("dyn", "memo", "stack") and size % 2:
        raise ValueError(f"{name} splits its {size} plastic neurons over two layers: use even")
    half = [size // 2, size // 2]
    if family == "fc":
        return Memo(d, [size], list(kinds), eta)
    if family == "nonl":
        return NonlRO(d, [size, size], kinds[0], eta)
    if family == "memo":
        return Memo(d, half, list(kinds), eta)
    if family == "dyn":
        return dyn_ro(d, half, list(kinds), eta)
    if family == "stack":
        return Stack(d, half, list(kinds), eta)
    return HebbFF(d, size)
