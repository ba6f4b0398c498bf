"""One run of the optim study: a torchvision classifier on one dataset with one optimizer.

As the thesis ran it (seed000 §3.1): batch 128, shuffled; cross-entropy; MultiStepLR x0.1 at
81/186 and 122/186 of the epochs, stepped per epoch; test accuracy after every epoch; the
headline metric is the maximum over epochs ("maximal accuracy"), reported beside the final one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Unpack

import torch
import torch.nn.functional as F
from torch import Tensor

from attnmem.data.images import SOURCES, VARIANTS, augment, normalise
from attnmem.jobs import JobOptions, JobSetup
from attnmem.models.vision import build_classifier
from attnmem.optim import build_optimizer
from attnmem.run import Diverged, Progress, RunRecorder, flat_config
from attnmem.seeding import derive_seed, make_deterministic, pick_device

STUDY = "optim"


@dataclass(frozen=True)
class OptimRun:
    """Everything that determines one run's numbers."""

    dataset: str
    arch: str
    optimizer: str
    seed: int
    epochs: int
    batch_size: int = 128
    test_batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 3e-4
    milestones_at: tuple[int, ...] = (81, 122)  # as the thesis wrote them, in epochs of ...
    milestones_of: int = 186  # ... a run this long
    gamma: float = 0.1
    train_limit: int | None = None  # first N training images only (smoke runs)
    # a cost probe's data: random images of the dataset's shape, this fraction of its splits
    # (the data file is images.shape_twin's; recorded so the run says what it trained on)
    shape_probe: float | None = None

    @property
    def cell(self) -> str:
        return f"{self.dataset}/{self.arch}/{self.optimizer}"

    @property
    def pairing_cell(self) -> str:
        """The cell without the treatment axis: what the run's random stream derives from."""
        return f"{self.dataset}/{self.arch}"

    @property
    def milestones(self) -> list[int]:
        """Epoch milestones: the thesis's 81/186 and 122/186, scaled to this run's length."""
        return [round(m * self.epochs / self.milestones_of) for m in self.milestones_at]


def _accuracy(model: torch.nn.Module, x: Tensor, y: Tensor, batch: int, side, device) -> float:
    """Test accuracy in percent, in eval mode."""
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(y), batch):
            xb = normalise(x[i : i + batch], side).to(device)
            correct += (model(xb).argmax(1).cpu() == y[i : i + batch]).sum().item()
    return 100.0 * correct / len(y)


def _train_epoch(model, optimizer, x: Tensor, y: Tensor, run: OptimRun, side, shuffle, device):
    """One shuffled pass; the mean training loss.  Raises Diverged when the loss stops being
    finite."""
    model.train()
    augmentation = VARIANTS[run.dataset].augment
    order = torch.randperm(len(y), generator=shuffle)
    loss_sum = 0.0
    for i in range(0, len(order), run.batch_size):
        idx = order[i : i + run.batch_size]
        xb = normalise(augment(x[idx], augmentation, shuffle), side).to(device)
        loss = F.cross_entropy(model(xb), y[idx].to(device))
        if not math.isfinite(loss.item()):
            raise Diverged
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += loss.item() * len(idx)
    return loss_sum / len(y)


