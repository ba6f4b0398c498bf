"""A compiled engine for :mod:`attnmem.models.atman`'s iteration, equal to it to the byte.

Why: a network is 12–27 scalar neurons, so the numpy engine spends most of a tick in per-op
overhead (a few hundred small array operations: one per edge and node, forward and backward)
and in temporaries; the genetic loop runs 7,500 ticks per cell.  Here the edge and node loops
run compiled (numba), a few calls per tick, over the whole population at once.

Equal to the byte, not just close, because every floating-point operation is the reference's,
in the reference's order:

* no fastmath (no reassociation, no FMA contraction) and ``error_model="numpy"`` (x/0 is inf
  or NaN, as numpy gives, not an exception);
* sums over samples (the batch means of the gradients) use numpy's own pairwise summation
  (:func:`_pairwise`, the 8-accumulator blocks of ``np.add.reduce``), which the reference's
  ``.sum``/``.mean`` use; a test checks it against numpy on every length;
* the transcendental functions are numpy's: ``np.tanh`` (SIMD, not libm: the two differ in the
  last bit) is called from Python on each tanh node's (P, S) block between compiled calls, and
  the force's ``(1 + d) ** 3`` is numpy's ``power`` on the same (P, E) array the reference
  builds.  numpy's SIMD loops give an element the same value wherever it sits in an array
  (a test checks), so the blocks need not be the reference's.

Supported: hidden activations tanh, relu and linear and a linear output (every layout of
:data:`attnmem.models.atman.LAYOUTS`); :func:`supports` says whether a wiring qualifies.
tests/test_atman.py checks this engine against the reference on every layout × attention ×
rule, one step and whole short runs of every trainer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np

from attnmem.models import atman as ref

#: activation codes of the compiled kernels
TANH, RELU, LINEAR = 0, 1, 2
_CODES = {"tanh": TANH, "relu": RELU, "linear": LINEAR}
_JIT = {"cache": True, "error_model": "numpy"}


def supports(wiring: ref.Wiring) -> bool:
    """Whether this engine can run ``wiring`` (else use the reference)."""
    return wiring.activations[-1] == "linear" and all(a in _CODES for a in wiring.activations)


@numba.njit(**_JIT)
def _pairwise(a, n):  # pragma: no cover - compiled
    """numpy's pairwise sum of a[0:n] (``np.add.reduce`` over a contiguous axis): below 8
    items a running sum from 0; up to 128, 8 accumulators over blocks of 8, combined as a
    tree, then the rest one by one; above, the two halves (split at a multiple of 8)."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[i]
        return res
    if n <= 128:
        r0, r1, r2, r3 = a[0], a[1], a[2], a[3]
        r4, r5, r6, r7 = a[4], a[5], a[6], a[7]
        i = 8
        stop = n - n % 8
        while i < stop:
            r0 += a[i]
            r1 += a[i + 1]
            r2 += a[i + 2]
            r3 += a[i + 3]
            r4 += a[i + 4]
            r5 += a[i + 5]
            r6 += a[i + 6]
            r7 += a[i + 7]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res += a[i]
            i += 1
        return res
    half = n // 2
    half -= half % 8
    return _pairwise(a[:half], half) + _pairwise(a[half:], n - half)


