"""The ātmán study's trainers (spec B.6): every seed of one cell in one job, as one population.

A cell is (layout, attention, trainer, rule); the job trains all of the cell's seeds at once,
each network a lane of one :class:`~attnmem.models.atman.Population`.  Each seed draws from its
own generator, ``derive_seed("atman", layout, seed)``: the layout alone, so that attention on and
off, both rules and every trainer start seed k from the same networks (common random numbers:
the paired comparisons compare the treatment, not the draw).  The engine's arithmetic is
per lane, so seed k's numbers do not depend on which seeds share the job.

Trainers (one "tick" = one full-batch iteration; the source's GUI timer tick):

``single``    one network, ``iterations`` ticks.
``children``  ``children`` networks (the first ``children`` draws of the seed), ``iterations``
              ticks, with the source's loss-increase pruning (``network_basic.py`` at HEAD:
              ``MainWindow.train_step`` and ``LossPlot.update_plot``).  Every tick walks the
              list of children by position, as the source's ``enumerate`` over a list it
              changes did: the child at the position trains one step, then, if its accuracy is
              below the running maximum of the children visited so far and its test loss rose
              since its previous step, it is removed from the list, *then* the parent is chosen
              (the first child of the remaining list with the highest best-ever accuracy, as
              it stands at that moment: a child visited this tick has stepped, one not yet
              visited has not), and the new child (weights + N(0,1)·μ, biases + U(0,1)·μ,
              positions copied) is appended.  So the child that moves into the removed one's
              position is not visited this tick (it neither trains nor is judged), a newborn
              that the walk reaches trains in its birth tick (it cannot be pruned then: it has
              one loss), and one born at the last position is not reached until the next
              tick.  The running maximum starts at 0 and is reset after the last position's
              child unless that child was pruned (the source returned before its reset), in
              which case the next tick starts with it, and even the first child can be pruned.
``genetic``   the published outer loop (``genetic_training.py`` at e0cb909): one fixed
              trained parent, then ``generations`` generations of ``genetic_children`` mutants
              of it (μ ``genetic_mutation``; no pruning, which the source added later), each
              trained ``genetic_iterations`` ticks, stopping once the record reaches
              ``stop_accuracy``.  The source loaded a trained checkpoint (the best child, 57.5%,
              of an earlier run), opened its record at that checkpoint's accuracy and ran
              generations 1 to 14 (``while max_accuracy < 0.9 and generation < 15``); the seed
              it mutated was never reloaded, so all 14 generations are mutants of that one
              parent, and no generation draws independent random networks.  Here the parent is
              the seed's first network trained alone for ``genetic_iterations`` ticks (the
              ``single`` trainer's network when ``iterations`` equals it); ``parent_networks``
              > 1 trains the seed's first so many networks instead and keeps the first of the
              most accurate (10: the best child of a 10-network run, which the source's
              ``checkpoint_best_0_0.575`` most likely was; not part of the loop, so not a
              generation).  The record opens at the parent's best-ever accuracy with its final
              state, and over all children of all
              generations keeps (best-ever accuracy, the child's *final* state), strictly
              better only, in child order (as the source's max() over its results list did).
``genetic_elitist``  the corrected lineage from the same start: every generation mutates the
              record so far, and the record keeps the state at which its accuracy was reached
              (the parent's too).

Metrics: test MSE and the source's rounding accuracy, measured every tick before the update
(as the source did).  ``best_accuracy`` is the best-so-far over every network and tick (what
the source reported; for the genetic loops the parent's training counts, as the source's
record opened at its parent's accuracy); ``final_*`` evaluate the network the trainer hands
back after its last update (single: the child; children: the child with the highest best-ever
accuracy; genetic: the record's checkpoint).  ``mse_auc`` is the mean over ticks of the lowest
test MSE reached so far: how soon a run got good (lower is better).

Engines: a tick runs on :mod:`attnmem.models.atman_fast` (compiled, numba) or on the numpy
reference :func:`attnmem.models.atman.train_step`; they give the same bytes (tests/test_atman.py),
and ``train(engine="auto")`` compiles the jobs big enough to pay for loading numba.

Checkpoints (``checkpoint.pkl`` in the cell's folder, :class:`attnmem.run.CellCheckpoint`) hold
the whole population, every seed's generator and the loop's bookkeeping; a killed job resumes
there and ends with the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Unpack

import numpy as np

from attnmem import files
from attnmem.jobs import JobOptions, JobSetup
from attnmem.models import atman as model
from attnmem.run import CellCheckpoint, Progress, RunRecorder, flat_config
from attnmem.seeding import derive_seed

STUDY = "atman"
TRAINERS = ("single", "children", "genetic", "genetic_elitist")
ATTENTION = ("on", "off")


@dataclass(frozen=True)
class AtmanRun:
    """Everything that determines one seed's numbers in one cell."""

    layout: str
    attention: str
    trainer: str
    rule: str
    seed: int
    iterations: int = 500  # ticks of the single and children trainers
    children: int = 6
    child_mutation: float = 0.1
    genetic_children: int = 10
    genetic_iterations: int = 500
    generations: int = 14  # of mutants, after the parent (the source's generations 1-14)
    parent_networks: int = 1  # networks trained for the genetic loops' parent (the best kept)
    genetic_mutation: float = 0.03
    stop_accuracy: float = 0.9
    lr: float = 5e-4
    position_lr: float = 2.0
    d_min: float = 11.0
    d_max: float = 20.0
    log_every: int = 25  # ticks per metrics.csv row

    @property
    def cell(self) -> str:
        return f"{self.layout}/{self.attention}/{self.trainer}/{self.rule}"

    @property
    def settings(self) -> model.Settings:
        return model.Settings(
            rule=self.rule,
            attention=self.attention == "on",
            lr=self.lr,
            position_lr=self.position_lr,
            d_min=self.d_min,
            d_max=self.d_max,
        )

    @property
    def width(self) -> int:
        """Networks per seed in the population."""
        return {"single": 1, "children": self.children}.get(self.trainer, self.genetic_children)

    @property
    def ticks(self) -> int:
        if self.trainer in ("single", "children"):
            return self.iterations
        return (1 + self.generations) * self.genetic_iterations  # the parent, then generations

    @property
    def per_child(self) -> int:
        """Iterations each network trains (the budget the claims check)."""
        return (
            self.iterations if self.trainer in ("single", "children") else self.genetic_iterations
        )


