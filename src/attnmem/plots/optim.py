"""Figures of the optim study (thesis Figs. 4–7, with seeds and confidence bands)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from attnmem.plots.style import PUBLISHED_MARKER, colour, plt, save, setup
from attnmem.published import lookup


def accuracy_curves(curves: pd.DataFrame, dataset: str, arch: str, png: str | Path) -> None:
    """Test accuracy per epoch, one line per optimizer with its 95% t-band across seeds."""
    setup()
    data = curves[(curves.dataset == dataset) & (curves.arch == arch)
                  & (curves.split == "test") & (curves.metric == "accuracy")]  # fmt: skip
    fig, (full, zoom) = plt.subplots(1, 2, figsize=(10, 3.8))
    for i, (optimizer, group) in enumerate(data.groupby("optimizer", sort=True)):
        n = int(group["n"].max())
        for ax in (full, zoom):
            ax.plot(group.step, group["mean"], color=colour(optimizer, i),
                    label=f"{optimizer} (n={n})")  # fmt: skip
            ax.fill_between(group.step, group.low.fillna(group["mean"]),
                            group.high.fillna(group["mean"]), color=colour(optimizer, i),
                            alpha=0.2, linewidth=0)  # fmt: skip
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
        ax.set_xlabel("epoch")
        ax.set_ylabel("test accuracy (%)")
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
        cell = data[data.arch == arch].sort_values("optimizer")
        for x, (i, row) in enumerate(cell.reset_index(drop=True).iterrows()):
            seeds = runs[(runs.dataset == dataset) & (runs.arch == arch)
                         & (runs.optimizer == row.optimizer)][metric].dropna()  # fmt: skip
            jitter = np.linspace(-0.12, 0.12, len(seeds)) if len(seeds) > 1 else [0.0]
            ax.scatter(x + np.asarray(jitter), seeds, s=14, color=colour(row.optimizer, i),
                       alpha=0.6, linewidth=0)  # fmt: skip
            err = [[row["mean"] - row.t_low], [row.t_high - row["mean"]]]
            ax.errorbar(x + 0.28, row["mean"], yerr=None if np.isnan(row.t_low) else err,
                        fmt="o", color="black", capsize=4)  # fmt: skip
            value = lookup(published, "optim", [dataset, arch, row.optimizer], metric)
            if value is not None:
                any_published = True
                ax.scatter([x + 0.28], [value], **PUBLISHED_MARKER)
        ax.set_xticks(range(len(cell)), cell.optimizer, rotation=20)
        ax.set_title(arch)
        ax.set_ylabel(f"{metric.replace('_', ' ')} (%)")
    handles = [
        plt.Line2D([], [], marker="o", ls="", color="grey", alpha=0.6, label="one seed"),
        plt.Line2D([], [], marker="o", ls="-", color="black", label="mean ± 95% CI"),
    ]
    if any_published:
        handles.append(plt.Line2D([], [], marker="*", ls="", markersize=12, color="#D55E00",
                                  markeredgecolor="black", label="published (1 run)"))  # fmt: skip
    title = f"{dataset}: {metric.replace('_', ' ')} per optimizer"
    if not any_published:
        title += " (the source published no value for this dataset)"
    fig.suptitle(title)
    fig.legend(handles=handles, loc="lower center", ncol=3, bbox_to_anchor=(0.5, -0.06))
    fig.tight_layout()
    save(fig, png)
