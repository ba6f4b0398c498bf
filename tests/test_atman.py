"""The ātmán study: wiring, the two learning rules, the trainers' semantics, determinism, resume,
and the DAG's one-job-per-cell jobs."""

from __future__ import annotations

import copy
import math
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml

from attnmem.models import atman as m
from attnmem.models import atman_fast as fast
from attnmem.train import atman as t
from conftest import REPO, snakemake


def tiny(trainer: str, seed: int = 0, **overrides) -> t.AtmanRun:
    settings = dict(
        iterations=12,
        children=3,
        genetic_children=3,
        genetic_iterations=4,
        generations=3,
        log_every=4,
    )
    settings.update(overrides)
    layout = settings.pop("layout", "basic2x5")
    attention = settings.pop("attention", "on")
    rule = settings.pop("rule", "faithful")
    return t.AtmanRun(layout, attention, trainer, rule, seed, **settings)


# ---- wiring ----------------------------------------------------------------------------------


def test_basic2x5_wiring_is_the_proximity_rule_of_the_spec():
    """Spec B.3: 12 nodes (positions × (6, 8)); the input feeds its 3 nearest hidden nodes (both
    first-layer nodes at 6.8, then the lower second-layer node: ties go by index); a hidden node
    wires to its nearest nodes with x_j ≥ x_i that do not feed it, at most 3.  The lower node of
    a layer: next-layer same height (6), its partner above (6.4), next-layer diagonal (8.8); the
    upper one cannot take its partner (2-cycle) and goes two layers ahead; the last layer wires
    to its partner and the output only."""
    w = m.build_wiring("basic2x5")
    assert w.n_nodes == 12 and w.activations == ("tanh",) * 11 + ("linear",)
    assert np.allclose(w.positions[1], (6, 0.8)) and np.allclose(w.positions[-1], (36, 4))
    expected = {(0, 1), (0, 2), (0, 3)}
    for layer in range(4):
        low, high = 1 + 2 * layer, 2 + 2 * layer
        expected |= {(low, low + 2), (low, high), (low, high + 2)}
        expected |= {(high, high + 2), (high, low + 2), (high, high + 4 if layer < 3 else 11)}
    expected |= {(9, 10), (9, 11), (10, 11)}
    edges = set(zip(w.src.tolist(), w.dst.tolist(), strict=True))
    assert edges == expected
    # edges numbered by destination, then in the order the source appended them
    assert list(w.dst) == sorted(w.dst)
    assert [int(w.src[e]) for e in w.in_edges[3]] == [0, 1, 2]
    assert np.bincount(w.src, minlength=12).max() == 3


@pytest.mark.parametrize("layout", sorted(m.LAYOUTS))
def test_every_layout_wires_forward_without_two_cycles(layout):
    w = m.build_wiring(layout)
    pairs = set(zip(w.src.tolist(), w.dst.tolist(), strict=True))
    assert not any((j, i) in pairs for i, j in pairs)
    assert all(w.positions[j, 0] >= w.positions[i, 0] for i, j in pairs)
    assert np.bincount(w.src, minlength=w.n_nodes).max() <= m.OUT_DEGREE
    assert sorted(w.order) == list(range(w.n_nodes)) and w.order[0] == 0
    assert {"basic2x5": 12, "basic3x5": 17, "arrow5x5": 27}[layout] == w.n_nodes


# ---- the learning rules ----------------------------------------------------------------------


def chain() -> m.Wiring:
    """input (0) -> tanh (1) -> linear output (2), 15 apart on the x axis."""
    positions = np.array([[0.0, 0.0], [15.0, 0.0], [30.0, 0.0]])
    return m.Wiring(
        "chain", positions, ("tanh", "tanh", "linear"), np.array([0, 1]), np.array([1, 2]), (0, 1)
    )


