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
HebbFF's raw λ (projected into [0, 1]) takes ∂λ as is.  The P_t of every
frame are kept (T·n_out·n_in floats: ~13 MB for Memo [50,50] at R = 1) because running the
decay backwards (P_t = (P_{t+1} - E⊙h uᵀ)/λ) is numerically unstable.

Loss: BCE averaged over the scored frames of all sequences of a step, as the autograd step
computes it (log clamped at -100 as torch does); its gradient through the σ output is
(y_hat - y)/N.  tests/test_plastic_fast.py checks loss and every parameter gradient against the
autograd reference (float64) for every network type and η mode.
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
_FASTMATH = {"reassoc", "contract", "nsz", "arcp"}


@numba.njit(cache=True, fastmath=_FASTMATH)
def _plastic_forward(w, b, e, keep, u, multiplicative, use_tanh, h, p_hist):  # pragma: no cover
    """Fill h (T, n) and p_hist (T+1, n, m) with P_t (p_hist[0] = 0) for inputs u (T, m).
    A p_hist of 2 matrices keeps no history (forward only): P_t alternates between them."""
    steps = u.shape[0]
    n, m = w.shape
    history = p_hist.shape[0] > 2 or steps < 2
    p_hist[0] = 0.0
    for t in range(steps):
        ut = u[t]
        p_now = p_hist[t] if history else p_hist[t & 1]
        p_next = p_hist[t + 1] if history else p_hist[(t + 1) & 1]
        for i in range(n):
            acc = 0.0
            if multiplicative:
                for j in range(m):
                    acc += w[i, j] * (1.0 + p_now[i, j]) * ut[j]
            else:
                for j in range(m):
                    acc += (w[i, j] + p_now[i, j]) * ut[j]
            acc += b[i]
            if use_tanh:
                hi = np.tanh(acc)
            else:
                hi = 1.0 / (1.0 + np.exp(-acc))
            h[t, i] = hi
            for j in range(m):
                p_next[i, j] = keep * p_now[i, j] + e[i, j] * hi * ut[j]


@numba.njit(cache=True, fastmath=_FASTMATH)
def _plastic_backward(
    w, e, keep, u, h, p_hist, grad_h, multiplicative, use_tanh, need_grad_u, grad_u, dw, db, de
):  # pragma: no cover
    """Backward through time; accumulates dw, db, de (and grad_u if asked); returns ∂λ."""
    steps = u.shape[0]
    n, m = w.shape
    g = np.zeros((n, m))  # ∂L/∂P_{t+1}
    dkeep = 0.0
    for t in range(steps - 1, -1, -1):
        ut = u[t]
        p_now = p_hist[t]
        gu = grad_u[t]
        for i in range(n):
            hi = h[t, i]
            s = 0.0
            for j in range(m):
                s += g[i, j] * e[i, j] * ut[j]
            gh = grad_h[t, i] + s
            if use_tanh:
                ga = gh * (1.0 - hi * hi)
            else:
                ga = gh * hi * (1.0 - hi)
            db[i] += ga
            dk = 0.0
            for j in range(m):
                gij = g[i, j]
                de[i, j] += gij * hi * ut[j]
                dk += gij * p_now[i, j]
                gw = ga * ut[j]
                if multiplicative:
                    one_p = 1.0 + p_now[i, j]
                    if need_grad_u:
                        gu[j] += gij * e[i, j] * hi + w[i, j] * one_p * ga
                    dw[i, j] += gw * one_p
                    g[i, j] = keep * gij + gw * w[i, j]
                else:
                    if need_grad_u:
                        gu[j] += gij * e[i, j] * hi + (w[i, j] + p_now[i, j]) * ga
                    dw[i, j] += gw
                    g[i, j] = keep * gij + gw
            dkeep += dk
    return dkeep


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return expit(x)  # accurate at both ends, no overflow warnings


