"""The SAC study (thesis Figs. 11–12): config -> runs -> curves, summaries, comparisons."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from attnmem import files
from attnmem.stats import aggregate
from attnmem.studies import AXES as STUDY_AXES
from attnmem.studies import study_comparisons

STUDY = "sac"
AXES = tuple(STUDY_AXES[STUDY])
METRICS = ("final_reward", "final_eval", "max_reward")
RUN_KEYS = (
    "replay",
    "batch",
    "reward_every",
    "eval_every",
    "eval_episodes",
    "final_points",
    "checkpoint_every",
    "log_every",
    "max_episode_steps",
)


def make_run(settings: Mapping[str, Any], env: str, mode: str, actor: str, seed: int):
    """The SACRun of one cell and seed under the study's config section."""
    from attnmem.train.sac import SACRun

    warmup = settings["warmup"]
    return SACRun(
        env=env,
        mode=mode,
        actor=actor,
        seed=int(seed),
        steps=int(settings["steps"][env]),
        warmup=int(warmup["faithful"][actor] if mode == "faithful" else warmup["clean"]),
        **{k: settings[k] for k in RUN_KEYS if k in settings},
    )


def comparison_specs(
    settings: Mapping[str, Any], claims: Iterable[Mapping[str, Any]]
) -> list[dict[str, str]]:
    return study_comparisons(STUDY, settings, claims)


def aggregate_study(
    run_dirs: Iterable[str | Path],
    specs: list[dict[str, str]],
    stats: Mapping[str, Any],
    out: Mapping[str, str | Path],
) -> None:
    """Write runs.csv, summary.csv, curves.csv and comparisons.csv."""
    runs = aggregate.load_runs(run_dirs, AXES)
    confidence, n_boot, rng = stats["confidence"], stats["n_resamples"], stats["random_state"]
    columns = (*METRICS, "episodes", "steps")
    aggregate.write_table(out["runs"], aggregate.run_table(runs, AXES, columns))
    aggregate.write_table(
        out["summary"],
        aggregate.summarise(runs, AXES, (*METRICS, "steps"), confidence, n_boot, rng),
    )
    curves = [
        aggregate.RunResult(
            r.cell, r.seed, r.status, r.metrics, r.curve[r.curve.metric.isin(["reward", "return"])]
        )
        for r in runs
    ]
    aggregate.write_table(out["curves"], aggregate.curves(curves, AXES, confidence))
    aggregate.write_table(
        out["comparisons"], aggregate.comparisons(runs, AXES, specs, METRICS, confidence)
    )


def published_table(published: Mapping[str, Any]) -> pd.DataFrame:
    values = published.get(STUDY, {}).get("values", {})
    rows = [
        {"env": env, "mode": mode, "actor": actor, **cell}
        for env, modes in values.items()
        for mode, actors in modes.items()
        for actor, cell in actors.items()
    ]
    return pd.DataFrame(rows, columns=["env", "mode", "actor", "final_reward", "max_reward"])


def write_tables(
    summary_csv: str | Path, published: Mapping[str, Any], markdown: str | Path, latex: str | Path
) -> None:
    """Final per-step training reward and evaluation return per cell beside the thesis's run."""
    from attnmem.tables import to_latex, to_markdown

    summary = pd.read_csv(summary_csv).set_index([*AXES, "metric"])
    pub = published_table(published).set_index(list(AXES))
    rows = []
    for cell in dict.fromkeys(key[:3] for key in summary.index):
        row = dict(zip(("env", "mode", "actor"), cell, strict=True))
        for metric, label in (
            ("final_reward", "reward/step (final)"),
            ("max_reward", "reward/step (max)"),
            ("final_eval", "eval return (final)"),
        ):
            s = summary.loc[(*cell, metric)]
            row[label] = f"{s['mean']:.3f} [{s['t_low']:.3f}, {s['t_high']:.3f}] ({int(s['n'])})"
        for metric in ("final_reward", "max_reward"):
            value = pub[metric].get(cell) if cell in pub.index else None
            row[f"published {metric.replace('_', ' ')}"] = (
                "–" if value is None or pd.isna(value) else f"{value:.2f}"
            )
        rows.append(row)
    caption = (
        "sac study: mean per-step training reward (the thesis's metric; last points of the run) "
        "and deterministic evaluation return, mean [95% t-interval] (seeds), beside the thesis's "
        "single run (v4 environments; HalfCheetah at 1.47M steps, Walker2d at 1M)"
    )
    table = pd.DataFrame(rows)
    files.write_text(markdown, to_markdown(table, caption))
    files.write_text(latex, to_latex(table, caption, "tab:sac"))


def plot_curves(curves_csv: str | Path, published: Mapping[str, Any], png: str | Path) -> None:
    from attnmem.plots import sac as plots

    curves = pd.read_csv(curves_csv)
    plots.curves(curves, "train", "reward", "mean reward per step", png, published_table(published))


def plot_eval(curves_csv: str | Path, png: str | Path) -> None:
    from attnmem.plots import sac as plots

    plots.curves(pd.read_csv(curves_csv), "eval", "return", "deterministic evaluation return", png)