@numba.njit(**_JIT)
def _pairwise_dot(u, v, n):  # pragma: no cover - compiled
    """:func:`_pairwise` of the products u[i]·v[i] (each rounded, as numpy's ``u * v``)."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += u[i] * v[i]
        return res
    if n <= 128:
        r0, r1, r2, r3 = u[0] * v[0], u[1] * v[1], u[2] * v[2], u[3] * v[3]
        r4, r5, r6, r7 = u[4] * v[4], u[5] * v[5], u[6] * v[6], u[7] * v[7]
        i = 8
        stop = n - n % 8
        while i < stop:
            r0 += u[i] * v[i]
            r1 += u[i + 1] * v[i + 1]
            r2 += u[i + 2] * v[i + 2]
            r3 += u[i + 3] * v[i + 3]
            r4 += u[i + 4] * v[i + 4]
            r5 += u[i + 5] * v[i + 5]
            r6 += u[i + 6] * v[i + 6]
            r7 += u[i + 7] * v[i + 7]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res += u[i] * v[i]
            i += 1
        return res
    half = n // 2
    half -= half % 8
    return _pairwise_dot(u[:half], v[:half], half) + _pairwise_dot(u[half:], v[half:], n - half)


@numba.njit(**_JIT)
def _gains(weights, positions, src, dst, length0, hidden_source, attention, d, g, wg):
    """Edge lengths d, gains g and effective weights w ⊙ g, all (P, E)."""
    lanes, edges = weights.shape
    for p in range(lanes):
        for e in range(edges):
            dx = positions[p, dst[e], 0] - positions[p, src[e], 0]
            dy = positions[p, dst[e], 1] - positions[p, src[e], 1]
            d[p, e] = np.sqrt(dx * dx + dy * dy)
            if attention and hidden_source[e]:
                g[p, e] = length0[e] / d[p, e]
            else:
                g[p, e] = 1.0
            wg[p, e] = weights[p, e] * g[p, e]


@numba.njit(**_JIT)
def _messages_mean(j, p, in_ptr, in_edges, src, g, a, x, biases, n_train, out):
    """The faithful rule's z̄_j of lane p (S_train,): the mean of the incoming messages (the
    reference's zeros, += each message in edge order, /= count), or z_j = b_j with none."""
    count = in_ptr[j + 1] - in_ptr[j]
    if count == 0:
        for s in range(n_train):
            out[s] = biases[p, j]
        return
    for s in range(n_train):
        out[s] = 0.0
    for q in range(in_ptr[j], in_ptr[j + 1]):
        e = in_edges[q]
        if src[e] == 0:
            for s in range(n_train):
                out[s] += x[s]
        else:
            gain = g[p, e]
            ai = a[p, src[e]]
            for s in range(n_train):
                out[s] += ai[s] * gain
    for s in range(n_train):
        out[s] /= count


@numba.njit(**_JIT)
def _forward_span(
    start, pending, order, codes, in_ptr, in_edges, src, wg, g, biases, x, n_train, tslot,
    a, zt, ta, zb,
):  # fmt: skip
    """Nodes order[start:] up to and including the first tanh node, lane by lane: z_j = b_j +
    Σ wg·a_src (edges in index order), a_j of relu and linear nodes; the tanh node's z goes to
    ``zt`` (P, S) for numpy's tanh (into ``ta``, copied to a[:, pending] by the next call).
    With ``tslot`` (faithful), a tanh node's z̄ goes to zb[:, tslot[j]] too.  Returns the
    position after the span."""
    lanes, samples = a.shape[0], a.shape[2]
    stop = start
    while stop < order.size:
        stop += 1
        if codes[order[stop - 1]] == TANH:
            break
    row = np.empty(samples)
    for p in range(lanes):
        ap, wp = a[p], wg[p]
        if pending >= 0:
            for s in range(samples):
                ap[pending, s] = ta[p, s]
        for k in range(start, stop):
            j = order[k]
            zj = zt[p] if codes[j] == TANH else row
            b = biases[p, j]
            for s in range(samples):
                zj[s] = b
            for q in range(in_ptr[j], in_ptr[j + 1]):
                e = in_edges[q]
                w = wp[e]
                if src[e] == 0:
                    for s in range(samples):
                        zj[s] += w * x[s]
                else:
                    ai = ap[src[e]]
                    for s in range(samples):
                        zj[s] += w * ai[s]
            aj = ap[j]
            if codes[j] == RELU:
                for s in range(samples):
                    v = zj[s]
                    aj[s] = v if (v > 0.0 or v != v) else 0.0  # np.maximum(z, 0): NaN stays
            elif codes[j] == LINEAR:
                for s in range(samples):
                    aj[s] = zj[s]
            elif tslot[j] >= 0:
                _messages_mean(j, p, in_ptr, in_edges, src, g, a, x, biases, n_train, zb[p, tslot[j]])
    return stop


