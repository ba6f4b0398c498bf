"""Figures of the ātmán study: cells with intervals and the source's numbers, fitted curves, and
a network drawn before and after training."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from attnmem.inputs import FigureInputs
from attnmem.plots.style import PUBLISHED_MARKER, plt, save, setup
from attnmem.studies.atman import LAYOUT_ORDER, RULE_ORDER, TRAINER_ORDER

ATTENTION_COLOURS = {"on": "#009E73", "off": "#0072B2"}
LABELS = {
    "final_accuracy": "final rounding accuracy",
    "best_accuracy": "best-so-far rounding accuracy",
    "final_mse": "final test MSE",
    "mse_auc": "mse_auc (mean best-so-far MSE)",
}
ACTIVATION_COLOURS = {
    "tanh": "#56B4E9",
    "relu": "#E69F00",
    "linear": "#CC79A7",
    "sigmoid": "#999999",
}


def _ordered(values, order: Sequence[str]) -> list[str]:
    present = list(dict.fromkeys(values))
    return sorted(present, key=lambda v: order.index(v) if v in order else len(order))


def _groups(summary: pd.DataFrame) -> list[tuple[str, str]]:
    present = set(zip(summary.trainer, summary.rule, strict=True))
    return [
        (t, r)
        for t in _ordered(summary.trainer, TRAINER_ORDER)
        for r in _ordered(summary.rule, RULE_ORDER)
        if (t, r) in present
    ]


def cells(
    summary: pd.DataFrame,
    reference: pd.DataFrame,
    metrics: Sequence[str],
    published: pd.DataFrame,
    png: str | Path,
) -> None:
    """Rows: layouts; columns: ``metrics``; x: trainer/rule; markers: attention on and off, mean
    and 95% BCa interval; stars: the source's numbers; grey band: the MLP's mean ± sd."""
    setup()
    layouts = _ordered(summary.layout, LAYOUT_ORDER)
    groups = _groups(summary)
    fig, axes = plt.subplots(
        len(layouts),
        len(metrics),
        figsize=(max(6.0, 1.0 * len(groups) + 2.5) * len(metrics), 2.9 * len(layouts)),
        squeeze=False,
    )
    log = any("mse" in m for m in metrics)
    ok = reference[reference.status == "ok"] if "status" in reference else reference
    for r, layout in enumerate(layouts):
        for c, metric in enumerate(metrics):
            ax = axes[r][c]
            rows = summary[(summary.layout == layout) & (summary.metric == metric)]
            for i, (trainer, rule) in enumerate(groups):
                group = rows[(rows.trainer == trainer) & (rows.rule == rule)]
                if group.empty or int(group["n"].sum()) == 0:
                    ax.text(
                        i,
                        0.5,
                        "not run",
                        transform=ax.get_xaxis_transform(),
                        ha="center",
                        color="#999999",
                        fontsize=8,
                    )
                for k, attention in enumerate(("on", "off")):
                    row = rows[
                        (rows.trainer == trainer)
                        & (rows.rule == rule)
                        & (rows.attention == attention)
                    ]
                    if row.empty or int(row["n"].iloc[0]) == 0:
                        continue
                    row = row.iloc[0]
                    x = i + (k - 0.5) * 0.3
                    low, high = row["boot_low"], row["boot_high"]
                    err = (
                        None
                        if not np.isfinite(low)
                        else [[row["mean"] - low], [high - row["mean"]]]
                    )
                    colour = ATTENTION_COLOURS[attention]
                    ax.errorbar(
                        x,
                        row["mean"],
                        yerr=err,
                        fmt="o",
                        color=colour,
                        mfc=colour if attention == "on" else "white",
                        capsize=3,
                        label=f"attention {attention} (mean, 95% BCa, n={int(row['n'])})",
                    )
                    pub = published[
                        (published.layout == layout)
                        & (published.attention == attention)
                        & (published.trainer == trainer)
                        & (published.rule == rule)
                    ]
                    if metric in ("final_accuracy", "best_accuracy") and not pub.empty:
                        value = pub.best_accuracy.iloc[0]
                        if pd.notna(value):
                            ax.scatter(
                                [x],
                                [value],
                                **PUBLISHED_MARKER,
                                label="source (best-of-many, hand-picked start)",
                            )
            if len(ok) and metric in ok:
                mean, sd = ok[metric].mean(), ok[metric].std(ddof=1) if len(ok) > 1 else 0.0
                ax.axhspan(mean - sd, mean + sd, color="#999999", alpha=0.25, lw=0)
                ax.axhline(
                    mean,
                    color="#666666",
                    lw=1,
                    ls="--",
                    label=f"MLP 1-16-16-1, mean ± sd (n={len(ok)})",
                )
            ax.set_xticks(range(len(groups)))
            ax.set_xticklabels([f"{t}\n{rl}" for t, rl in groups], fontsize=8)
            ax.set_title(f"{layout}: {LABELS.get(metric, metric)}")
            if log:
                ax.set_yscale("log")
            else:
                ax.set_ylim(-0.02, 1.02)
    handles = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            key = label.split(" (mean")[0] if label.startswith("attention") else label
            handles.setdefault(key, (handle, label))
    fig.legend(
        [h for h, _ in handles.values()],
        [lbl for _, lbl in handles.values()],
        loc="lower center",
        ncol=min(4, len(handles)),
        bbox_to_anchor=(0.5, -0.06),
    )
    fig.suptitle("ātmán: " + " and ".join(LABELS.get(m, m) for m in metrics) + " per cell")
    fig.tight_layout()
    save(fig, png)


def _median_seed(runs: pd.DataFrame) -> int | None:
    """The seed whose final MSE is the lower median of its cell's finished runs."""
    ok = runs[runs.status == "ok"].sort_values(["final_mse", "seed"], kind="stable")
    if ok.empty:
        return None
    return int(ok.seed.iloc[(len(ok) - 1) // 2])


def fits(runs: pd.DataFrame, fits: pd.DataFrame, layout: str, png: str | Path) -> None:
    """Columns: trainers; rows: rules; lines: the median seed of attention on and off."""
    setup()
    mine = runs[runs.layout == layout]
    trainers = _ordered(mine.trainer, TRAINER_ORDER)
    rules = _ordered(mine.rule, RULE_ORDER)
    fig, axes = plt.subplots(
        len(rules),
        len(trainers),
        figsize=(3.4 * len(trainers), 2.8 * len(rules)),
        squeeze=False,
        sharex=True,
        sharey=True,
    )
    mlp = fits[fits.model == "mlp"]
    mlp_seed = None
    if len(mlp):
        finals = mlp.assign(se=(mlp.prediction - mlp.y) ** 2).groupby("seed")["se"].mean()
        ordered = finals.sort_values(kind="stable")
        mlp_seed = ordered.index[(len(ordered) - 1) // 2]
    target = fits.drop_duplicates("x").sort_values("x")
    for r, rule in enumerate(rules):
        for c, trainer in enumerate(trainers):
            ax = axes[r][c]
            ax.plot(
                target.x, target.y, color="black", lw=2, alpha=0.35, label="target (sin x + 1)/2"
            )
            if mlp_seed is not None:
                line = mlp[mlp.seed == mlp_seed].sort_values("x")
                ax.plot(
                    line.x,
                    line.prediction,
                    color="#666666",
                    ls="--",
                    lw=1,
                    label="MLP (median seed)",
                )
            drawn = False
            for attention in ("on", "off"):
                cell = mine[
                    (mine.trainer == trainer) & (mine.rule == rule) & (mine.attention == attention)
                ]
                seed = _median_seed(cell)
                if seed is None:
                    continue
                drawn = True
                line = fits[
                    (fits.model == "atman")
                    & (fits.layout == layout)
                    & (fits.trainer == trainer)
                    & (fits.rule == rule)
                    & (fits.attention == attention)
                    & (fits.seed == seed)
                ].sort_values("x")
                ax.plot(
                    line.x,
                    line.prediction,
                    color=ATTENTION_COLOURS[attention],
                    lw=1.4,
                    label=f"attention {attention} (median seed)",
                )
            if not drawn:
                ax.text(
                    0.5,
                    0.5,
                    "not run in this config",
                    transform=ax.transAxes,
                    ha="center",
                    color="#999999",
                )
            ax.set_title(f"{trainer}, {rule}", fontsize=9)
            ax.set_ylim(-0.3, 1.3)
            if r == len(rules) - 1:
                ax.set_xlabel("x")
    handles = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    fig.legend(
        list(handles.values()),
        list(handles),
        loc="lower center",
        ncol=4,
        bbox_to_anchor=(0.5, -0.05),
    )
    fig.suptitle(f"ātmán {layout}: fitted curve of the median seed (by final test MSE)")
    fig.tight_layout()
    save(fig, png)


def network(net: Mapping[str, Any], png: str | Path) -> None:
    """Initial and trained node positions; edges shaded by |weight|."""
    setup()
    src, dst = np.asarray(net["src"]), np.asarray(net["dst"])
    weights = np.abs(np.asarray(net["weights"], dtype=float))
    scale = np.nanmax(weights) if np.isfinite(weights).any() and np.nanmax(weights) > 0 else 1.0
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    both = np.concatenate([np.asarray(net["initial_positions"]), np.asarray(net["positions"])])
    both = both[np.isfinite(both).all(axis=1)]
    lims = [(both[:, k].min() - 3, both[:, k].max() + 3) for k in (0, 1)]
    for ax, key, title in (
        (axes[0], "initial_positions", "at initialisation"),
        (axes[1], "positions", "after training"),
    ):
        pos = np.asarray(net[key], dtype=float)
        for e in range(src.size):
            shade = 0.15 + 0.85 * min(1.0, weights[e] / scale) if key == "positions" else 0.4
            ax.annotate(
                "",
                xy=pos[dst[e]],
                xytext=pos[src[e]],
                arrowprops=dict(
                    arrowstyle="-|>", color=str(1 - shade), lw=1.2, shrinkA=5, shrinkB=5
                ),
            )
        colours = [ACTIVATION_COLOURS.get(a, "#999999") for a in net["activations"]]
        ax.scatter(pos[:, 0], pos[:, 1], s=60, c=colours, edgecolor="black", zorder=3)
        ax.set_title(title)
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xlim(*lims[0])
        ax.set_ylim(*lims[1])
    for name, colour in ACTIVATION_COLOURS.items():
        if name in net["activations"]:
            axes[1].scatter([], [], s=60, c=colour, edgecolor="black", label=name)
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.suptitle(
        f"ātmán {net['layout']}: node positions and edges (right: shaded by |weight|, darker = "
        "larger)"
    )
    fig.tight_layout()
    save(fig, png)


def draw_accuracy(f: FigureInputs) -> None:
    metrics = ("final_accuracy", "best_accuracy")
    cells(f.table("summary"), f.table("reference"), metrics, f.published_values(), f.png)


def draw_mse(f: FigureInputs) -> None:
    metrics = ("final_mse", "mse_auc")
    cells(f.table("summary"), f.table("reference"), metrics, f.published_values(), f.png)


def draw_fit(f: FigureInputs) -> None:
    fits(f.table("runs"), f.table("fits"), f.fields["layout"], f.png)


def draw_network(f: FigureInputs) -> None:
    import json

    network(json.loads(Path(f.files["network.json"]).read_text()), f.png)
