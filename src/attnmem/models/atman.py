"""The ātmán spatial network (seed 002, spec B.3–B.4) for a population of networks at once.

A network is a DAG of scalar neurons placed in the plane.  Its wiring comes from the layout
alone (proximity, out-degree 3, spec B.3) and is shared by every network of a population; what
differs per network are the edge weights, the biases and the node positions (which move).

Forward (every network, every sample): z_j = Σ_i w_ij m_ij + b_j, a_j = f_j(z_j), where the
message on edge i→j is m_ij = a_i · g_ij with the **spatial attention gain** g_ij = d⁰_ij / d_ij
(initial over current edge length) when attention is on, 1 when off; the input node sends raw x.

Two learning rules give the gradients of w and b:

``faithful`` (the source's hand-written rule, B.4; one deviation: a node with no incoming edge
uses its bias for z̄, where the source's mean of an empty list is NaN): nodes in reverse *index*
order;
s_j = Σ_k δ_k w_jk over outgoing edges (the gain ignored), the stored δ_j is s_j (without f′),
the local δ̃_j = s_j · f′(z̄_j) with z̄_j the mean of the incoming messages; ∂w_ij = m_ij δ̃_j,
∂b_j = δ̃_j.  An edge j→k to a node of lower index (not processed yet) reads k's slot of the
per-sample delta store before k has written it: basic3x5 has five such edges (each layer's top
node to its shifted middle node) and arrow5x5 twenty (a layer's lower nodes wire to the nodes
above them); basic2x5 none.  **Deviation, labelled:** the source's store starts as
``np.ndarray([])`` per node, an *uninitialised* 0-d array, so there it reads whatever bytes
that allocation held (not reproducible, attention on or off alike); ours starts at zero, so
such an edge carries nothing back.  The output delta is (ŷ − y)·f′(ŷ), f′ taken at the output.

``true_grad``: the exact gradient of ½(ŷ − y)² (the loss the source's output delta implies),
averaged over the batch, with respect to w and b, through the gains.

Positions (attention on only; the source moved nodes only then): for every edge i→j with
d = |p_j − p_i|, the source node i is pushed away (d < d_min), pulled closer (d > d_max) or
moved by −(δ_j m_ij)(p_j − p_i)/(1 + d)³; averaged over the batch and applied as p ← p + lr·g.
The input node never moves; the output node has no outgoing edge, so it never moves either.

All arrays carry the population first: weights (P, E), biases (P, N), positions (P, N, 2).
Each network's numbers depend on its own lane only (elementwise operations, and sums over a
network's own edges or samples in a fixed order), so a seed trained beside other seeds gives
the same bytes as alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

#: Node layouts (spec B.3): position (x, y) -> activation, input first, output last.  Positions
#: are in the source's config units and are multiplied by SCALE at construction.
LAYOUTS: dict[str, tuple[tuple[tuple[float, float], str], ...]] = {
    # input tanh; 5 layers of two tanh nodes at y = 0.1 and 0.9; linear output (12 nodes)
    "basic2x5": (
        ((0.0, 0.5), "tanh"),
        *(((float(x), y), "tanh") for x in range(1, 6) for y in (0.1, 0.9)),
        ((6.0, 0.5), "linear"),
    ),
    # relu input; 5 layers of three nodes at y = 0, 0.5, 1, the middle one shifted +0.2 in x;
    # the last layer's middle node is relu (17 nodes)
    "basic3x5": (
        ((0.0, 0.5), "relu"),
        *(
            ((x + dx, y), "relu" if (x, y) == (5, 0.5) else "tanh")
            for x in range(1, 6)
            for dx, y in ((0.0, 0.0), (0.2, 0.5), (0.0, 1.0))
        ),
        ((6.0, 0.5), "linear"),
    ),
    # relu everywhere; 5 layers of five nodes in an arrow (x + 0, .1, .2, .1, 0 over
    # y = 0.1, 0.3, 0.5, 0.7, 0.9); linear output (27 nodes)
    "arrow5x5": (
        ((0.0, 0.5), "relu"),
        *(
            ((x + dx, y), "relu")
            for x in range(1, 6)
            for dx, y in ((0.0, 0.1), (0.1, 0.3), (0.2, 0.5), (0.1, 0.7), (0.0, 0.9))
        ),
        ((6.0, 0.5), "linear"),
    ),
}
SCALE = (6.0, 8.0)
OUT_DEGREE = 3
RULES = ("faithful", "true_grad")


def activate(name: str, z: np.ndarray) -> np.ndarray:
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "linear":
        return z
    raise ValueError(f"unknown activation {name!r}; known: tanh, relu, sigmoid, linear")


def derivative(name: str, z: np.ndarray) -> np.ndarray:
    """f′(z) of one activation, elementwise (relu′(0) = 0, as the source's np.where(x > 0))."""
    if name == "tanh":
        return 1.0 - np.tanh(z) ** 2
    if name == "relu":
        return (z > 0).astype(z.dtype)
    if name == "sigmoid":
        s = 1.0 / (1.0 + np.exp(-z))
        return s * (1.0 - s)
    if name == "linear":
        return np.ones_like(z)
    raise ValueError(f"unknown activation {name!r}")


@dataclass(frozen=True)
class Wiring:
    """A layout's nodes and edges.  Edges are numbered by destination node (in index order),
    then in the order the source appended them to that node's incoming list: a node's weight
    vector is ``weights[:, in_edges[j]]``."""

    layout: str
    positions: np.ndarray  # (N, 2), scaled
    activations: tuple[str, ...]
    src: np.ndarray  # (E,)
    dst: np.ndarray  # (E,)
    creation: tuple[int, ...]  # edge numbers in the order the wiring created them

    @property
    def n_nodes(self) -> int:
        return len(self.activations)

    @property
    def n_edges(self) -> int:
        return int(self.src.size)

    @property
    def output(self) -> int:
        return self.n_nodes - 1

    @cached_property
    def in_edges(self) -> tuple[np.ndarray, ...]:
        return tuple(np.flatnonzero(self.dst == j) for j in range(self.n_nodes))

    @cached_property
    def out_edges(self) -> tuple[np.ndarray, ...]:
        """Per node, its outgoing edges in the order the wiring created them."""
        created = np.asarray(self.creation, dtype=int)
        return tuple(created[self.src[created] == i] for i in range(self.n_nodes))

    @cached_property
    def order(self) -> tuple[int, ...]:
        """Kahn's topological order (ties by index); the input node comes first.  A node that
        nothing wires to (arrow5x5's top first-layer node) is a source too: its z is its bias."""
        indegree = np.bincount(self.dst, minlength=self.n_nodes)
        ready, seen = [int(j) for j in np.flatnonzero(indegree == 0)], []
        while ready:
            node = ready.pop(0)
            seen.append(node)
            for e in self.out_edges[node]:
                k = int(self.dst[e])
                indegree[k] -= 1
                if indegree[k] == 0:
                    ready.append(k)
                    ready.sort()
        if len(seen) != self.n_nodes:
            raise ValueError(f"layout {self.layout!r} does not wire into a DAG")
        return tuple(seen)

    @cached_property
    def length0(self) -> np.ndarray:
        """Initial edge lengths d⁰ (E,)."""
        return np.linalg.norm(self.positions[self.dst] - self.positions[self.src], axis=1)

    @cached_property
    def hidden_source(self) -> np.ndarray:
        """Edges whose source is a hidden node (the ones that carry a gain)."""
        return self.src != 0


def _wire(positions: np.ndarray, activations: Sequence[str]) -> list[tuple[int, int]]:
    """The source's proximity wiring, as (source, destination) pairs in creation order."""
    n = len(activations)
    hidden = list(range(1, n - 1))
    # as scipy's distance_matrix computes it (sum of squares, then ** 0.5): near-ties between
    # candidates (arrow5x5's input has two pairs at equal distance) break the same way
    dist = ((positions[None, :, :] - positions[:, None, :]) ** 2).sum(axis=2) ** 0.5
    edges: list[tuple[int, int]] = []
    # the input node -> its OUT_DEGREE nearest hidden nodes (a stable sort: ties by index)
    for j in sorted(hidden, key=lambda j: dist[0, j])[:OUT_DEGREE]:
        edges.append((0, j))
    for i in hidden:
        targets = sorted([j for j in [*hidden, n - 1] if j != i], key=lambda j: dist[i, j])
        out = 0
        for j in targets:
            # forward in x only, and never j -> i -> j (the source's 2-cycle check)
            if positions[j, 0] >= positions[i, 0] and (j, i) not in edges:
                edges.append((i, j))
                out += 1
            if out == OUT_DEGREE:
                break
    return edges


def build_wiring(layout: str) -> Wiring:
    """The wiring of one of LAYOUTS."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; known: {', '.join(LAYOUTS)}")
    nodes = LAYOUTS[layout]
    positions = np.array([p for p, _ in nodes], dtype=float) * np.array(SCALE)
    activations = tuple(a for _, a in nodes)
    created = _wire(positions, activations)
    # number edges by destination, then creation order (= the destination's incoming order)
    numbered = sorted(range(len(created)), key=lambda k: (created[k][1], k))
    src = np.array([created[k][0] for k in numbered], dtype=int)
    dst = np.array([created[k][1] for k in numbered], dtype=int)
    creation = tuple(numbered.index(k) for k in range(len(created)))
    return Wiring(layout, positions, activations, src, dst, creation)


@dataclass
class Population:
    """P networks of one wiring: what a learning rule changes."""

    weights: np.ndarray  # (P, E)
    biases: np.ndarray  # (P, N); the input node's is unused
    positions: np.ndarray  # (P, N, 2)

    def take(self, lanes: np.ndarray | Sequence[int]) -> Population:
        lanes = np.asarray(lanes, dtype=int)
        return Population(
            self.weights[lanes].copy(), self.biases[lanes].copy(), self.positions[lanes].copy()
        )

    def put(self, lanes: np.ndarray | Sequence[int], other: Population) -> None:
        lanes = np.asarray(lanes, dtype=int)
        self.weights[lanes] = other.weights
        self.biases[lanes] = other.biases
        self.positions[lanes] = other.positions

    def state(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights, "biases": self.biases, "positions": self.positions}


def init_network(wiring: Wiring, rng: np.random.Generator) -> Population:
    """One network, N(0, 1) weights and biases drawn node by node in index order (each node's
    incoming weights, then its bias), positions at the layout's."""
    weights = np.zeros((1, wiring.n_edges))
    biases = np.zeros((1, wiring.n_nodes))
    for j in range(1, wiring.n_nodes):
        weights[0, wiring.in_edges[j]] = rng.standard_normal(wiring.in_edges[j].size)
        biases[0, j] = rng.standard_normal()
    return Population(weights, biases, wiring.positions[None].copy())


def mutate(parent: Population, wiring: Wiring, rng: np.random.Generator, mu: float) -> Population:
    """A child of one network: weights += N(0, 1)·μ, biases += U(0, 1)·μ (positive only, as the
    source drew them), positions copied; drawn node by node like :func:`init_network`."""
    child = parent.take([0])
    for j in range(1, wiring.n_nodes):
        edges = wiring.in_edges[j]
        child.weights[0, edges] += rng.standard_normal(edges.size) * mu
        child.biases[0, j] += rng.random() * mu
    return child


def concat(parts: Sequence[Population]) -> Population:
    return Population(
        np.concatenate([p.weights for p in parts]),
        np.concatenate([p.biases for p in parts]),
        np.concatenate([p.positions for p in parts]),
    )


@dataclass(frozen=True)
class Settings:
    """The learning rule's constants (spec B.4 at HEAD)."""

    rule: str = "faithful"
    attention: bool = True
    lr: float = 5e-4
    position_lr: float = 2.0
    d_min: float = 11.0
    d_max: float = 20.0
    force: float = 0.01


def gains(wiring: Wiring, positions: np.ndarray, attention: bool) -> np.ndarray:
    """g_e = d⁰_e / d_e(t) on edges from hidden nodes when attention is on, else 1 (P, E)."""
    g = np.ones((positions.shape[0], wiring.n_edges))
    if attention:
        hs = wiring.hidden_source
        d = np.linalg.norm(positions[:, wiring.dst[hs]] - positions[:, wiring.src[hs]], axis=2)
        g[:, hs] = wiring.length0[hs] / d
    return g


@dataclass
class Forward:
    """One forward pass, node-major so that every node's and edge's slice is contiguous:
    pre-activations and activations (N, P, S), the gains (E, P) and the effective weights
    w ⊙ g (E, P)."""

    z: np.ndarray
    a: np.ndarray
    g: np.ndarray
    wg: np.ndarray
    x: np.ndarray

    @property
    def y(self) -> np.ndarray:
        """The output node's activation (P, S)."""
        return self.a[-1]

    def message(self, wiring: Wiring, e: int) -> np.ndarray:
        """m_e (P, S): the input's raw x, or the source's activation times the gain."""
        i = wiring.src[e]
        if i == 0:
            return np.broadcast_to(self.x, self.a.shape[1:])
        return self.a[i] * self.g[e][:, None]

    def head(self, n: int) -> Forward:
        """The first ``n`` samples (the training part of a train-and-test pass)."""
        return Forward(self.z[:, :, :n], self.a[:, :, :n], self.g, self.wg, self.x[:n])


def forward(wiring: Wiring, net: Population, x: np.ndarray, attention: bool) -> Forward:
    """Every network on every sample x (S,)."""
    p, s = net.weights.shape[0], x.size
    z = np.empty((wiring.n_nodes, p, s))
    a = np.empty((wiring.n_nodes, p, s))
    g = np.ascontiguousarray(gains(wiring, net.positions, attention).T)  # (E, P)
    wg = np.ascontiguousarray(net.weights.T) * g
    biases = np.ascontiguousarray(net.biases.T)
    a[0] = x
    for j in wiring.order[1:]:
        total = np.repeat(biases[j][:, None], s, axis=1)
        for e in wiring.in_edges[j]:
            i = wiring.src[e]
            if i == 0:
                total += wg[e][:, None] * x  # the input sends raw x (no gain)
            else:
                total += wg[e][:, None] * a[i]
        z[j] = total
        a[j] = activate(wiring.activations[j], total)
    return Forward(z, a, g, wg, x)


def backward(
    wiring: Wiring, net: Population, fw: Forward, y: np.ndarray, rule: str
) -> tuple[np.ndarray, np.ndarray]:
    """Batch-mean gradients (∂w (P, E), ∂b (P, N)) of one rule on the samples of ``fw``."""
    n, out = wiring.n_nodes, wiring.output
    s_count = fw.a.shape[2]
    weights = np.ascontiguousarray(net.weights.T)  # (E, P)
    local = np.zeros_like(fw.a)  # δ̃_j (faithful) or δ_j = ∂L/∂z_j (true_grad)
    error = fw.y - y
    if rule == "faithful":
        # The per-sample delta store: a node not yet processed holds 0.  A labelled deviation:
        # the source's store was `deltas = {i: np.ndarray([]) ...}`, uninitialised 0-d arrays,
        # so its basic3x5 and arrow5x5 runs read garbage on every edge to a lower-indexed node
        # (module docstring); zero is the one reproducible choice, and what an unwritten delta
        # means (nothing has come back yet).
        stored = np.zeros_like(fw.a)
        local[out] = error * derivative(wiring.activations[out], fw.y)
        stored[out] = local[out]
        for j in range(n - 2, 0, -1):  # reverse index order, input excluded
            s = np.zeros_like(error)
            for e in wiring.out_edges[j]:
                s += stored[wiring.dst[e]] * weights[e][:, None]
            incoming = wiring.in_edges[j]
            if incoming.size:
                zbar = np.zeros_like(error)
                for e in incoming:
                    zbar += fw.message(wiring, e)
                zbar /= incoming.size
            else:
                # no incoming message: numpy's mean of nothing is NaN, which would make every
                # arrow5x5 network NaN after one step; the node's true pre-activation (its bias)
                # stands in (a labelled deviation, docs/atman in config/README.md)
                zbar = fw.z[j]
            stored[j] = s
            local[j] = s * derivative(wiring.activations[j], zbar)
    elif rule == "true_grad":
        local[out] = error * derivative(wiring.activations[out], fw.z[out])
        for j in reversed(wiring.order[1:-1]):
            da = np.zeros_like(error)
            for e in wiring.out_edges[j]:
                da += local[wiring.dst[e]] * fw.wg[e][:, None]
            local[j] = da * derivative(wiring.activations[j], fw.z[j])
    else:
        raise ValueError(f"unknown rule {rule!r}; known: {', '.join(RULES)}")
    grad_w = np.empty((wiring.n_edges, error.shape[0]))
    for e in range(wiring.n_edges):
        # mean over samples of m_e δ_dst; the gain is constant over samples, so it multiplies
        # the mean of a_src δ_dst (one pass, no message array).  The sums are numpy's pairwise
        # ones (not einsum's, whose SIMD order and FMAs depend on the build), so that the
        # compiled engine (attnmem.models.atman_fast) can repeat them to the byte.
        i, j = wiring.src[e], wiring.dst[e]
        if i == 0:
            grad_w[e] = (local[j] * fw.x).sum(axis=1) / s_count
        else:
            grad_w[e] = (fw.a[i] * local[j]).sum(axis=1) / s_count * fw.g[e]
    grad_b = local.mean(axis=2).T.copy()
    grad_b[:, 0] = 0.0
    return grad_w.T.copy(), grad_b


def position_forces(
    wiring: Wiring, positions: np.ndarray, grad_w: np.ndarray, settings: Settings
) -> np.ndarray:
    """g (P, N, 2): the batch mean of the per-sample forces on every edge's source node.

    The per-sample force −(δ_j m_ij)(p_j − p_i)/(1 + d)³ averages to −∂w_ij (p_j − p_i)/(1 + d)³
    because positions, hence d, stay fixed within the batch; the constant pushes and pulls
    average to themselves.
    """
    u = positions[:, wiring.dst] - positions[:, wiring.src]  # (P, E, 2)
    d = np.linalg.norm(u, axis=2)
    coef = np.where(
        d < settings.d_min,
        -settings.force / d,
        np.where(d > settings.d_max, settings.force / d, -grad_w / (1.0 + d) ** 3),
    )
    force = np.zeros_like(positions)
    for i in range(1, wiring.n_nodes - 1):
        for e in wiring.out_edges[i]:
            force[:, i] = force[:, i] + coef[:, e, None] * u[:, e]
    return force


def train_step(
    wiring: Wiring,
    net: Population,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    settings: Settings,
) -> tuple[np.ndarray, np.ndarray]:
    """One full-batch iteration of every network, in place; returns the test MSE and rounding
    accuracy (P,) measured, as the source did, with the parameters *before* this update."""
    fw = forward(wiring, net, np.concatenate([x_train, x_test]), settings.attention)
    n = x_train.size
    grad_w, grad_b = backward(wiring, net, fw.head(n), y_train, settings.rule)
    prediction = fw.y[:, n:]
    mse, accuracy = test_metrics(prediction, y_test)
    if settings.attention:
        force = position_forces(wiring, net.positions, grad_w, settings)
        net.positions[:, 1:] += settings.position_lr * force[:, 1:]
    net.weights -= settings.lr * grad_w
    net.biases -= settings.lr * grad_b
    return mse, accuracy


def test_metrics(prediction: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MSE and the source's rounding accuracy: round(ŷ, 1) == round(y, 1), per network."""
    mse = ((prediction - y) ** 2).mean(axis=-1)
    hits = np.round(prediction, 1) == np.round(y, 1)
    return mse, hits.mean(axis=-1)


def evaluate(
    wiring: Wiring, net: Population, x: np.ndarray, y: np.ndarray, attention: bool
) -> dict[str, np.ndarray]:
    """Test MSE, rounding accuracy, R² and the predictions of every network."""
    prediction = forward(wiring, net, x, attention).y
    mse, accuracy = test_metrics(prediction, y)
    r2 = 1.0 - mse / ((y - y.mean()) ** 2).mean()
    return {"mse": mse, "accuracy": accuracy, "r2": r2, "prediction": prediction}


def sine_data(train: int = 60, test: int = 40) -> dict[str, np.ndarray]:
    """Spec B.2: x on [0, 2π] (60 training, 40 test points; x not normalised), y = (sin x + 1)/2."""
    x_train, x_test = np.linspace(0, 2 * np.pi, train), np.linspace(0, 2 * np.pi, test)
    return {
        "x_train": x_train,
        "y_train": (np.sin(x_train) + 1) / 2,
        "x_test": x_test,
        "y_test": (np.sin(x_test) + 1) / 2,
    }


def describe(wiring: Wiring) -> Mapping[str, object]:
    """The wiring as plain data (for network.json and the figures)."""
    return {
        "layout": wiring.layout,
        "activations": list(wiring.activations),
        "src": wiring.src.tolist(),
        "dst": wiring.dst.tolist(),
    }
