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

``dtype="float32"`` runs the same kernels in float32, the source's dtype (PyTorch's default):
1.35-1.76x faster per core (half the bytes per synapse, twice the lanes per vector: the kernels
are bound by loads and stores, not by arithmetic).  Its gradients are the float64 ones within
float32 rounding accumulated over the sequence, and its R trajectory follows the float32
autograd reference's (tests/test_plastic_pop.py); the readout's loss, ∂b_f and ∂λ still
accumulate in float64.

Parameters and Adam state are kept here, in float32 (the torch models' dtype), one column per
lane; the Adam update is torch's (as :func:`attnmem.models.plastic_fast.adam_step`), per lane.
:meth:`Population.store` and :meth:`Population.restore` copy them to and from the lanes'
torch models and optimizers (for checkpoints, stage snapshots and evaluation), bit for bit.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numba
import numpy as np
import torch
from torch import nn

from attnmem.models.plastic import Memo, NonlRO, Stack
from attnmem.models.plastic_fast import (
    FASTMATH,
    checkpoint_interval,
    plastic_backward,
    plastic_forward,
    readout_loss,
    sigmoid,
    torch_mm,
)

# nogil: a job given several threads runs groups of lanes side by side (Python threads, one
# compiled call per group); a lane's arithmetic is the same on any thread, so are its bytes.
# (numba's parallel=True / prange made the kernels it wraps 2-4x slower per lane.)
_JIT = {"cache": True, "fastmath": FASTMATH, "nogil": True}


@numba.njit(inline="always", cache=True)
def _rows(a, lane, s):  # pragma: no cover
    """The first s rows of lane ``lane`` of a (L, T, n) C array as a C-contiguous (s, n) view
    (a[lane, :s] would be typed as any-layout, and the kernels it feeds would not vectorise)."""
    n = a.shape[2]
    return a[lane].ravel()[: s * n].reshape(s, n)


@numba.njit(**_JIT)
def _forward(
    wt, b, et, keep, u, steps, multiplicative, use_tanh, h, ckpt, every
):  # pragma: no cover
    """Every lane's plastic layer forward over its own first steps[l] frames: the fast
    engine's kernel, lane by lane (a lane's arrays are contiguous blocks)."""
    for lane in range(wt.shape[0]):
        s = steps[lane]
        if s == 0:
            continue
        plastic_forward(wt[lane], b[lane], et[lane], keep[lane], _rows(u, lane, s),
                         multiplicative, use_tanh, _rows(h, lane, s), ckpt[lane],
                         every[lane])  # fmt: skip


# Not cached: loaded from numba's on-disk cache this kernel computes other float32 bits than
# freshly compiled (measured: the smoke config's memo runs' losses moved in the 9th digit, and
# a run's bytes depended on whether an earlier job had written the cache), so every process
# compiles it (~1 s) and a run is byte-identical however the cache stands (a test holds it).
@numba.njit(**{**_JIT, "cache": False})
def _backward(
    wt, et, keep, u, h, ckpt, every, grad_h, steps, multiplicative, use_tanh, need_grad_u,
    grad_u, dwt, db, det, dkeep, ga,
):  # pragma: no cover  # fmt: skip
    """Every lane's backward pass: the fast engine's kernel, lane by lane.  Under A the two
    terms it leaves to matmuls (Σ_t ∂a_t u_tᵀ into dwt, Wᵀ∂a_t into grad_u) are the caller's,
    from ∂a_t left in ga."""
    lanes = wt.shape[0]
    for lane in range(lanes):
        s = steps[lane]
        if s == 0:
            continue
        gu = _rows(grad_u, lane, s) if need_grad_u else np.empty((s, 0), wt.dtype)
        dkeep[lane] += plastic_backward(
            wt[lane], et[lane], keep[lane], _rows(u, lane, s), _rows(h, lane, s), ckpt[lane],
            every[lane], _rows(grad_h, lane, s), multiplicative, use_tanh, gu, dwt[lane],
            db[lane], det[lane], _rows(ga, lane, s),
        )  # fmt: skip


@numba.njit(**_JIT)
def _readout(top, wf, bf, idx, scenes, y, count, grad_top, dwf, out, loss, dbf):  # pragma: no cover
    """σ readout and BCE of every lane at its scored frames idx[:scenes[l]]: the fast
    engine's readout_loss, lane by lane; adds to loss, dbf and dwf."""
    for lane in range(top.shape[0]):
        s = scenes[lane]
        if s == 0:
            continue
        total, db = readout_loss(
            top[lane], wf[lane], bf[lane], idx[:s], y[lane][:s], count[lane], grad_top[lane],
            dwf[lane], out[lane][:s],
        )  # fmt: skip
        loss[lane] += total
        dbf[lane] += db


@numba.njit(cache=True, fastmath={"contract"})
def _adam(
    param, grad, exp_avg, exp_avg_sq, steps, active, lr, beta1, beta2, eps
):  # pragma: no cover
    """torch's Adam update on a (L, numel) float32 parameter, lane by lane, as
    plastic_fast._adam_update computes it (to the bit); lanes not ``active`` are left alone."""
    lanes, numel = param.shape
    scalars = np.empty(6, dtype=param.dtype)
    for lane in range(lanes):
        if not active[lane]:
            continue
        steps[lane] += 1.0
        step = float(steps[lane])
        bias_correction1 = 1.0 - beta1**step
        bias_correction2 = 1.0 - beta2**step
        scalars[0] = 1.0 - beta1  # lerp weight
        scalars[1] = beta2
        scalars[2] = 1.0 - beta2  # addcmul value
        scalars[3] = bias_correction2**0.5
        scalars[4] = eps
        scalars[5] = (lr / bias_correction1) * -1.0  # addcdiv value
        weight, b2, value, bc2_sqrt, epsilon, step_size = (
            scalars[0], scalars[1], scalars[2], scalars[3], scalars[4], scalars[5]
        )  # fmt: skip
        for i in range(numel):
            g = grad[lane, i]
            m = exp_avg[lane, i]
            m = m + weight * (g - m)
            exp_avg[lane, i] = m
            v = exp_avg_sq[lane, i] * b2
            v = v + value * g * g
            exp_avg_sq[lane, i] = v
            denom = np.sqrt(v) / bc2_sqrt + epsilon
            param[lane, i] = param[lane, i] + step_size * m / denom


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
        statics = [
            (f"static.{i}", s.out_features, s.in_features) for i, s in enumerate(model.static)
        ]
        return [describe("memory", model.memory, True)], statics, False
    if isinstance(model, Stack):
        plastic = [describe(f"branches.{i}", b, False) for i, b in enumerate(model.branches)]
        return plastic, [], True
    raise TypeError(f"no population engine for {type(model).__name__}")


class Population:
    """L networks of one architecture (the lanes): their float32 parameters and Adam state,
    one row per lane.  ``models`` (one torch model per lane, same constructor) and, if given,
    ``optimizers`` (torch Adam, one per lane) are the lanes' starting point."""

    def __init__(
        self,
        models: Sequence[nn.Module],
        optimizers: Sequence[torch.optim.Optimizer] | None = None,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        threads: int = 1,
        dtype: str = "float64",
    ) -> None:
        self.lanes = len(models)
        if dtype not in ("float64", "float32"):
            raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
        # the dtype of the arithmetic (parameters and Adam state stay float32, as torch's)
        self.dtype = np.dtype(dtype)
        # groups of lanes run side by side on this many threads (each group one compiled call)
        self.threads = max(1, min(int(threads), self.lanes))
        bounds = [round(k * self.lanes / self.threads) for k in range(self.threads + 1)]
        self.groups = list(itertools.pairwise(bounds))
        self.pool = ThreadPoolExecutor(self.threads) if self.threads > 1 else None
        self._buffers: dict[tuple, np.ndarray] = {}
        self.plastic, self.statics, self.parallel = _layers(models[0])
        self.names = [name for name, _ in models[0].named_parameters()]
        self.shapes = {name: tuple(p.shape) for name, p in models[0].named_parameters()}
        self.lr, self.betas, self.eps = lr, betas, eps
        # the parameters that get a gradient: all but Dyn_RO's unused decays (as under
        # autograd, Adam never steps them)
        unused = {f"{layer.prefix}.decay_logit" for layer in self.plastic if not layer.memory}
        self.trained = [n for n in self.names if n not in unused]
        self.restore(models, optimizers)

    # -- parameters and optimizer state, to and from torch ---------------------------------

    def restore(
        self,
        models: Sequence[nn.Module],
        optimizers: Sequence[torch.optim.Optimizer] | None = None,
    ) -> None:
        """Load every lane's parameters (and Adam state) from its model (and optimizer)."""
        params = [dict(m.named_parameters()) for m in models]
        self.values = {
            name: np.stack([p[name].detach().reshape(-1).numpy() for p in params]).astype(
                np.float32
            )
            for name in self.names
        }
        self.exp_avg = {n: np.zeros_like(self.values[n]) for n in self.trained}
        self.exp_avg_sq = {n: np.zeros_like(self.values[n]) for n in self.trained}
        self.steps = {n: np.zeros(self.lanes, dtype=np.float32) for n in self.trained}
        if optimizers is None:
            return
        for lane, optimizer in enumerate(optimizers):
            for name in self.trained:
                state = optimizer.state.get(params[lane][name], {})
                if state:
                    self.exp_avg[name][lane] = state["exp_avg"].reshape(-1).numpy()
                    self.exp_avg_sq[name][lane] = state["exp_avg_sq"].reshape(-1).numpy()
                    self.steps[name][lane] = float(state["step"])

    def store(
        self, lane: int, model: nn.Module, optimizer: torch.optim.Optimizer | None = None
    ) -> None:
        """Copy one lane's parameters (and its Adam state, as torch keeps it) into its model
        (and optimizer): they then hold exactly what this lane trained, bit for bit."""
        params = dict(model.named_parameters())
        with torch.no_grad():
            for name in self.names:
                value = torch.from_numpy(self.values[name][lane].copy())
                params[name].copy_(value.reshape(self.shapes[name]))
        if optimizer is None:
            return
        for name in self.trained:
            if self.steps[name][lane] == 0:
                continue
            shape = self.shapes[name]
            optimizer.state[params[name]] = {
                "step": torch.tensor(float(self.steps[name][lane]), dtype=torch.float32),
                "exp_avg": torch.from_numpy(self.exp_avg[name][lane].copy()).reshape(shape),
                "exp_avg_sq": torch.from_numpy(self.exp_avg_sq[name][lane].copy()).reshape(shape),
            }

    # -- one training step -----------------------------------------------------------------

    def _buffer(self, tag: tuple, shape: tuple) -> np.ndarray:
        """A float64 work array kept from step to step (fresh megabytes every step cost page
        faults).  Its old contents are never read: every kernel reads a lane's first
        steps[l] frames only, which the step writes first."""
        held = self._buffers.get(tag)
        if held is None or held.shape != shape:
            held = self._buffers[tag] = np.empty(shape, self.dtype)
        return held

    def _call(self, kernel, *args) -> None:
        """kernel(*args) over all lanes; arguments that are np.ndarray with a leading lane
        axis are split by lane group, and the groups run on the pool's threads."""
        if self.pool is None:
            kernel(*args)
            return

        def part(lo, hi):
            return [
                a[lo:hi] if isinstance(a, np.ndarray) and a.ndim and a.shape[0] == self.lanes
                else a
                for a in args
            ]  # fmt: skip

        futures = [self.pool.submit(kernel, *part(lo, hi)) for lo, hi in self.groups]
        for future in futures:
            future.result()

    def _load(self) -> tuple[list[dict], list[dict]]:
        """Every layer's numbers in the engine's dtype, as the fast engine loads them: W and E
        transposed, (L, n_in, n_out); b (L, n_out); λ (L,)."""
        lanes, v, dtype = self.lanes, self.values, self.dtype
        loaded = []
        for layer in self.plastic:
            n, m = layer.n_out, layer.n_in
            wt = v[f"{layer.prefix}.weight"].reshape(lanes, n, m).transpose(0, 2, 1)
            eta = v[f"{layer.prefix}.eta"]
            if layer.eta == "full":
                et = eta.reshape(lanes, n, m).transpose(0, 2, 1)
            elif layer.eta == "neuron":
                et = np.broadcast_to(eta.reshape(lanes, 1, n), (lanes, m, n))
            else:
                et = np.broadcast_to(eta.reshape(lanes, 1, 1), (lanes, m, n))
            decay = v[f"{layer.prefix}.decay_logit"]  # (L, 1)
            if layer.raw_decay:  # HebbFF: the value projected into [0, 1] in place, used as is
                np.clip(decay, np.float32(0.0), np.float32(1.0), out=decay)
                keep = decay[:, 0].astype(np.float64)
                slope = np.ones(lanes)
            else:
                keep = 1.0 / (1.0 + np.exp(-decay[:, 0].astype(np.float64)))
                slope = keep * (1.0 - keep)
            if not layer.memory:
                keep = np.zeros(lanes)
            loaded.append(
                {
                    "wt": np.ascontiguousarray(wt, dtype=dtype),
                    "w": v[f"{layer.prefix}.weight"].astype(dtype).reshape(lanes, n, m),
                    "b": v[f"{layer.prefix}.bias"].astype(dtype),
                    "et": np.ascontiguousarray(et, dtype=dtype),
                    "keep": keep.astype(dtype),
                    "slope": slope,
                }
            )
        statics = [
            {
                "w": v[f"{prefix}.weight"].astype(dtype).reshape(lanes, n, m),
                "b": v[f"{prefix}.bias"].astype(dtype),
            }
            for prefix, n, m in self.statics
        ]
        self.wf = v["readout.weight"].astype(dtype)
        self.bf = v["readout.bias"][:, 0].astype(dtype)
        return loaded, statics

    def _forward(self, x, steps, loaded, statics):
        lanes, longest = self.lanes, x.shape[1]
        tape = []

        def run(layer, arrays, u):
            h = self._buffer(("h", layer.prefix), (lanes, longest, layer.n_out))
            every = np.array(
                [checkpoint_interval(max(s, 1), layer.n_out, layer.n_in) for s in steps]
            )
            count = max(-(-max(s, 1) // e) for s, e in zip(steps, every, strict=True))
            ckpt = self._buffer(("ckpt", layer.prefix), (lanes, count, layer.n_in, layer.n_out))
            self._call(_forward, arrays["wt"], arrays["b"], arrays["et"], arrays["keep"], u,
                       steps, layer.multiplicative, layer.use_tanh, h, ckpt, every)  # fmt: skip
            tape.append((u, h, every, ckpt))
            return h

        if self.parallel:
            outs = [run(layer, a, x) for layer, a in zip(self.plastic, loaded, strict=True)]
            return np.concatenate(outs, axis=2), tape, []
        u = x
        for layer, arrays in zip(self.plastic, loaded, strict=True):
            u = run(layer, arrays, u)
        outs = []
        for (_, n, _), arrays in zip(self.statics, statics, strict=True):
            # static layers as the fast engine computes them (a matmul per sequence): the same
            # bits; they are a small part of Nonl_RO's work
            out = np.zeros((lanes, longest, n), self.dtype)
            for k in range(lanes):
                if steps[k]:
                    below = u[k, : steps[k]]
                    out[k, : steps[k]] = sigmoid(torch_mm(below, arrays["w"][k].T) + arrays["b"][k])
            outs.append((u, out))
            u = out
        return u, tape, outs

    def _backward(self, grad, steps, tape, outs, loaded, statics, grads) -> None:
        if self.parallel:
            start = 0
            for layer, arrays, (u, h, every, ckpt), g in zip(
                self.plastic, loaded, tape, grads["plastic"], strict=True
            ):
                width = h.shape[2]
                part = np.ascontiguousarray(grad[:, :, start : start + width])
                start += width
                ga = self._buffer(("ga", layer.prefix), h.shape)
                self._call(_backward, arrays["wt"], arrays["et"], arrays["keep"], u, h, ckpt,
                           every, part, steps, layer.multiplicative, layer.use_tanh, False,
                           np.empty((self.lanes, 0, 0), self.dtype), g["dwt"], g["db"], g["det"],
                           g["dkeep"], ga)  # fmt: skip
                if not layer.multiplicative:
                    self._additive_terms(arrays, u, ga, steps, g["dwt"], None)
            return
        for i in range(len(self.statics) - 1, -1, -1):
            u, out = outs[i]
            g = grads["static"][i]
            grad_u = np.zeros_like(u)
            for k in range(self.lanes):
                s = steps[k]
                if s:
                    grad_a = grad[k, :s] * out[k, :s] * (1.0 - out[k, :s])
                    g["dw"][k] += torch_mm(grad_a.T, u[k, :s])
                    g["db"][k] += grad_a.sum(axis=0)
                    grad_u[k, :s] = torch_mm(grad_a, statics[i]["w"][k])
            grad = grad_u
        for i in range(len(self.plastic) - 1, -1, -1):
            layer, arrays, g = self.plastic[i], loaded[i], grads["plastic"][i]
            u, h, every, ckpt = tape[i]
            grad_u = (
                self._buffer(("grad_u", layer.prefix), u.shape)
                if i > 0
                else np.empty((self.lanes, 0, 0), self.dtype)
            )
            ga = self._buffer(("ga", layer.prefix), h.shape)
            self._call(_backward, arrays["wt"], arrays["et"], arrays["keep"], u, h, ckpt, every,
                       grad, steps, layer.multiplicative, layer.use_tanh, i > 0, grad_u,
                       g["dwt"], g["db"], g["det"], g["dkeep"], ga)  # fmt: skip
            if not layer.multiplicative:
                self._additive_terms(arrays, u, ga, steps, g["dwt"], grad_u if i > 0 else None)
            grad = grad_u

    def _additive_terms(self, arrays, u, ga, steps, dwt, grad_u) -> None:
        """Under A, the parts of ∂W and ∂u that P does not touch, as the fast engine computes
        them (two matmuls per lane, the same calls: the same bits)."""
        for k in range(self.lanes):
            s = steps[k]
            if s:
                dwt[k] += torch_mm(u[k, :s].T, ga[k, :s])
                if grad_u is not None:
                    grad_u[k, :s] += torch_mm(ga[k, :s], arrays["w"][k])

    def step(
        self,
        frames: Sequence[np.ndarray],
        labels: Sequence[np.ndarray],
        frames_per_scene: int,
        active: Sequence[bool] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """One Adam step of every active lane on its own sequences: ``frames[l]`` (B, T_l·F,
        d) and ``labels[l]`` (B, T_l) (lengths may differ between lanes; an inactive lane's
        entries are not read).  Returns each lane's loss (BCE mean over its B·T_l scored
        frames) and its per-sequence accuracies (B,), as the fast engine's step computes them.
        """
        lanes = self.lanes
        active = np.ones(lanes, bool) if active is None else np.asarray(active, dtype=bool)
        loaded, statics = self._load()
        grads = {
            "plastic": [
                {
                    "dwt": np.zeros_like(a["wt"]),
                    "db": np.zeros_like(a["b"]),
                    "det": np.zeros(a["wt"].shape, self.dtype),
                    "dkeep": np.zeros(lanes),
                }
                for a in loaded
            ],
            "static": [{"dw": np.zeros_like(a["w"]), "db": np.zeros_like(a["b"])} for a in statics],
        }
        dwf = np.zeros_like(self.wf)
        dbf = np.zeros(lanes)
        loss = np.zeros(lanes)
        batch = max((len(frames[k]) for k in range(lanes) if active[k]), default=0)
        scenes = np.array(
            [labels[k].shape[1] if active[k] else 0 for k in range(lanes)], dtype=np.int64
        )
        steps = scenes * frames_per_scene
        count = np.maximum(scenes * batch, 1).astype(np.float64)
        longest = int(scenes.max(initial=0))
        idx = np.arange(frames_per_scene - 1, longest * frames_per_scene, frames_per_scene)
        outputs = np.zeros((batch, lanes, longest))
        d = self.plastic[0].n_in
        for b in range(batch):
            x = self._buffer(("x",), (lanes, longest * frames_per_scene, d))
            y = np.zeros((lanes, longest))
            for k in range(lanes):
                if active[k]:
                    x[k, : steps[k]] = frames[k][b]
                    y[k, : scenes[k]] = labels[k][b]
            top, tape, outs = self._forward(x, steps, loaded, statics)
            grad_top = self._buffer(("grad_top",), top.shape)
            _readout(top, self.wf, self.bf, idx, scenes, y, count, grad_top, dwf, outputs[b],
                     loss, dbf)  # fmt: skip
            self._backward(grad_top, steps, tape, outs, loaded, statics, grads)
        loss = loss / count
        self.last_grads = self._gradients(grads, loaded, dwf, dbf)
        (beta1, beta2) = self.betas
        for name in self.trained:
            grad = np.ascontiguousarray(self.last_grads[name], dtype=np.float32)
            _adam(self.values[name], grad, self.exp_avg[name], self.exp_avg_sq[name],
                  self.steps[name], active, self.lr, beta1, beta2, self.eps)  # fmt: skip
        accuracy = [
            ((outputs[:, k, : scenes[k]] >= 0.5) == labels[k].astype(bool)).mean(axis=1)
            if active[k]
            else np.zeros(0)
            for k in range(lanes)
        ]
        return loss, accuracy

    def _gradients(self, grads, loaded, dwf, dbf) -> dict[str, np.ndarray]:
        """Every parameter's gradient, (L, numel) float64 in torch's layout, reduced to η's
        shape as the fast engine reduces it."""
        lanes = self.lanes
        out = {}
        for layer, arrays, g in zip(self.plastic, loaded, grads["plastic"], strict=True):
            de = g["det"].transpose(0, 2, 1)  # (L, n, m)
            if layer.eta == "full":
                eta = de.reshape(lanes, -1)
            elif layer.eta == "neuron":
                eta = np.stack([de[k].sum(axis=1) for k in range(lanes)])
            else:
                eta = np.array([[de[k].sum()] for k in range(lanes)])
            out[f"{layer.prefix}.weight"] = g["dwt"].transpose(0, 2, 1).reshape(lanes, -1)
            out[f"{layer.prefix}.bias"] = g["db"]
            out[f"{layer.prefix}.eta"] = eta
            if layer.memory:
                out[f"{layer.prefix}.decay_logit"] = (g["dkeep"] * arrays["slope"])[:, None]
        for (prefix, _, _), g in zip(self.statics, grads["static"], strict=True):
            out[f"{prefix}.weight"] = g["dw"].reshape(lanes, -1)
            out[f"{prefix}.bias"] = g["db"]
        out["readout.weight"] = dwf
        out["readout.bias"] = dbf[:, None]
        return out

    def flops_per_frame(self) -> int:
        """Floating-point operations of one frame of one lane, forward and backward (the
        count of benchmarks/plasticity_throughput.py)."""
        total = 0
        for i, layer in enumerate(self.plastic):
            m = layer.multiplicative
            grad_u = i > 0 and not self.parallel
            total += layer.n_out * layer.n_in * (7 + m + 4 + 16 + 5 * grad_u + 3 * m)
        total += 6 * sum(n * m for _, n, m in self.statics)
        return total + 6 * self.values["readout.weight"].shape[1]
