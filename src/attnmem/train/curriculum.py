"""The repeat-interval curriculum of the plasticity study (spec seed003 §3).

Start at R = 1; every training sequence is fresh (T = max(100, 20R) scenes).  Loss: BCE on the
scene-final outputs; Adam, lr 1e-3.  A sequence scoring >= ``acc_threshold`` extends a streak,
any other resets it; ``acc_num`` in a row (5, as the code ran) ends the stage as converged, and
``stage_cap`` sequences end it unconverged (the source's cap was 1e6).  Then R <- R + 1 with the
same model and optimizer.  ``faithful`` trains one sequence per step, as the source did;
``batched`` trains ``batch`` sequences per step (a labelled deviation, for speed) and counts them
one by one in the streak.  Stops at ``total_cap`` sequences or after stage ``max_r``.

``engine`` computes each step's loss and gradients: ``fast`` (default) is the hand-derived BPTT
of :mod:`attnmem.models.plastic_fast` (compiled, float64; 29-59x the autograd loop on one core
at sizes 50 and 100); ``population`` trains a cell's seeds together
(:mod:`attnmem.models.plastic_pop`: in float64, each seed the fast engine's numbers, or with
``dtype="float32"`` in the source's dtype); ``autograd`` is the torch reference they are tested
against.  All draw the same sequences from the same generator and keep torch Adam's own state
(``fast`` through a compiled copy of its update, :func:`attnmem.models.plastic_fast.adam_step`),
so checkpoints and resume do not depend on the engine.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from attnmem.data.familiarity import generate, train_length
from attnmem.models.plastic_fast import adam_step, engine_for

#: HebbFF's convergence rule: every 10 iterations, mean of the last 5 logged >= 0.998.
HEBBFF_LOG_EVERY, HEBBFF_WINDOW, HEBBFF_THRESHOLD = 10, 5, 0.998


@dataclass(frozen=True)
class Curriculum:
    """Everything that decides how a plastic network is trained."""

    mode: Literal["faithful", "batched"] = "batched"
    engine: Literal["population", "fast", "autograd"] = "fast"
    #: the population engine's arithmetic: ``float64`` (each lane's numbers the fast
    #: engine's) or ``float32`` (the source's dtype, PyTorch's default; ~1.4-1.8x faster)
    dtype: Literal["float64", "float32"] = "float64"
    batch: int = 32
    lr: float = 1e-3
    acc_threshold: float = 0.99
    acc_num: int = 5
    stage_cap: int = 1_000_000  # sequences per stage
    total_cap: int = 10_000_000  # sequences in all
    max_r: int | None = None
    #: ``streak`` (the report's code): ``acc_num`` consecutive sequences at >= acc_threshold;
    #: ``hebbff`` (HebbFF's code, for the exact HebbFF control): the mean of the last 5
    #: training accuracies logged every 10 sequences >= 0.998.
    convergence: Literal["streak", "hebbff"] = "streak"
    d: int = 25
    frames: int = 4
    var: float = 0.1

    def __post_init__(self) -> None:
        if self.dtype not in ("float64", "float32"):
            raise ValueError(f"dtype must be 'float64' or 'float32', got {self.dtype!r}")
        if self.dtype == "float32" and self.engine != "population":
            raise ValueError(
                f"dtype float32 is the population engine's; the {self.engine} engine computes "
                "in float64 (fast) or in the model's float32 (autograd): set dtype: float64"
            )

    @property
    def sequences_per_step(self) -> int:
        return 1 if self.mode == "faithful" else self.batch


@dataclass
class CurriculumState:
    """Where a curriculum stands; saved with the model so a run resumes mid-stage."""

    r: int = 1
    streak: int = 0
    stage_sequences: int = 0
    total_sequences: int = 0
    stages: list[dict] = field(default_factory=list)  # one row per finished stage
    logged: list[float] = field(default_factory=list)  # HebbFF's rule: the last 5 logged accuracies

    def state_dict(self) -> dict[str, Any]:
        return asdict(self)

    def load_state_dict(self, saved: Mapping[str, Any]) -> None:
        # in place: whoever holds this state (a train loop, an on_step callback) sees the restore
        restored = CurriculumState(**copy.deepcopy(dict(saved)))
        for f in fields(self):
            setattr(self, f.name, getattr(restored, f.name))


def step(model: nn.Module, optimizer, curriculum: Curriculum, r: int, generator):
    """One optimizer step on fresh sequences at interval ``r``; per-sequence accuracies."""
    seqs = generate(
        curriculum.sequences_per_step,
        train_length(r),
        r,
        generator,
        d=curriculum.d,
        frames=curriculum.frames,
        var=curriculum.var,
    )
    if curriculum.engine == "fast":
        optimizer.zero_grad(set_to_none=True)
        loss, outputs = engine_for(model).loss_and_grads(
            seqs.frames, seqs.scored_steps, seqs.labels
        )
        if not adam_step(optimizer):  # torch's Adam update, compiled; any other optimizer as is
            optimizer.step()
        accuracy = ((outputs >= 0.5) == seqs.labels.numpy().astype(bool)).mean(axis=1)
        return loss, accuracy.tolist()
    if curriculum.engine != "autograd":
        raise ValueError(f"engine must be 'fast' or 'autograd', got {curriculum.engine!r}")
    # sequences are drawn on the CPU (one stream), then cast to the model's device and dtype
    param = next(model.parameters())
    outputs = model(seqs.frames.to(param.device, param.dtype))[
        :, seqs.scored_steps.to(param.device)
    ]
    labels = seqs.labels.to(param.device, param.dtype)
    loss = F.binary_cross_entropy(outputs, labels)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    accuracy = ((outputs.detach() >= 0.5).to(param.dtype) == labels).to(param.dtype).mean(dim=1)
    return loss.item(), accuracy.cpu().tolist()


def advance(progress: CurriculumState, accuracies: list[float], curriculum: Curriculum) -> bool:
    """Count the sequences into the streak and the caps; True when the stage has ended."""
    for accuracy in accuracies:
        progress.streak = progress.streak + 1 if accuracy >= curriculum.acc_threshold else 0
        progress.stage_sequences += 1
        progress.total_sequences += 1
        if curriculum.convergence == "hebbff":
            # HebbFF (Tyulmankov et al. 2022, its code): accuracy logged every 10 iterations of
            # the stage; converged when the mean of the last 5 logged values is >= 0.998
            if progress.stage_sequences % HEBBFF_LOG_EVERY == 0:
                progress.logged = [*progress.logged, accuracy][-HEBBFF_WINDOW:]
            converged = (
                len(progress.logged) == HEBBFF_WINDOW
                and sum(progress.logged) / HEBBFF_WINDOW >= HEBBFF_THRESHOLD
            )
        else:
            converged = progress.streak >= curriculum.acc_num
        if converged or progress.stage_sequences >= curriculum.stage_cap:
            progress.stages.append(
                {"r": progress.r, "sequences": progress.stage_sequences, "converged": converged}
            )
            progress.r += 1
            progress.streak = progress.stage_sequences = 0
            progress.logged = []
            return True
    return False


def run(
    model: nn.Module,
    curriculum: Curriculum,
    generator: torch.Generator,
    progress: CurriculumState | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    log: logging.Logger | None = None,
    on_step: Callable[[CurriculumState, float, list[float]], None] | None = None,
) -> CurriculumState:
    """Train until ``total_cap`` sequences or past stage ``max_r``; resumable via the arguments."""
    progress = progress or CurriculumState()
    optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=curriculum.lr)
    log = log or logging.getLogger(__name__)
    while progress.total_sequences < curriculum.total_cap and (
        curriculum.max_r is None or progress.r <= curriculum.max_r
    ):
        loss, accuracies = step(model, optimizer, curriculum, progress.r, generator)
        if advance(progress, accuracies, curriculum):
            last = progress.stages[-1]
            log.info(
                "R=%d %s after %d sequences (total %d)",
                last["r"],
                "converged" if last["converged"] else "capped",
                last["sequences"],
                progress.total_sequences,
            )
        if on_step is not None:
            on_step(progress, loss, accuracies)
    return progress


def r_reached(progress: CurriculumState) -> int:
    """The source's "Max R": the last stage that was started (0 before any training)."""
    if progress.stage_sequences:
        return progress.r
    return progress.stages[-1]["r"] if progress.stages else 0


def r_stalled(progress: CurriculumState) -> tuple[int, int]:
    """HebbFF's R_max (Tyulmankov et al. 2022: the R training stalled on) and how long it ran:
    the first stage that ended at its cap without converging and its sequences.  A run that has
    not stalled returns its current stage and the sequences so far (it may yet converge)."""
    for stage in progress.stages:
        if not stage["converged"]:
            return stage["r"], stage["sequences"]
    return progress.r, progress.stage_sequences


def r_converged(progress: CurriculumState) -> int:
    """The largest R whose stage converged (0 if none)."""
    return max((s["r"] for s in progress.stages if s["converged"]), default=0)


def r_at(progress: CurriculumState, sequences: int) -> int:
    """The R the curriculum was training at after ``sequences`` sequences: the report's step
    plot (current R against iterations) at that x, i.e. 1 + the stages finished by then.  A run
    that stopped before has its last R (the claims guard the budget)."""
    r, done = 1, 0
    for stage in progress.stages:
        done += stage["sequences"]
        if done > sequences:
            break
        r = stage["r"] + 1
    return r
