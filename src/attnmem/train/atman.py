"""The ātmán study's trainers (spec B.6): every seed of one cell in one job, as one population.

A cell is (layout, attention, trainer, rule); the job trains all of the cell's seeds at once,
each network a lane of one :class:`~attnmem.models.atman.Population`.  Each seed draws from its
own generator, ``derive_seed("atman", layout, seed)``: the layout alone, so that attention on and
off, both rules and every trainer start seed k from the same networks (common random numbers:
the paired comparisons compare the treatment, not the draw).  The engine's arithmetic is
per lane, so seed k's numbers do not depend on which seeds share the job.

Trainers (one "tick" = one full-batch iteration of every live network):

``single``    one network, ``iterations`` ticks.
``children``  ``children`` networks (the first ``children`` draws of the seed), ``iterations``
              ticks, with the source's loss-increase pruning after every tick: children are
              visited in list order, keeping the running maximum of accuracy; a child below it
              whose test loss rose since its previous tick is removed and a new child, seeded
              from the child with the highest best-ever accuracy (weights + N(0,1)·μ, biases +
              U(0,1)·μ, positions copied), is appended.  As in the source, the list is changed
              while it is walked: the child after a removed one is skipped this tick, and a new
              child cannot be pruned before it has two losses.
``genetic``   the published outer loop: ``genetic_children`` children per generation, each
              ``genetic_iterations`` ticks (no pruning, which the source added later),
              ``generations`` at most, stopping once the record reaches ``stop_accuracy``.
              Generation 0 draws random networks; the record over all children of all
              generations is (best-ever accuracy, the child's *final* state), as the source
              paired them.  Its bug is kept: the parent of every later generation is the one
              generation 0 produced (the source never reloaded its seed), so generations are
              repeated mutation around one parent.
``genetic_elitist``  the corrected loop: every generation mutates the record so far, and the
              record keeps the state at which its accuracy was reached.

Metrics: test MSE and the source's rounding accuracy, measured every tick before the update
(as the source did).  ``best_accuracy`` is the best-so-far over every network and tick (what
the source reported); ``final_*`` evaluate the network the trainer hands back after its last
update (single: the child; children: the child with the highest best-ever accuracy; genetic:
the record's checkpoint).  ``mse_auc`` is the mean over ticks of the lowest test MSE reached so
far: how soon a run got good (lower is better).

Engines: a tick runs on :mod:`attnmem.models.atman_fast` (compiled, numba) or on the numpy
reference :func:`attnmem.models.atman.train_step`; they give the same bytes (tests/test_atman.py),
and ``train(engine="auto")`` compiles the jobs big enough to pay for loading numba.

Checkpoints (``checkpoint.pkl`` in the cell's folder) hold the whole population, every seed's
generator and the loop's bookkeeping; a killed job resumes there and ends with the same bytes.
"""

from __future__ import annotations