def test_faithful_rule_on_a_hand_computed_two_node_network():
    """One sample through input -> hidden -> output, the hidden node moved closer (gain 1.5):
    the faithful deltas skip f′ in the stored delta, use the mean incoming message (here x) for
    f′, and ignore the gain on the way back; the hidden node feels the distance-band force."""
    w = chain()
    w01, w12, b1, b2, x, y = 0.7, -1.3, 0.2, 0.1, 0.9, 0.4
    net = m.Population(
        np.array([[w01, w12]]), np.array([[0.0, b1, b2]]), np.array([[[0, 0], [20, 0], [30, 0]]])
    )
    net.positions = net.positions.astype(float)
    gain = 15.0 / 10.0  # d0 = 15, d = 10
    a1 = math.tanh(w01 * x + b1)
    m12 = a1 * gain
    y_hat = w12 * m12 + b2
    d_out = y_hat - y
    s1 = d_out * w12  # no gain on the way back
    d1 = s1 * (1 - math.tanh(x) ** 2)  # f′ at the mean incoming message (x), not at z1
    fw = m.forward(w, net, np.array([x]), attention=True)
    assert fw.y[0, 0] == pytest.approx(y_hat)
    grad_w, grad_b = m.backward(w, net, fw, np.array([y]), "faithful")
    assert grad_w[0] == pytest.approx([x * d1, m12 * d_out])
    assert grad_b[0] == pytest.approx([0.0, d1, d_out])
    settings = m.Settings(d_min=5.0, d_max=20.0)  # d = 10 inside the band
    force = m.position_forces(w, net.positions, grad_w, settings)
    u = np.array([10.0, 0.0])
    assert force[0, 1] == pytest.approx(-(m12 * d_out) * u / (1 + 10.0) ** 3)
    assert np.all(force[0, [0, 2]] == 0)
    # and the constant push below d_min
    near = m.position_forces(w, net.positions, grad_w, m.Settings(d_min=11.0, d_max=20.0))
    assert near[0, 1] == pytest.approx(-0.01 * u / 10.0)


def test_faithful_rule_drops_deltas_from_lower_indexed_children():
    """arrow5x5's top first-layer node (5) wires only to nodes 2-4, which the reverse-index walk
    has not reached: its stored delta is 0, so it never learns under the faithful rule."""
    w = m.build_wiring("arrow5x5")
    assert set(w.dst[w.out_edges[5]].tolist()) == {2, 3, 4}
    rng = np.random.default_rng(3)
    net = m.concat([m.init_network(w, rng) for _ in range(10)])
    net.biases[:, 5] = 0.5  # a live relu (its z is its bias)
    data = m.sine_data()
    fw = m.forward(w, net, data["x_train"], attention=True)
    _, grad_b = m.backward(w, net, fw, data["y_train"], "faithful")
    assert np.all(grad_b[:, 5] == 0.0) and np.any(grad_b[:, 2:5] != 0)
    _, true_b = m.backward(w, net, fw, data["y_train"], "true_grad")
    assert np.any(true_b[:, 5] != 0.0)


@pytest.mark.parametrize("layout", sorted(m.LAYOUTS))
def test_true_grad_matches_finite_differences_through_the_gains(layout):
    w = m.build_wiring(layout)
    rng = np.random.default_rng(7)
    net = m.concat([m.init_network(w, rng) for _ in range(2)])
    net.weights *= 0.5  # keep relu layouts in a regime where finite differences are smooth
    net.positions[:, 1:-1] += rng.normal(0, 1.5, net.positions[:, 1:-1].shape)  # gains ≠ 1
    x = np.linspace(0.3, 2 * np.pi - 0.3, 9)
    y = (np.sin(x) + 1) / 2

    def loss(candidate: m.Population) -> np.ndarray:
        return 0.5 * ((m.forward(w, candidate, x, True).y - y) ** 2).mean(axis=1)

    grad_w, grad_b = m.backward(w, net, m.forward(w, net, x, True), y, "true_grad")
    eps = 1e-6
    for kind, grad, count in (("weights", grad_w, w.n_edges), ("biases", grad_b, w.n_nodes)):
        for k in range(1 if kind == "biases" else 0, count):
            up, down = net.take([0, 1]), net.take([0, 1])
            getattr(up, kind)[:, k] += eps
            getattr(down, kind)[:, k] -= eps
            numeric = (loss(up) - loss(down)) / (2 * eps)
            assert grad[:, k] == pytest.approx(numeric, rel=1e-4, abs=1e-7), (kind, k)


