"""The teacher study's two jobs (seed000 §3.2): a DQN teacher with its dataset, and one predictor.

``make_teacher`` trains the teacher (:mod:`attnmem.rl.dqn`), rolls it out greedily for the train
and test streams, cuts them into windows of ``window`` states and writes ``dataset.pt`` beside
the teacher's metrics (its episode returns, the label distribution and the majority-class
accuracy, the floor every predictor must beat).

``train_predictor`` trains one of the three predictors on that dataset as the source did: AdamW
(lr 3e-4, wd 1e-4, AMSGrad), cross-entropy, ``epochs`` × ``steps_per_epoch`` steps of ``batch``
windows drawn without replacement from the first N − batch windows; then, in eval mode,
``test_batches`` batches drawn the same way from the test windows.  The per-batch accuracy is
recorded and its mean is the run's ``test_accuracy`` (Table 4's "Mean Accuracy", in %).

Common random numbers: the teacher of seed k depends on (env, k) only, so its faithful and clean
versions start from the same weights and environment seeds; the training and test batches depend
on (env, mode, k) only, so the three predictors see identical batches.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Unpack

import torch
import torch.nn.functional as F

from attnmem.files import write_torch
from attnmem.jobs import JobOptions, JobSetup
from attnmem.models.predictors import build_predictor
from attnmem.rl.dqn import DQNSettings, rollout, train_dqn, windows
from attnmem.run import Progress, RunRecorder, flat_config
from attnmem.seeding import derive_seed, make_deterministic, pick_device

STUDY = "teacher"


@dataclass(frozen=True)
class TeacherRun:
    """Everything that determines one teacher's numbers: the DQN's settings and the rollouts'."""

    env: str
    mode: str
    seed: int
    dqn: DQNSettings = field(default_factory=DQNSettings)
    train_rollout: int = 20_000
    test_rollout: int = 5_000
    window: int = 10
    log_every: int = 1000


def label_fractions(labels: torch.Tensor, actions: int) -> list[float]:
    return (torch.bincount(labels, minlength=actions).double() / max(labels.numel(), 1)).tolist()


def make_teacher(
    run: TeacherRun,
    out_dir: str | Path,
    **options: Unpack[JobOptions],
) -> dict[str, Any]:
    """Train the teacher, roll it out, write dataset.pt, teacher.pt and the run files.

    The job reads no ``inputs``; it runs on the CPU whatever ``device`` says (one environment
    step per update: a GPU would only add transfers) and takes no checkpoints (it lasts
    minutes), so ``checkpoint_every`` is ignored.
    """
    job = JobSetup(**options)
    log = job.logger
    out_dir = Path(out_dir)
    stream = f"{run.env}/seed{run.seed}"
    make_deterministic(job.threads, derive_seed(STUDY, f"teacher/{run.env}", run.seed))
    recorder = RunRecorder(out_dir, flat_config(run), job.threads)
    progress = Progress(log, run.dqn.steps, unit="step")
    episodes: list[float] = []
    log.info("DQN teacher on %s (%s), %d steps", run.env, run.mode, run.dqn.steps)

    def on_episode(step: int, episode_return: float) -> None:
        episodes.append(episode_return)
        recorder.add(step, "train", "episode_return", episode_return)

    def on_update(step: int, loss: float, epsilon: float) -> None:
        if step % run.log_every == 0:
            recorder.add(step, "train", "loss", loss)
            recorder.add(step, "train", "epsilon", epsilon)
            recent = sum(episodes[-10:]) / len(episodes[-10:]) if episodes else float("nan")
            progress.update(
                step, f"loss {loss:.4f} epsilon {epsilon:.3f} return(last 10) {recent:.1f}"
            )

    seed = derive_seed(STUDY, f"teacher/{run.env}", run.seed)
    q = train_dqn(run.env, run.mode, seed, run.dqn, log, on_episode, on_update)  # type: ignore[arg-type]
    streams = {}
    for split, steps in (("train", run.train_rollout), ("test", run.test_rollout)):
        rollout_seed = derive_seed(STUDY, f"rollout-{split}/{stream}", 0)
        states, labels, returns = rollout(q, run.env, steps, run.mode, rollout_seed)  # type: ignore[arg-type]
        streams[split] = (*windows(states, labels, run.window), returns)
        for i, value in enumerate(returns):
            recorder.add(i, f"rollout_{split}", "episode_return", value)
    actions = int(q[-1].out_features)
    (train_x, train_y, train_returns), (test_x, test_y, _) = streams["train"], streams["test"]
    majority = Counter(train_y.tolist()).most_common(1)[0][0]
    write_torch(out_dir / "teacher.pt", q.state_dict())
    write_torch(
        out_dir / "dataset.pt",
        {
            "train_x": train_x,
            "train_y": train_y,
            "test_x": test_x,
            "test_y": test_y,
            "actions": actions,
        },
    )
    metrics = {
        "episodes": len(episodes),
        "final_return": sum(episodes[-10:]) / len(episodes[-10:]) if episodes else None,
        "rollout_episodes": len(train_returns),
        "rollout_return": sum(train_returns) / len(train_returns) if train_returns else None,
        "actions": actions,
        "train_windows": int(train_y.numel()),
        "test_windows": int(test_y.numel()),
        "label_fractions_train": label_fractions(train_y, actions),
        "label_fractions_test": label_fractions(test_y, actions),
        # predicting the most common training label on every test window
        "majority_accuracy": 100.0 * (test_y == majority).double().mean().item(),
    }
    log.info(
        "teacher done: %d training episodes (last 10: %s), greedy rollout %d episodes "
        "(mean return %s); test labels %s, majority accuracy %.1f%%",
        *(metrics["episodes"], metrics["final_return"], len(train_returns)),
        *(metrics["rollout_return"], metrics["label_fractions_test"], metrics["majority_accuracy"]),
    )
    return recorder.finish("ok", metrics, "cpu")


