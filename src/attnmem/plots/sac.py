"""Figures of the SAC study (thesis Figs. 11–12 with seeds, faithful and clean side by side)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from attnmem.plots.style import colour, plt, save, setup

ACTORS = ("mlp", "attention_split")
MODES = ("faithful", "clean")
LABELS = {"mlp": "MLP actor (baseline)", "attention_split": "AttentionSplit actor"}


def curves(
    data: pd.DataFrame,
    split: str,
    metric: str,
    ylabel: str,
    png: str | Path,
    published: pd.DataFrame | None = None,
) -> None:
    """Rows: env; columns: faithful, clean; one line per actor with its 95% band over seeds.
    ``published`` marks the thesis's final value (mean of its last 10 points) on the right."""
    setup()
    data = data[(data.split == split) & (data.metric == metric)]
    envs = list(dict.fromkeys(data.env))
    modes = [m for m in MODES if m in set(data["mode"])]
    fig, axes = plt.subplots(
        len(envs), len(modes), figsize=(5 * len(modes), 3.3 * len(envs)), squeeze=False
    )
    for r, env in enumerate(envs):
        for c, mode in enumerate(modes):
            ax = axes[r][c]
            cell = data[(data.env == env) & (data["mode"] == mode)]
            for i, actor in enumerate(a for a in ACTORS if a in set(cell.actor)):
                line = cell[cell.actor == actor].sort_values("step")
                n = int(line["n"].max())
                ax.plot(
                    line.step,
                    line["mean"],
                    color=colour(actor, i),
                    label=f"{LABELS.get(actor, actor)} (n={n})",
                )
                ax.fill_between(
                    line.step,
                    line.low.fillna(line["mean"]),
                    line.high.fillna(line["mean"]),
                    color=colour(actor, i),
                    alpha=0.2,
                    linewidth=0,
                )
                if published is not None and not line.empty:
                    pub = published[
                        (published.env == env)
                        & (published["mode"] == mode)
                        & (published.actor == actor)
                    ]
                    if not pub.empty and pd.notna(pub.final_reward.iloc[0]):
                        ax.axhline(
                            pub.final_reward.iloc[0],
                            color=colour(actor, i),
                            ls=":",
                            lw=1.2,
                            label=f"thesis, {LABELS.get(actor, actor)} (late-run mean)",
                        )
            ax.set_title(f"{env}, {mode}")
            ax.set_xlabel("environment steps")
            ax.set_ylabel(ylabel)
            ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 3))
            ax.legend(fontsize=8, loc="best")
    fig.suptitle(f"SAC: {ylabel}, mean and 95% band over seeds")
    fig.tight_layout()
    save(fig, png)
