"""A population engine for the plastic networks: the seeds of one cell train together as lanes.

Why: :mod:`attnmem.models.plastic_fast` runs one network per core, and a small network's
frame is too little work for a core: its inner loops are 25-100 long, so loop overheads,
per-step Python (~0.3 ms) and the scalar epilogues of the vector loops cost as much as the
arithmetic.  Here L networks of the same shape (the seeds of a cell, each with its own
parameters, Adam state, data stream, curriculum stage and sequence length) advance together,
with the lane axis innermost: every per-synapse array is (row, neuron·L + lane), so each inner
loop runs over n·L independent elements (125-500 long: whole SIMD vectors), and the per-step
Python and the compiled calls are paid once for L networks.

Arithmetic, per lane, is the fast engine's (same equations, same float64, same order within a
frame); see :mod:`attnmem.models.plastic_fast` for the derivation.  What differs:

* no reductions inside the compiled loops: everything in them is elementwise across lanes and
  neurons.  The three sums over neurons (∂λ, ∂u of a layer's input, the readout) are taken per
  lane in a fixed order (``∂u``: i ascending; ∂λ: accumulated per synapse column over frames
  and rows, then summed over neurons), so no reassociation is needed and a lane's bits do not
  depend on its position, on L, or on the other lanes (tests/test_plastic_pop.py);
* under A the parts of ∂W and ∂u that P does not touch are computed in the loop, not by a
  matmul afterwards; static layers (Nonl_RO) are compiled loops, not matmuls;
* sequences of different lengths (lanes at different R) are padded with zero frames at the
  end: the forward pass is causal, and the backward pass starts with ∂L/∂P = 0 and no scored
  frame in the padding, so the padding adds exact zeros to every gradient.

So a lane's gradient equals the fast engine's to ~1e-15 relative (float64 rounding of the
reordered sums), not to the bit; after the cast to the parameters' float32 the gradients are
almost always the same bits, and short curricula follow the same R trajectory
(tests/test_plastic_pop.py checks both on every network type).  A lane's bytes are the same
whichever lanes share its job (tested).

Parameters and Adam state are kept here, in float32 (the torch models' dtype), one column per
lane; the Adam update is torch's (as :func:`attnmem.models.plastic_fast.adam_step`), per lane.
:meth:`Population.store` and :meth:`Population.restore` copy them to and from the lanes'
torch models and optimizers (for checkpoints, stage snapshots and evaluation), bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np
import torch
from torch import nn

from attnmem.models.plastic import Memo, NonlRO, Stack

# FMA contraction only: no reassociation, so the compiler cannot reorder any sum (the loops
# vectorise without it: nothing in them is a reduction).
_JIT = {"cache": True, "fastmath": {"contract"}}

#: Bytes of plastic matrices one checkpoint segment may hold (all lanes), as in plastic_fast.
SEGMENT_BYTES = 512 * 1024


@numba.njit(inline="always", **_JIT)
def _act(acc, use_tanh):  # pragma: no cover
    if use_tanh:
        return 2.0 / (1.0 + np.exp(-2.0 * acc)) - 1.0
    return 1.0 / (1.0 + np.exp(-acc))


@numba.njit(inline="always", **_JIT)
def _spread(u, t, j, lanes, out):  # pragma: no cover
    """out[i·L + l] = u[t, j·L + l]: input j of every lane, once per postsynaptic neuron."""
    n = out.shape[0] // lanes
    base = j * lanes
    for i in range(n):
        for lane in range(lanes):
            out[i * lanes + lane] = u[t, base + lane]


@numba.njit(**_JIT)
def _forward(wt, b, et, keep, u, lanes, multiplicative, use_tanh, h, ckpt, every):  # pragma: no cover
    """Fill h (T, n·L) from u (T, m·L); wt, et (m, n·L); keep (n·L).  Keeps P_t every
    ``every`` frames in ckpt (0: none).  The fast engine's _plastic_forward, lane-innermost."""
    steps = u.shape[0]
    m, width = wt.shape
    p = np.zeros((m, width))
    acc = np.empty(width)
    ub = np.empty(width)
    vb = np.empty(width)
    for k in range(width):
        acc[k] = b[k]
    if steps == 0:
        return
    for j in range(m):
        _spread(u, 0, j, lanes, ub)
        for k in range(width):
            acc[k] += wt[j, k] * ub[k]
    for t in range(steps):
        if every > 0 and t % every == 0:
            c = t // every
            for j in range(m):
                for k in range(width):
                    ckpt[c, j, k] = p[j, k]
        for k in range(width):
            h[t, k] = _act(acc[k], use_tanh)
        if t + 1 == steps:
            break
        for k in range(width):
            acc[k] = b[k]
        for j in range(m):
            _spread(u, t, j, lanes, ub)
            _spread(u, t + 1, j, lanes, vb)
            if multiplicative:
                for k in range(width):
                    q = keep[k] * p[j, k] + et[j, k] * h[t, k] * ub[k]
                    p[j, k] = q
                    acc[k] += wt[j, k] * (1.0 + q) * vb[k]
            else:
                for k in range(width):
                    q = keep[k] * p[j, k] + et[j, k] * h[t, k] * ub[k]
                    p[j, k] = q
                    acc[k] += (wt[j, k] + q) * vb[k]