def _mm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b through torch, which keeps to the run's thread count (NumPy's BLAS would start a
    thread per core and, on a shared machine, spend more time waiting than computing)."""
    return (
        torch.from_numpy(np.ascontiguousarray(a)) @ torch.from_numpy(np.ascontiguousarray(b))
    ).numpy()


def _array(p: torch.Tensor) -> np.ndarray:
    return p.detach().cpu().numpy().astype(np.float64)


@dataclass
class _Plastic:
    """One plastic layer's numbers and the torch parameters they came from."""

    module: PlasticLayer
    use_tanh: bool
    memory: bool = True  # False: Dyn_RO's layer >= 2 (P rebuilt from the last frame only)
    p_buffer: np.ndarray | None = None

    def load(self) -> None:
        mod = self.module
        self.w = _array(mod.weight)
        self.b = np.ascontiguousarray(_array(mod.bias)[:, 0])
        self.e = np.ascontiguousarray(np.broadcast_to(_array(mod.eta), self.w.shape))
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
        self.dw = np.zeros_like(self.w)
        self.db = np.zeros_like(self.b)
        self.de = np.zeros_like(self.w)
        self.dkeep = 0.0

    def forward(self, u: np.ndarray, history: bool = True) -> tuple[np.ndarray, np.ndarray]:
        # The history buffer lives as long as the engine: a fresh 5-15 MB array per sequence
        # costs more in page faults than the arithmetic it holds.  Without ``history`` (no
        # backward pass to come: the long generalisation sequences) two matrices suffice.
        steps = u.shape[0]
        h = np.empty((steps, self.w.shape[0]))
        if not history:
            p_hist = np.empty((2, *self.w.shape))
        else:
            if self.p_buffer is None or self.p_buffer.shape[0] < steps + 1:
                self.p_buffer = np.empty((steps + 1, *self.w.shape))
            p_hist = self.p_buffer[: steps + 1]
        multiplicative = self.module.kind == "M"
        _plastic_forward(self.w, self.b, self.e, self.keep, u, multiplicative, self.use_tanh, h,
                         p_hist)  # fmt: skip
        return h, p_hist

    def backward(
        self, u: np.ndarray, h: np.ndarray, p_hist: np.ndarray, grad_h: np.ndarray, need: bool
    ) -> np.ndarray | None:
        grad_u = np.zeros_like(u) if need else np.zeros((u.shape[0], 0))
        multiplicative = self.module.kind == "M"
        self.dkeep += _plastic_backward(
            *(self.w, self.e, self.keep, u, h, p_hist, grad_h, multiplicative, self.use_tanh),
            *(need, grad_u, self.dw, self.db, self.de),
        )
        return grad_u if need else None

    def write_grads(self) -> None:
        mod = self.module
        if mod.eta.dim() == 0:  # scalar η
            eta_grad = np.array(self.de.sum())
        elif mod.eta.shape != mod.weight.shape:  # one η per postsynaptic neuron
            eta_grad = self.de.sum(axis=1, keepdims=True)
        else:
            eta_grad = self.de
        _set_grad(mod.weight, self.dw)
        _set_grad(mod.bias, self.db[:, None])
        _set_grad(mod.eta, eta_grad)
        if self.memory:  # Dyn_RO's unused decay gets no gradient, as under autograd
            _set_grad(mod.decay_logit, np.array(self.dkeep * self.dkeep_dlogit))