def _check(runs: Sequence[AtmanRun]) -> None:
    if not runs:
        raise ValueError("no runs to train")
    first = replace(runs[0], seed=0)
    for run in runs:
        if replace(run, seed=0) != first:
            raise ValueError("one atman job trains the seeds of one cell under one setting")
    if first.trainer not in TRAINERS:
        raise ValueError(f"unknown trainer {first.trainer!r}; known: {', '.join(TRAINERS)}")
    if first.attention not in ATTENTION:
        raise ValueError(f"attention is 'on' or 'off', not {first.attention!r}")


def _fresh_state(runs: Sequence[AtmanRun], wiring: model.Wiring) -> dict[str, Any]:
    run = runs[0]
    rngs = [np.random.default_rng(derive_seed(STUDY, run.layout, r.seed)) for r in runs]
    width = run.parent_networks if run.trainer.startswith("genetic") else run.width
    nets = [model.init_network(wiring, rng) for rng in rngs for _ in range(width)]
    n, lanes = len(runs), len(runs) * width
    return {
        "tick": 0,
        "pop": model.concat(nets),
        "rngs": rngs,
        "rows": [[] for _ in runs],
        "best_accuracy": np.zeros(n),
        "best_mse": np.full(n, np.inf),
        "auc": np.zeros(n),
        "max_accuracy": np.zeros(lanes),  # per network, best-ever (the source's max_accuracy)
        "prev_loss": np.full(lanes, np.nan),  # children: each child's previous test loss
        "order": [list(range(width)) for _ in runs],  # children: the list, by slot
        "running": np.zeros(n),  # children: the walk's running maximum of accuracy
        "pruned": np.zeros(n, dtype=int),
        # genetic bookkeeping; generation 0 is the parent's training
        "generation": 0,
        "snapshot": None,  # per network, its state at its best accuracy (elitist)
        "record_accuracy": np.full(n, -np.inf),
        "record": None,  # Population, one network per seed
        "parent": None,
        "stopped": np.zeros(n, dtype=bool),
        "generations_run": np.zeros(n, dtype=int),
    }