@numba.njit(**_JIT)
def _backward(
    wt, et, keep, u, h, ckpt, every, grad_h, lanes, multiplicative, use_tanh, need_grad_u,
    grad_u, dwt, db, det, dkeep,
):  # pragma: no cover  # fmt: skip
    """Backward through time, one checkpoint segment at a time (P_t rebuilt from its
    checkpoint by the forward pass's own expression: the same bits).  Accumulates dwt, db,
    det and dkeep (∂λ per synapse column, (n·L): summed over neurons by the caller); writes
    ∂L/∂u into grad_u (T, m·L) if need_grad_u.  Per lane the fast engine's recursion:
        ∂h_t = ∂h_t(above) + (G⊙E) u_t,  ∂a_t = ∂h_t ⊙ f'(a_t),
        ∂u_t = (G⊙E)ᵀ h_t + Weffᵀ ∂a_t,   ∂E += G ⊙ h_t u_tᵀ,  ∂λ += ⟨G, P_t⟩,
        ∂W += ∂a_t u_tᵀ [⊙ (1 + P_t) under M],  G <- λG + ∂a_t u_tᵀ [⊙ W under M]."""
    steps = u.shape[0]
    m, width = wt.shape
    n = width // lanes
    if steps == 0:
        return
    g = np.zeros((m, width))
    seg = np.empty((every, m, width))
    s = np.zeros(width)
    ga = np.empty(width)
    ub = np.empty(width)
    vb = np.empty(width)
    part = np.empty(width)
    segments = (steps + every - 1) // every
    for c in range(segments - 1, -1, -1):
        start = c * every
        stop = min(steps, start + every)
        for j in range(m):
            for k in range(width):
                seg[0, j, k] = ckpt[c, j, k]
        for t in range(start, stop - 1):
            q = t - start
            for j in range(m):
                _spread(u, t, j, lanes, ub)
                for k in range(width):
                    seg[q + 1, j, k] = keep[k] * seg[q, j, k] + et[j, k] * h[t, k] * ub[k]
        for t in range(stop - 1, start - 1, -1):
            q = t - start
            for k in range(width):
                hk = h[t, k]
                gh = grad_h[t, k] + s[k]
                if use_tanh:
                    ga[k] = gh * (1.0 - hk * hk)
                else:
                    ga[k] = gh * hk * (1.0 - hk)
                db[k] += ga[k]
                s[k] = 0.0
            prev = max(t - 1, 0)
            for j in range(m):
                _spread(u, t, j, lanes, ub)
                _spread(u, prev, j, lanes, vb)
                if multiplicative:
                    for k in range(width):
                        gij = g[j, k]
                        pij = seg[q, j, k]
                        det[j, k] += gij * h[t, k] * ub[k]
                        dkeep[k] += gij * pij
                        gw = ga[k] * ub[k]
                        dwt[j, k] += gw * (1.0 + pij)
                        part[k] = gij * et[j, k] * h[t, k] + wt[j, k] * (1.0 + pij) * ga[k]
                        gn = keep[k] * gij + gw * wt[j, k]
                        g[j, k] = gn
                        s[k] += gn * et[j, k] * vb[k]
                else:
                    for k in range(width):
                        gij = g[j, k]
                        pij = seg[q, j, k]
                        det[j, k] += gij * h[t, k] * ub[k]
                        dkeep[k] += gij * pij
                        gw = ga[k] * ub[k]
                        dwt[j, k] += gw
                        part[k] = gij * et[j, k] * h[t, k] + (wt[j, k] + pij) * ga[k]
                        gn = keep[k] * gij + gw
                        g[j, k] = gn
                        s[k] += gn * et[j, k] * vb[k]
                if need_grad_u:
                    base = j * lanes
                    for lane in range(lanes):
                        grad_u[t, base + lane] = 0.0
                    for i in range(n):
                        for lane in range(lanes):
                            grad_u[t, base + lane] += part[i * lanes + lane]