@dataclass
class OptimState:
    """Everything an optim run changes as it trains: what its checkpoint holds.  Saving and
    restoring live side by side here so that the two cannot drift apart."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    shuffle: torch.Generator  # batch order and augmentations
    epoch: int = 0  # epochs completed

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "shuffle": self.shuffle.get_state(),
            "torch_rng": torch.get_rng_state(),
            "epoch": self.epoch,
        }

    def load_state_dict(self, saved: Mapping[str, Any]) -> None:
        self.model.load_state_dict(saved["model"])
        self.optimizer.load_state_dict(saved["optimizer"])
        self.scheduler.load_state_dict(saved["scheduler"])
        self.shuffle.set_state(saved["shuffle"])
        torch.set_rng_state(saved["torch_rng"])
        self.epoch = saved["epoch"]


def train(
    run: OptimRun,
    out_dir: str | Path,
    **options: Unpack[JobOptions],
) -> dict[str, Any]:
    """Train, evaluate every epoch, checkpoint, resume from a checkpoint if present.

    ``inputs["data"]`` is the prepared dataset file.  ``checkpoint_every`` counts epochs
    (default 1).  ``on_step(epoch)`` runs after each epoch and its checkpoint (tests use it
    to crash a run).  Returns the content of final.json.
    """
    job = JobSetup(**options)
    if not job.inputs or "data" not in job.inputs:
        raise ValueError("an optim run needs inputs['data']: the prepared dataset file")
    every = job.every(1)
    log = job.logger
    variant = VARIANTS[run.dataset]
    # Common random numbers: seed k gives every optimizer the same initial weights, batch order
    # and augmentations, so the paired-by-seed comparison isolates the optimizer.
    seed = derive_seed(STUDY, run.pairing_cell, run.seed)
    make_deterministic(job.threads, seed)
    dev = pick_device(job.device)
    data = torch.load(job.inputs["data"])
    side = variant.resize_for.get(run.arch)
    x_train, y_train = data["x_train"][: run.train_limit], data["y_train"][: run.train_limit]

    model = build_classifier(run.arch, SOURCES[variant.source].num_classes).to(dev)
    optimizer = build_optimizer(run.optimizer, model.parameters(), run.lr, run.weight_decay)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, run.milestones, run.gamma)
    state = OptimState(model, optimizer, scheduler, torch.Generator().manual_seed(seed))
    recorder = RunRecorder(Path(out_dir), flat_config(run), job.threads)

    if recorder.resume(state, log):
        log.info("resuming %s seed %d after epoch %d", run.cell, run.seed, state.epoch)
    else:
        log.info(
            "%s seed %d (derived %d): %d epochs, milestones %s, %d train / %d test images on %s",
            *(run.cell, run.seed, seed, run.epochs, run.milestones),
            *(len(y_train), len(data["y_test"]), dev),
        )

    progress = Progress(log, run.epochs, state.epoch)
    status = "ok"
    for epoch in range(state.epoch + 1, run.epochs + 1):
        try:
            loss = _train_epoch(model, optimizer, x_train, y_train, run, side, state.shuffle, dev)
        except Diverged:
            status = "diverged"
            log.warning("epoch %d: loss is not finite; the run ends as 'diverged'", epoch)
            break
        acc = _accuracy(model, data["x_test"], data["y_test"], run.test_batch_size, side, dev)
        recorder.add(epoch, "train", "loss", loss)
        recorder.add(epoch, "train", "lr", optimizer.param_groups[0]["lr"])
        recorder.add(epoch, "test", "accuracy", acc)
        scheduler.step()
        state.epoch = epoch
        if epoch % every == 0:
            recorder.save_checkpoint(state.state_dict())
        best = max(v for _, _, m, v in recorder.rows if m == "accuracy")
        progress.update(epoch, f"loss {loss:.4f}  test acc {acc:.2f}% (max {best:.2f}%)")
        job.step_done(epoch)

    accs = [v for _, _, m, v in recorder.rows if m == "accuracy"]
    final_metrics = {
        "max_acc": max(accs) if accs else float("nan"),
        "final_acc": accs[-1] if accs and status == "ok" else float("nan"),
        "best_epoch": accs.index(max(accs)) + 1 if accs else None,
        "epochs_completed": len(accs),
        # the claims' budget guard: the source trained on the whole split
        "train_fraction": len(y_train) / SOURCES[variant.source].train_size,
    }
    final = recorder.finish(status, final_metrics, str(dev))
    log.info("done: status %s, max acc %.2f%%", status, final_metrics["max_acc"])
    return final
