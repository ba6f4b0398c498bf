"""One run of the optim study: a torchvision classifier on one dataset with one optimizer.

As the thesis ran it (seed000 §3.1): batch 128, shuffled; cross-entropy; MultiStepLR x0.1 at
81/186 and 122/186 of the epochs, stepped per epoch; test accuracy after every epoch; the
headline metric is the maximum over epochs ("maximal accuracy"), reported beside the final one.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from attnmem.data.images import SOURCES, VARIANTS, augment, normalise
from attnmem.models.vision import build_classifier
from attnmem.optim import build_optimizer
from attnmem.run import Progress, RunRecorder, file_logger
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
    """One shuffled pass; the mean training loss, or None when the loss stopped being finite."""
    model.train()
    augmentation = VARIANTS[run.dataset].augment
    order = torch.randperm(len(y), generator=shuffle)
    loss_sum = 0.0
    for i in range(0, len(order), run.batch_size):
        idx = order[i : i + run.batch_size]
        xb = normalise(augment(x[idx], augmentation, shuffle), side).to(device)
        loss = F.cross_entropy(model(xb), y[idx].to(device))
        if not math.isfinite(loss.item()):
            return None
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += loss.item() * len(idx)
    return loss_sum / len(y)


def train(
    run: OptimRun,
    data_path: str | Path,
    out_dir: str | Path,
    threads: int = 1,
    device: str = "auto",
    log: logging.Logger | None = None,
    on_epoch_end: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Train, evaluate every epoch, checkpoint every epoch, resume from a checkpoint if present.

    ``on_epoch_end(epoch)`` runs after each checkpoint is written (tests use it to crash a run).
    Returns the content of final.json.
    """
    log = log or file_logger(None)
    variant = VARIANTS[run.dataset]
    # Common random numbers: seed k gives every optimizer the same initial weights, batch order
    # and augmentations, so the paired-by-seed comparison isolates the optimizer.
    seed = derive_seed(STUDY, run.pairing_cell, run.seed)
    make_deterministic(threads, seed)
    dev = pick_device(device)
    data = torch.load(data_path)
    side = variant.resize_for.get(run.arch)
    x_train, y_train = data["x_train"][: run.train_limit], data["y_train"][: run.train_limit]

    model = build_classifier(run.arch, SOURCES[variant.source].num_classes).to(dev)
    optimizer = build_optimizer(run.optimizer, model.parameters(), run.lr, run.weight_decay)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, run.milestones, run.gamma)
    shuffle = torch.Generator().manual_seed(seed)
    recorder = RunRecorder(Path(out_dir), asdict(run), threads)
    stateful = {"model": model, "optimizer": optimizer, "scheduler": scheduler}

    start = 0
    saved = recorder.load_checkpoint(log)
    if saved is not None:
        for name, obj in stateful.items():
            obj.load_state_dict(saved[name])
        shuffle.set_state(saved["shuffle"])
        torch.set_rng_state(saved["torch_rng"])
        start = saved["epoch"]
        log.info("resuming %s seed %d after epoch %d", run.cell, run.seed, start)
    else:
        log.info(
            "%s seed %d (derived %d): %d epochs, milestones %s, %d train / %d test images on %s",
            *(run.cell, run.seed, seed, run.epochs, run.milestones),
            *(len(y_train), len(data["y_test"]), dev),
        )

    progress = Progress(log, run.epochs, start)
    status = "ok"
    for epoch in range(start + 1, run.epochs + 1):
        loss = _train_epoch(model, optimizer, x_train, y_train, run, side, shuffle, dev)
        if loss is None:
            status = "diverged"
            log.warning("epoch %d: loss is not finite; the run ends as 'diverged'", epoch)
            break
        acc = _accuracy(model, data["x_test"], data["y_test"], run.test_batch_size, side, dev)
        recorder.add(epoch, "train", "loss", loss)
        recorder.add(epoch, "train", "lr", optimizer.param_groups[0]["lr"])
        recorder.add(epoch, "test", "accuracy", acc)
        scheduler.step()
        recorder.save_checkpoint(
            {name: obj.state_dict() for name, obj in stateful.items()}
            | {"shuffle": shuffle.get_state(), "torch_rng": torch.get_rng_state(), "epoch": epoch}
        )
        best = max(v for _, _, m, v in recorder.rows if m == "accuracy")
        progress.update(epoch, f"loss {loss:.4f}  test acc {acc:.2f}% (max {best:.2f}%)")
        if on_epoch_end is not None:
            on_epoch_end(epoch)

    accs = [v for _, _, m, v in recorder.rows if m == "accuracy"]
    final_metrics = {
        "max_acc": max(accs) if accs else float("nan"),
        "final_acc": accs[-1] if accs and status == "ok" else float("nan"),
        "best_epoch": accs.index(max(accs)) + 1 if accs else None,
        "epochs_completed": len(accs),
    }
    final = recorder.finish(status, final_metrics, str(dev))
    log.info("done: status %s, max acc %.2f%%", status, final_metrics["max_acc"])
    return final
