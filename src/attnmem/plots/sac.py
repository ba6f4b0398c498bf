"""Figures of the SAC study (thesis Figs. 11–12 with seeds, faithful and clean side by side)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from attnmem.inputs import FigureInputs
from attnmem.plots.common import env_mode_panels, mean_band, step_axis
from attnmem.plots.style import colour, save, setup

ACTORS = ("mlp", "attention_split")
MODES = ("faithful", "clean", "reference")
LABELS = {"mlp": "MLP actor (baseline)", "attention_split": "AttentionSplit actor"}


def curves(
    data: pd.DataFrame,
    split: str,
    metric: str,
    ylabel: str,
    png: str | Path,
    published: pd.DataFrame | None = None,
) -> None:
    """Rows: env; columns: the modes run (faithful, clean, reference); one line per actor with
    its 95% band over seeds.  ``published`` marks the thesis's final value (mean of its last 10
    points) on the right."""
    setup()
    data = data[(data.split == split) & (data.metric == metric)]
    fig, axes, modes, panels = env_mode_panels(data, MODES, 3.3)
    for ax, env, mode, cell in panels:
        for i, actor in enumerate(a for a in ACTORS if a in set(cell.actor)):
            line = cell[cell.actor == actor].sort_values("step")
            n = int(line["n"].max())
            few = len(line) <= 12  # a few points read better as markers with error bars
            low, high = line.low.fillna(line["mean"]), line.high.fillna(line["mean"])
            # side by side rather than on top of each other
            x = line.step + ((i - 0.5) * 0.02 * data.step.max() if few else 0)
            label = f"{LABELS.get(actor, actor)}, mean and 95% band (n={n} seeds)"
            mean_band(ax, x, line, colour(actor, i), label, marker="o" if few else None, ms=4)
            if few:
                ax.errorbar(
                    x,
                    line["mean"],
                    yerr=[line["mean"] - low, high - line["mean"]],
                    fmt="none",
                    ecolor=colour(actor, i),
                    capsize=3,
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
                        label=f"thesis, {LABELS.get(actor, actor)}: late-run mean (v4)",
                    )
        ax.set_xlim(0, data.step.max() * 1.05)
        ax.set_title(f"{env}, {mode}")
        ax.set_xlabel("environment steps")
        ax.set_ylabel(ylabel)
        step_axis(ax)
    both = f", {' | '.join(modes)} side by side" if len(modes) > 1 else f" ({modes[0]})"
    fig.suptitle(f"SAC: {ylabel}{both}")
    handles = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    fig.tight_layout()
    fig.legend(
        handles.values(), handles.keys(), loc="upper center", ncol=2, bbox_to_anchor=(0.5, 0.0)
    )
    save(fig, png)


def draw_reward(f: FigureInputs) -> None:
    published = f.published_values()
    curves(f.table("curves"), "train", "reward", "mean reward per step", f.png, published)


def draw_eval_return(f: FigureInputs) -> None:
    curves(f.table("curves"), "eval", "return", "deterministic evaluation return", f.png)
