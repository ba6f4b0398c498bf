"""A fast, exact engine for the plastic networks: hand-derived BPTT in compiled loops.

Why: one frame of these networks is a few thousand multiply-adds, so the autograd loop of
:mod:`attnmem.models.plastic` spends ~95% of its time in per-op overhead (~40 small ops per
frame forward, more backward, 400+ frames per sequence).  Here a whole sequence runs in two
compiled loops per layer (numba, no per-op dispatch), in float64.

The trick that keeps it small: within a frame the layers are feed-forward, and a layer's plastic
matrix depends only on its own input and output.  So each layer runs over *all* frames before
the next one starts (layer 1 over the sequence, then layer 2 over layer 1's outputs, ...), and
the backward pass runs the layers in reverse, each one backwards through time.  Only two kernels
are needed, for a plastic layer with memory (P <- λP + η⊙h uᵀ) and for Dyn_RO's memoryless
layer (P <- η⊙h uᵀ, i.e. λ = 0); static layers and the readout are one matmul over all frames.

Math of one plastic layer, frame t (P_0 = 0), Weff = W + P_t (A) or W ⊙ (1 + P_t) (M):
    a_t = Weff u_t + b,   h_t = f(a_t),   P_{t+1} = λ P_t + E ⊙ h_t u_tᵀ
(E: η broadcast to W's shape).  Backward, with G = ∂L/∂P_{t+1} (0 at the end), t = T-1..0:
    ∂h_t = ∂h_t(from above) + (G⊙E) u_t,           ∂a_t = ∂h_t ⊙ f'(a_t)
    ∂u_t = (G⊙E)ᵀ h_t + Weffᵀ ∂a_t,                 ∂E += G ⊙ h_t u_tᵀ,   ∂λ += ⟨G, P_t⟩
    ∂b += ∂a_t,   ∂W += ∂a_t u_tᵀ (A) or ∂a_t u_tᵀ ⊙ (1 + P_t) (M)
    G <- λ G + ∂a_t u_tᵀ (A) or λ G + ∂a_t u_tᵀ ⊙ W (M)
η's gradient is ∂E summed to η's shape (full, per neuron, scalar); λ = σ(ℓ) gives ∂ℓ = ∂λ σ(1-σ),
HebbFF's raw λ (projected into [0, 1]) takes ∂λ as is.  Under A, the terms P does not touch,
∂W = Σ_t ∂a_t u_tᵀ and Wᵀ∂a_t in ∂u_t, are two matmuls over all frames after the loop.

Where the time goes, and the choices that follow (measured on one core, Memo M_A and HebbFF):
- Memory: the backward pass needs every P_t, and running the decay backwards
  (P_t = (P_{t+1} - E⊙h uᵀ)/λ) is numerically unstable.  Keeping all of them (T·n_out·n_in
  floats: 13 MB for a 50x50 layer, 32 MB for 100x100 at R = 1) made the engine wait on memory.
  Instead the forward pass keeps P_t every K frames only (checkpoints), and the backward pass
  rebuilds one segment of K matrices at a time, from its checkpoint and the stored h, into a
  buffer of SEGMENT_BYTES that stays in the core's L2 cache.  The cost is one more pass of
  λP + E⊙h uᵀ per frame (a sixth of the arithmetic); what it saves is the traffic to main
  memory (Memo [100,100]: 14 -> 9.4 ms a sequence).  The rebuilt matrices are the same bits as
  the forward pass's (the same expression, in the same order): K changes no result.
- Loops: the inner loops run over the postsynaptic neurons (weights kept transposed, n_in x
  n_out: 25-100 long, contiguous), index arrays in full instead of taking row views (a view
  costs two atomic reference counts, more than the row's arithmetic), and come in one copy per
  case (A or M, ∂u wanted or not) so none carries a branch or unused work.  The forward fuses
  the update of P_t with the next frame's preactivation: one pass over P per frame.
- Around the kernels, per training step: the readout and BCE are one compiled pass, the
  sequence is assembled from its random draws in compiled code (attnmem.data.familiarity), and
  torch's Adam update runs as one compiled call (:func:`adam_step`).  What is left in Python
  is ~0.3 ms a step; the kernels run at ~0.5 ns per synapse and frame forward and ~1 ns
  backward, which is what bounds the larger networks.

tanh is computed as 2σ(2a) - 1 through one exp (libm's tanh costs four times as much); it is
off by at most ~4e-16 in absolute terms.

Loss: BCE averaged over the scored frames of all sequences of a step, as the autograd step
computes it (log clamped at -100 as torch does); its gradient through the σ output is
(y_hat - y)/N.  tests/test_plastic_fast.py checks loss and every parameter gradient against the
autograd reference (float64) for every network type and η mode, and that the checkpoint
interval changes no bit.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numba
import numpy as np
import torch
from scipy.special import expit
from torch import nn

from attnmem.models.plastic import Memo, NonlRO, PlasticLayer, Stack

# Reassociation (and FMA contraction) lets LLVM vectorise the row sums; NaN and inf keep their
# IEEE meaning, so a diverged run is still seen as one.  The compiled code is fixed per machine,
# so a run is byte-deterministic there.
FASTMATH = {"reassoc", "contract", "nsz", "arcp"}


@numba.njit(cache=True, fastmath=FASTMATH, inline="always")
def _activate(acc, use_tanh, one):  # pragma: no cover
    """tanh or σ through one exp (libm's tanh costs ~4 exps); tanh(x) = 2σ(2x) - 1 is off by
    at most ~4e-16 in absolute terms (near 0, where x itself carries that rounding).  ``one``
    is 1 in the arrays' dtype (a float literal would widen float32 arithmetic to float64)."""
    two = one + one
    if use_tanh:
        return two / (one + np.exp(-two * acc)) - one
    return one / (one + np.exp(-acc))


@numba.njit(cache=True, fastmath=FASTMATH)
def plastic_forward(
    wt, b, et, keep, u, multiplicative, use_tanh, h, ckpt, every
):  # pragma: no cover
    """Fill h (T, n) for inputs u (T, m); weights transposed, (m, n).  Keeps P_t for t = 0,
    every, 2·every, ... in ckpt (every = 0: none, forward only).

    One pass over P per frame: the update P_{t+1} = λP_t + E⊙h_t u_tᵀ and the next frame's
    preactivation (W + P_{t+1}) u_{t+1} (or W⊙(1 + P_{t+1})) are computed together.  Arrays
    are indexed in full (a[j, i]), never sliced into row views inside the loops: each view
    costs numba two atomic reference-count updates, more than the row's arithmetic."""
    steps, m = u.shape
    n = wt.shape[1]
    one = np.ones(1, wt.dtype)[0]
    p = np.zeros((m, n), wt.dtype)
    acc = np.empty(n, wt.dtype)
    for i in range(n):
        acc[i] = b[i]
    for j in range(m):  # P_0 = 0: a_0 = W u_0 + b under A and M alike
        for i in range(n):
            acc[i] += wt[j, i] * u[0, j]
    for t in range(steps):
        if every > 0 and t % every == 0:
            k = t // every
            for j in range(m):
                for i in range(n):
                    ckpt[k, j, i] = p[j, i]
        for i in range(n):
            h[t, i] = _activate(acc[i], use_tanh, one)
        if t + 1 == steps:
            break
        for i in range(n):
            acc[i] = b[i]
        for j in range(m):
            uj = u[t, j]
            vj = u[t + 1, j]
            if multiplicative:
                for i in range(n):
                    q = keep * p[j, i] + et[j, i] * h[t, i] * uj
                    p[j, i] = q
                    acc[i] += wt[j, i] * (one + q) * vj
            else:
                for i in range(n):
                    q = keep * p[j, i] + et[j, i] * h[t, i] * uj
                    p[j, i] = q
                    acc[i] += (wt[j, i] + q) * vj


@numba.njit(cache=True, fastmath=FASTMATH)
def plastic_backward(
    wt, et, keep, u, h, ckpt, every, grad_h, multiplicative, use_tanh, grad_u, dwt, db, det, ga_hist
):  # pragma: no cover
    """Backward through time, one checkpoint segment at a time: P_t of the segment is rebuilt
    from its checkpoint (and the stored h) into a small buffer that stays in cache, then the
    segment's frames run backwards.  Accumulates db, det (transposed, (m, n)), writes ∂a_t into
    ga_hist (T, n) and, if grad_u has columns, ∂L/∂u; returns ∂λ.  Under M it accumulates dwt
    too; under A the parts of ∂W and ∂u that P does not touch, Σ_t ∂a_t u_tᵀ and Wᵀ∂a_t, are
    two matmuls over all frames (left to the caller): a third fewer operations in this loop."""
    steps, m = u.shape
    n = wt.shape[1]
    need_grad_u = grad_u.shape[1] > 0
    one = np.ones(1, wt.dtype)[0]  # the arrays' dtype: float literals would widen float32
    zero = one - one
    g = np.zeros((m, n), wt.dtype)  # ∂L/∂P_{t+1}
    seg = np.empty((every, m, n), wt.dtype)
    s = np.zeros(n, wt.dtype)  # (G⊙E) u_t: the Hebbian term's share of ∂h_t (0 after the end)
    ga = np.empty(n, wt.dtype)
    dkeep = zero
    segments = (steps + every - 1) // every
    for k in range(segments - 1, -1, -1):
        start = k * every
        stop = min(steps, start + every)
        for j in range(m):
            for i in range(n):
                seg[0, j, i] = ckpt[k, j, i]
        for t in range(start, stop - 1):  # the same expression as the forward pass: same bits
            q = t - start
            for j in range(m):
                uj = u[t, j]
                for i in range(n):
                    seg[q + 1, j, i] = keep * seg[q, j, i] + et[j, i] * h[t, i] * uj
        for t in range(stop - 1, start - 1, -1):
            q = t - start
            for i in range(n):
                hi = h[t, i]
                gh = grad_h[t, i] + s[i]
                if use_tanh:
                    ga[i] = gh * (one - hi * hi)
                else:
                    ga[i] = gh * hi * (one - hi)
                db[i] += ga[i]
                ga_hist[t, i] = ga[i]
                s[i] = zero
            prev = max(t - 1, 0)  # s for frame t-1 (unused at t = 0)
            for j in range(m):
                uj = u[t, j]
                vj = u[prev, j]
                gu = zero
                dk = zero
                # four copies of the loop (M or A, ∂u wanted or not: the first layer's input
                # needs none), so that none carries a branch or work it does not need
                if multiplicative and need_grad_u:
                    for i in range(n):
                        gij = g[j, i]
                        pij = seg[q, j, i]
                        det[j, i] += gij * h[t, i] * uj
                        dk += gij * pij
                        gw = ga[i] * uj
                        dwt[j, i] += gw * (one + pij)
                        gu += gij * et[j, i] * h[t, i] + wt[j, i] * (one + pij) * ga[i]
                        gn = keep * gij + gw * wt[j, i]
                        g[j, i] = gn
                        s[i] += gn * et[j, i] * vj
                elif multiplicative:
                    for i in range(n):
                        gij = g[j, i]
                        pij = seg[q, j, i]
                        det[j, i] += gij * h[t, i] * uj
                        dk += gij * pij
                        gw = ga[i] * uj
                        dwt[j, i] += gw * (one + pij)
                        gn = keep * gij + gw * wt[j, i]
                        g[j, i] = gn
                        s[i] += gn * et[j, i] * vj
                elif need_grad_u:
                    for i in range(n):
                        gij = g[j, i]
                        pij = seg[q, j, i]
                        det[j, i] += gij * h[t, i] * uj
                        dk += gij * pij
                        gu += gij * et[j, i] * h[t, i] + pij * ga[i]
                        gn = keep * gij + ga[i] * uj
                        g[j, i] = gn
                        s[i] += gn * et[j, i] * vj
                else:
                    for i in range(n):
                        gij = g[j, i]
                        det[j, i] += gij * h[t, i] * uj
                        dk += gij * seg[q, j, i]
                        gn = keep * gij + ga[i] * uj
                        g[j, i] = gn
                        s[i] += gn * et[j, i] * vj
                dkeep += dk
                if need_grad_u:
                    grad_u[t, j] = gu
    return dkeep


@numba.njit(cache=True, fastmath=FASTMATH)
def readout_loss(top, wf, bf, idx, y, count, grad_top, dwf, out):  # pragma: no cover
    """The σ readout and BCE of one sequence at its scored frames idx, in one pass: fills out
    (σ outputs at idx), grad_top (∂L/∂top: (σ - y)/count · w_f on scored frames, 0 elsewhere)
    and adds to dwf; returns (BCE sum, ∂L/∂b_f).  Each log is clamped at -100 as torch's
    binary_cross_entropy does; log σ(z) = -(max(-z, 0) + log1p(e^-|z|)), no cancellation."""
    n = top.shape[1]
    grad_top[:] = 0.0
    total = 0.0
    dbf = 0.0
    for k in range(idx.shape[0]):
        t = idx[k]
        z = bf
        for i in range(n):
            z += top[t, i] * wf[i]
        soft = np.log1p(np.exp(-abs(z)))
        log_p = max(-(max(-z, 0.0) + soft), -100.0)
        log_q = max(-(max(z, 0.0) + soft), -100.0)
        total -= y[k] * log_p + (1.0 - y[k]) * log_q
        o = 1.0 / (1.0 + np.exp(-z)) if z >= 0 else np.exp(z) / (1.0 + np.exp(z))
        out[k] = o
        gz = (o - y[k]) / count
        dbf += gz
        for i in range(n):
            grad_top[t, i] = gz * wf[i]
            dwf[i] += gz * top[t, i]
    return total, dbf


def sigmoid(x: np.ndarray) -> np.ndarray:
    return expit(x)  # accurate at both ends, no overflow warnings


def torch_mm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b through torch, which keeps to the run's thread count (NumPy's BLAS would start a
    thread per core and, on a shared machine, spend more time waiting than computing)."""
    return (
        torch.from_numpy(np.ascontiguousarray(a)) @ torch.from_numpy(np.ascontiguousarray(b))
    ).numpy()


def _array(p: torch.Tensor) -> np.ndarray:
    return p.detach().cpu().numpy().astype(np.float64)


def _view(p: torch.Tensor) -> np.ndarray:
    """The parameter's values as NumPy sees them (no copy on the CPU)."""
    return p.detach().cpu().numpy()