def _set_grad(param: nn.Parameter, grad: np.ndarray) -> None:
    grad = torch.from_numpy(np.asarray(grad, dtype=np.float64).reshape(param.shape))
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
        """Logits (L,) for one sequence x (L, d), and what the backward pass needs."""
        tape = []
        if self.parallel:
            outs = []
            for layer in self.layers:
                h, p_hist = layer.forward(x, history)
                tape.append((x, h, p_hist))
                outs.append(h)
            top = np.concatenate(outs, axis=1)
        else:
            u = x
            for layer in self.layers:
                h, p_hist = layer.forward(u, history)
                tape.append((u, h, p_hist))
                u = h
            statics = []
            for w, b in self.static_w:
                u = _sigmoid(_mm(u, w.T) + b)
                statics.append(u)
            tape.append(statics)
            top = u
        tape.append(top)
        return _mm(top, self.wf) + self.bf, tape

    def _backward(self, grad_z: np.ndarray, tape: list) -> None:
        top = tape.pop()
        self.dwf += _mm(grad_z, top)
        self.dbf += grad_z.sum()
        grad = np.outer(grad_z, self.wf)
        if self.parallel:
            start = 0
            for layer, (u, h, p_hist) in zip(self.layers, tape, strict=True):
                width = h.shape[1]
                layer.backward(u, h, p_hist, np.ascontiguousarray(grad[:, start:start + width]),
                               need=False)  # fmt: skip
                start += width
            return
        statics = tape.pop()
        for k in range(len(self.static_w) - 1, -1, -1):
            w, _ = self.static_w[k]
            out = statics[k]
            below = statics[k - 1] if k else tape[-1][1]
            grad_a = grad * out * (1.0 - out)
            self.static_grads[k][0] += _mm(grad_a.T, below)
            self.static_grads[k][1] += grad_a.sum(axis=0)
            grad = _mm(grad_a, w)
        for i in range(len(self.layers) - 1, -1, -1):
            u, h, p_hist = tape[i]
            grad = self.layers[i].backward(u, h, p_hist, np.ascontiguousarray(grad), need=i > 0)

    def outputs(self, frames: torch.Tensor) -> np.ndarray:
        """σ outputs (B, L) of a batch of sequences (B, L, d), without gradients."""
        self._load()
        x = frames.detach().cpu().numpy().astype(np.float64)
        return np.stack(
            [_sigmoid(self._forward(np.ascontiguousarray(seq), history=False)[0]) for seq in x]
        )

    def loss_and_grads(
        self, frames: torch.Tensor, scored: torch.Tensor, labels: torch.Tensor
    ) -> tuple[float, np.ndarray]:
        """BCE over the scored frames of all B sequences (mean), its gradient written into every
        parameter's ``.grad``, and the scored outputs (B, T)."""
        self._load()
        for layer in self.layers:
            layer.zero_grads()
        self.static_grads = [[np.zeros_like(w), np.zeros_like(b)] for w, b in self.static_w]
        self.dwf = np.zeros_like(self.wf)
        self.dbf = 0.0
        x = frames.detach().cpu().numpy().astype(np.float64)
        idx = scored.cpu().numpy()
        y = labels.cpu().numpy().astype(np.float64)
        count = y.size
        total = 0.0
        scored_out = np.empty(y.shape)
        for k, seq in enumerate(x):
            z, tape = self._forward(np.ascontiguousarray(seq))
            out = _sigmoid(z[idx])
            scored_out[k] = out
            # log σ(z) and log(1 - σ(z)) without cancellation; torch's binary_cross_entropy
            # clamps each log at -100, and so does this
            log_p = np.maximum(-np.logaddexp(0.0, -z[idx]), -100.0)
            log_q = np.maximum(-np.logaddexp(0.0, z[idx]), -100.0)
            total -= (y[k] * log_p + (1 - y[k]) * log_q).sum()
            grad_z = np.zeros(seq.shape[0])
            grad_z[idx] = (out - y[k]) / count
            self._backward(grad_z, tape)
        for layer in self.layers:
            layer.write_grads()
        for module, (dw, db) in zip(self.static, self.static_grads, strict=True):
            _set_grad(module.weight, dw)
            _set_grad(module.bias, db)
        _set_grad(self.readout.weight, self.dwf[None])
        _set_grad(self.readout.bias, np.array([self.dbf]))
        return total / count, scored_out