def test_mlp_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    params = [np.stack(p) for p in zip(*[t.mlp_init(5, rng) for _ in range(2)], strict=True)]
    x = np.linspace(0, 2 * np.pi, 7)
    y = (np.sin(x) + 1) / 2
    _, grads = t.mlp_gradients(params, x, y)
    eps = 1e-6
    for p, g in zip(params, grads, strict=True):
        for index in np.ndindex(p.shape[1:]):
            p[(slice(None), *index)] += eps
            up = t.mlp_gradients(params, x, y)[0]
            p[(slice(None), *index)] -= 2 * eps
            down = t.mlp_gradients(params, x, y)[0]
            p[(slice(None), *index)] += eps
            assert g[(slice(None), *index)] == pytest.approx(
                (up - down) / (2 * eps), rel=1e-5, abs=1e-8
            )


# ---- trainers --------------------------------------------------------------------------------


class ScriptedStep:
    """A stand-in for the engine: every network it steps gets weights + 1, and reports the
    test MSE and accuracy scripted for it by its id (the input node's bias, which no rule
    reads and :func:`attnmem.models.atman.mutate` copies, so a newborn reports its parent's)."""

    def __init__(self, results: dict[int, tuple[float, float]]):
        self.results = results
        self.calls: list[list[int]] = []

    def __call__(self, pop: m.Population, *data) -> tuple[np.ndarray, np.ndarray]:
        ids = [int(i) for i in pop.biases[:, 0]]
        self.calls.append(ids)
        pop.weights += 1.0
        mse, accuracy = zip(*(self.results[i] for i in ids), strict=True)
        return np.array(mse), np.array(accuracy)


def scripted_children(width: int, max_accuracy, prev_loss):
    run = tiny("children", children=width)
    w = m.build_wiring(run.layout)
    state = t._fresh_state([run], w)
    state["pop"].biases[:, 0] = np.arange(width)
    state["max_accuracy"][:] = max_accuracy
    state["prev_loss"][:] = prev_loss
    return run, w, state


def test_children_walk_follows_the_sources_list_walk():
    """Four children.  Child 1 is below the running maximum (child 0's 0.6) and its loss rose:
    it is pruned.  It has the highest best-ever accuracy (0.9), but it leaves the list first,
    so the parent is child 3 (0.8, not yet visited: its state before this tick).  Child 2,
    which moves into position 1, is not visited this tick (no step, no loss, no best);
    child 3 is, and the newborn, appended at the end, trains in its birth tick."""
    run, w, state = scripted_children(4, [0.5, 0.9, 0.3, 0.8], [1.0, 1.0, 1.0, 1.0])
    step = ScriptedStep({0: (0.9, 0.6), 1: (1.5, 0.2), 2: (1.5, 0.1), 3: (0.5, 0.7)})
    before = state["pop"].take(np.arange(4))
    rng = copy.deepcopy(state["rngs"][0])
    mse, accuracy = t._children_tick(state, run, w, m.sine_data(), step)
    assert state["order"][0] == [0, 2, 3, 1] and state["pruned"][0] == 1
    # the newborn (slot 1): child 3's state before this tick, mutated, then one step
    expected = m.mutate(before.take([3]), w, rng, run.child_mutation)
    expected.weights += 1.0
    newborn = state["pop"].take([1])
    assert all(np.array_equal(v, newborn.state()[k]) for k, v in expected.state().items())
    assert step.calls == [[0, 1, 2, 3], [3]]  # everyone at once, then the newborn
    assert state["max_accuracy"][1] == 0.7 and state["prev_loss"][1] == 0.5
    # the skipped child: its state, loss and best as before the tick
    assert np.array_equal(state["pop"].weights[2], before.weights[2])
    assert state["prev_loss"][2] == 1.0 and state["max_accuracy"][2] == 0.3
    assert np.isnan(accuracy[2]) and np.isnan(mse[2])
    # the visited ones stepped and recorded
    assert np.array_equal(state["pop"].weights[[0, 3]], before.weights[[0, 3]] + 1.0)
    assert list(state["max_accuracy"][[0, 3]]) == [0.6, 0.8]
    assert list(accuracy[[0, 1, 3]]) == [0.6, 0.7, 0.7]
    assert state["running"][0] == 0.0  # reset after the last position (a newborn)


