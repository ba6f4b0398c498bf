"""Figures of the optim study (thesis Figs. 4–7, with seeds and confidence bands)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from attnmem.inputs import FigureInputs
from attnmem.plots.common import (
    mean_band,
    mean_interval,
    published_star,
    seed_strip,
)
from attnmem.plots.style import colour, plt, save, setup
from attnmem.published import lookup

# Baselines first, then the method under test, in every figure.
ORDER = ("adamw", "adamp", "adamp_official", "orthadam", "orthadam_thesis")


def _ordered(names) -> list[str]:
    names = list(dict.fromkeys(names))
    return sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


def _lr_drops(curves: pd.DataFrame) -> list[int]:
    """First epochs run at a lower learning rate (one past each MultiStepLR milestone)."""
    lr = curves[curves.metric == "lr"].groupby("step")["mean"].first().sort_index()
    return [int(step) for step, change in lr.diff().items() if change < 0]


def accuracy_curves(curves: pd.DataFrame, dataset: str, arch: str, png: str | Path) -> None:
    """Test accuracy per epoch, one line per optimizer with its 95% t-band across seeds."""
    setup()
    cell = curves[(curves.dataset == dataset) & (curves.arch == arch)]
    data = cell[(cell.split == "test") & (cell.metric == "accuracy")]
    fig, (full, zoom) = plt.subplots(1, 2, figsize=(10, 3.8))
    for i, optimizer in enumerate(_ordered(data.optimizer)):
        group = data[data.optimizer == optimizer]
        n = int(group["n"].max())
        for ax in (full, zoom):
            mean_band(ax, group.step, group, colour(optimizer, i), f"{optimizer} (n={n})")
    last_half = data[data.step > data.step.max() / 2]
    if not last_half.empty:
        low = np.nanmin(last_half.low.fillna(last_half["mean"]))
        high = np.nanmax(last_half.high.fillna(last_half["mean"]))
        pad = max(0.5, 0.15 * (high - low))
        zoom.set_xlim(data.step.max() / 2, data.step.max())
        zoom.set_ylim(low - pad, min(100.0, high + pad))
    full.set_title(f"{dataset} / {arch}: test accuracy")
    zoom.set_title("second half of training (zoom)")
    for ax in (full, zoom):
        for k, epoch in enumerate(_lr_drops(cell)):
            ax.axvline(
                epoch - 0.5,
                color="grey",
                ls=":",
                lw=1,
                label="LR ×0.1" if k == 0 and ax is full else None,
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel("test accuracy (%)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    full.legend(loc="lower right", title="mean, 95% band")
    save(fig, png)


def max_accuracy(
    runs: pd.DataFrame,
    summary: pd.DataFrame,
    published: Mapping[str, Any],
    dataset: str,
    png: str | Path,
    metric: str = "max_acc",
) -> None:
    """Per architecture: each seed's max accuracy, the mean with its 95% t-interval, and the
    single-run value the source published (a star) where it published one."""
    setup()
    data = summary[(summary.dataset == dataset) & (summary.metric == metric)]
    archs = sorted(data.arch.unique())
    fig, axes = plt.subplots(1, len(archs), figsize=(3.6 * len(archs) + 0.8, 3.8), squeeze=False)
    any_published = False
    for ax, arch in zip(axes[0], archs, strict=True):
        in_arch = data[data.arch == arch].set_index("optimizer")
        cell = in_arch.loc[_ordered(in_arch.index)].reset_index()
        for x, (i, row) in enumerate(cell.iterrows()):
            seeds = runs[
                (runs.dataset == dataset) & (runs.arch == arch) & (runs.optimizer == row.optimizer)
            ][metric].dropna()
            seed_strip(ax, x, seeds, colour(row.optimizer, i), 0.12)
            mean_interval(ax, x + 0.28, row, "black", capsize=4)
            value = lookup(published, "optim", [dataset, arch, row.optimizer], metric)
            any_published |= published_star(ax, x + 0.28, value)
        ax.set_xticks(range(len(cell)), cell.optimizer, rotation=20)
        ax.set_title(arch)
        ax.set_ylabel(f"{metric.replace('_', ' ')} (%)")
    handles = [
        plt.Line2D([], [], marker="o", ls="", color="grey", alpha=0.6, label="one seed"),
        plt.Line2D([], [], marker="o", ls="-", color="black", label="mean ± 95% CI"),
    ]
    if any_published:
        handles.append(
            plt.Line2D(
                [],
                [],
                marker="*",
                ls="",
                markersize=12,
                color="#D55E00",
                markeredgecolor="black",
                label="published (1 run)",
            )
        )
    title = f"{dataset}: {metric.replace('_', ' ')} per optimizer"
    if not any_published:
        title += "\n(the source published no value for this dataset)"
    fig.suptitle(title)
    fig.legend(handles=handles, loc="lower center", ncol=3, bbox_to_anchor=(0.5, -0.06))
    fig.tight_layout()
    save(fig, png)


def draw_curves(f: FigureInputs) -> None:
    accuracy_curves(f.table("curves"), f.fields["dataset"], f.fields["arch"], f.png)


def draw_max_accuracy(f: FigureInputs) -> None:
    max_accuracy(f.table("runs"), f.table("summary"), f.published, f.fields["dataset"], f.png)
