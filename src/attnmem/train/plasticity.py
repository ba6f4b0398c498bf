"""One run of the plasticity study: a plastic network through the R curriculum, then tested.

The run trains with :mod:`attnmem.train.curriculum`, checkpoints every ``checkpoint_every``
optimizer steps and at the end of every stage (so a killed job resumes mid-stage with the same
numbers), keeps each finished stage's model in ``stages/R<r>.pt``, and ends with the
generalisation curve of the final model (spec seed003 §6.1): accuracy, true-positive rate and
false-positive rate for test intervals R_test = 1 .. max(test_r_max, 2·R_conv); and the
accuracy at 1, 2 and 4 times HebbFF's R_max (the R training stalled on), for HebbFF's shape.

Random streams (common random numbers): the training sequences and the test sequences derive
from the seed alone, so every network of the grid sees the same data for seed k; only the
initial weights depend on the network and size.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Unpack

import torch
from torch import nn

from attnmem.data.familiarity import generate, train_length
from attnmem.files import write_torch
from attnmem.jobs import JobOptions, JobSetup
from attnmem.models.plastic import build_network
from attnmem.models.plastic_fast import engine_for
from attnmem.run import Diverged, Progress, RunRecorder, flat_config
from attnmem.seeding import derive_seed, make_deterministic, pick_device
from attnmem.train.curriculum import (
    Curriculum,
    CurriculumState,
    advance,
    r_at,
    r_converged,
    r_reached,
    r_stalled,
    step,
)

STUDY = "plasticity"
#: Budgets (thousands of sequences) at which the step plot's claims read the current R:
#: Memo M_A 50/50 at R = 14 within ~1e5 iterations, Dyn M_A 50/50 at R = 13 by ~2.5e5.
STEP_PLOT_BUDGETS = (100, 250)
CURRICULUM = Curriculum(batch=16)  # a run's curriculum unless its config says otherwise


@dataclass(frozen=True)
class PlasticityRun:
    """Everything that determines one run's numbers."""

    network: str
    size: int
    seed: int
    curriculum: Curriculum = CURRICULUM
    eta: str = "full"
    test_r_max: int = 20
    test_sequences: int = 5
    test_min_scenes: int = 1000  # T_test = max(test_min_scenes, test_scenes_per_r · R_test)
    test_scenes_per_r: int = 200
    log_every: int = 50  # optimizer steps between metric rows and log lines

    @property
    def cell(self) -> str:
        return f"{self.network}/{self.size}"