def _lanes(seed_index: int, width: int) -> np.ndarray:
    return np.arange(seed_index * width, (seed_index + 1) * width)


def _width(state: Mapping[str, Any], run: AtmanRun) -> int:
    """Networks per seed in the population now (generation 0 of a genetic loop: the parent's
    training, ``parent_networks`` networks)."""
    if run.trainer.startswith("genetic") and state["generation"] == 0:
        return run.parent_networks
    return run.width


def _children_tick(
    state: dict[str, Any], run: AtmanRun, wiring: model.Wiring, data, step
) -> tuple[np.ndarray, np.ndarray]:
    """One tick of the children trainer: the source's walk over the list it changes (module
    docstring).  Returns the test MSE and accuracy per lane of the children that trained this
    tick (NaN for a child the walk did not reach).

    Every child steps at once first (the engine's batch); the walk then decides which of
    those steps happened: a child the walk skips gets its state back, and the newborns the
    walk reaches step afterwards, in one batch (nothing the walk decides depends on them:
    they cannot be pruned in their birth tick and come after every other child)."""
    pop, width = state["pop"], run.width
    lanes = pop.weights.shape[0]
    before = pop.take(np.arange(lanes))
    mse, accuracy = step(pop, data["x_train"], data["y_train"], data["x_test"], data["y_test"])
    seen_mse, seen_acc = np.full(lanes, np.nan), np.full(lanes, np.nan)
    max_acc, prev_loss = state["max_accuracy"], state["prev_loss"]
    revert: list[int] = []
    newborns: list[int] = []
    for k, rng in enumerate(state["rngs"]):
        base, items = k * width, state["order"][k]
        visited: set[int] = set()
        born: set[int] = set()
        running = state["running"][k]
        i = 0
        while i < len(items):  # the list keeps its length: one out, one in
            slot = items[i]
            lane = base + slot
            last = i == len(items) - 1
            if slot in born:  # trains in its birth tick (below); one loss: never pruned now
                newborns.append(lane)
                running = 0.0 if last else running
                i += 1
                continue
            visited.add(slot)
            loss, acc, previous = mse[lane], accuracy[lane], prev_loss[lane]
            seen_mse[lane], seen_acc[lane] = loss, acc
            max_acc[lane] = max(max_acc[lane], acc)
            prev_loss[lane] = loss
            if acc >= running:
                running = acc
            elif loss > previous:  # False without a previous loss, or for NaN
                items.pop(i)  # out of the list before the parent is chosen
                best = max(items, key=lambda s: max_acc[base + s])  # the first of the best
                # its state as it stands now: stepped if the walk has visited it (or a
                # newborn, not stepped yet), else as it was before this tick
                holder = pop if best in visited or best in born else before
                child = model.mutate(holder.take([base + best]), wiring, rng, run.child_mutation)
                pop.put([lane], child)
                max_acc[lane], prev_loss[lane] = 0.0, np.nan
                items.append(slot)
                born.add(slot)
                state["pruned"][k] += 1
                i += 1  # the child that moved into this position is not visited this tick
                continue  # (nor is the running maximum reset after a pruned last child)
            running = 0.0 if last else running
            i += 1
        state["running"][k] = running
        revert += [base + s for s in items if s not in visited and s not in born]
    if revert:
        pop.put(revert, before.take(revert))
    if newborns:
        young = pop.take(newborns)
        loss, acc = step(young, data["x_train"], data["y_train"], data["x_test"], data["y_test"])
        pop.put(newborns, young)
        seen_mse[newborns], seen_acc[newborns] = loss, acc
        max_acc[newborns] = np.maximum(max_acc[newborns], acc)
        prev_loss[newborns] = loss
    return seen_mse, seen_acc