def test_children_parent_is_chosen_after_the_pruned_child_leaves():
    """The pruned child has the best best-ever accuracy of all: the source popped it before
    its argmax, so the newborn descends from the best of the others (child 0, visited: its
    state after this tick's step), never from the pruned child itself."""
    run, w, state = scripted_children(3, [0.5, 0.9, 0.3], [1.0, 1.0, 1.0])
    step = ScriptedStep({0: (0.9, 0.6), 1: (1.5, 0.2), 2: (1.5, 0.1)})
    before = state["pop"].take(np.arange(3))
    rng = copy.deepcopy(state["rngs"][0])
    t._children_tick(state, run, w, m.sine_data(), step)
    assert state["order"][0] == [0, 2, 1]
    stepped = before.take([0])
    stepped.weights += 1.0
    expected = m.mutate(stepped, w, rng, run.child_mutation)
    expected.weights += 1.0  # and the newborn's own step
    assert np.array_equal(state["pop"].weights[1], expected.weights[0])
    assert state["pop"].biases[1, 0] == 0  # child 0's id: child 1's line is gone


def test_children_last_child_pruned_waits_and_keeps_the_running_maximum():
    """The last position's child is pruned: its newborn takes that position, which the walk
    has passed, so it first trains next tick; the source returned before resetting the running
    maximum, so the next tick starts with it, and even the first child can then be pruned."""
    run, w, state = scripted_children(3, [0.5, 0.4, 0.3], [1.0, 1.0, 1.0])
    step = ScriptedStep({0: (0.9, 0.5), 1: (0.8, 0.6), 2: (1.5, 0.1)})
    before = state["pop"].take(np.arange(3))
    t._children_tick(state, run, w, m.sine_data(), step)
    assert state["order"][0] == [0, 1, 2] and state["pruned"][0] == 1
    assert step.calls == [[0, 1, 2]]  # no newborn stepped this tick
    assert np.isnan(state["prev_loss"][2]) and state["max_accuracy"][2] == 0.0
    # the newborn descends from child 1 (0.6 after its step) and has not trained yet
    assert state["pop"].biases[2, 0] == 1
    assert 0 < np.abs(state["pop"].weights[2] - before.weights[1] - 1.0).max() < 1.0
    assert state["running"][0] == 0.6
    # next tick: child 0 below the carried 0.6, its loss up -> pruned, parent child 1
    step = ScriptedStep({0: (1.2, 0.55), 1: (0.7, 0.6), 2: (0.4, 0.2)})
    t._children_tick(state, run, w, m.sine_data(), step)
    assert state["order"][0] == [1, 2, 0] and state["pruned"][0] == 2
    assert step.calls == [[0, 1, 1], [1]]  # child 1 skipped, the two newborns train


def test_children_trainer_steps_each_position_once_a_tick(tmp_path):
    run = tiny("children", iterations=40, children=4, layout="basic3x5")
    (final,) = train_cell(run, [0], tmp_path)
    assert final["metrics"]["child_steps"] == 40 * 4 and final["metrics"]["pruned"] > 0


def run_genetic(run: t.AtmanRun) -> tuple[dict, list[m.Population], list[m.Population]]:
    """Tick a genetic cell of one seed through the trainer; every generation's children as
    they start, and the record as it stood then."""
    w, data = m.build_wiring(run.layout), m.sine_data()
    state = t._fresh_state([run], w)
    starts, records = [], []
    step = t._stepper("numpy", w, run.settings)
    with np.errstate(all="ignore"):
        while state["tick"] < run.ticks:
            if state["tick"] < run.genetic_iterations:  # the parent trains alone (or its few)
                assert state["pop"].weights.shape[0] == run.parent_networks
            t._tick(state, run, w, data, step)
            if state["tick"] == run.genetic_iterations:
                state["parents_trained"] = state["pop"].take(np.arange(run.parent_networks))
                state["parents_accuracy"] = state["max_accuracy"].copy()
            if state["tick"] % run.genetic_iterations == 1 and state["tick"] > 1:
                starts.append(state["snapshot"].take(np.arange(run.genetic_children)))
                records.append(state["record"].take([0]))
        t._end_generation(state, run)
    return state, starts, records


def is_mutant(child: m.Population, parent: m.Population, mu: float) -> bool:
    """weights + N(0, 1)·μ, biases + U(0, 1)·μ, positions copied: nothing else."""
    db = child.biases[:, 1:] - parent.biases[:, 1:]
    dw = np.abs(child.weights - parent.weights)
    return bool(
        np.array_equal(child.positions, parent.positions)
        and np.all((db >= 0) & (db <= mu))
        and 0 < dw.max() < 6 * mu
        and child.biases[0, 0] == parent.biases[0, 0]
    )


