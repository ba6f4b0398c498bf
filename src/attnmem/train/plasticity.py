"""One run of the plasticity study: a plastic network through the R curriculum, then tested.

The run trains with :mod:`attnmem.train.curriculum`, checkpoints every ``checkpoint_every``
optimizer steps and at the end of every stage (so a killed job resumes mid-stage with the same
numbers), keeps each finished stage's model in ``stages/R<r>.pt``, and ends with the
generalisation curve of the final model (spec seed003 §6.1): accuracy, true-positive rate and
false-positive rate for test intervals R_test = 1 .. max(test_r_max, 2·R_conv).

Random streams (common random numbers): the training sequences and the test sequences derive
from the seed alone, so every network of the grid sees the same data for seed k; only the
initial weights depend on the network and size.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from attnmem.data.familiarity import generate
from attnmem.files import write_torch
from attnmem.models.plastic import build_network
from attnmem.run import Progress, RunRecorder, file_logger
from attnmem.seeding import derive_seed, make_deterministic, pick_device
from attnmem.train.curriculum import (
    Curriculum,
    CurriculumState,
    advance,
    r_converged,
    r_reached,
    step,
)

STUDY = "plasticity"


class Diverged(Exception):
    """The training loss stopped being finite."""


@dataclass(frozen=True)
class PlasticityRun:
    """Everything that determines one run's numbers."""

    network: str
    size: int
    seed: int
    mode: str = "batched"
    batch: int = 16
    lr: float = 1e-3
    acc_threshold: float = 0.99
    acc_num: int = 5
    stage_cap: int = 1_000_000  # sequences per stage
    total_cap: int = 10_000_000  # sequences in all
    max_r: int | None = None
    d: int = 25
    frames: int = 4
    var: float = 0.1
    eta: str = "full"
    test_r_max: int = 20
    test_sequences: int = 5
    test_min_scenes: int = 1000  # T_test = max(test_min_scenes, test_scenes_per_r · R_test)
    test_scenes_per_r: int = 200
    log_every: int = 50  # optimizer steps between metric rows and log lines

    @property
    def cell(self) -> str:
        return f"{self.network}/{self.size}"

    def curriculum(self) -> Curriculum:
        return Curriculum(
            mode=self.mode,  # type: ignore[arg-type]
            batch=self.batch,
            lr=self.lr,
            acc_threshold=self.acc_threshold,
            acc_num=self.acc_num,
            stage_cap=self.stage_cap,
            total_cap=self.total_cap,
            max_r=self.max_r,
            d=self.d,
            frames=self.frames,
            var=self.var,
        )


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
) -> list[dict[str, float]]:
    """Accuracy, TPR and FPR of the scene-final outputs at each test interval."""
    rows = []
    with torch.no_grad():
        for r in r_values:
            seqs = generate(
                sequences, max(min_scenes, scenes_per_r * r), r, generator, d, frames, var
            )
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
    threads: int = 1,
    device: str = "cpu",
    log: logging.Logger | None = None,
    checkpoint_every: int = 50,
    on_step: Callable[[CurriculumState], None] | None = None,
) -> dict[str, Any]:
    """Train through the curriculum, resuming from ``checkpoint.pt`` when it is this run's.

    ``on_step(state)`` runs after every optimizer step and checkpoint (tests use it to crash a
    run).  Writes metrics.csv, final.json, provenance.json, model.pt and stages/R<r>.pt;
    returns the content of final.json.
    """
    log = log or file_logger(None)
    out_dir = Path(out_dir)
    curriculum = run.curriculum()
    make_deterministic(threads, derive_seed(STUDY, run.cell, run.seed))
    dev = pick_device(device)
    model = build_network(run.network, run.size, run.d, run.eta).to(dev)  # type: ignore[arg-type]
    optimizer = torch.optim.Adam(model.parameters(), lr=run.lr)
    data = torch.Generator().manual_seed(derive_seed(STUDY, "train-data", run.seed))
    state = CurriculumState()
    recorder = RunRecorder(out_dir, asdict(run), threads)
    steps = 0

    def save_checkpoint() -> None:
        recorder.save_checkpoint(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "data": data.get_state(),
                "torch_rng": torch.get_rng_state(),
                "state": asdict(state),
                "steps": steps,
            }
        )

    saved = recorder.load_checkpoint(log)
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        data.set_state(saved["data"])
        torch.set_rng_state(saved["torch_rng"])
        state = CurriculumState(**saved["state"])
        steps = saved["steps"]
        log.info(
            "resuming %s seed %d at R=%d after %d sequences",
            *(run.cell, run.seed, state.r, state.total_sequences),
        )
    else:
        log.info(
            "%s seed %d: %s mode, %d sequence(s) per step, stage cap %d, total cap %d on %s",
            *(run.cell, run.seed, run.mode, curriculum.sequences_per_step),
            *(run.stage_cap, run.total_cap, dev),
        )

    progress = Progress(log, run.total_cap, state.total_sequences, unit="sequence")
    status = "ok"
    try:
        while state.total_sequences < run.total_cap and (run.max_r is None or state.r <= run.max_r):
            loss, accuracies = step(model, optimizer, curriculum, state.r, data)
            if not math.isfinite(loss):
                raise Diverged
            steps += 1
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
            if steps % run.log_every == 0 or stage_ended:
                accuracy = sum(accuracies) / len(accuracies)
                recorder.add(state.total_sequences, "train", "loss", loss)
                recorder.add(state.total_sequences, "train", "accuracy", accuracy)
                recorder.add(state.total_sequences, "train", "r", state.r)
                progress.update(
                    state.total_sequences, f"R={state.r} loss {loss:.4f} acc {accuracy:.3f}"
                )
            if steps % checkpoint_every == 0 or stage_ended:
                save_checkpoint()
            if on_step is not None:
                on_step(state)
    except Diverged:
        status = "diverged"
        log.warning("loss is not finite at R=%d; the run ends as 'diverged'", state.r)

    converged = r_converged(state)
    test_data = torch.Generator().manual_seed(derive_seed(STUDY, "test-data", run.seed))
    r_values = list(range(1, max(run.test_r_max, 2 * converged) + 1))
    curve = generalisation(
        model,
        r_values,
        run.test_sequences,
        run.test_min_scenes,
        run.test_scenes_per_r,
        test_data,
        run.d,
        run.frames,
        run.var,
    )
    for row in curve:
        for metric in ("accuracy", "tpr", "fpr"):
            recorder.add(row["r"], "generalisation", metric, row[metric])
    write_torch(out_dir / "model.pt", model.state_dict())
    final_metrics = {
        "r_reached": r_reached(state),
        "r_conv": converged,
        "sequences": state.total_sequences,
        "steps": steps,
        "stages_converged": sum(s["converged"] for s in state.stages),
        # over the fixed range 1..test_r_max, so it compares across networks
        "gen_accuracy": sum(r["accuracy"] for r in curve[: run.test_r_max]) / run.test_r_max,
        "stages": state.stages,
    }
    log.info(
        "done: R reached %d, R converged %d, %d sequences; generalisation accuracy %.3f",
        *(final_metrics["r_reached"], converged, state.total_sequences),
        final_metrics["gen_accuracy"],
    )
    return recorder.finish(status, final_metrics, str(dev))