@numba.njit(**_JIT)
def _backward(
    faithful, codes, walk, in_ptr, in_edges, out_ptr, out_edges, src, dst, weights, g, wg,
    biases, a, x, y, tslot, tz, grad_w, grad_b,
):  # fmt: skip
    """Batch-mean gradients of one rule on the first S_train samples (grad_w (P, E), grad_b
    (P, N)), lane by lane.  ``walk`` is the reference's node order (faithful: reverse index;
    true_grad: reverse topological).  f′ as the reference takes it: faithful, at z̄ (tanh
    nodes: numpy's tanh of it in tz[:, tslot[j]]; relu nodes: z̄ recomputed here); true_grad,
    at z (tanh′ = 1 − a², since numpy's tanh(z) is a; relu′: a > 0 exactly when z > 0)."""
    lanes, n = a.shape[0], a.shape[1]
    n_train = y.size
    out = n - 1
    local = np.empty((n, n_train))
    stored = np.empty((n, n_train))
    zbar = np.empty(n_train)
    for p in range(lanes):
        ap = a[p]
        local[:, :] = 0.0
        stored[:, :] = 0.0
        for s in range(n_train):  # a linear output: f′ = 1
            local[out, s] = (ap[out, s] - y[s]) * 1.0
            stored[out, s] = local[out, s]
        for j in walk:
            acc = local[j]  # accumulates Σ back·w, then becomes the local delta
            for q in range(out_ptr[j], out_ptr[j + 1]):
                e = out_edges[q]
                if faithful:  # the stored deltas, the gain ignored
                    w = weights[p, e]
                    back = stored[dst[e]]
                else:
                    w = wg[p, e]
                    back = local[dst[e]]
                for s in range(n_train):
                    acc[s] += back[s] * w
            if faithful:
                for s in range(n_train):
                    stored[j, s] = acc[s]
            code = codes[j]
            if code == TANH:
                t = tz[p, tslot[j]] if faithful else ap[j]
                for s in range(n_train):
                    acc[s] = acc[s] * (1.0 - t[s] * t[s])
            elif code == RELU:
                if faithful:
                    _messages_mean(j, p, in_ptr, in_edges, src, g, a, x, biases, n_train, zbar)
                    for s in range(n_train):
                        acc[s] = acc[s] * (1.0 if zbar[s] > 0.0 else 0.0)
                else:
                    for s in range(n_train):
                        acc[s] = acc[s] * (1.0 if ap[j, s] > 0.0 else 0.0)
            else:
                for s in range(n_train):
                    acc[s] = acc[s] * 1.0
        for e in range(src.size):
            i, j = src[e], dst[e]
            if i == 0:
                grad_w[p, e] = _pairwise_dot(local[j], x, n_train) / n_train
            else:
                grad_w[p, e] = _pairwise_dot(ap[i], local[j], n_train) / n_train * g[p, e]
        grad_b[p, 0] = 0.0
        for j in range(1, n):
            grad_b[p, j] = _pairwise(local[j], n_train) / n_train


@numba.njit(**_JIT)
def _update(
    attention,
    out_ptr,
    out_edges,
    src,
    dst,
    d,
    cube,
    grad_w,
    grad_b,
    lr,
    position_lr,
    d_min,
    d_max,
    push,
    force,
    weights,
    biases,
    positions,
):
    """The position forces and moves (attention on), then the parameter update, in place."""
    lanes, edges = weights.shape
    n = biases.shape[1]
    if attention:
        for p in range(lanes):
            for i in range(1, n):  # the output has no outgoing edge: its force stays 0
                fx, fy = 0.0, 0.0
                for q in range(out_ptr[i], out_ptr[i + 1]):
                    e = out_edges[q]
                    de = d[p, e]
                    if de < d_min:
                        coef = -push / de
                    elif de > d_max:
                        coef = push / de
                    else:
                        coef = -grad_w[p, e] / cube[p, e]
                    fx = fx + coef * (positions[p, dst[e], 0] - positions[p, src[e], 0])
                    fy = fy + coef * (positions[p, dst[e], 1] - positions[p, src[e], 1])
                force[p, i, 0] = fx
                force[p, i, 1] = fy
            # every force is read from the positions before any node moves
            for i in range(1, n):
                positions[p, i, 0] += position_lr * force[p, i, 0]
                positions[p, i, 1] += position_lr * force[p, i, 1]
    for p in range(lanes):
        for e in range(edges):
            weights[p, e] -= lr * grad_w[p, e]
        for j in range(n):
            biases[p, j] -= lr * grad_b[p, j]


