"""Figures of the attention-PPO study: learning curves, steps to threshold, attention maps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from attnmem.inputs import FigureInputs
from attnmem.plots.common import env_mode_panels, mean_band, step_axis
from attnmem.plots.style import plt, save, setup

POLICIES = ("attn_faithful", "mlp", "attn_feature_tokens", "attn_history")
MODES = ("faithful", "clean")
LABELS = {
    "attn_faithful": "attention as published (1 token)",
    "mlp": "without attention (MLP)",
    "attn_feature_tokens": "attention over feature tokens",
    "attn_history": "attention over the last 4 observations",
}
COLOURS = {
    "attn_faithful": "#D55E00",
    "mlp": "#0072B2",
    "attn_feature_tokens": "#009E73",
    "attn_history": "#CC79A7",
}
THRESHOLDS = {"CartPole-v1": 475.0, "Acrobot-v1": -100.0, "MountainCar-v0": -110.0}


def _legend_below(fig, axes) -> None:
    handles: dict[str, object] = {}
    for ax in np.ravel(axes):
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    fig.tight_layout()
    fig.legend(
        handles.values(), handles.keys(), loc="upper center", ncol=2, bbox_to_anchor=(0.5, 0.0)
    )


def curves(data: pd.DataFrame, optimizer: str, png: str | Path) -> None:
    """Rows: env; columns: faithful, clean; one line per policy with its 95% band over seeds."""
    setup()
    data = data[(data.split == "eval") & (data.metric == "return")]
    fig, axes, _, panels = env_mode_panels(data, MODES, 3.2)
    for ax, env, mode, cell in panels:
        for policy in (p for p in POLICIES if p in set(cell.policy)):
            line = cell[cell.policy == policy].sort_values("step")
            n = int(line["n"].max())
            mean_band(
                ax, line.step, line, COLOURS[policy], f"{LABELS[policy]} (n={n} seeds)",
                marker="o", ms=3,
            )  # fmt: skip
        ax.axhline(THRESHOLDS[env], color="black", ls=":", lw=1, label="solved threshold")
        ax.set_title(f"{env}, {mode} loop")
        ax.set_xlabel("environment steps")
        ax.set_ylabel("greedy evaluation return")
        step_axis(ax)
    fig.suptitle(f"PPO learning curves ({optimizer}): mean and 95% band over seeds")
    _legend_below(fig, axes)
    save(fig, png)


def steps_to_threshold(summary: pd.DataFrame, png: str | Path) -> None:
    """Per env: each (policy, mode, optimizer) cell's censored steps to threshold, mean with a
    percentile-bootstrap interval, and the fraction of seeds that reached it."""
    setup()
    steps = summary[summary.metric == "steps_to_threshold"]
    reached = summary[summary.metric == "reached"].set_index(
        ["env", "policy", "mode", "optimizer"]
    )["mean"]
    budget = summary[summary.metric == "steps"]["max"].max()
    envs = list(dict.fromkeys(steps.env))
    fig, axes = plt.subplots(1, len(envs), figsize=(4.6 * len(envs), 3.8), squeeze=False)
    for ax, env in zip(axes[0], envs, strict=True):
        rows = steps[steps.env == env].reset_index(drop=True)
        labels = []
        for i, row in rows.iterrows():
            key = (row.env, row.policy, row["mode"], row.optimizer)
            low = row["mean"] - row["boot_low"] if np.isfinite(row["boot_low"]) else 0.0
            high = row["boot_high"] - row["mean"] if np.isfinite(row["boot_high"]) else 0.0
            ax.errorbar(
                row["mean"], i, xerr=[[low], [high]], fmt="o" if row["mode"] == "faithful" else "s",
                color=COLOURS.get(row.policy, "black"), capsize=3,
                label=f"{row['mode']} loop" if i < 2 else None,
            )  # fmt: skip
            labels.append(
                f"{row.policy} · {row['mode']} · {row.optimizer}\n"
                f"reached {reached.get(key, float('nan')):.0%} of {int(row['n'])}"
            )
        ax.axvline(budget, color="grey", ls="--", lw=1)
        ax.text(budget, -0.6, "budget", color="grey", ha="center", va="bottom", fontsize=8)
        ax.set_yticks(range(len(rows)), labels, fontsize=7)
        ax.set_ylim(len(rows) - 0.5, -1.0)  # top to bottom, with room for the budget's label
        ax.set_xlim(0, budget * 1.12)
        ax.set_title(f"{env} (threshold {THRESHOLDS[env]:g})")
        ax.set_xlabel("steps to threshold (censored at the budget)")
        step_axis(ax)
    fig.suptitle("Sample efficiency: steps until the greedy return first reaches the threshold")
    fig.tight_layout()
    save(fig, png)


def attention(table: pd.DataFrame, features: Mapping[str, Sequence[str]], png: str | Path) -> None:
    """Heatmaps, one per env and mode of the feature-token policy: rows are the layers and the
    pooling, columns the observation features, colour the mean weight over states and seeds.
    Without feature-token runs, the published design's single-token weights (all exactly 1)."""
    setup()
    chosen = table[table.policy == "attn_feature_tokens"]
    degenerate = chosen.empty
    if degenerate:
        chosen = table[table.policy == "attn_faithful"]
    panels = list(dict.fromkeys(zip(chosen.env, chosen["mode"], chosen.optimizer, strict=True)))
    if not panels:
        fig, ax = plt.subplots(figsize=(5, 1.5))
        ax.axis("off")
        ax.text(0.5, 0.5, "no attention policy in this config", ha="center", va="center")
        save(fig, png)
        return
    width = 2.2 + 0.8 * int(chosen.token.max() + 1)  # per panel: room for its tokens' names
    fig, axes = plt.subplots(1, len(panels), figsize=(width * len(panels), 3.4), squeeze=False)
    for ax, (env, mode, optimizer) in zip(axes[0], panels, strict=True):
        rows = chosen[
            (chosen.env == env) & (chosen["mode"] == mode) & (chosen.optimizer == optimizer)
        ]
        grid = rows.groupby(["where", "token"])["weight"].mean().unstack("token")
        order = [w for w in grid.index if w.startswith("layer")] + ["pool"]
        grid = grid.loc[[w for w in order if w in grid.index]]
        seeds = rows.seed.nunique()
        image = ax.imshow(grid.to_numpy(), cmap="viridis", vmin=0, vmax=1, aspect="auto")
        for (i, j), value in np.ndenumerate(grid.to_numpy()):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if value < 0.6 else "black")  # fmt: skip
        names = features.get(env, ())
        columns = [names[t] if not degenerate and t < len(names) else "whole observation"
                   for t in grid.columns]  # fmt: skip
        ax.set_xticks(range(len(columns)), columns, rotation=35, ha="right", fontsize=8)
        ax.set_yticks(range(len(grid.index)), list(grid.index))
        ax.grid(False)
        ax.set_title(f"{env}, {mode}, {optimizer} (n={seeds})", fontsize=9)
        fig.colorbar(image, ax=ax, fraction=0.05)
    what = (
        "published design: one token, every weight exactly 1 (no feature-token runs here)"
        if degenerate
        else "feature tokens: mean attention weight per observation feature"
    )
    fig.suptitle(f"Attention over the final evaluation's states — {what}", fontsize=10)
    fig.tight_layout()
    save(fig, png)


def draw_curves(f: FigureInputs) -> None:
    data = f.table("curves")
    curves(data[data.optimizer == f.fields["optimizer"]], f.fields["optimizer"], f.png)


def draw_steps_to_threshold(f: FigureInputs) -> None:
    steps_to_threshold(f.table("summary"), f.png)


def draw_attention(f: FigureInputs) -> None:
    from attnmem.studies.ppo_attn import FEATURES

    attention(f.table("attention"), FEATURES, f.png)
