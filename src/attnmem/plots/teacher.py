"""Figures of the teacher study (thesis Table 4, with seeds and intervals)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from attnmem.inputs import FigureInputs
from attnmem.plots.common import mean_interval, published_star, seed_strip
from attnmem.plots.style import colour, plt, save, setup

PREDICTORS = ("attention_split", "lstm", "transformer")
LABELS = {"attention_split": "AttentionSplit", "lstm": "LSTM", "transformer": "Transformer"}
MODES = ("faithful", "clean")


def accuracy(
    runs: pd.DataFrame,
    summary: pd.DataFrame,
    teachers: pd.DataFrame,
    published: pd.DataFrame,
    png: str | Path,
) -> None:
    """Per env: each predictor's test accuracy per seed (dots), mean with 95% t-interval,
    the thesis's value (star) and the majority-class accuracy (dashed), per teacher mode."""
    setup()
    envs = list(dict.fromkeys(runs.env))
    modes = [m for m in MODES if m in set(runs["mode"])]
    predictors = [p for p in PREDICTORS if p in set(runs.predictor)]
    fig, axes = plt.subplots(
        1, len(envs), figsize=(3.4 * len(envs) + 0.6, 3.9), squeeze=False, sharey=False
    )
    summary = summary[summary.metric == "test_accuracy"]
    width = 0.8 / max(len(predictors), 1)
    for ax, env in zip(axes[0], envs, strict=True):
        for g, mode in enumerate(modes):
            for i, predictor in enumerate(predictors):
                x = g + (i - (len(predictors) - 1) / 2) * width
                seeds = runs[
                    (runs.env == env) & (runs["mode"] == mode) & (runs.predictor == predictor)
                ]
                seed_strip(ax, x, seeds.test_accuracy, colour(predictor, i), 0.25 * width, 12)
                row = summary[
                    (summary.env == env)
                    & (summary["mode"] == mode)
                    & (summary.predictor == predictor)
                ]
                if not row.empty:
                    first = g == 0 and env == envs[0]
                    mean_interval(
                        ax,
                        x,
                        row.iloc[0],
                        colour(predictor, i),
                        capsize=3,
                        markeredgecolor="black",
                        label=LABELS.get(predictor, predictor) if first else None,
                    )
                pub = published[
                    (published.env == env)
                    & (published["mode"] == mode)
                    & (published.predictor == predictor)
                ]
                if not pub.empty:  # beside the mean, not on it: both stay readable
                    first = (g, i, env) == (0, 0, envs[0])
                    label = "thesis (Table 4)" if first else None
                    published_star(ax, x + 0.3 * width, pub.test_accuracy.iloc[0], label)
            majority = teachers[(teachers.env == env) & (teachers["mode"] == mode)]
            if not majority.empty:
                # the teacher's own score: a collapsed teacher makes accuracy a label frequency
                greedy = majority.rollout_return.mean()
                # faithful ignores truncation: a teacher that never reaches the goal never
                # finishes an episode, and has no return to show
                ax.annotate(
                    "teacher: no episode ended"
                    if pd.isna(greedy)
                    else f"teacher return {greedy:.0f}",
                    (g, 0),
                    xycoords=("data", "axes fraction"),
                    xytext=(0, 3),
                    textcoords="offset points",
                    ha="center",
                    fontsize=7,
                    color="grey",
                )
                ax.hlines(
                    majority.majority_accuracy.mean(),
                    g - 0.45,
                    g + 0.45,
                    colors="grey",
                    linestyles="--",
                    label="majority class" if (g == 0 and env == envs[0]) else None,
                )
        ax.set_xticks(range(len(modes)), [f"{m} teacher" for m in modes])
        ax.set_xlim(-0.6, len(modes) - 0.4)
        ax.set_title(env)
        ax.set_ylabel("test accuracy (%)")
        # a t-interval of values near 100% can reach past it; accuracy cannot
        ax.set_ylim(top=min(ax.get_ylim()[1], 101.5))
    n = int(summary["n"].max()) if not summary.empty else 0
    seeds = f"{n} seed" + ("s" if n != 1 else "")
    fig.suptitle(f"Predicting the DQN teacher's action: mean and 95% interval over {seeds}")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), bbox_to_anchor=(0.5, -0.06))
    fig.tight_layout()
    save(fig, png)


def draw_accuracy(f: FigureInputs) -> None:
    tables = (f.table(name) for name in ("runs", "summary", "teachers"))
    accuracy(*tables, f.published_values(), f.png)
