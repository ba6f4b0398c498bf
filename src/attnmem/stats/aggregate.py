"""Per-study aggregation: runs -> summary.csv, curves.csv, comparisons.csv (DESIGN.md)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from attnmem import files
from attnmem.stats.compare import COMPARE_KEYS, compare, holm, percentile_interval
from attnmem.stats.describe import describe, t_interval

if TYPE_CHECKING:
    from attnmem.run import RunResult


def run_table(
    runs: Sequence[RunResult],
    axes: Sequence[str],
    metrics: Sequence[str],
    config_columns: Sequence[str] = (),
):
    """runs.csv: one row per run with its cell, seed, status, final metrics and the settings
    named in ``config_columns``."""
    columns = [*axes, "seed", "status", *metrics, *config_columns]
    return pd.DataFrame(
        [
            {
                **dict(zip(axes, r.cell, strict=True)),
                "seed": r.seed,
                "status": r.status,
                **{m: r.metrics.get(m) for m in metrics},
                **{c: r.config.get(c) for c in config_columns},
            }
            for r in runs
        ],
        columns=columns,
    )


def _ok_values(runs: Iterable[RunResult], metric: str) -> dict[int, float]:
    return {
        r.seed: float(r.metrics[metric])
        for r in runs
        if r.status == "ok" and r.metrics.get(metric) is not None
    }


def summarise(
    runs: Sequence[RunResult],
    axes: Sequence[str],
    metrics: Sequence[str],
    confidence: float = 0.95,
    n_resamples: int = 9999,
    random_state: int = 0,
    integer: Sequence[str] = (),
) -> pd.DataFrame:
    """One row per cell and metric over the runs that finished; diverged runs are counted.

    Metrics named in ``integer`` get a percentile bootstrap interval instead of BCa.
    """
    rows = []
    for cell in sorted({r.cell for r in runs}):
        in_cell = [r for r in runs if r.cell == cell]
        n_diverged = sum(r.status == "diverged" for r in in_cell)
        for metric in metrics:
            values = list(_ok_values(in_cell, metric).values())
            stats = describe(values, confidence, n_resamples, random_state)
            if metric in integer:
                stats["boot_low"], stats["boot_high"] = percentile_interval(
                    values, confidence, n_resamples, random_state
                )
            rows.append(
                {
                    **dict(zip(axes, cell, strict=True)),
                    "metric": metric,
                    "n_diverged": n_diverged,
                    **stats,
                }
            )
    return pd.DataFrame(rows)


def curves(
    runs: Sequence[RunResult], axes: Sequence[str], confidence: float = 0.95
) -> pd.DataFrame:
    """Mean and t-band per cell, step, split and metric, over the runs that finished."""
    rows = []
    for cell in sorted({r.cell for r in runs}):
        ok = [r.curve for r in runs if r.cell == cell and r.status == "ok"]
        if not ok:
            continue
        grouped = pd.concat(ok).groupby(["split", "metric", "step"], sort=True)["value"]
        for (split, metric, step), values in grouped:
            low, high = t_interval(values.to_numpy(), confidence)
            rows.append(
                {
                    **dict(zip(axes, cell, strict=True)),
                    "split": split,
                    "metric": metric,
                    "step": int(step),
                    "n": int(values.size),
                    "mean": float(values.mean()),
                    "low": low,
                    "high": high,
                }
            )
    return pd.DataFrame(rows)


DIVERGED = ("n_diverged_a", "n_diverged_b")


def comparisons(
    runs: Sequence[RunResult],
    axes: Sequence[str],
    specs: Sequence[dict[str, str]],
    metrics: Sequence[str],
    confidence: float = 0.95,
    bootstrap: tuple[int, int] | None = None,
) -> pd.DataFrame:
    """Each configured comparison {axis, a, b} within every combination of the other axes.

    ``bootstrap`` = (n_resamples, random_state) swaps the t-interval of the paired difference
    for a percentile bootstrap one (discrete metrics).

    Holm's correction runs over the family of all comparisons of one metric in the study,
    on the paired-by-seed p-values (the primary test).
    """
    by_cell: dict[tuple[str, ...], list[RunResult]] = {}
    for r in runs:
        by_cell.setdefault(r.cell, []).append(r)
    rows = []
    for spec in specs:
        axis, a, b = spec["axis"], spec["a"], spec["b"]
        k = list(axes).index(axis)
        others = [name for name in axes if name != axis]
        for context in sorted({cell[:k] + cell[k + 1 :] for cell in by_cell}):
            side_a = by_cell.get((*context[:k], a, *context[k:]), [])
            side_b = by_cell.get((*context[:k], b, *context[k:]), [])
            if not side_a or not side_b:
                continue
            for metric in metrics:
                result = compare(
                    _ok_values(side_a, metric), _ok_values(side_b, metric), confidence, bootstrap
                )
                rows.append(
                    {
                        **dict(zip(others, context, strict=True)),
                        "axis": axis,
                        "a": a,
                        "b": b,
                        "metric": metric,
                        **result,
                        # diverged runs have no value: the claims must see that they are missing
                        "n_diverged_a": sum(r.status == "diverged" for r in side_a),
                        "n_diverged_b": sum(r.status == "diverged" for r in side_b),
                    }
                )
    table = pd.DataFrame(rows)
    if table.empty:
        # no comparable pair (one cell, or one side not run): a header, so readers see no rows
        columns = [*axes, "axis", "a", "b", "metric", *COMPARE_KEYS, *DIVERGED, "p_holm"]
        return pd.DataFrame(columns=columns)
    table["p_holm"] = float("nan")
    for _, index in table.groupby("metric").groups.items():
        table.loc[index, "p_holm"] = holm(table.loc[index, "p_paired"].tolist())
    return table


def write_table(path: str | Path, table: pd.DataFrame) -> None:
    """CSV with shortest round-trip floats, atomically."""
    files.write_text(path, table.to_csv(index=False, lineterminator="\n"))