@dataclass
class PlasticityState:
    """Everything a plasticity run changes as it trains: what its checkpoint holds.  Saving and
    restoring live side by side here so that the two cannot drift apart."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    data: torch.Generator  # the training sequences
    progress: CurriculumState = field(default_factory=CurriculumState)
    steps: int = 0  # optimizer steps

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "data": self.data.get_state(),
            "torch_rng": torch.get_rng_state(),
            "state": self.progress.state_dict(),
            "steps": self.steps,
        }

    def load_state_dict(self, saved: Mapping[str, Any]) -> None:
        self.model.load_state_dict(saved["model"])
        self.optimizer.load_state_dict(saved["optimizer"])
        self.data.set_state(saved["data"])
        torch.set_rng_state(saved["torch_rng"])
        self.progress.load_state_dict(saved["state"])
        self.steps = saved["steps"]


def generalisation(
    model: nn.Module,
    r_values: list[int],
    sequences: int,
    min_scenes: int,
    scenes_per_r: int,
    generator: torch.Generator,
    d: int = 25,
    frames: int = 4,
    var: float = 0.1,
    engine: str = "autograd",
) -> list[dict[str, float]]:
    """Accuracy, TPR and FPR of the scene-final outputs at each test interval; ``engine``
    ``fast`` runs the forward pass of :mod:`attnmem.models.plastic_fast` (float64)."""
    rows = []
    with torch.no_grad():
        for r in r_values:
            seqs = generate(
                sequences, max(min_scenes, scenes_per_r * r), r, generator, d, frames, var
            )
            if engine in ("fast", "population"):
                outputs = torch.from_numpy(engine_for(model).outputs(seqs.frames))
                outputs = outputs[:, seqs.scored_steps]
            else:
                device = next(model.parameters()).device
                outputs = model(seqs.frames.to(device))[:, seqs.scored_steps.to(device)].cpu()
            said_familiar = outputs >= 0.5
            familiar = seqs.labels.bool()
            rows.append(
                {
                    "r": r,
                    "accuracy": (said_familiar == familiar).float().mean().item(),
                    "tpr": (said_familiar & familiar).sum().item() / max(familiar.sum().item(), 1),
                    "fpr": (said_familiar & ~familiar).sum().item()
                    / max((~familiar).sum().item(), 1),
                }
            )
    return rows


def train(
    run: PlasticityRun,
    out_dir: str | Path,
    **options: Unpack[JobOptions],
) -> dict[str, Any]:
    """Train through the curriculum, resuming from ``checkpoint.pt`` when it is this run's.

    The run reads no ``inputs`` (its sequences are generated).  ``checkpoint_every`` counts
    optimizer steps (default 50); a checkpoint is also taken at every stage's end.
    ``on_step(state)`` runs after every optimizer step and checkpoint (tests use it to crash a
    run).  Writes metrics.csv, final.json, provenance.json, model.pt and stages/R<r>.pt;
    returns the content of final.json.
    """
    job = JobSetup(**options)
    if run.curriculum.engine == "population":  # a population of one lane: the same bytes
        lane = None if job.on_step is None else (lambda states: job.step_done(states[0]))
        return train_cell([run], [out_dir], **{**options, "on_step": lane})[0]
    every = job.every(50)
    log = job.logger
    out_dir = Path(out_dir)
    curriculum = run.curriculum
    make_deterministic(job.threads, derive_seed(STUDY, run.cell, run.seed))
    dev = pick_device(job.device)
    model = build_network(run.network, run.size, curriculum.d, run.eta).to(dev)  # type: ignore[arg-type]
    loop = PlasticityState(
        model,
        # foreach: the same numbers as the per-tensor loop, with less overhead per step
        torch.optim.Adam(model.parameters(), lr=curriculum.lr, foreach=True),
        torch.Generator().manual_seed(derive_seed(STUDY, "train-data", run.seed)),
    )
    state = loop.progress  # restored in place, so this name stays valid across a resume
    recorder = RunRecorder(out_dir, flat_config(run), job.threads)

    if recorder.resume(loop, log):
        log.info(
            "resuming %s seed %d at R=%d after %d sequences",
            *(run.cell, run.seed, state.r, state.total_sequences),
        )
    else:
        log.info(
            "%s seed %d: %s mode (%s engine), %d sequence(s) per step, stage cap %d, total cap %d"
            " on %s",
            *(run.cell, run.seed, curriculum.mode, curriculum.engine),
            curriculum.sequences_per_step,
            *(curriculum.stage_cap, curriculum.total_cap, dev),
        )

    progress = Progress(log, curriculum.total_cap, state.total_sequences, unit="sequence")
    status = "ok"
    try:
        while state.total_sequences < curriculum.total_cap and (
            curriculum.max_r is None or state.r <= curriculum.max_r
        ):
            loss, accuracies = step(model, loop.optimizer, curriculum, state.r, loop.data)
            if not math.isfinite(loss):
                raise Diverged
            loop.steps += 1
            stage_ended = advance(state, accuracies, curriculum)
            if stage_ended:
                last = state.stages[-1]
                write_torch(out_dir / "stages" / f"R{last['r']}.pt", model.state_dict())
                log.info(
                    "R=%d %s after %d sequences",
                    last["r"],
                    "converged" if last["converged"] else "capped",
                    last["sequences"],
                )
            if loop.steps % run.log_every == 0 or stage_ended:
                accuracy = sum(accuracies) / len(accuracies)
                recorder.add(state.total_sequences, "train", "loss", loss)
                recorder.add(state.total_sequences, "train", "accuracy", accuracy)
                recorder.add(state.total_sequences, "train", "r", state.r)
                progress.update(
                    state.total_sequences, f"R={state.r} loss {loss:.4f} acc {accuracy:.3f}"
                )
            if loop.steps % every == 0 or stage_ended:
                recorder.save_checkpoint(loop.state_dict())
            job.step_done(state)
    except Diverged:
        status = "diverged"
        log.warning("loss is not finite at R=%d; the run ends as 'diverged'", state.r)

    return _finish(run, out_dir, model, state, loop.steps, status, recorder, log, dev)


def train_cell(
    runs: Sequence[PlasticityRun],
    out_dirs: Sequence[str | Path],
    **options: Unpack[JobOptions],
) -> list[dict[str, Any]]:
    """Train every seed of one cell (``runs``, one folder each in ``out_dirs``); returns
    their final.json contents, in order.

    Under the ``population`` engine the seeds advance together as the lanes of one
    :class:`attnmem.models.plastic_pop.Population`: each keeps its own parameters, Adam state,
    data stream, curriculum stage and sequence length, and writes the files, checkpoints
    (``checkpoint.pt`` in its folder, every ``checkpoint_every`` steps and at every stage's
    end) and stage snapshots a run of :func:`train` writes, with the numbers it would have
    whichever seeds share the job.  Under ``fast`` and ``autograd`` the seeds train one after
    another with :func:`train`.  ``on_step(states)`` runs after every step of the population
    (tests use it to crash a job)."""
    job = JobSetup(**options)
    if len(runs) != len(out_dirs):
        raise ValueError(f"{len(runs)} runs but {len(out_dirs)} folders")
    if len({(r.network, r.size, r.eta, r.curriculum) for r in runs}) > 1:
        raise ValueError("the runs of one population must share network, size, eta, curriculum")
    if runs[0].curriculum.engine != "population":
        finals = []
        for run, out_dir in zip(runs, out_dirs, strict=True):
            finals.append(train(run, out_dir, **{**options, "on_step": None}))
        return finals
    from attnmem.models.plastic_pop import Population

    every = job.every(50)
    log = job.logger
    out_dirs = [Path(d) for d in out_dirs]
    run = runs[0]
    curriculum = run.curriculum
    dev = pick_device("cpu")  # a compiled CPU engine
    loops, recorders = [], []
    for lane_run, out_dir in zip(runs, out_dirs, strict=True):
        make_deterministic(job.threads, derive_seed(STUDY, lane_run.cell, lane_run.seed))
        model = build_network(run.network, run.size, curriculum.d, run.eta)  # type: ignore[arg-type]
        loop = PlasticityState(
            model,
            torch.optim.Adam(model.parameters(), lr=curriculum.lr, foreach=True),
            torch.Generator().manual_seed(derive_seed(STUDY, "train-data", lane_run.seed)),
        )
        recorder = RunRecorder(out_dir, flat_config(lane_run), job.threads)
        if recorder.resume(loop, log):
            log.info(
                "resuming %s seed %d at R=%d after %d sequences",
                *(run.cell, lane_run.seed, loop.progress.r, loop.progress.total_sequences),
            )
        loops.append(loop)
        recorders.append(recorder)
    log.info(
        "%s: %d seeds as one population (%s mode), %d sequence(s) per step, stage cap %d, "
        "total cap %d",
        *(run.cell, len(runs), curriculum.mode, curriculum.sequences_per_step),
        *(curriculum.stage_cap, curriculum.total_cap),
    )
    # groups of lanes run side by side on the job's threads
    population = Population(
        [loop.model for loop in loops],
        [loop.optimizer for loop in loops],
        lr=curriculum.lr,
        threads=job.threads,
        dtype=curriculum.dtype,
    )
    status = ["ok"] * len(runs)
    states = [loop.progress for loop in loops]

    def running(k: int) -> bool:
        state = states[k]
        return (
            status[k] == "ok"
            and state.total_sequences < curriculum.total_cap
            and (curriculum.max_r is None or state.r <= curriculum.max_r)
        )

    def done() -> int:
        # a lane that stopped (at max_r, or diverged) has done its share of the job
        return sum(
            s.total_sequences if running(k) else curriculum.total_cap for k, s in enumerate(states)
        )

    total = curriculum.total_cap * len(runs)
    progress = Progress(log, total, done(), unit="sequence")
    active = [running(k) for k in range(len(runs))]
    while any(active):
        frames, labels = [], []
        for k, loop in enumerate(loops):
            if not active[k]:
                frames.append(None)
                labels.append(None)
                continue
            r = loop.progress.r
            seqs = generate(curriculum.sequences_per_step, train_length(r), r, loop.data,
                            curriculum.d, curriculum.frames, curriculum.var)  # fmt: skip
            frames.append(seqs.frames.numpy())
            labels.append(seqs.labels.numpy())
        losses, accuracies = population.step(frames, labels, curriculum.frames, active)
        logged = False
        for k, loop in enumerate(loops):
            if not active[k]:
                continue
            loss, state = float(losses[k]), loop.progress
            if not math.isfinite(loss):
                status[k] = "diverged"
                log.warning(
                    "seed %d: loss is not finite at R=%d; the run ends as 'diverged'",
                    runs[k].seed, state.r,
                )  # fmt: skip
                continue
            acc = accuracies[k].tolist()
            loop.steps += 1
            stage_ended = advance(state, acc, curriculum)
            if stage_ended:
                last = state.stages[-1]
                population.store(k, loop.model)
                write_torch(out_dirs[k] / "stages" / f"R{last['r']}.pt", loop.model.state_dict())
                log.info(
                    "seed %d: R=%d %s after %d sequences",
                    runs[k].seed, last["r"],
                    "converged" if last["converged"] else "capped", last["sequences"],
                )  # fmt: skip
            if loop.steps % run.log_every == 0 or stage_ended:
                accuracy = sum(acc) / len(acc)
                recorders[k].add(state.total_sequences, "train", "loss", loss)
                recorders[k].add(state.total_sequences, "train", "accuracy", accuracy)
                recorders[k].add(state.total_sequences, "train", "r", state.r)
                logged = logged or loop.steps % run.log_every == 0
            if loop.steps % every == 0 or stage_ended:
                population.store(k, loop.model, loop.optimizer)
                recorders[k].save_checkpoint(loop.state_dict())
        if logged:
            progress.update(
                done(),
                "R = " + " ".join(str(s.r) for s in states) + " (seeds)",
            )
        job.step_done(states)
        active = [running(k) for k in range(len(runs))]
    finals = []
    for k, loop in enumerate(loops):
        population.store(k, loop.model, loop.optimizer)
        finals.append(
            _finish(
                runs[k],
                out_dirs[k],
                loop.model,
                states[k],
                loop.steps,
                status[k],
                recorders[k],
                log,
                dev,
            )
        )
    return finals


def _finish(
    run: PlasticityRun,
    out_dir: Path,
    model: nn.Module,
    state: CurriculumState,
    steps: int,
    status: str,
    recorder: RunRecorder,
    log: logging.Logger,
    dev: torch.device,
) -> dict[str, Any]:
    """Test the trained model (generalisation curve, HebbFF's shape) and write the run's
    files; returns final.json's content."""
    curriculum = run.curriculum
    converged = r_converged(state)
    # each evaluation draws from its own stream (derived from the seed alone), so every
    # network of a seed is tested on the same sequences (common random numbers) whatever R
    # it converged to
    test_data = torch.Generator().manual_seed(derive_seed(STUDY, "test-data", run.seed))
    r_values = list(range(1, max(run.test_r_max, 2 * converged) + 1))
    curve = generalisation(
        model,
        r_values,
        run.test_sequences,
        run.test_min_scenes,
        run.test_scenes_per_r,
        test_data,
        curriculum.d,
        curriculum.frames,
        curriculum.var,
        curriculum.engine,
    )
    for row in curve:
        for metric in ("accuracy", "tpr", "fpr"):
            recorder.add(row["r"], "generalisation", metric, row[metric])
    # HebbFF's generalisation shape (anchors.md §4d) is measured on the model as it stood when
    # training stalled, at 1, 2 and 4 times the R it stalled on
    r_max, stalled_for = r_stalled(state)
    stalled = model
    if any(s["r"] == r_max and not s["converged"] for s in state.stages):
        stalled = build_network(run.network, run.size, curriculum.d, run.eta).to(dev)  # type: ignore[arg-type]
        stalled.load_state_dict(torch.load(out_dir / "stages" / f"R{r_max}.pt", map_location=dev))
    shape = generalisation(
        stalled,
        [r_max, 2 * r_max, 4 * r_max],
        run.test_sequences,
        run.test_min_scenes,
        run.test_scenes_per_r,
        torch.Generator().manual_seed(derive_seed(STUDY, "test-data-shape", run.seed)),
        curriculum.d,
        curriculum.frames,
        curriculum.var,
        curriculum.engine,
    )
    write_torch(out_dir / "model.pt", model.state_dict())
    final_metrics = {
        "r_reached": r_reached(state),
        "r_conv": converged,
        "sequences": state.total_sequences,
        "steps": steps,
        "stages_converged": sum(s["converged"] for s in state.stages),
        # over the fixed range 1..test_r_max, so it compares across networks
        "gen_accuracy": sum(r["accuracy"] for r in curve[: run.test_r_max]) / run.test_r_max,
        # the report's step plot (Fig. "all_p") read at the source's own iteration counts
        **{f"r_at_{k}k": r_at(state, 1000 * k) for k in STEP_PLOT_BUDGETS},
        "r_stalled": r_max,
        "stall_sequences": stalled_for,
        **{
            f"gen_acc_{k}rmax": row["accuracy"]
            for k, row in zip(("", "2", "4"), shape, strict=True)
        },
        "stages": state.stages,
    }
    log.info(
        "done: R reached %d, R converged %d, %d sequences; generalisation accuracy %.3f",
        *(final_metrics["r_reached"], converged, state.total_sequences),
        final_metrics["gen_accuracy"],
    )
    return recorder.finish(status, final_metrics, str(dev))