def test_published_genetic_loop_mutates_one_fixed_trained_parent():
    """e0cb909's genetic_training.py: a trained parent, then generations 1-14 of 10 mutants of
    it, the seed never reloaded, no generation of random networks.  The parent is the seed's
    first network trained alone for K iterations (the single trainer's network); every
    generation's children, the first's included, are mutants of that one parent, also after
    the record has moved on (here after generation 1); the record opens at the parent's best
    accuracy."""
    setting = dict(seed=3, attention="off", layout="basic2x5")
    run = tiny("genetic", generations=3, genetic_iterations=5, **setting)
    state, starts, records = run_genetic(run)
    single = tiny("single", iterations=5, **setting)
    w, data = m.build_wiring(run.layout), m.sine_data()
    alone = t._fresh_state([single], w)
    step = t._stepper("numpy", w, single.settings)
    with np.errstate(all="ignore"):
        while alone["tick"] < single.ticks:
            t._tick(alone, single, w, data, step)
    parent = state["parent"]
    assert all(np.array_equal(v, parent.state()[k]) for k, v in alone["pop"].state().items())
    assert len(starts) == run.generations == state["generations_run"][0] == 3
    for children in starts:
        for c in range(run.genetic_children):
            assert is_mutant(children.take([c]), parent, run.genetic_mutation)
    # the record moved after generation 1; generations 2 and 3 still mutate the parent
    assert np.array_equal(records[0].weights, parent.weights)
    assert not np.array_equal(records[2].weights, parent.weights)
    assert not is_mutant(starts[2].take([0]), records[2], run.genetic_mutation)
    assert alone["max_accuracy"][0] == state["parents_accuracy"][0] == 0.05
    assert state["record_accuracy"][0] == 0.1
    assert run.ticks == (1 + 3) * 5


def test_parent_networks_trains_several_and_keeps_the_first_of_the_best():
    """parent_networks = 4: the seed's first four networks train K iterations side by side
    (not a generation: no record, no count); the parent is the first of the most accurate."""
    run = tiny("genetic", generations=2, genetic_iterations=6, parent_networks=4)
    state, starts, _ = run_genetic(run)
    accuracy = state["parents_accuracy"]
    best = int(np.argmax(accuracy))
    assert accuracy.size == 4 and state["record_accuracy"][0] >= accuracy.max()
    chosen = state["parents_trained"].take([best])
    assert np.array_equal(state["parent"].weights, chosen.weights)
    assert all(is_mutant(s.take([0]), chosen, run.genetic_mutation) for s in starts)
    assert state["generations_run"][0] == 2


def test_genetic_record_opens_at_the_parent_and_elitist_follows_the_record():
    """After the parent's training the record is (its best accuracy, its final state; the
    elitist loop: the state that scored it); the elitist loop mutates the record so far."""
    for trainer in ("genetic", "genetic_elitist"):
        run = tiny(trainer, generations=1, genetic_iterations=6)
        w, data = m.build_wiring(run.layout), m.sine_data()
        state = t._fresh_state([run], w)
        step = t._stepper("numpy", w, run.settings)
        with np.errstate(all="ignore"):
            for _ in range(run.genetic_iterations):
                t._tick(state, run, w, data, step)
            best = state["max_accuracy"][0]
            final, scored = state["pop"].take([0]), state["snapshot"].take([0])
            t._tick(state, run, w, data, step)  # the generation change, then one step
        assert state["record_accuracy"][0] == best and state["generation"] == 1
        kept = final if trainer == "genetic" else scored
        assert np.array_equal(state["record"].weights, kept.weights)
        first = state["snapshot"]  # the children as they started
        for c in range(run.genetic_children):
            assert is_mutant(first.take([c]), kept, run.genetic_mutation)
    run = tiny("genetic_elitist", generations=4, genetic_iterations=4)
    state, starts, records = run_genetic(run)
    assert len(starts) == 4
    for children, record in zip(starts, records, strict=True):
        for c in range(run.genetic_children):
            assert is_mutant(children.take([c]), record, run.genetic_mutation)


def test_genetic_metrics_count_the_parent_and_the_generations(tmp_path):
    for parents in (1, 2):
        run = tiny("genetic", generations=2, genetic_iterations=4, parent_networks=parents)
        (final,) = train_cell(run, [0], tmp_path / str(parents))
        metrics = final["metrics"]
        assert metrics["generations"] == 2 and metrics["iterations"] == 4
        assert metrics["child_steps"] == (parents + 2 * 3) * 4