def _start_generation(state: dict[str, Any], run: AtmanRun, wiring: model.Wiring) -> None:
    """Fill the population with the next generation's mutants (generation ≥ 1): of the fixed
    parent (genetic) or of the record so far (genetic_elitist)."""
    width, source = run.width, state["parent"] if run.trainer == "genetic" else state["record"]
    children = []
    for k, rng in enumerate(state["rngs"]):
        parent = source.take([k])
        children += [model.mutate(parent, wiring, rng, run.genetic_mutation) for _ in range(width)]
    state["pop"] = model.concat(children)
    state["max_accuracy"] = np.zeros(len(state["rngs"]) * width)


def _end_generation(state: dict[str, Any], run: AtmanRun) -> None:
    """Generation 0 (the parent's training) opens each seed's record at the parent's best
    accuracy and fixes the published loop's parent (its final state); a later generation
    updates the record from its children (strictly better only, in child order, as max()
    over the source's results list kept the earliest).  Then the stop rule."""
    width, n = _width(state, run), len(state["rngs"])
    kept = state["pop"] if run.trainer == "genetic" else state["snapshot"]
    if state["generation"] == 0:
        # the source: max_accuracy = 0.575 (its seed checkpoint's), the seed never reloaded;
        # of several parent networks, the first of the most accurate (as max() keeps)
        best = state["max_accuracy"].reshape(n, width).argmax(axis=1) + np.arange(n) * width
        state["record_accuracy"] = state["max_accuracy"][best]
        state["record"] = kept.take(best)
        state["parent"] = state["pop"].take(best)
    else:
        for k in range(n):
            if state["stopped"][k]:
                continue
            state["generations_run"][k] += 1
            for lane in _lanes(k, width):
                if state["max_accuracy"][lane] > state["record_accuracy"][k]:
                    state["record_accuracy"][k] = state["max_accuracy"][lane]
                    state["record"].put([k], kept.take([lane]))
    # `while max_accuracy < 0.9 and generation < 15`: checked before every generation
    state["stopped"] |= state["record_accuracy"] >= run.stop_accuracy
    state["generation"] += 1


def _tick(state: dict[str, Any], run: AtmanRun, wiring: model.Wiring, data, step) -> None:
    genetic = run.trainer.startswith("genetic")
    if genetic and state["tick"] % run.genetic_iterations == 0:
        if state["tick"] > 0:
            _end_generation(state, run)
            _start_generation(state, run, wiring)
        pop = state["pop"]
        state["snapshot"] = pop.take(np.arange(pop.weights.shape[0]))
    pop, width, n = state["pop"], _width(state, run), len(state["rngs"])
    if run.trainer == "children":
        mse, accuracy = _children_tick(state, run, wiring, data, step)
    else:
        before = pop.take(np.arange(pop.weights.shape[0])) if genetic else None
        mse, accuracy = step(pop, data["x_train"], data["y_train"], data["x_test"], data["y_test"])
        with np.errstate(invalid="ignore"):
            better = accuracy > state["max_accuracy"]
        if genetic:
            # the state that scored this accuracy is the one before the update
            state["snapshot"].put(np.flatnonzero(better), before.take(np.flatnonzero(better)))
        state["max_accuracy"] = np.where(better, accuracy, state["max_accuracy"])
    state["tick"] += 1
    live = ~state["stopped"]
    by_seed_acc = np.nan_to_num(accuracy, nan=0.0).reshape(n, width).max(axis=1)
    by_seed_mse = np.nan_to_num(mse, nan=np.inf, posinf=np.inf).reshape(n, width).min(axis=1)
    state["best_accuracy"] = np.where(
        live, np.maximum(state["best_accuracy"], by_seed_acc), state["best_accuracy"]
    )
    state["best_mse"] = np.where(
        live, np.minimum(state["best_mse"], by_seed_mse), state["best_mse"]
    )
    state["auc"] = np.where(live, state["auc"] + state["best_mse"], state["auc"])
    if state["tick"] % run.log_every == 0 or state["tick"] == run.ticks:
        for k in range(n):
            if state["stopped"][k]:
                continue
            rows = state["rows"][k]
            t = state["tick"]
            rows.append((t, "test", "accuracy", float(by_seed_acc[k])))
            rows.append((t, "test", "mse", float(by_seed_mse[k])))
            rows.append((t, "test", "best_accuracy", float(state["best_accuracy"][k])))
            rows.append((t, "test", "best_mse", float(state["best_mse"][k])))


