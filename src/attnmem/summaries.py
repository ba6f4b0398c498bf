"""A study's summary tables from its run folders: the study's description (attnmem.studies)
applied to the generic statistics (attnmem.stats), one step of workflow/rules/summaries.smk."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from attnmem.run import load_runs
from attnmem.stats.aggregate import comparisons, curves, run_table, summarise, write_table
from attnmem.studies.base import Study


def aggregate_study(
    study: Study,
    run_dirs: Iterable[str | Path],
    specs: Sequence[dict[str, str]],
    stats: Mapping[str, Any],
    out: Mapping[str, str | Path],
) -> None:
    """Write a study's runs.csv, summary.csv, curves.csv and comparisons.csv (DESIGN.md)."""
    axes = study.axes
    runs = load_runs(run_dirs, axes)
    confidence, n_boot, rng = stats["confidence"], stats["n_resamples"], stats["random_state"]
    write_table(out["runs"], run_table(runs, axes, study.columns, study.config_columns))
    summary = summarise(
        runs, axes, study.metric_names, confidence, n_boot, rng, study.integer_metrics
    )
    write_table(out["summary"], summary)
    if study.curve_rows is not None:
        column, keep = study.curve_rows
        runs_for_curves = [replace(r, curve=r.curve[r.curve[column].isin(keep)]) for r in runs]
    else:
        runs_for_curves = runs
    write_table(out["curves"], curves(runs_for_curves, axes, confidence))
    bootstrap = (n_boot, rng) if study.paired_interval == "percentile" else None
    write_table(
        out["comparisons"],
        comparisons(runs, axes, specs, study.compared, confidence, bootstrap),
    )