def test_genetic_loop_stops_before_a_generation_once_the_record_is_good_enough(tmp_path):
    """`while max_accuracy < stop and ...`: a parent at the stop accuracy runs no generation."""
    run = tiny("genetic", generations=3, genetic_iterations=4, stop_accuracy=0.0)
    (final,) = train_cell(run, [0], tmp_path)
    assert final["metrics"]["generations"] == 0 and final["metrics"]["child_steps"] == 4


def train_cell(run: t.AtmanRun, seeds: list[int], root: Path, **kwargs) -> list[dict]:
    runs = [replace(run, seed=s) for s in seeds]
    return t.train(runs, [root / run.cell / f"seed{s}" for s in seeds], **kwargs)


# ---- the compiled engine: the reference's bytes ---------------------------------------------


def test_compiled_sums_are_numpys_pairwise_sums():
    """The batch means of the gradients: numpy's own pairwise order (8 accumulators, blocks
    of 8, a tree, the rest one by one; a running sum below 8), every length the engine takes,
    products of two rows, a row times x, and a row alone."""
    rng = np.random.default_rng(0)
    lanes = 7
    r, out = np.empty((8, lanes)), np.empty(lanes)
    for n in range(1, fast.MAX_TRAIN + 1):
        u, v = rng.standard_normal((2, n, lanes)) * 10.0 ** rng.uniform(-6, 6, (2, n, lanes))
        x = rng.standard_normal(n)
        for other, xs, expected in (
            (v, None, u * v),
            (None, x, u * x[:, None]),
            (None, None, u),
        ):
            fast._pairwise_lanes(u, other, xs, n, r, out)
            # numpy sums a contiguous row per lane, as the reference's .sum(axis=1) does
            assert np.array_equal(out, np.ascontiguousarray(expected.T).sum(axis=1)), n


@pytest.mark.parametrize("layout", sorted(m.LAYOUTS))
def test_compiled_step_is_the_reference_to_the_byte(layout):
    """Every attention x rule: 25 iterations of a small population (diverging lanes included:
    arrow5x5's relu networks from N(0, 1) blow up), the metrics and every parameter equal."""
    w, data = m.build_wiring(layout), m.sine_data()
    samples = (data["x_train"], data["y_train"], data["x_test"], data["y_test"])
    for attention in (True, False):
        for rule in m.RULES:
            settings = m.Settings(rule=rule, attention=attention)
            rng = np.random.default_rng(5)
            reference = m.concat([m.init_network(w, rng) for _ in range(9)])
            compiled = reference.take(np.arange(9))
            engine = fast.Engine(w, settings)
            with np.errstate(all="ignore"):
                for tick in range(25):
                    expected = m.train_step(w, reference, *samples, settings)
                    got = engine.step(compiled, *samples)
                    where = (attention, rule, tick)
                    assert all(
                        np.array_equal(e, g, equal_nan=True)
                        for e, g in zip(expected, got, strict=True)
                    ), where
                    for name, value in reference.state().items():
                        assert np.array_equal(value, compiled.state()[name], equal_nan=True), (
                            where,
                            name,
                        )


def test_compiled_engine_takes_the_hand_computed_chain():
    """The two-node chain of the faithful-rule test (a custom wiring) runs compiled too."""
    w = chain()
    net = m.Population(
        np.array([[0.7, -1.3]]),
        np.array([[0.0, 0.2, 0.1]]),
        np.array([[[0.0, 0], [20, 0], [30, 0]]]),
    )
    other = net.take([0])
    x, y = np.array([0.9, 0.1]), np.array([0.4, 0.6])
    settings = m.Settings(d_min=5.0, d_max=20.0)
    expected = m.train_step(w, net, x, y, x, y, settings)
    got = fast.Engine(w, settings).step(other, x, y, x, y)
    assert all(map(np.array_equal, expected, got))
    assert all(np.array_equal(v, other.state()[k]) for k, v in net.state().items())


