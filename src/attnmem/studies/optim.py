"""The optim study (OrthAdam vs AdamW vs AdamP, seed000 §3.1): config -> runs -> results."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from attnmem import files
from attnmem.stats import aggregate
from attnmem.studies import AXES as STUDY_AXES
from attnmem.tables import replicated_vs_published, to_latex, to_markdown

# Torch and matplotlib are imported inside the functions that need them: a job that only
# aggregates or tabulates then starts in a fraction of the time.

STUDY = "optim"
AXES = tuple(STUDY_AXES[STUDY])
METRICS = ("max_acc", "final_acc")


def make_run(settings: Mapping[str, Any], dataset: str, arch: str, optimizer: str, seed: int):
    """The OptimRun of one cell and seed under the study's config section."""
    from attnmem.train.image_classification import OptimRun

    return OptimRun(
        dataset=dataset,
        arch=arch,
        optimizer=optimizer,
        seed=int(seed),
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        lr=settings["lr"],
        weight_decay=settings["weight_decay"],
        milestones_at=tuple(settings["milestones"]),
        milestones_of=settings["milestones_of"],
        train_limit=settings.get("train_limit"),
    )


def aggregate_study(
    run_dirs: Iterable[str | Path],
    settings: Mapping[str, Any],
    stats: Mapping[str, Any],
    out: Mapping[str, str | Path],
) -> None:
    """Write runs.csv, summary.csv, curves.csv and comparisons.csv."""
    runs = aggregate.load_runs(run_dirs, AXES)
    confidence = stats["confidence"]
    aggregate.write_table(out["runs"], aggregate.run_table(runs, AXES, METRICS))
    aggregate.write_table(
        out["summary"],
        aggregate.summarise(
            runs, AXES, METRICS, confidence, stats["n_resamples"], stats["random_state"]
        ),
    )
    aggregate.write_table(out["curves"], aggregate.curves(runs, AXES, confidence))
    aggregate.write_table(
        out["comparisons"],
        aggregate.comparisons(runs, AXES, settings["comparisons"], METRICS, confidence),
    )


def plot_curves(curves_csv: str | Path, dataset: str, arch: str, png: str | Path) -> None:
    from attnmem.plots import optim as plots

    plots.accuracy_curves(pd.read_csv(curves_csv), dataset, arch, png)


def plot_max_accuracy(
    runs_csv: str | Path,
    summary_csv: str | Path,
    published: Mapping[str, Any],
    dataset: str,
    png: str | Path,
) -> None:
    from attnmem.plots import optim as plots

    plots.max_accuracy(pd.read_csv(runs_csv), pd.read_csv(summary_csv), published, dataset, png)


def write_tables(
    summary_csv: str | Path, published: Mapping[str, Any], markdown: str | Path, latex: str | Path
) -> None:
    """Replicated (mean [95% CI] (n)) vs published max and final accuracy, per cell."""
    table = replicated_vs_published(pd.read_csv(summary_csv), published, STUDY, AXES, METRICS)
    caption = (
        "optim study: test accuracy (%) replicated over seeds vs the thesis's single run "
        "(– where the thesis published none)"
    )
    files.write_text(markdown, to_markdown(table, caption))
    files.write_text(latex, to_latex(table, caption, "tab:optim"))