#: ``engine="auto"`` compiles a job of at least this many network-ticks (lanes x ticks): below
#: it, loading numba and its cached kernels (~0.5 s per process) costs more than numpy's ticks
#: (a smoke cell, a default single-network cell of 20 seeds x 500); the bytes are the same.
AUTO_COMPILED = 20_000


def _stepper(engine: str, wiring: model.Wiring, settings: model.Settings, work: int = 0):
    """One tick of every network: ``step(pop, x_train, y_train, x_test, y_test)``; ``work``
    is the job's network-ticks (for ``auto``)."""
    if engine not in ("auto", "compiled", "numpy"):
        raise ValueError(f"unknown engine {engine!r}; known: auto, compiled, numpy")
    if engine == "compiled" or (engine == "auto" and work >= AUTO_COMPILED):
        from attnmem.models import atman_fast  # numba: imported only when used

        if atman_fast.supports(wiring):
            return atman_fast.Engine(wiring, settings).step
    return lambda pop, *data: model.train_step(wiring, pop, *data, settings)


def _returned(state: dict[str, Any], run: AtmanRun) -> model.Population:
    """The network each seed's trainer hands back (module docstring)."""
    n, width = len(state["rngs"]), run.width
    if run.trainer == "single":
        return state["pop"].take(np.arange(n))
    if run.trainer == "children":
        lanes = []
        for k in range(n):
            items = state["order"][k]
            best = max(items, key=lambda s: state["max_accuracy"][k * width + s])
            lanes.append(k * width + best)
        return state["pop"].take(lanes)
    return state["record"].take(np.arange(n))