@numba.njit(**_JIT)
def _static_forward(wt, b, u, lanes, out):  # pragma: no cover
    """out (T, n·L) = σ(W u + b) of a static layer; wt (m, n·L), u (T, m·L)."""
    steps = u.shape[0]
    m, width = wt.shape
    acc = np.empty(width)
    ub = np.empty(width)
    for t in range(steps):
        for k in range(width):
            acc[k] = b[k]
        for j in range(m):
            _spread(u, t, j, lanes, ub)
            for k in range(width):
                acc[k] += wt[j, k] * ub[k]
        for k in range(width):
            out[t, k] = 1.0 / (1.0 + np.exp(-acc[k]))


@numba.njit(**_JIT)
def _static_backward(wt, u, out, grad_out, lanes, grad_u, dwt, db):  # pragma: no cover
    """Gradients of a static σ layer: accumulates dwt, db; writes ∂L/∂u (T, m·L)."""
    steps = u.shape[0]
    m, width = wt.shape
    n = width // lanes
    ga = np.empty(width)
    ub = np.empty(width)
    for t in range(steps):
        for k in range(width):
            o = out[t, k]
            ga[k] = grad_out[t, k] * o * (1.0 - o)
            db[k] += ga[k]
        for j in range(m):
            _spread(u, t, j, lanes, ub)
            base = j * lanes
            for lane in range(lanes):
                grad_u[t, base + lane] = 0.0
            for k in range(width):
                dwt[j, k] += ga[k] * ub[k]
            for i in range(n):
                for lane in range(lanes):
                    k = i * lanes + lane
                    grad_u[t, base + lane] += wt[j, k] * ga[k]


@numba.njit(**_JIT)
def _readout(top, wf, bf, frames, scenes, y, count, grad_top, dwf, out, loss, dbf):  # pragma: no cover
    """σ readout and BCE at each lane's scored frames (the last of each of its ``scenes[l]``
    scenes), as the fast engine's _readout_loss: adds to loss (L), dbf (L), dwf (n·L); fills
    grad_top (zero elsewhere) and out (L, S)."""
    lanes = scenes.shape[0]
    n = top.shape[1] // lanes
    grad_top[:] = 0.0
    for lane in range(lanes):
        total = 0.0
        db = 0.0
        for sc in range(scenes[lane]):
            t = sc * frames + frames - 1
            z = bf[lane]
            for i in range(n):
                z += top[t, i * lanes + lane] * wf[i * lanes + lane]
            soft = np.log1p(np.exp(-abs(z)))
            log_p = max(-(max(-z, 0.0) + soft), -100.0)
            log_q = max(-(max(z, 0.0) + soft), -100.0)
            total -= y[lane, sc] * log_p + (1.0 - y[lane, sc]) * log_q
            o = 1.0 / (1.0 + np.exp(-z)) if z >= 0 else np.exp(z) / (1.0 + np.exp(z))
            out[lane, sc] = o
            gz = (o - y[lane, sc]) / count[lane]
            db += gz
            for i in range(n):
                k = i * lanes + lane
                grad_top[t, k] = gz * wf[k]
                dwf[k] += gz * top[t, k]
        loss[lane] += total
        dbf[lane] += db