#: Bytes of plastic matrices one checkpoint segment may hold: P_t is kept every K frames and
#: a segment's K matrices are rebuilt in the backward pass, in a buffer this size (L2-resident).
SEGMENT_BYTES = 256 * 1024


def checkpoint_interval(steps: int, n_out: int, n_in: int, budget: int = SEGMENT_BYTES) -> int:
    """K: the frames of one checkpoint segment (at least 1, at most the sequence)."""
    return max(1, min(steps, budget // (8 * n_out * n_in)))


@dataclass
class _Plastic:
    """One plastic layer's numbers and the torch parameters they came from.  The kernels read
    W, E (and write their gradients) transposed, (n_in, n_out): the inner loops then run over
    the postsynaptic neurons, the longer and contiguous side (d = 25 inputs, 25-100 neurons)."""

    module: PlasticLayer
    use_tanh: bool
    memory: bool = True  # False: Dyn_RO's layer >= 2 (P rebuilt from the last frame only)
    segment_bytes: int = SEGMENT_BYTES
    ckpt_buffer: np.ndarray | None = None

    def load(self) -> None:
        # copied (and widened to float64) into buffers kept from call to call
        mod = self.module
        w = _view(mod.weight)
        if getattr(self, "w", None) is None or self.w.shape != w.shape:
            self.w = np.empty(w.shape)
            self.wt = np.empty(w.T.shape)
            self.et = np.empty(w.T.shape)
            self.b = np.empty(w.shape[0])
        self.w[...] = w
        self.wt[...] = w.T
        self.b[...] = _view(mod.bias)[:, 0]
        self.et[...] = np.broadcast_to(_view(mod.eta), w.shape).T
        if mod.raw_decay:
            self.keep = float(mod.decay().detach())  # HebbFF: the value projected into [0, 1]
            self.dkeep_dlogit = 1.0
        else:
            logit = float(mod.decay_logit.detach())
            self.keep = 1.0 / (1.0 + np.exp(-logit))
            self.dkeep_dlogit = self.keep * (1.0 - self.keep)
        if not self.memory:
            self.keep = 0.0

    def zero_grads(self) -> None:
        self.dwt = np.zeros_like(self.wt)
        self.db = np.zeros_like(self.b)
        self.det = np.zeros_like(self.wt)
        self.dkeep = 0.0

    def forward(self, u: np.ndarray, history: bool = True) -> tuple[np.ndarray, int, np.ndarray]:
        # Only every K-th P_t is kept (the backward pass rebuilds the rest): storing all of
        # them (8-30 MB a sequence) made the engine wait on memory.  The buffer lives as long
        # as the engine (a fresh one per sequence costs page faults).
        steps = u.shape[0]
        n, m = self.w.shape
        h = np.empty((steps, n))
        if history:
            every = checkpoint_interval(steps, n, m, self.segment_bytes)
            count = -(-steps // every)
            if self.ckpt_buffer is None or self.ckpt_buffer.shape[0] < count:
                self.ckpt_buffer = np.empty((count, m, n))
            ckpt = self.ckpt_buffer[:count]
        else:
            every, ckpt = 0, np.empty((0, m, n))
        multiplicative = self.module.kind == "M"
        plastic_forward(self.wt, self.b, self.et, self.keep, u, multiplicative, self.use_tanh,
                         h, ckpt, every)  # fmt: skip
        return h, every, ckpt

    def backward(
        self,
        u: np.ndarray,
        h: np.ndarray,
        every: int,
        ckpt: np.ndarray,
        grad_h: np.ndarray,
        need: bool,
    ) -> np.ndarray | None:
        steps, m = u.shape
        grad_u = np.empty((steps, m if need else 0))
        ga = np.empty_like(h)
        multiplicative = self.module.kind == "M"
        self.dkeep += plastic_backward(
            *(self.wt, self.et, self.keep, u, h, ckpt, every, grad_h, multiplicative),
            *(self.use_tanh, grad_u, self.dwt, self.db, self.det, ga),
        )
        if not multiplicative:
            self.dwt += torch_mm(u.T, ga)
            if need:
                grad_u += torch_mm(ga, self.w)
        return grad_u if need else None

    def write_grads(self) -> None:
        mod = self.module
        de = self.det.T
        if mod.eta.dim() == 0:  # scalar η
            eta_grad = np.array(de.sum())
        elif mod.eta.shape != mod.weight.shape:  # one η per postsynaptic neuron
            eta_grad = de.sum(axis=1, keepdims=True)
        else:
            eta_grad = de
        _set_grad(mod.weight, self.dwt.T)
        _set_grad(mod.bias, self.db[:, None])
        _set_grad(mod.eta, eta_grad)
        if self.memory:  # Dyn_RO's unused decay gets no gradient, as under autograd
            _set_grad(mod.decay_logit, np.array(self.dkeep * self.dkeep_dlogit))


_NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64}


def _set_grad(param: nn.Parameter, grad: np.ndarray) -> None:
    dtype = _NUMPY_DTYPES.get(param.dtype) if param.device.type == "cpu" else None
    if dtype is not None:  # one cast, straight into the parameter's dtype
        param.grad = torch.from_numpy(np.array(grad, dtype=dtype, order="C").reshape(param.shape))
        return
    grad = torch.from_numpy(np.ascontiguousarray(grad, dtype=np.float64).reshape(param.shape))
    param.grad = grad.to(param.device, param.dtype)


_ENGINES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def engine_for(model: nn.Module) -> FastNetwork:
    """The model's engine, built once and kept (with its buffers) while the model lives (the
    engine holds the model's layers, not the model, so the weak key can die)."""
    engine = _ENGINES.get(model)
    if engine is None:
        engine = _ENGINES[model] = FastNetwork(model)
    return engine


class FastNetwork:
    """The exact forward and gradient of one plastic network of :mod:`attnmem.models.plastic`,
    reading (and writing the gradients of) its torch parameters in place: every call reads the
    parameters afresh, so one engine serves a model through training."""

    def __init__(self, model: nn.Module) -> None:
        self.static: list[nn.Linear] = []
        if isinstance(model, Memo):
            last = len(model.layers) - 1
            self.layers = [
                _Plastic(layer, use_tanh=i != last, memory=not (model.dynamic_readout and i > 0))
                for i, layer in enumerate(model.layers)
            ]
            self.parallel = False
        elif isinstance(model, NonlRO):
            self.layers = [_Plastic(model.memory, use_tanh=True)]
            self.static = list(model.static)
            self.parallel = False
        elif isinstance(model, Stack):
            self.layers = [_Plastic(branch, use_tanh=False) for branch in model.branches]
            self.parallel = True
        else:
            raise TypeError(f"no fast engine for {type(model).__name__}")
        self.readout = model.readout

    def _load(self) -> None:
        for layer in self.layers:
            layer.load()
        self.static_w = [(_array(s.weight), _array(s.bias)) for s in self.static]
        self.wf = _array(self.readout.weight)[0]
        self.bf = float(self.readout.bias.detach()[0])

    def _forward(self, x: np.ndarray, history: bool = True) -> tuple[np.ndarray, list]:
        """The top layer's activities (L, n) for one sequence x (L, d), and what the backward
        pass needs."""
        tape = []
        if self.parallel:
            outs = []
            for layer in self.layers:
                h, every, ckpt = layer.forward(x, history)
                tape.append((x, h, every, ckpt))
                outs.append(h)
            return np.concatenate(outs, axis=1), tape
        u = x
        for layer in self.layers:
            h, every, ckpt = layer.forward(u, history)
            tape.append((u, h, every, ckpt))
            u = h
        statics = []
        for w, b in self.static_w:
            u = sigmoid(torch_mm(u, w.T) + b)
            statics.append(u)
        tape.append(statics)
        return u, tape

    def _backward(self, grad: np.ndarray, tape: list) -> None:
        """From ∂L/∂top (L, n) down through every layer, accumulating the gradients."""
        if self.parallel:
            start = 0
            for layer, (u, h, every, ckpt) in zip(self.layers, tape, strict=True):
                width = h.shape[1]
                part = np.ascontiguousarray(grad[:, start : start + width])
                layer.backward(u, h, every, ckpt, part, need=False)
                start += width
            return
        statics = tape.pop()
        for k in range(len(self.static_w) - 1, -1, -1):
            w, _ = self.static_w[k]
            out = statics[k]
            below = statics[k - 1] if k else tape[-1][1]
            grad_a = grad * out * (1.0 - out)
            self.static_grads[k][0] += torch_mm(grad_a.T, below)
            self.static_grads[k][1] += grad_a.sum(axis=0)
            grad = torch_mm(grad_a, w)
        for i in range(len(self.layers) - 1, -1, -1):
            u, h, every, ckpt = tape[i]
            grad = self.layers[i].backward(u, h, every, ckpt, grad, need=i > 0)

    def outputs(self, frames: torch.Tensor) -> np.ndarray:
        """σ outputs (B, L) of a batch of sequences (B, L, d), without gradients."""
        self._load()
        x = frames.detach().cpu().numpy().astype(np.float64)
        tops = [self._forward(np.ascontiguousarray(seq), history=False)[0] for seq in x]
        return np.stack([sigmoid(torch_mm(top, self.wf) + self.bf) for top in tops])

    def loss_and_grads(
        self, frames: torch.Tensor, scored: torch.Tensor, labels: torch.Tensor
    ) -> tuple[float, np.ndarray]:
        """BCE over the scored frames of all B sequences (mean), its gradient written into every
        parameter's ``.grad``, and the scored outputs (B, T)."""
        self._load()
        for layer in self.layers:
            layer.zero_grads()
        self.static_grads = [[np.zeros_like(w), np.zeros_like(b)] for w, b in self.static_w]
        dwf = np.zeros_like(self.wf)
        dbf = 0.0
        x = frames.detach().cpu().numpy().astype(np.float64)
        idx = scored.cpu().numpy()
        y = labels.cpu().numpy().astype(np.float64)
        count = y.size
        total = 0.0
        scored_out = np.empty(y.shape)
        for k, seq in enumerate(x):
            top, tape = self._forward(np.ascontiguousarray(seq))
            grad_top = np.empty_like(top)
            loss, dbf_k = readout_loss(top, self.wf, self.bf, idx, y[k], count, grad_top, dwf,
                                        scored_out[k])  # fmt: skip
            total += loss
            dbf += dbf_k
            self._backward(grad_top, tape)
        for layer in self.layers:
            layer.write_grads()
        for module, (dw, db) in zip(self.static, self.static_grads, strict=True):
            _set_grad(module.weight, dw)
            _set_grad(module.bias, db)
        _set_grad(self.readout.weight, dwf[None])
        _set_grad(self.readout.bias, np.array([dbf]))
        return total / count, scored_out


@numba.njit(cache=True, fastmath={"contract"})
def _adam_update(
    params, grads, exp_avgs, exp_avg_sqs, steps, lr, beta1, beta2, eps
):  # pragma: no cover
    """One Adam step over flat parameter arrays, as torch's multi-tensor Adam computes it: the
    step counter (float32) + 1; bias corrections and step size in float64; then, in the
    arrays' dtype (torch casts its scalars to float32 for float32 tensors), lerp, mul and
    addcmul, sqrt, div, add and addcdiv, in that order.  FMA contraction only, as torch's CPU
    kernels contract (with it this is torch's update to the bit on this machine)."""
    for k in range(len(params)):
        param, grad, exp_avg, exp_avg_sq = params[k], grads[k], exp_avgs[k], exp_avg_sqs[k]
        steps[k][0] += 1.0
        step = float(steps[k][0])
        bias_correction1 = 1.0 - beta1**step
        bias_correction2 = 1.0 - beta2**step
        scalars = np.empty(6, dtype=param.dtype)
        scalars[0] = 1.0 - beta1  # lerp weight
        scalars[1] = beta2
        scalars[2] = 1.0 - beta2  # addcmul value
        scalars[3] = bias_correction2**0.5
        scalars[4] = eps
        scalars[5] = (lr / bias_correction1) * -1.0  # addcdiv value
        weight, b2, value, bc2_sqrt, epsilon, step_size = (
            scalars[0], scalars[1], scalars[2], scalars[3], scalars[4], scalars[5]
        )  # fmt: skip
        for i in range(param.size):
            g = grad[i]
            m = exp_avg[i]
            m = m + weight * (g - m)
            exp_avg[i] = m
            v = exp_avg_sq[i] * b2
            v = v + value * g * g
            exp_avg_sq[i] = v
            denom = np.sqrt(v) / bc2_sqrt + epsilon
            param[i] = param[i] + step_size * m / denom


_ADAM_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _adam_plan(optimizer: torch.optim.Optimizer) -> list | None:
    """Per group: (the group, its parameters that have a gradient, their state tensors, and
    flat NumPy views of each parameter and its state), built once and rebuilt when the state
    tensors change (a resume loads new ones) or other parameters have gradients; None where
    the optimizer or a setting is not covered."""
    if type(optimizer) is not torch.optim.Adam:
        return None
    plan = _ADAM_PLANS.get(optimizer)
    if plan is not None and all(
        sum(p.grad is not None for p in group["params"]) == len(params)
        and all(p.grad is not None for p in params)
        and all(
            optimizer.state[p].get("exp_avg") is tensors[0]
            for p, tensors in zip(params, held, strict=True)
        )
        for group, params, held, _ in plan
    ):
        return plan
    plan = []
    for group in optimizer.param_groups:
        if (
            group["amsgrad"]
            or group["weight_decay"] != 0
            or group["maximize"]
            or group["capturable"]
            or group["differentiable"]
            or group["fused"]
            or not isinstance(group["lr"], float)
            or not all(isinstance(b, float) for b in group["betas"])
        ):
            return None
        params = [p for p in group["params"] if p.grad is not None]
        if any(
            p.device.type != "cpu"
            or p.dtype != params[0].dtype
            or p.dtype not in (torch.float32, torch.float64)
            or p.grad.dtype != p.dtype
            or p.grad.is_sparse
            or not p.is_contiguous()
            for p in params
        ):
            return None
        held, views = [], []
        for p in params:
            state = optimizer.state[p]
            if len(state) == 0:  # as torch's lazy initialisation
                state["step"] = torch.tensor(0.0, dtype=torch.get_default_dtype())
                state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            tensors = (state["exp_avg"], state["exp_avg_sq"], state["step"])
            held.append(tensors)
            views.append(
                tuple(t.detach().view(-1).numpy() for t in (p, *tensors))  # shared memory
            )
        plan.append((group, params, held, views))
    _ADAM_PLANS[optimizer] = plan
    return plan


def adam_step(optimizer: torch.optim.Optimizer) -> bool:
    """``optimizer.step()`` of a plain torch.optim.Adam (no AMSGrad, weight decay, maximize;
    CPU tensors of one dtype), in one compiled call instead of ~10 multi-tensor torch ops
    (a fifth of a small network's training step).  The state it reads and writes is torch's
    own (step, exp_avg, exp_avg_sq, created as torch creates them), so checkpoints and resume
    do not depend on which of the two ran.  As torch, it skips parameters without gradient.
    Returns False, doing nothing, for any optimizer or setting it does not cover: the caller
    then calls ``optimizer.step()``."""
    plan = _adam_plan(optimizer)
    if plan is None:
        return False
    for group, params, _, views in plan:
        if not params:
            continue
        hyper = (float(group["lr"]), *map(float, group["betas"]), float(group["eps"]))
        grads = tuple(p.grad.reshape(-1).numpy() for p in params)  # copies only if strided
        _adam_update(
            tuple(v[0] for v in views),
            grads,
            tuple(v[1] for v in views),
            tuple(v[2] for v in views),
            tuple(v[3] for v in views),
            *hyper,
        )
    return True
