"""A compiled engine for :mod:`attnmem.models.atman`'s iteration, equal to it to the byte.

Why: a network is 12–27 scalar neurons, so the numpy engine spends most of a tick in per-op
overhead and temporaries (a few hundred small array operations, one per edge and node, forward
and backward, on (P, S) arrays); the genetic loop runs 7,500 ticks per cell.  Here the edge and
node loops run compiled (numba), a few calls per tick, over the whole population at once, with
the population axis innermost: arrays are (node, sample, lane), so every inner loop is a long
run of independent lanes (what SIMD wants), and sums over samples are lane-wise vector adds.

Equal to the byte, not just close, because every floating-point operation of a lane is the
reference's, in the reference's order:

* no fastmath (no reassociation, no FMA contraction) and ``error_model="numpy"`` (x/0 is inf
  or NaN, as numpy gives, not an exception);
* sums over samples (the batch means of the gradients) follow numpy's pairwise summation
  (``np.add.reduce`` over a contiguous axis of n ≤ 128 items: 8 accumulators over blocks of 8,
  combined as a tree, then the rest one by one), which the reference's ``.sum``/``.mean`` use;
* the transcendental functions are numpy's: ``np.tanh`` (SIMD, not libm: the two differ in the
  last bit) is called from Python on each tanh node's (S, P) block between compiled calls, and
  the force's ``(1 + d) ** 3`` is numpy's ``power`` on the same (P, E) array the reference
  builds.  numpy's SIMD loops give an element the same value wherever it sits in an array, so
  the blocks need not be the reference's.

Supported: hidden activations tanh, relu and linear, a linear output (every layout of
:data:`attnmem.models.atman.LAYOUTS`) and at most 128 training samples; :func:`supports` says
whether a wiring qualifies.  tests/test_atman.py checks this engine against the reference on
every layout × attention × rule, one step and whole short runs of every trainer.
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
#: numpy's pairwise sum switches to halving above this many items (PW_BLOCKSIZE)
MAX_TRAIN = 128


def supports(wiring: ref.Wiring) -> bool:
    """Whether this engine can run ``wiring`` (else use the reference)."""
    return wiring.activations[-1] == "linear" and all(a in _CODES for a in wiring.activations)


@numba.njit(**_JIT)
def _pairwise_lanes(u, v, x, n, r, out):  # pragma: no cover - compiled
    """out[p] = numpy's pairwise sum over s < n of u[s, p]·v[s, p] (v None: u[s, p]·x[s];
    x None as well: u[s, p]), each product rounded as numpy's ``u * v``.  n ≤ 128: below 8
    items a running sum from 0; else 8 accumulators r (8, P) over blocks of 8, combined as
    ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)), then the rest one by one."""
    lanes = out.size
    if n < 8:
        for p in range(lanes):
            out[p] = 0.0
        for s in range(n):
            us = u[s]
            if v is not None:
                vs = v[s]
                for p in range(lanes):
                    out[p] += us[p] * vs[p]
            elif x is not None:
                xs = x[s]
                for p in range(lanes):
                    out[p] += us[p] * xs
            else:
                for p in range(lanes):
                    out[p] += us[p]
        return
    for k in range(8):
        uk, rk = u[k], r[k]
        if v is not None:
            vk = v[k]
            for p in range(lanes):
                rk[p] = uk[p] * vk[p]
        elif x is not None:
            xk = x[k]
            for p in range(lanes):
                rk[p] = uk[p] * xk
        else:
            for p in range(lanes):
                rk[p] = uk[p]
    stop = n - n % 8
    for s in range(8, stop):
        us, rk = u[s], r[s % 8]
        if v is not None:
            vs = v[s]
            for p in range(lanes):
                rk[p] += us[p] * vs[p]
        elif x is not None:
            xs = x[s]
            for p in range(lanes):
                rk[p] += us[p] * xs
        else:
            for p in range(lanes):
                rk[p] += us[p]
    for p in range(lanes):
        out[p] = ((r[0, p] + r[1, p]) + (r[2, p] + r[3, p])) + (
            (r[4, p] + r[5, p]) + (r[6, p] + r[7, p])
        )
    for s in range(stop, n):
        us = u[s]
        if v is not None:
            vs = v[s]
            for p in range(lanes):
                out[p] += us[p] * vs[p]
        elif x is not None:
            xs = x[s]
            for p in range(lanes):
                out[p] += us[p] * xs
        else:
            for p in range(lanes):
                out[p] += us[p]


@numba.njit(**_JIT)
def _gains(weights, biases, positions, src, dst, length0, hidden_source, attention, d, g, wg, bt):
    """Edge lengths d (P, E); gains g, effective weights w ⊙ g (E, P); biases bt (N, P)."""
    lanes, edges = weights.shape
    for p in range(lanes):
        for e in range(edges):
            dx = positions[p, dst[e], 0] - positions[p, src[e], 0]
            dy = positions[p, dst[e], 1] - positions[p, src[e], 1]
            d[p, e] = np.sqrt(dx * dx + dy * dy)
            if attention and hidden_source[e]:
                g[e, p] = length0[e] / d[p, e]
            else:
                g[e, p] = 1.0
            wg[e, p] = weights[p, e] * g[e, p]
        for j in range(biases.shape[1]):
            bt[j, p] = biases[p, j]


@numba.njit(**_JIT)
def _messages_mean(j, s, in_ptr, in_edges, src, g, a, bt, out):  # pragma: no cover - compiled
    """The faithful rule's z̄_j at sample s, every lane: the mean of the incoming messages (the
    reference's zeros, += each message in edge order, /= count; the input's message is x,
    which is a[0]·1), or z_j = b_j with none."""
    lanes = out.size
    count = in_ptr[j + 1] - in_ptr[j]
    if count == 0:
        for p in range(lanes):
            out[p] = bt[j, p]
        return
    for p in range(lanes):
        out[p] = 0.0
    for q in range(in_ptr[j], in_ptr[j + 1]):
        e = in_edges[q]
        ai, ge = a[src[e], s], g[e]
        if src[e] == 0:
            for p in range(lanes):
                out[p] += ai[p]
        else:
            for p in range(lanes):
                out[p] += ai[p] * ge[p]
    for p in range(lanes):
        out[p] /= count


@numba.njit(**_JIT)
def _forward_span(start, order, codes, in_ptr, in_edges, src, wg, g, bt, tslot, a, zt, zb):
    """Nodes order[start:] up to and including the first tanh node: z_j = b_j + Σ wg·a_src
    (edges in index order) and a_j of relu and linear nodes, in place in a (N, S, P); the tanh
    node's z goes to ``zt`` (S, P) for numpy's tanh.  With ``tslot`` (faithful), a tanh node's
    z̄ goes to zb[tslot[j]] too.  Returns the position after the span."""
    samples, lanes = a.shape[1], a.shape[2]
    n_train = zb.shape[1]
    stop = start
    while stop < order.size:
        stop += 1
        if codes[order[stop - 1]] == TANH:
            break
    for k in range(start, stop):
        j = order[k]
        code = codes[j]
        lo, hi = in_ptr[j], in_ptr[j + 1]
        bj = bt[j]
        for s in range(samples):
            row = zt[s] if code == TANH else a[j, s]
            if hi - lo >= 3:  # the first three edges in one pass (the same sums, in order)
                e0, e1, e2 = in_edges[lo], in_edges[lo + 1], in_edges[lo + 2]
                w0, w1, w2 = wg[e0], wg[e1], wg[e2]
                a0, a1, a2 = a[src[e0], s], a[src[e1], s], a[src[e2], s]
                for p in range(lanes):
                    row[p] = ((bj[p] + w0[p] * a0[p]) + w1[p] * a1[p]) + w2[p] * a2[p]
                first = lo + 3
            else:
                for p in range(lanes):
                    row[p] = bj[p]
                first = lo
            for q in range(first, hi):
                e = in_edges[q]
                ai, we = a[src[e], s], wg[e]
                for p in range(lanes):
                    row[p] += we[p] * ai[p]
            if code == RELU:
                for p in range(lanes):
                    v = row[p]
                    row[p] = v if (v > 0.0 or v != v) else 0.0  # np.maximum(z, 0): NaN stays
            elif code == TANH and tslot[j] >= 0 and s < n_train:
                _messages_mean(j, s, in_ptr, in_edges, src, g, a, bt, zb[tslot[j], s])
    return stop


@numba.njit(**_JIT)
def _backward(
    faithful, codes, walk, in_ptr, in_edges, out_ptr, out_edges, src, dst, wt, g, wg, bt,
    a, x, y, tslot, tz, local, stored, r, grad_w, grad_b,
):  # fmt: skip
    """Batch-mean gradients of one rule on the first S_train samples, grad_w (E, P) and grad_b
    (N, P).  ``walk`` is the reference's node order (faithful: reverse index; true_grad:
    reverse topological); ``wt`` the weights (E, P).  f′ as the reference takes it: faithful,
    at z̄ (tanh nodes: numpy's tanh of it in tz[tslot[j]]; relu nodes: z̄ recomputed here);
    true_grad, at z (tanh′ = 1 − a², since numpy's tanh(z) is a; relu′: a > 0 exactly when
    z > 0)."""
    n, lanes = a.shape[0], a.shape[2]
    n_train = y.size
    out = n - 1
    zbar = np.empty(lanes)
    # faithful: a node the walk has not reached yet holds a stored delta of 0 (the reference's
    # zeros; read as a row of zeros, so that 0·w is still computed, NaN for w = ±inf).  The
    # zero is a labelled deviation: the source read an uninitialised np.ndarray([]) there
    # (basic3x5, arrow5x5; attnmem.models.atman's docstring)
    zeros = np.zeros(lanes)
    done = np.zeros(n, dtype=np.bool_)
    done[out] = True
    for s in range(n_train):  # a linear output: f′ = 1
        for p in range(lanes):
            local[out, s, p] = (a[out, s, p] - y[s]) * 1.0
            stored[out, s, p] = local[out, s, p]
    for j in walk:
        code = codes[j]
        lo, hi = out_ptr[j], out_ptr[j + 1]
        for s in range(n_train):
            acc = local[j, s]  # accumulates Σ back·w, then becomes the local delta
            if hi - lo == 3:  # the three edges in one pass (the same sums, in order)
                e0, e1, e2 = out_edges[lo], out_edges[lo + 1], out_edges[lo + 2]
                if faithful:
                    w0, w1, w2 = wt[e0], wt[e1], wt[e2]
                    b0 = stored[dst[e0], s] if done[dst[e0]] else zeros
                    b1 = stored[dst[e1], s] if done[dst[e1]] else zeros
                    b2 = stored[dst[e2], s] if done[dst[e2]] else zeros
                else:
                    w0, w1, w2 = wg[e0], wg[e1], wg[e2]
                    b0, b1, b2 = local[dst[e0], s], local[dst[e1], s], local[dst[e2], s]
                for p in range(lanes):
                    acc[p] = ((0.0 + b0[p] * w0[p]) + b1[p] * w1[p]) + b2[p] * w2[p]
                lo_rest = hi
            else:
                acc[:] = 0.0
                lo_rest = lo
            for q in range(lo_rest, hi):
                e = out_edges[q]
                if faithful:  # the stored deltas, the gain ignored
                    w, back = wt[e], stored[dst[e], s] if done[dst[e]] else zeros
                else:
                    w, back = wg[e], local[dst[e], s]
                for p in range(lanes):
                    acc[p] += back[p] * w[p]
            if faithful:
                keep = stored[j, s]
                for p in range(lanes):
                    keep[p] = acc[p]
            if code == TANH:
                t = tz[tslot[j], s] if faithful else a[j, s]
                for p in range(lanes):
                    acc[p] = acc[p] * (1.0 - t[p] * t[p])
            elif code == RELU:
                if faithful:
                    _messages_mean(j, s, in_ptr, in_edges, src, g, a, bt, zbar)
                    for p in range(lanes):
                        acc[p] = acc[p] * (1.0 if zbar[p] > 0.0 else 0.0)
                else:
                    aj = a[j, s]
                    for p in range(lanes):
                        acc[p] = acc[p] * (1.0 if aj[p] > 0.0 else 0.0)
            else:
                for p in range(lanes):
                    acc[p] = acc[p] * 1.0
        done[j] = True
    for e in range(src.size):
        i, j = src[e], dst[e]
        ge = grad_w[e]
        if i == 0:
            _pairwise_lanes(local[j], None, x, n_train, r, ge)
            for p in range(lanes):
                ge[p] = ge[p] / n_train
        else:
            _pairwise_lanes(a[i], local[j], None, n_train, r, ge)
            for p in range(lanes):
                ge[p] = ge[p] / n_train * g[e, p]
    grad_b[0, :] = 0.0
    for j in range(1, n):
        gb = grad_b[j]
        _pairwise_lanes(local[j], None, None, n_train, r, gb)
        for p in range(lanes):
            gb[p] = gb[p] / n_train


@numba.njit(**_JIT)
def _update(
    attention, out_ptr, out_edges, src, dst, d, cube, grad_w, grad_b, lr, position_lr,
    d_min, d_max, push, weights, biases, positions,
):  # fmt: skip
    """The position forces and moves (attention on), then the parameter update, in place."""
    lanes, edges = weights.shape
    n = biases.shape[1]
    force = np.empty((n, 2))
    for p in range(lanes):
        if attention:
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
                        coef = -grad_w[e, p] / cube[p, e]
                    fx = fx + coef * (positions[p, dst[e], 0] - positions[p, src[e], 0])
                    fy = fy + coef * (positions[p, dst[e], 1] - positions[p, src[e], 1])
                force[i, 0] = fx
                force[i, 1] = fy
            # every force is read from the positions before any node moves
            for i in range(1, n):
                positions[p, i, 0] += position_lr * force[i, 0]
                positions[p, i, 1] += position_lr * force[i, 1]
        for e in range(edges):
            weights[p, e] -= lr * grad_w[e, p]
        for j in range(n):
            biases[p, j] -= lr * grad_b[j, p]


def _csr(groups: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
    ptr = np.zeros(len(groups) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([g.size for g in groups])
    flat = np.concatenate([np.asarray(g, dtype=np.int64) for g in groups])
    return ptr, flat


@dataclass
class Engine:
    """One wiring under one learning rule; work arrays per population size seen (the
    children trainer steps its whole population, then the newborns of a tick: two sizes)."""

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
        tanh_hidden = [j for j in range(1, w.n_nodes - 1) if self.codes[j] == TANH]
        # faithful: each tanh hidden node's slot in zb (its z̄, then numpy's tanh of it)
        self.tslot = np.full(w.n_nodes, -1, dtype=np.int64)
        if self.faithful:
            self.tslot[tanh_hidden] = np.arange(len(tanh_hidden))
        self.n_tanh = len(tanh_hidden) if self.faithful else 0

    def buffers(self, lanes: int, samples: int, n_train: int) -> dict[str, np.ndarray]:
        """Work arrays, lanes innermost."""
        if n_train > MAX_TRAIN:
            raise ValueError(f"the compiled engine takes at most {MAX_TRAIN} training samples")
        key = (lanes, samples, n_train)
        if key not in self._buffers:
            if len(self._buffers) >= 8:  # a few sizes live at once; forget the oldest
                del self._buffers[next(iter(self._buffers))]
            n, e = self.wiring.n_nodes, self.wiring.n_edges
            self._buffers[key] = {
                "d": np.empty((lanes, e)),
                **{name: np.empty((e, lanes)) for name in ("g", "wg", "grad_w")},
                **{name: np.empty((n, lanes)) for name in ("bt", "grad_b")},
                "a": np.zeros((n, samples, lanes)),
                "zt": np.zeros((samples, lanes)),
                "zb": np.zeros((max(self.n_tanh, 1), n_train, lanes)),
                **{name: np.zeros((n, n_train, lanes)) for name in ("local", "stored")},
                "r": np.zeros((8, lanes)),
            }
        return self._buffers[key]

    def forward(self, net: ref.Population, x: np.ndarray, n_train: int) -> dict[str, np.ndarray]:
        """Every network on every sample x (S,): the work arrays, with a (N, S, P) filled (and,
        faithful, numpy's tanh of the tanh nodes' z̄ in zb)."""
        st = self.settings
        b = self.buffers(net.weights.shape[0], x.size, n_train)
        _gains(
            *(net.weights, net.biases, net.positions, self.src, self.dst, self.length0),
            *(self.hidden_source, st.attention, b["d"], b["g"], b["wg"], b["bt"]),
        )
        a = b["a"]
        a[0] = x[:, None]
        k = 0
        while k < self.order.size:
            k = _forward_span(
                *(k, self.order, self.codes, self.in_ptr, self.in_edges, self.src),
                *(b["wg"], b["g"], b["bt"], self.tslot, a, b["zt"], b["zb"]),
            )
            j = self.order[k - 1]
            if self.codes[j] == TANH:
                np.tanh(b["zt"], out=a[j])
        if self.n_tanh:
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
        # (P, S_test) rows, contiguous as the reference's, so that its means sum alike
        prediction = np.ascontiguousarray(b["a"][-1, n_train:].T)
        mse, accuracy = ref.test_metrics(prediction, y_test)
        wt = np.ascontiguousarray(net.weights.T)
        _backward(
            *(self.faithful, self.codes, self.walk, self.in_ptr, self.in_edges, self.out_ptr),
            *(self.out_edges, self.src, self.dst, wt, b["g"], b["wg"], b["bt"], b["a"], x),
            *(y_train, self.tslot, b["zb"], b["local"], b["stored"], b["r"]),
            *(b["grad_w"], b["grad_b"]),
        )
        # numpy's power, on the (P, E) array the reference raises (not x*x*x: it rounds once)
        cube = (1.0 + b["d"]) ** 3 if st.attention else b["d"]
        _update(
            *(st.attention, self.out_ptr, self.out_edges, self.src, self.dst, b["d"], cube),
            *(b["grad_w"], b["grad_b"], st.lr, st.position_lr, st.d_min, st.d_max, st.force),
            *(net.weights, net.biases, net.positions),
        )
        return mse, accuracy