@numba.njit(**_JIT)
def _adam(param, grad, exp_avg, exp_avg_sq, steps, active, lr, beta1, beta2, eps):  # pragma: no cover
    """torch's Adam update (as plastic_fast._adam_update computes it, to the bit) on a
    (numel, L) float32 parameter, lane by lane: lanes not ``active`` are left as they are."""
    numel, lanes = param.shape
    scalars = np.empty((6, lanes), dtype=param.dtype)
    for lane in range(lanes):
        if not active[lane]:
            continue
        steps[lane] += 1.0
        step = float(steps[lane])
        bias_correction1 = 1.0 - beta1**step
        bias_correction2 = 1.0 - beta2**step
        scalars[0, lane] = 1.0 - beta1
        scalars[1, lane] = beta2
        scalars[2, lane] = 1.0 - beta2
        scalars[3, lane] = bias_correction2**0.5
        scalars[4, lane] = eps
        scalars[5, lane] = (lr / bias_correction1) * -1.0
    for lane in range(lanes):
        if not active[lane]:
            continue
        weight, b2, value = scalars[0, lane], scalars[1, lane], scalars[2, lane]
        bc2_sqrt, epsilon, step_size = scalars[3, lane], scalars[4, lane], scalars[5, lane]
        for i in range(numel):
            g = grad[i, lane]
            mo = exp_avg[i, lane]
            mo = mo + weight * (g - mo)
            exp_avg[i, lane] = mo
            v = exp_avg_sq[i, lane] * b2
            v = v + value * g * g
            exp_avg_sq[i, lane] = v
            denom = np.sqrt(v) / bc2_sqrt + epsilon
            param[i, lane] = param[i, lane] + step_size * mo / denom