import logging
import math
import pickle
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from attnmem import files
from attnmem.models import atman as model
from attnmem.run import Progress, RunRecorder, file_logger, flat_config
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
    generations: int = 15
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
        return self.generations * self.genetic_iterations

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
    nets = [model.init_network(wiring, rng) for rng in rngs for _ in range(run.width)]
    n, lanes = len(runs), len(runs) * run.width
    return {
        "tick": 0,
        "pop": model.concat(nets),
        "rngs": rngs,
        "rows": [[] for _ in runs],
        "best_accuracy": np.zeros(n),
        "best_mse": np.full(n, np.inf),
        "auc": np.zeros(n),
        "max_accuracy": np.zeros(lanes),  # per network, best-ever (the source's max_accuracy)
        "prev_loss": np.full(lanes, np.nan),
        "order": [list(range(run.width)) for _ in runs],  # children: the list, by slot
        "pruned": np.zeros(n, dtype=int),
        # genetic bookkeeping
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


def _prune(state: dict[str, Any], run: AtmanRun, wiring: model.Wiring, mse, accuracy) -> None:
    """The source's loss-increase pruning, seed by seed (module docstring)."""
    pop, width = state["pop"], run.width
    for k in range(len(state["rngs"])):
        base = k * width
        items = state["order"][k]
        fresh: set[int] = set()
        running, i = -np.inf, 0
        while i < len(items):
            slot = items[i]
            lane = base + slot
            if slot in fresh:
                i += 1
                continue
            rose = mse[lane] > state["prev_loss"][lane]  # False for a child with one loss
            if accuracy[lane] < running and rose and i > 0:
                best = max(items, key=lambda s: state["max_accuracy"][base + s])
                child = model.mutate(
                    pop.take([base + best]), wiring, state["rngs"][k], run.child_mutation
                )
                pop.put([lane], child)
                state["max_accuracy"][lane] = 0.0
                state["prev_loss"][lane] = np.nan
                items.pop(i)
                items.append(slot)
                fresh.add(slot)
                state["pruned"][k] += 1
                i += 1  # the child that moved into this place is skipped, as in the source
                continue
            running = max(running, accuracy[lane])
            state["prev_loss"][lane] = mse[lane]
            i += 1


def _start_generation(state: dict[str, Any], run: AtmanRun, wiring: model.Wiring) -> None:
    """Fill the population with the next generation's children (generation ≥ 1)."""
    width, source = run.width, state["parent"] if run.trainer == "genetic" else state["record"]
    children = []
    for k, rng in enumerate(state["rngs"]):
        parent = source.take([k])
        children += [model.mutate(parent, wiring, rng, run.genetic_mutation) for _ in range(width)]
    state["pop"] = model.concat(children)
    state["max_accuracy"][:] = 0.0


def _end_generation(state: dict[str, Any], run: AtmanRun) -> None:
    """Update each seed's record from this generation's children (strictly better only, in
    child order, as max() over the source's results list kept the earliest)."""
    width, n = run.width, len(state["rngs"])
    kept = state["pop"] if run.trainer == "genetic" else state["snapshot"]
    if state["record"] is None:
        state["record"] = kept.take(np.arange(n) * width)
    for k in range(n):
        if state["stopped"][k]:
            continue
        state["generations_run"][k] += 1
        for lane in _lanes(k, width):
            if state["max_accuracy"][lane] > state["record_accuracy"][k]:
                state["record_accuracy"][k] = state["max_accuracy"][lane]
                state["record"].put([k], kept.take([lane]))
        if state["record_accuracy"][k] >= run.stop_accuracy:
            state["stopped"][k] = True
    if state["parent"] is None:
        # the published loop's fixed parent: what generation 0 produced (the source's seed
        # checkpoint was itself the best child of an earlier run)
        state["parent"] = state["record"].take(np.arange(n))
    state["generation"] += 1


def _tick(state: dict[str, Any], run: AtmanRun, wiring: model.Wiring, data, step) -> None:
    pop, width, n = state["pop"], run.width, len(state["rngs"])
    genetic = run.trainer.startswith("genetic")
    if genetic and state["tick"] % run.genetic_iterations == 0:
        if state["tick"] > 0:
            _end_generation(state, run)
            _start_generation(state, run, wiring)
            pop = state["pop"]
        state["snapshot"] = pop.take(np.arange(pop.weights.shape[0]))
    before = pop.take(np.arange(pop.weights.shape[0])) if genetic else None
    mse, accuracy = step(pop, data["x_train"], data["y_train"], data["x_test"], data["y_test"])
    with np.errstate(invalid="ignore"):
        better = accuracy > state["max_accuracy"]
    if genetic:
        # the state that scored this accuracy is the one before the update
        state["snapshot"].put(np.flatnonzero(better), before.take(np.flatnonzero(better)))
    state["max_accuracy"] = np.where(better, accuracy, state["max_accuracy"])
    if run.trainer == "children":
        _prune(state, run, wiring, mse, accuracy)
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


def save_checkpoint(path: Path, state: Mapping[str, Any], hashes: Sequence[str]) -> None:
    files.write_bytes(path, pickle.dumps({"hashes": list(hashes), "state": dict(state)}))


def load_checkpoint(path: Path, hashes: Sequence[str], log: logging.Logger) -> dict | None:
    if not path.exists():
        return None
    saved = pickle.loads(path.read_bytes())
    if saved.get("hashes") != list(hashes):
        log.warning("checkpoint.pkl belongs to other settings or seeds; starting afresh")
        return None
    return saved["state"]


def train(
    runs: Sequence[AtmanRun],
    out_dirs: Sequence[str | Path],
    *,
    inputs: Mapping[str, str | Path] | None = None,
    threads: int = 1,
    device: str = "cpu",
    log: logging.Logger | None = None,
    checkpoint_every: int | None = None,
    on_tick: Callable[[int], None] | None = None,
    engine: str = "auto",
) -> list[dict[str, Any]]:
    """Train every seed of one cell; write each seed's metrics.csv, final.json,
    provenance.json and network.json into its folder (``out_dirs``, one per run, in order).

    ``engine``: ``compiled`` (:mod:`attnmem.models.atman_fast`), ``numpy``
    (:func:`attnmem.models.atman.train_step`, the reference) or ``auto`` (the default:
    compiled from :data:`AUTO_COMPILED` network-ticks on); the two give the same bytes.

    ``checkpoint_every`` counts ticks (default 500); the checkpoint lives in the cell's folder
    (the seed folders' parent).  ``on_tick(tick)`` runs after every tick and checkpoint (tests
    use it to crash a job).  Returns the final.json contents, in order.
    """
    _check(runs)
    run = runs[0]
    every = 500 if checkpoint_every is None else checkpoint_every
    log = log or file_logger(None)
    out_dirs = [Path(d) for d in out_dirs]
    wiring = model.build_wiring(run.layout)
    data = model.sine_data()
    step = _stepper(engine, wiring, run.settings, len(runs) * run.width * run.ticks)
    recorders = [
        RunRecorder(d, flat_config(r), threads) for r, d in zip(runs, out_dirs, strict=True)
    ]
    hashes = [files.config_hash(r.config) for r in recorders]
    checkpoint = out_dirs[0].parent / "checkpoint.pkl"
    state = load_checkpoint(checkpoint, hashes, log)
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
                save_checkpoint(checkpoint, state, hashes)
            if on_tick is not None:
                on_tick(state["tick"])
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
        done = (
            int(state["generations_run"][k]) * run.genetic_iterations
            if run.trainer.startswith("genetic")
            else ticks_done
        )
        metrics = {
            "final_accuracy": float(final["accuracy"][k]),
            "final_mse": float(final["mse"][k]),
            "final_r2": float(final["r2"][k]),
            "best_accuracy": float(state["best_accuracy"][k]),
            "best_mse": float(state["best_mse"][k]),
            "mse_auc": float(state["auc"][k] / max(done, 1)),
            "iterations": r.per_child,
            "child_steps": done * (1 if run.trainer == "single" else run.width),
            "generations": int(state["generations_run"][k]),
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
    checkpoint.unlink(missing_ok=True)
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
    *,
    inputs: Mapping[str, str | Path] | None = None,
    threads: int = 1,
    device: str = "cpu",
    log: logging.Logger | None = None,
    checkpoint_every: int | None = None,
) -> list[dict[str, Any]]:
    """Every seed of the MLP reference at once (seconds: no checkpoint is taken)."""
    log = log or file_logger(None)
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
        RunRecorder(d, flat_config(r), threads) for r, d in zip(runs, out_dirs, strict=True)
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