def test_auto_engine_compiles_only_jobs_that_pay_for_numba():
    w, settings = m.build_wiring("basic2x5"), m.Settings()
    small = t._stepper("auto", w, settings, t.AUTO_COMPILED - 1)
    big = t._stepper("auto", w, settings, t.AUTO_COMPILED)
    assert not hasattr(small, "__self__")  # the numpy reference
    assert isinstance(big.__self__, fast.Engine)
    assert isinstance(t._stepper("compiled", w, settings).__self__, fast.Engine)
    with pytest.raises(ValueError, match="unknown engine"):
        t._stepper("gpu", w, settings)


@pytest.mark.parametrize("trainer", t.TRAINERS)
def test_compiled_trainers_write_the_references_bytes(trainer, tmp_path):
    """Whole short runs of every trainer (pruning, generations, records, checkpoints), every
    layout and rule, attention on: the compiled engine writes the numpy engine's files."""
    for layout in m.LAYOUTS:
        for rule in m.RULES:
            run = tiny(trainer, layout=layout, rule=rule)
            for engine in ("compiled", "numpy"):
                train_cell(run, [0, 3], tmp_path / engine, engine=engine, checkpoint_every=5)
            for seed in (0, 3):
                for name in ("metrics.csv", "final.json", "network.json"):
                    path = Path(run.cell) / f"seed{seed}" / name
                    compiled = (tmp_path / "compiled" / path).read_bytes()
                    assert compiled == (tmp_path / "numpy" / path).read_bytes(), path


@pytest.mark.parametrize("trainer", t.TRAINERS)
def test_a_seed_gives_the_same_bytes_alone_or_beside_others(trainer, tmp_path):
    run = tiny(trainer, layout="basic3x5")
    train_cell(run, [0, 1, 2], tmp_path / "together")
    train_cell(run, [1], tmp_path / "alone")
    for name in ("metrics.csv", "final.json", "network.json"):
        together = (tmp_path / "together" / run.cell / "seed1" / name).read_bytes()
        assert together == (tmp_path / "alone" / run.cell / "seed1" / name).read_bytes(), name


def test_every_layout_and_rule_trains_and_reports(tmp_path):
    for layout in m.LAYOUTS:
        for rule in m.RULES:
            run = tiny("single", layout=layout, rule=rule, attention="on")
            (final,) = train_cell(run, [0], tmp_path)
            metrics = final["metrics"]
            assert final["status"] in ("ok", "diverged")
            assert metrics["iterations"] == 12 and metrics["child_steps"] == 12
            assert 0 <= metrics["best_accuracy"] <= 1


def test_attention_off_keeps_positions_and_on_moves_them(tmp_path):
    import json

    for attention, moves in (("off", False), ("on", True)):
        run = tiny("single", attention=attention)
        train_cell(run, [0], tmp_path)
        net = json.loads((tmp_path / run.cell / "seed0" / "network.json").read_text())
        moved = not np.allclose(net["positions"], net["initial_positions"])
        assert moved is moves
        assert net["positions"][0] == net["initial_positions"][0]  # the input never moves


@pytest.mark.parametrize("trainer", ["children", "genetic"])
def test_a_killed_cell_resumes_to_the_same_bytes(trainer, tmp_path):
    """Killed after tick 13, resumed from tick 10's checkpoint (genetic: the parent's four
    ticks, then generations of four; children: mid-walk bookkeeping, the running maximum)."""
    run = tiny(trainer, iterations=20, parent_networks=2)
    train_cell(run, [0, 1], tmp_path / "straight", checkpoint_every=5)

    class Crash(Exception):
        pass

    def crash(tick: int) -> None:
        if tick == 13:
            raise Crash

    with pytest.raises(Crash):
        train_cell(run, [0, 1], tmp_path / "killed", checkpoint_every=5, on_step=crash)
    assert (tmp_path / "killed" / run.cell / "checkpoint.pkl").exists()
    logs = []

    class Log:
        def info(self, *args):
            logs.append(args[0] % args[1:])

        warning = info

    train_cell(run, [0, 1], tmp_path / "killed", checkpoint_every=5, log=Log())
    assert any("resuming" in line for line in logs)
    for seed in (0, 1):
        for name in ("metrics.csv", "final.json", "network.json"):
            a = (tmp_path / "straight" / run.cell / f"seed{seed}" / name).read_bytes()
            assert a == (tmp_path / "killed" / run.cell / f"seed{seed}" / name).read_bytes()
    assert not (tmp_path / "killed" / run.cell / "checkpoint.pkl").exists()