def _to_lanes(values: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """A (rows·cols, L) parameter (torch's row-major (rows, cols)) as (cols, rows·L) float64:
    transposed, lane-innermost."""
    lanes = values.shape[1]
    return np.ascontiguousarray(
        values.reshape(rows, cols, lanes).transpose(1, 0, 2), dtype=np.float64
    ).reshape(cols, rows * lanes)


def _from_lanes(values: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """The inverse of _to_lanes, cast to float32 (the parameters' dtype): (rows·cols, L)."""
    lanes = values.shape[1] // rows
    out = values.reshape(cols, rows, lanes).transpose(1, 0, 2).reshape(rows * cols, lanes)
    return np.ascontiguousarray(out, dtype=np.float32)


@dataclass
class _Layer:
    """One plastic layer's names and shape."""

    prefix: str
    n_out: int
    n_in: int
    multiplicative: bool
    use_tanh: bool
    memory: bool
    eta: str  # full, neuron or scalar
    raw_decay: bool


def _layers(model: nn.Module) -> tuple[list[_Layer], list[tuple[str, int, int]], bool]:
    """(plastic layers, static layers (prefix, n_out, n_in), parallel branches?) of a model."""

    def describe(prefix, mod, use_tanh, memory=True):
        n_out, n_in = mod.weight.shape
        if mod.eta.dim() == 0:
            eta = "scalar"
        elif mod.eta.shape == mod.weight.shape:
            eta = "full"
        else:
            eta = "neuron"
        return _Layer(prefix, n_out, n_in, mod.kind == "M", use_tanh, memory, eta, mod.raw_decay)

    if isinstance(model, Memo):
        last = len(model.layers) - 1
        plastic = [
            describe(f"layers.{i}", layer, i != last, not (model.dynamic_readout and i > 0))
            for i, layer in enumerate(model.layers)
        ]
        return plastic, [], False
    if isinstance(model, NonlRO):
        statics = [(f"static.{i}", s.out_features, s.in_features) for i, s in enumerate(model.static)]
        return [describe("memory", model.memory, True)], statics, False
    if isinstance(model, Stack):
        plastic = [describe(f"branches.{i}", b, False) for i, b in enumerate(model.branches)]
        return plastic, [], True
    raise TypeError(f"no population engine for {type(model).__name__}")


class Population:
    """L networks of one architecture (the lanes), their float32 parameters and Adam state.

    ``models``: one torch model per lane, all built by the same constructor; their current
    values (and the optimizers' state, if given) are the lanes' starting point."""

    def __init__(
        self,
        models: Sequence[nn.Module],
        optimizers: Sequence[torch.optim.Optimizer] | None = None,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        segment_bytes: int = SEGMENT_BYTES,
    ) -> None:
        self.lanes = len(models)
        self.plastic, self.statics, self.parallel = _layers(models[0])
        self.names = [name for name, _ in models[0].named_parameters()]
        self.shapes = {name: tuple(p.shape) for name, p in models[0].named_parameters()}
        self.lr, self.betas, self.eps = lr, betas, eps
        self.segment_bytes = segment_bytes
        # the parameters that ever get a gradient (Dyn_RO's unused decay does not, as under
        # autograd: Adam never steps it)
        self.trained = [
            n
            for n in self.names
            if not any(
                n == f"{layer.prefix}.decay_logit" and not layer.memory for layer in self.plastic
            )
        ]
        self.restore(models, optimizers)

    # -- parameters and optimizer state ----------------------------------------------------

    def restore(
        self,
        models: Sequence[nn.Module],
        optimizers: Sequence[torch.optim.Optimizer] | None = None,
    ) -> None:
        """Load every lane's parameters (and Adam state) from its model (and optimizer)."""
        self.values = {}
        for name in self.names:
            columns = [dict(m.named_parameters())[name].detach().reshape(-1) for m in models]
            self.values[name] = np.ascontiguousarray(
                torch.stack(columns, dim=1).numpy(), dtype=np.float32
            )
        self.exp_avg = {n: np.zeros_like(self.values[n]) for n in self.trained}
        self.exp_avg_sq = {n: np.zeros_like(self.values[n]) for n in self.trained}
        self.steps = {n: np.zeros(self.lanes, dtype=np.float32) for n in self.trained}
        if optimizers is None:
            return
        for lane, (model, optimizer) in enumerate(zip(models, optimizers, strict=True)):
            params = dict(model.named_parameters())
            for name in self.trained:
                state = optimizer.state.get(params[name], {})
                if not state:
                    continue
                self.exp_avg[name][:, lane] = state["exp_avg"].detach().reshape(-1).numpy()
                self.exp_avg_sq[name][:, lane] = state["exp_avg_sq"].detach().reshape(-1).numpy()
                self.steps[name][lane] = float(state["step"])

    def store(
        self,
        lane: int,
        model: nn.Module,
        optimizer: torch.optim.Optimizer | None = None,
    ) -> None:
        """Copy one lane's parameters (and Adam state, as torch holds it) into its model (and
        optimizer): the torch objects then hold exactly what this lane trained."""
        params = dict(model.named_parameters())
        with torch.no_grad():
            for name in self.names:
                params[name].copy_(torch.from_numpy(self.values[name][:, lane].copy()).reshape(self.shapes[name]))
        if optimizer is None:
            return
        for name in self.trained:
            if self.steps[name][lane] == 0:
                continue
            p = params[name]
            optimizer.state[p] = {
                "step": torch.tensor(float(self.steps[name][lane]), dtype=torch.float32),
                "exp_avg": torch.from_numpy(self.exp_avg[name][:, lane].copy()).reshape(p.shape),
                "exp_avg_sq": torch.from_numpy(self.exp_avg_sq[name][:, lane].copy()).reshape(
                    p.shape
                ),
            }

    # -- one training step -----------------------------------------------------------------

    def _load(self) -> list[dict[str, np.ndarray]]:
        lanes = self.lanes
        loaded = []
        for layer in self.plastic:
            v = self.values
            n, m = layer.n_out, layer.n_in
            weight = v[f"{layer.prefix}.weight"]
            eta = v[f"{layer.prefix}.eta"]
            if layer.eta == "full":
                et = _to_lanes(eta, n, m)
            elif layer.eta == "neuron":
                et = np.ascontiguousarray(
                    np.broadcast_to(eta.astype(np.float64).reshape(1, n * lanes), (m, n * lanes))
                )
            else:
                et = np.ascontiguousarray(
                    np.broadcast_to(np.tile(eta.astype(np.float64)[0], n), (m, n * lanes))
                )
            decay = v[f"{layer.prefix}.decay_logit"]
            if layer.raw_decay:  # HebbFF: the value projected into [0, 1] in place, used as is
                np.clip(decay, np.float32(0.0), np.float32(1.0), out=decay)
                keep = decay[0].astype(np.float64)
                slope = np.ones(lanes)
            else:
                logit = decay[0].astype(np.float64)
                keep = 1.0 / (1.0 + np.exp(-logit))
                slope = keep * (1.0 - keep)
            if not layer.memory:
                keep = np.zeros(lanes)
            loaded.append(
                {
                    "wt": _to_lanes(weight, n, m),
                    "b": v[f"{layer.prefix}.bias"].astype(np.float64).reshape(n * lanes),
                    "et": et,
                    "keep": np.tile(keep, n),
                    "slope": slope,
                }
            )
        statics = []
        for prefix, n, m in self.statics:
            statics.append(
                {
                    "wt": _to_lanes(self.values[f"{prefix}.weight"], n, m),
                    "b": self.values[f"{prefix}.bias"].astype(np.float64).reshape(n * lanes),
                }
            )
        self.readout_w = self.values["readout.weight"].astype(np.float64).reshape(-1)
        self.readout_b = self.values["readout.bias"].astype(np.float64).reshape(lanes)
        return loaded, statics

    def _every(self, steps: int, layer: _Layer) -> int:
        per_frame = 8 * layer.n_out * layer.n_in * self.lanes
        return max(1, min(max(steps, 1), self.segment_bytes // per_frame))

    def _forward(self, x, loaded, statics, history=True):
        lanes = self.lanes
        tape = []
        steps = x.shape[0]

        def run(layer, arrays, u):
            h = np.empty((steps, layer.n_out * lanes))
            if history:
                every = self._every(steps, layer)
                ckpt = np.empty((-(-steps // every), layer.n_in, layer.n_out * lanes))
            else:
                every, ckpt = 0, np.empty((0, layer.n_in, layer.n_out * lanes))
            _forward(arrays["wt"], arrays["b"], arrays["et"], arrays["keep"], u, lanes,
                     layer.multiplicative, layer.use_tanh, h, ckpt, every)  # fmt: skip
            tape.append((u, h, every, ckpt))
            return h

        if self.parallel:
            outs = [run(layer, arrays, x) for layer, arrays in zip(self.plastic, loaded, strict=True)]
            return np.concatenate(outs, axis=1), tape, []
        u = x
        for layer, arrays in zip(self.plastic, loaded, strict=True):
            u = run(layer, arrays, u)
        outs = []
        for (_, n, _), arrays in zip(self.statics, statics, strict=True):
            out = np.empty((steps, n * lanes))
            _static_forward(arrays["wt"], arrays["b"], u, lanes, out)
            outs.append((u, out))
            u = out
        return u, tape, outs

    def step(
        self,
        frames: Sequence[np.ndarray],
        labels: Sequence[np.ndarray],
        frames_per_scene: int,
        active: np.ndarray | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """One Adam step of every active lane on its sequences: ``frames[l]`` (B, L_l, d) and
        ``labels[l]`` (B, T_l) of lane l (B sequences; lengths may differ between lanes;
        inactive lanes may pass empty arrays).  Returns each lane's loss (BCE mean over its
        B·T_l scored frames) and its per-sequence accuracies (B,)."""
        lanes = self.lanes
        active = np.ones(lanes, dtype=bool) if active is None else np.asarray(active, dtype=bool)
        loaded, statics = self._load()
        grads = {
            "plastic": [
                {
                    "dwt": np.zeros_like(a["wt"]),
                    "db": np.zeros_like(a["b"]),
                    "det": np.zeros_like(a["wt"]),
                    "dkeep": np.zeros_like(a["b"]),
                }
                for a in loaded
            ],
            "static": [
                {"dwt": np.zeros_like(a["wt"]), "db": np.zeros_like(a["b"])} for a in statics
            ],
        }
        dwf = np.zeros_like(self.readout_w)
        dbf = np.zeros(lanes)
        loss = np.zeros(lanes)
        batch = max((len(f) for f, a in zip(frames, active, strict=True) if a), default=0)
        d = self.plastic[0].n_in
        scenes = np.array(
            [labels[l].shape[1] if active[l] else 0 for l in range(lanes)], dtype=np.int64
        )
        count = np.maximum(scenes * batch, 1).astype(np.float64)
        longest = int(scenes.max()) if lanes else 0
        outputs = np.zeros((batch, lanes, longest))
        for b in range(batch):
            x = np.zeros((longest * frames_per_scene, d, lanes))
            y = np.zeros((lanes, longest))
            for lane in range(lanes):
                if active[lane]:
                    length = scenes[lane] * frames_per_scene
                    x[:length, :, lane] = frames[lane][b]
                    y[lane, : scenes[lane]] = labels[lane][b]
            x = x.reshape(longest * frames_per_scene, d * lanes)
            top, tape, outs = self._forward(x, loaded, statics)
            grad_top = np.empty_like(top)
            _readout(top, self.readout_w, self.readout_b, frames_per_scene, scenes, y, count,
                     grad_top, dwf, outputs[b], loss, dbf)  # fmt: skip
            self._backward(grad_top, tape, outs, loaded, statics, grads)
        for lane in range(lanes):
            loss[lane] /= count[lane]
        self._apply(grads, loaded, dwf, dbf, active)
        accuracy = [
            ((outputs[:, lane, : scenes[lane]] >= 0.5) == labels[lane].astype(bool)).mean(axis=1)
            if active[lane]
            else np.zeros(0)
            for lane in range(lanes)
        ]
        return loss, accuracy

    def _backward(self, grad, tape, outs, loaded, statics, grads) -> None:
        lanes = self.lanes
        if self.parallel:
            start = 0
            for layer, arrays, (u, h, every, ckpt), g in zip(
                self.plastic, loaded, tape, grads["plastic"], strict=True
            ):
                width = h.shape[1]
                part = np.ascontiguousarray(grad[:, start : start + width])
                start += width
                _backward(arrays["wt"], arrays["et"], arrays["keep"], u, h, ckpt, every, part,
                          lanes, layer.multiplicative, layer.use_tanh, False, np.empty((0, 0)),
                          g["dwt"], g["db"], g["det"], g["dkeep"])  # fmt: skip
            return
        for k in range(len(self.statics) - 1, -1, -1):
            u, out = outs[k]
            g = grads["static"][k]
            grad_u = np.empty_like(u)
            _static_backward(statics[k]["wt"], u, out, grad, lanes, grad_u, g["dwt"], g["db"])
            grad = grad_u
        for i in range(len(self.plastic) - 1, -1, -1):
            layer, arrays, g = self.plastic[i], loaded[i], grads["plastic"][i]
            u, h, every, ckpt = tape[i]
            grad_u = np.empty_like(u) if i > 0 else np.empty((0, 0))
            _backward(arrays["wt"], arrays["et"], arrays["keep"], u, h, ckpt, every, grad, lanes,
                      layer.multiplicative, layer.use_tanh, i > 0, grad_u, g["dwt"], g["db"],
                      g["det"], g["dkeep"])  # fmt: skip
            grad = grad_u

    def gradients(self, grads, loaded, dwf, dbf) -> dict[str, np.ndarray]:
        """Every parameter's gradient, (numel, L) float64, in torch's layout."""
        lanes = self.lanes
        out = {}
        for layer, arrays, g in zip(self.plastic, loaded, grads["plastic"], strict=True):
            n, m = layer.n_out, layer.n_in
            det = g["det"].reshape(m, n, lanes)
            if layer.eta == "full":
                eta = det.transpose(1, 0, 2).reshape(n * m, lanes)
            elif layer.eta == "neuron":
                eta = det.sum(axis=0)  # rows added in order: per lane, position-free
            else:
                eta = det.reshape(m * n, lanes).sum(axis=0)[None]
            out[f"{layer.prefix}.weight"] = (
                g["dwt"].reshape(m, n, lanes).transpose(1, 0, 2).reshape(n * m, lanes)
            )
            out[f"{layer.prefix}.bias"] = g["db"].reshape(n, lanes)
            out[f"{layer.prefix}.eta"] = eta
            if layer.memory:
                dkeep = g["dkeep"].reshape(n, lanes).sum(axis=0)
                out[f"{layer.prefix}.decay_logit"] = (dkeep * arrays["slope"])[None]
        for (prefix, n, m), g in zip(self.statics, grads["static"], strict=True):
            out[f"{prefix}.weight"] = (
                g["dwt"].reshape(m, n, lanes).transpose(1, 0, 2).reshape(n * m, lanes)
            )
            out[f"{prefix}.bias"] = g["db"].reshape(n, lanes)
        out["readout.weight"] = dwf.reshape(-1, lanes)
        out["readout.bias"] = dbf[None]
        return out

    def _apply(self, grads, loaded, dwf, dbf, active) -> None:
        self.last_grads = self.gradients(grads, loaded, dwf, dbf)
        lr, (beta1, beta2), eps = self.lr, self.betas, self.eps
        for name in self.trained:
            grad = np.ascontiguousarray(self.last_grads[name], dtype=np.float32)
            _adam(self.values[name], grad, self.exp_avg[name], self.exp_avg_sq[name],
                  self.steps[name], active, lr, beta1, beta2, eps)  # fmt: skip

    def flops_per_frame(self) -> int:
        """Floating-point operations of one frame, forward and backward, of one lane."""
        total = 0
        for i, layer in enumerate(self.plastic):
            m = layer.multiplicative
            grad_u = i > 0 and not self.parallel
            total += layer.n_out * layer.n_in * (7 + m + 4 + 16 + 5 * grad_u + 3 * m)
        total += 6 * sum(n * m for _, n, m in self.statics)
        return total + 6 * self.values["readout.weight"].shape[0]