@dataclass(frozen=True)
class PredictorRun:
    env: str
    mode: str
    predictor: str
    seed: int
    epochs: int = 5
    steps_per_epoch: int = 164  # int(21 * 1000 / 128), as the source
    batch: int = 128
    lr: float = 3e-4
    weight_decay: float = 1e-4
    test_batches: int = 328
    hidden: int = 256
    output_stage: str = "conv"  # the AttentionSplit output stage that produced Table 4
    transformer_fixed: bool = False

    @property
    def cell(self) -> str:
        return f"{self.env}/{self.mode}/{self.predictor}"


def batch_streams(run: PredictorRun) -> tuple[torch.Generator, torch.Generator]:
    """The generators of the training and test batches: they depend on (env, mode, seed) only,
    so the three predictors of a seed see identical batches."""
    pairing = f"{run.env}/{run.mode}/seed{run.seed}"
    return tuple(
        torch.Generator().manual_seed(derive_seed(STUDY, f"{kind}/{pairing}", 0))
        for kind in ("batches", "test-batches")
    )  # type: ignore[return-value]


def _draw(pool: int, batch: int, generator: torch.Generator) -> torch.Tensor:
    """``batch`` distinct indices from range(pool)."""
    if pool < batch:
        raise ValueError(
            f"{pool} windows to draw from, fewer than the batch of {batch}: "
            "lengthen the rollout or shrink the batch"
        )
    return torch.randperm(pool, generator=generator)[:batch]


def score_test_batches(
    model: torch.nn.Module,
    windows: torch.Tensor,
    labels: torch.Tensor,
    batch: int,
    batches: int,
    generator: torch.Generator,
) -> list[float]:
    """Accuracy (%) of ``batches`` random batches of test windows, drawn as the source drew them.

    The source scores many random batches of the same few hundred windows (328 batches of 128
    from ~370 at the thesis's budget).  In eval mode a window's prediction does not depend on
    its batch, so each window is predicted once and every batch reads its hits: the same draws
    and the same numbers for ~1/90 of the forward passes.
    """
    pool = windows.shape[0] - batch
    with torch.no_grad():
        hits = [
            model(windows[i : i + batch]).argmax(1) == labels[i : i + batch]
            for i in range(0, max(pool, 0), batch)
        ]
    correct = torch.cat(hits).double() if hits else labels.new_zeros(0).double()
    return [
        100.0 * correct[_draw(pool, batch, generator).to(correct.device)].mean().item()
        for _ in range(batches)
    ]


def train_predictor(
    run: PredictorRun,
    out_dir: str | Path,
    **options: Unpack[JobOptions],
) -> dict[str, Any]:
    """Train and test one predictor on a teacher's dataset (``inputs["dataset"]``); write the
    run files.  The job takes no checkpoints (it lasts minutes): ``checkpoint_every`` is
    ignored."""
    job = JobSetup(**options)
    if not job.inputs or "dataset" not in job.inputs:
        raise ValueError("a predictor run needs inputs['dataset']: its teacher's dataset.pt")
    log = job.logger
    data = torch.load(job.inputs["dataset"])
    make_deterministic(job.threads, derive_seed(STUDY, run.cell, run.seed))
    dev = pick_device(job.device)
    train_x, train_y = data["train_x"].to(dev), data["train_y"].to(dev)
    test_x, test_y = data["test_x"].to(dev), data["test_y"].to(dev)
    actions = int(data["actions"])
    model = build_predictor(
        run.predictor,
        train_x.shape[-1],
        actions,
        run.hidden,
        output_stage=run.output_stage,  # type: ignore[arg-type]
        transformer_fixed=run.transformer_fixed,
    ).to(dev)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=run.lr, weight_decay=run.weight_decay, amsgrad=True
    )
    batches, tests = batch_streams(run)
    recorder = RunRecorder(out_dir, flat_config(run), job.threads)
    progress = Progress(log, run.epochs)
    log.info(
        "%s on %s (%s teacher): %d train / %d test windows, %d actions, on %s",
        *(run.predictor, run.env, run.mode, train_y.numel(), test_y.numel(), actions, dev),
    )
    model.train()
    for epoch in range(1, run.epochs + 1):
        losses, correct = [], 0
        for _ in range(run.steps_per_epoch):
            idx = _draw(train_x.shape[0] - run.batch, run.batch, batches).to(dev)
            logits = model(train_x[idx])
            loss = F.cross_entropy(logits, train_y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            correct += int((logits.argmax(1) == train_y[idx]).sum())
        mean_loss = sum(losses) / len(losses)
        accuracy = 100.0 * correct / (run.steps_per_epoch * run.batch)
        recorder.add(epoch, "train", "loss", mean_loss)
        recorder.add(epoch, "train", "accuracy", accuracy)
        progress.update(epoch, f"loss {mean_loss:.4f} batch accuracy {accuracy:.2f}%")
    model.eval()
    accuracies = score_test_batches(model, test_x, test_y, run.batch, run.test_batches, tests)
    for b, accuracy in enumerate(accuracies):
        recorder.add(b, "test", "accuracy", accuracy)
    test_accuracy = sum(accuracies) / len(accuracies)
    log.info("test accuracy %.2f%% over %d batches", test_accuracy, run.test_batches)
    return recorder.finish(
        "ok",
        {"test_accuracy": test_accuracy, "train_steps": run.epochs * run.steps_per_epoch},
        str(dev),
    )