def train(
    runs: Sequence[AtmanRun],
    out_dirs: Sequence[str | Path],
    *,
    engine: str = "auto",
    **options: Unpack[JobOptions],
) -> list[dict[str, Any]]:
    """Train every seed of one cell; write each seed's metrics.csv, final.json,
    provenance.json and network.json into its folder (``out_dirs``, one per run, in order).

    ``engine``: ``compiled`` (:mod:`attnmem.models.atman_fast`), ``numpy``
    (:func:`attnmem.models.atman.train_step`, the reference) or ``auto`` (the default:
    compiled from :data:`AUTO_COMPILED` network-ticks on); the two give the same bytes.

    ``checkpoint_every`` counts ticks (default 500); the checkpoint lives in the cell's folder
    (the seed folders' parent).  ``on_step(tick)`` runs after every tick and checkpoint (tests
    use it to crash a job).  Returns the final.json contents, in order.
    """
    job = JobSetup(**options)
    _check(runs)
    run = runs[0]
    every = job.every(500)
    log = job.logger
    out_dirs = [Path(d) for d in out_dirs]
    wiring = model.build_wiring(run.layout)
    data = model.sine_data()
    step = _stepper(engine, wiring, run.settings, len(runs) * run.width * run.ticks)
    recorders = [
        RunRecorder(d, flat_config(r), job.threads) for r, d in zip(runs, out_dirs, strict=True)
    ]
    checkpoint = CellCheckpoint(out_dirs[0].parent / "checkpoint.pkl", recorders)
    state = checkpoint.load(log)
    if state is not None:
        log.info("resuming %s (%d seeds) at tick %d", run.cell, len(runs), state["tick"])
    else:
        state = _fresh_state(runs, wiring)
        log.info(
            "%s: %d seeds x %d networks, %d ticks, %d nodes / %d edges",
            *(run.cell, len(runs), run.width, run.ticks, wiring.n_nodes, wiring.n_edges),
        )
    progress = Progress(log, run.ticks, state["tick"], unit="tick")
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        while state["tick"] < run.ticks and not state["stopped"].all():
            _tick(state, run, wiring, data, step)
            if state["tick"] % max(run.log_every, run.ticks // 20) == 0:
                progress.update(
                    state["tick"],
                    f"best accuracy {np.mean(state['best_accuracy']):.3f} "
                    f"best mse {np.mean(state['best_mse']):.4f} (mean over seeds)",
                )
            if state["tick"] % every == 0 and state["tick"] < run.ticks:
                checkpoint.save(state)
            job.step_done(state["tick"])
        if run.trainer.startswith("genetic"):
            _end_generation(state, run)
        returned = _returned(state, run)
        final = model.evaluate(
            wiring, returned, data["x_test"], data["y_test"], run.attention == "on"
        )
    finals = []
    ticks_done = state["tick"]
    for k, (r, recorder) in enumerate(zip(runs, recorders, strict=True)):
        recorder.rows = state["rows"][k]
        generations = int(state["generations_run"][k])
        if run.trainer.startswith("genetic"):  # the parent's ticks, then each generation's
            done = (1 + generations) * run.genetic_iterations
            steps = (run.parent_networks + generations * run.width) * run.genetic_iterations
        else:  # the children walk visits every position once a tick
            done = ticks_done
            steps = done * (1 if run.trainer == "single" else run.width)
        metrics = {
            "final_accuracy": float(final["accuracy"][k]),
            "final_mse": float(final["mse"][k]),
            "final_r2": float(final["r2"][k]),
            "best_accuracy": float(state["best_accuracy"][k]),
            "best_mse": float(state["best_mse"][k]),
            "mse_auc": float(state["auc"][k] / max(done, 1)),
            "iterations": r.per_child,
            "child_steps": steps,
            "generations": generations,
            "pruned": int(state["pruned"][k]),
        }
        finite = all(math.isfinite(metrics[m]) for m in ("final_mse", "best_mse", "mse_auc"))
        status = "ok" if finite else "diverged"
        files.write_json(
            out_dirs[k] / "network.json",
            {
                **model.describe(wiring),
                "initial_positions": wiring.positions.tolist(),
                "positions": returned.positions[k].tolist(),
                "weights": returned.weights[k].tolist(),
                "biases": returned.biases[k].tolist(),
                "x_test": data["x_test"].tolist(),
                "y_test": data["y_test"].tolist(),
                "prediction": final["prediction"][k].tolist(),
            },
        )
        finals.append(recorder.finish(status, metrics, "cpu"))
        log.info(
            "seed %d: %s, final accuracy %.3f (best %.3f), final mse %.4f",
            *(r.seed, status, metrics["final_accuracy"], metrics["best_accuracy"]),
            metrics["final_mse"],
        )
    checkpoint.remove()
    return finals


# ---- the reference the source never showed: a 1-16-16-1 tanh MLP trained with Adam ----------


@dataclass(frozen=True)
class ReferenceRun:
    """A small tanh MLP on the same sine data, full-batch Adam on the mean squared error."""

    seed: int
    hidden: int = 16
    iterations: int = 500
    lr: float = 1e-2
    log_every: int = 25

    @property
    def cell(self) -> str:
        return "reference"


def mlp_init(hidden: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Weights and biases of 1-h-h-1 layers, U(±1/√fan_in) (torch.nn.Linear's default)."""
    params = []
    for fan_in, fan_out in ((1, hidden), (hidden, hidden), (hidden, 1)):
        bound = 1 / math.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, (fan_in, fan_out)))
        params.append(rng.uniform(-bound, bound, (fan_out,)))
    return params


def mlp_forward(params: Sequence[np.ndarray], x: np.ndarray) -> tuple[np.ndarray, list]:
    """(P, S) predictions of P stacked MLPs (params with a leading P axis); x is (S,)."""
    w1, b1, w2, b2, w3, b3 = params
    h1 = np.tanh(x[None, :, None] * w1[:, :1, :] + b1[:, None, :])  # (P, S, h)
    h2 = np.tanh(np.einsum("psh,phk->psk", h1, w2) + b2[:, None, :])
    y = np.einsum("psh,phk->psk", h2, w3)[..., 0] + b3[:, None, 0]
    return y, [h1, h2]


def mlp_gradients(params: Sequence[np.ndarray], x: np.ndarray, y: np.ndarray):
    """Loss (P,) = mean squared error and its exact gradients (backpropagation by hand)."""
    w2, w3 = params[2], params[4]
    pred, (h1, h2) = mlp_forward(params, x)
    s = x.size
    err = pred - y
    loss = (err**2).mean(axis=1)
    d_out = 2 * err / s  # (P, S)
    g_w3 = np.einsum("psh,ps->ph", h2, d_out)[..., None]
    g_b3 = d_out.sum(axis=1)[:, None]
    d_h2 = d_out[..., None] * w3[:, None, :, 0] * (1 - h2**2)
    g_w2 = np.einsum("psh,psk->phk", h1, d_h2)
    g_b2 = d_h2.sum(axis=1)
    d_h1 = np.einsum("psk,phk->psh", d_h2, w2) * (1 - h1**2)
    g_w1 = np.einsum("s,psh->ph", x, d_h1)[:, None, :]
    g_b1 = d_h1.sum(axis=1)
    return loss, [g_w1, g_b1, g_w2, g_b2, g_w3, g_b3]


def train_reference(
    runs: Sequence[ReferenceRun],
    out_dirs: Sequence[str | Path],
    **options: Unpack[JobOptions],
) -> list[dict[str, Any]]:
    """Every seed of the MLP reference at once (seconds: no checkpoint is taken)."""
    job = JobSetup(**options)
    log = job.logger
    first = replace(runs[0], seed=0)
    if any(replace(r, seed=0) != first for r in runs):
        raise ValueError("one reference job trains every seed under one setting")
    data = model.sine_data()
    per_seed = [
        mlp_init(r.hidden, np.random.default_rng(derive_seed(STUDY, "reference", r.seed)))
        for r in runs
    ]
    params = [np.stack(p) for p in zip(*per_seed, strict=True)]
    moments = [np.zeros_like(p) for p in params]
    squares = [np.zeros_like(p) for p in params]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    n = len(runs)
    best_acc, best_mse, auc = np.zeros(n), np.full(n, np.inf), np.zeros(n)
    rows: list[list[tuple]] = [[] for _ in runs]
    recorders = [
        RunRecorder(d, flat_config(r), job.threads) for r, d in zip(runs, out_dirs, strict=True)
    ]
    for t in range(1, first.iterations + 1):
        prediction, _ = mlp_forward(params, data["x_test"])
        mse, accuracy = model.test_metrics(prediction, data["y_test"])  # before the update
        _, grads = mlp_gradients(params, data["x_train"], data["y_train"])
        for p, g, m, v in zip(params, grads, moments, squares, strict=True):
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * g * g
            p -= first.lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
        best_acc, best_mse = np.maximum(best_acc, accuracy), np.minimum(best_mse, mse)
        auc += best_mse
        if t % first.log_every == 0 or t == first.iterations:
            for k in range(n):
                rows[k] += [
                    (t, "test", "accuracy", float(accuracy[k])),
                    (t, "test", "mse", float(mse[k])),
                    (t, "test", "best_accuracy", float(best_acc[k])),
                    (t, "test", "best_mse", float(best_mse[k])),
                ]
    prediction, _ = mlp_forward(params, data["x_test"])
    mse, accuracy = model.test_metrics(prediction, data["y_test"])
    r2 = 1 - mse / ((data["y_test"] - data["y_test"].mean()) ** 2).mean()
    finals = []
    for k, (r, recorder) in enumerate(zip(runs, recorders, strict=True)):
        recorder.rows = rows[k]
        metrics = {
            "final_accuracy": float(accuracy[k]),
            "final_mse": float(mse[k]),
            "final_r2": float(r2[k]),
            "best_accuracy": float(best_acc[k]),
            "best_mse": float(best_mse[k]),
            "mse_auc": float(auc[k] / first.iterations),
            "iterations": first.iterations,
            "child_steps": first.iterations,
        }
        files.write_json(
            Path(out_dirs[k]) / "network.json",
            {
                "x_test": data["x_test"].tolist(),
                "y_test": data["y_test"].tolist(),
                "prediction": prediction[k].tolist(),
            },
        )
        status = "ok" if math.isfinite(metrics["final_mse"]) else "diverged"
        finals.append(recorder.finish(status, metrics, "cpu"))
        log.info("reference seed %d: final accuracy %.3f, mse %.5f", r.seed, accuracy[k], mse[k])
    return finals