def test_make_run_reads_the_config_block():
    from attnmem.studies import atman as study

    settings = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["studies"]["atman"]
    cell = {"layout": "basic3x5", "attention": "off", "trainer": "genetic", "rule": "faithful"}
    run = study.make_run("train_atman", settings["run"], cell, 4)
    assert (run.generations, run.genetic_children, run.genetic_iterations) == (14, 10, 500)
    assert run.seed == 4 and run.cell == "basic3x5/off/genetic/faithful"
    reference = study.make_run("train_atman_reference", settings["run"], {}, 2)
    assert (reference.hidden, reference.seed) == (16, 2)


def test_training_path_does_not_import_torch():
    code = "import sys, attnmem.train.atman, attnmem.studies.atman\nprint('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


# ---- the DAG ---------------------------------------------------------------------------------


@pytest.mark.dag
def test_default_plans_one_job_per_cell_of_the_whole_grid(tmp_path):
    """config.yaml: every layout x attention x trainer x rule (48 cells), each one job for all
    20 seeds, and one reference job; an ``exclude`` list leaves cells out."""
    result = snakemake(tmp_path, "-n", "--cores", "2", configfile=REPO / "config" / "config.yaml")
    jobs = dict(re.findall(r"^(train_atman\w*)\s+(\d+)$", result.stdout, re.M))
    assert jobs == {"train_atman": "48", "train_atman_reference": "1"}
    # `exclude` still leaves cells out (the default's entries before the compiled engine: the
    # genetic loops only on basic3x5 with the faithful rule, the elitist one with attention off)
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["studies"]["atman"]["exclude"] = [
        {"trainer": ["genetic", "genetic_elitist"], "layout": ["basic2x5", "arrow5x5"]},
        {"trainer": ["genetic", "genetic_elitist"], "rule": ["true_grad"]},
        {"trainer": ["genetic_elitist"], "attention": ["on"]},
    ]
    (tmp_path / "excluding.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path, "-n", "--cores", "2", configfile=tmp_path / "excluding.yaml")
    jobs = dict(re.findall(r"^(train_atman\w*)\s+(\d+)$", result.stdout, re.M))
    assert jobs == {"train_atman": "27", "train_atman_reference": "1"}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda s: s.update(exclude=[{"layer": ["basic2x5"]}]),
            "studies.atman.exclude[0]: 'layer' is not an axis of atman",
        ),
        (
            lambda s: s["network"].update(layout="arrow5x5"),
            "studies.atman.network.layout: 'arrow5x5' is not in studies.atman.axes.layout",
        ),
        (
            lambda s: s["axes"].update(trainer=["genetic", "evolution"]),
            "studies.atman.axes.trainer[1]",
        ),
    ],
)
def test_a_bad_atman_block_gets_one_clear_message(edit, message):
    from attnmem.config_check import ConfigError, validate

    config = yaml.safe_load((REPO / "config" / "smoke.yaml").read_text())
    edit(config["studies"]["atman"])
    with pytest.raises(ConfigError) as error:
        validate(config, REPO / "workflow" / "schemas")
    assert message in str(error.value)


def test_shipped_configs_keep_their_promises():
    def block(name: str) -> dict:
        return yaml.safe_load((REPO / "config" / f"{name}.yaml").read_text())["studies"]["atman"]

    default, paper = block("config"), block("paper")
    for config in (default, paper):
        assert len(config["seeds"]) >= 20
        assert set(config["axes"]["layout"]) == set(m.LAYOUTS)
        assert set(config["axes"]["trainer"]) == set(t.TRAINERS)
        assert set(config["axes"]["rule"]) == set(m.RULES)
        assert set(config["axes"]["attention"]) == set(t.ATTENTION)
        run = config["run"]
        # e0cb909: a trained parent, then generations 1-14 (`generation < 15`) of 10 x 500
        assert (run["genetic_children"], run["genetic_iterations"], run["generations"]) == (
            10,
            500,
            14,
        )
        assert (run["lr"], run["position_lr"], run["d_min"], run["d_max"]) == (5e-4, 2, 11, 20)
    assert default["run"]["iterations"] == 500 and paper["run"]["iterations"] == 5000
    # both run the whole grid (the genetic loops at the source's 15 x 10 x 500 included)
    assert "exclude" not in paper and "exclude" not in default