def _csr(groups: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
    ptr = np.zeros(len(groups) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([g.size for g in groups])
    flat = np.concatenate([np.asarray(g, dtype=np.int64) for g in groups])
    return ptr, flat


@dataclass
class Engine:
    """One wiring under one learning rule; buffers sized for the last population seen."""

    wiring: ref.Wiring
    settings: ref.Settings
    _buffers: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        w = self.wiring
        if not supports(w):
            raise ValueError(f"the compiled engine does not run wiring {w.layout!r}")
        if self.settings.rule not in ref.RULES:
            raise ValueError(f"unknown rule {self.settings.rule!r}; known: {', '.join(ref.RULES)}")
        self.codes = np.array([_CODES[a] for a in w.activations], dtype=np.int64)
        self.in_ptr, self.in_edges = _csr(w.in_edges)
        self.out_ptr, self.out_edges = _csr(w.out_edges)
        self.src = w.src.astype(np.int64)
        self.dst = w.dst.astype(np.int64)
        self.length0 = np.ascontiguousarray(w.length0, dtype=float)
        self.hidden_source = w.hidden_source.copy()
        self.order = np.array(w.order[1:], dtype=np.int64)  # the input's a is x
        self.faithful = self.settings.rule == "faithful"
        walk = range(w.n_nodes - 2, 0, -1) if self.faithful else reversed(w.order[1:-1])
        self.walk = np.array(list(walk), dtype=np.int64)
        self.tanh_hidden = [j for j in range(1, w.n_nodes - 1) if self.codes[j] == TANH]
        # faithful: each tanh hidden node's slot in zb (its z̄, then numpy's tanh of it)
        self.tslot = np.full(w.n_nodes, -1, dtype=np.int64)
        if self.faithful:
            self.tslot[self.tanh_hidden] = np.arange(len(self.tanh_hidden))

    def buffers(self, lanes: int, samples: int, n_train: int) -> dict[str, np.ndarray]:
        """Work arrays, lane-major: a lane's nodes and samples are contiguous."""
        key = (lanes, samples, n_train)
        if self._buffers.get("key") != key:
            n, e = self.wiring.n_nodes, self.wiring.n_edges
            self._buffers = {
                "key": key,
                **{name: np.empty((lanes, e)) for name in ("d", "g", "wg", "grad_w")},
                "a": np.zeros((lanes, n, samples)),
                **{name: np.zeros((lanes, samples)) for name in ("zt", "ta")},
                "zb": np.zeros((lanes, max(len(self.tanh_hidden), 1), n_train)),
                "grad_b": np.empty((lanes, n)),
                "force": np.zeros((lanes, n, 2)),
            }
        return self._buffers

    def forward(self, net: ref.Population, x: np.ndarray, n_train: int) -> dict[str, np.ndarray]:
        """Every network on every sample x (S,): the buffers, with a (P, N, S) filled (and,
        faithful, numpy's tanh of the tanh nodes' z̄ in zb)."""
        st = self.settings
        b = self.buffers(net.weights.shape[0], x.size, n_train)
        _gains(
            *(net.weights, net.positions, self.src, self.dst, self.length0),
            *(self.hidden_source, st.attention, b["d"], b["g"], b["wg"]),
        )
        a = b["a"]
        a[:, 0] = x
        k, pending = 0, -1
        while k < self.order.size:
            k = _forward_span(
                *(k, pending, self.order, self.codes, self.in_ptr, self.in_edges, self.src),
                *(b["wg"], b["g"], net.biases, x, n_train, self.tslot, a),
                *(b["zt"], b["ta"], b["zb"]),
            )
            j = self.order[k - 1]
            pending = -1
            if self.codes[j] == TANH:
                np.tanh(b["zt"], out=b["ta"])
                pending = j
        if pending >= 0:
            a[:, pending] = b["ta"]
        if self.faithful and self.tanh_hidden:
            np.tanh(b["zb"], out=b["zb"])
        return b

    def step(
        self,
        net: ref.Population,
        x_train: np.ndarray,
        y_train: np.ndarray,
        x_test: np.ndarray,
        y_test: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """:func:`attnmem.models.atman.train_step`, to the byte."""
        st, n_train = self.settings, x_train.size
        x = np.concatenate([x_train, x_test])
        b = self.forward(net, x, n_train)
        mse, accuracy = ref.test_metrics(b["a"][:, -1, n_train:], y_test)
        _backward(
            *(self.faithful, self.codes, self.walk, self.in_ptr, self.in_edges, self.out_ptr),
            *(self.out_edges, self.src, self.dst, net.weights, b["g"], b["wg"], net.biases),
            *(b["a"], x, y_train, self.tslot, b["zb"], b["grad_w"], b["grad_b"]),
        )
        # numpy's power, on the (P, E) array the reference raises (not x*x*x: it rounds once)
        cube = (1.0 + b["d"]) ** 3 if st.attention else b["d"]
        _update(
            *(st.attention, self.out_ptr, self.out_edges, self.src, self.dst, b["d"], cube),
            *(b["grad_w"], b["grad_b"], st.lr, st.position_lr, st.d_min, st.d_max, st.force),
            *(b["force"], net.weights, net.biases, net.positions),
        )
        return mse, accuracy
