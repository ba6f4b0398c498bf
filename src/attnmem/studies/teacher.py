"""The teacher study (thesis Table 4): config -> teachers and predictors -> results."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from attnmem import files
from attnmem.stats import aggregate
from attnmem.studies import AXES as STUDY_AXES
from attnmem.studies import study_comparisons

# Torch and matplotlib are imported inside the functions that need them (see studies/optim.py).

STUDY = "teacher"
AXES = tuple(STUDY_AXES[STUDY])
METRICS = ("test_accuracy",)
TEACHER_METRICS = ("final_return", "rollout_return", "episodes", "majority_accuracy")


def make_teacher_run(settings: Mapping[str, Any], env: str, mode: str, seed: int):
    from attnmem.train.teacher import TeacherRun

    dqn, rollout = settings["dqn"], settings["rollout"]
    return TeacherRun(
        env=env,
        mode=mode,
        seed=int(seed),
        **dqn,
        train_rollout=rollout["train"],
        test_rollout=rollout["test"],
        window=rollout["window"],
    )


def make_predictor_run(settings: Mapping[str, Any], env: str, mode: str, predictor: str, seed: int):
    from attnmem.train.teacher import PredictorRun

    return PredictorRun(
        env=env, mode=mode, predictor=predictor, seed=int(seed), **settings["predictor"]
    )


def comparison_specs(
    settings: Mapping[str, Any], claims: Iterable[Mapping[str, Any]]
) -> list[dict[str, str]]:
    return study_comparisons(STUDY, settings, claims)


def aggregate_study(
    run_dirs: Iterable[str | Path],
    teacher_dirs: Iterable[str | Path],
    specs: list[dict[str, str]],
    stats: Mapping[str, Any],
    out: Mapping[str, str | Path],
) -> None:
    """Write runs.csv, teachers.csv, summary.csv, curves.csv and comparisons.csv."""
    runs = aggregate.load_runs(run_dirs, AXES)
    confidence, n_boot, rng = stats["confidence"], stats["n_resamples"], stats["random_state"]
    aggregate.write_table(out["runs"], aggregate.run_table(runs, AXES, (*METRICS, "train_steps")))
    teachers = []
    for directory in map(Path, teacher_dirs):
        final = json.loads((directory / "final.json").read_text())
        config, metrics = final["config"], final["metrics"]
        teachers.append(
            {
                "env": config["env"],
                "mode": config["mode"],
                "seed": int(config["seed"]),
                **{m: metrics[m] for m in TEACHER_METRICS},
                "label_fractions_test": " ".join(
                    f"{v:.3f}" for v in metrics["label_fractions_test"]
                ),
            }
        )
    aggregate.write_table(
        out["teachers"], pd.DataFrame(teachers).sort_values(["env", "mode", "seed"])
    )
    summary = aggregate.summarise(runs, AXES, (*METRICS, "train_steps"), confidence, n_boot, rng)
    aggregate.write_table(out["summary"], summary)
    aggregate.write_table(out["curves"], aggregate.curves(runs, AXES, confidence))
    aggregate.write_table(
        out["comparisons"], aggregate.comparisons(runs, AXES, specs, METRICS, confidence)
    )


def published_table(published: Mapping[str, Any]) -> pd.DataFrame:
    """Table 4 as rows (env, mode, predictor, test_accuracy)."""
    values = published.get(STUDY, {}).get("values", {})
    rows = [
        {"env": env, "mode": mode, "predictor": predictor, "test_accuracy": cell["test_accuracy"]}
        for env, modes in values.items()
        for mode, predictors in modes.items()
        for predictor, cell in predictors.items()
    ]
    return pd.DataFrame(rows, columns=["env", "mode", "predictor", "test_accuracy"])


def write_tables(
    summary_csv: str | Path,
    teachers_csv: str | Path,
    published: Mapping[str, Any],
    markdown: str | Path,
    latex: str | Path,
) -> None:
    """Table 4 replicated: mean test accuracy [95% CI] (n) beside the thesis's value, and the
    majority-class accuracy each predictor has to beat."""
    from attnmem.tables import to_latex, to_markdown

    summary = pd.read_csv(summary_csv)
    summary = summary[summary["metric"] == "test_accuracy"]
    majority = pd.read_csv(teachers_csv).groupby(["env", "mode"])["majority_accuracy"].mean()
    pub = published_table(published).set_index(["env", "mode", "predictor"])["test_accuracy"]
    rows = []
    for _, r in summary.iterrows():
        key = (r["env"], r["mode"], r["predictor"])
        rows.append(
            {
                "env": r["env"],
                "teacher": r["mode"],
                "predictor": r["predictor"],
                "replicated (%)": f"{r['mean']:.2f} [{r['t_low']:.2f}, {r['t_high']:.2f}] "
                f"({int(r['n'])})",
                "sd": f"{r['sd']:.2f}",
                "published (%)": f"{pub[key]:.2f}" if key in pub.index else "–",
                "majority class (%)": f"{majority[(r['env'], r['mode'])]:.2f}",
            }
        )
    caption = (
        "teacher study: mean test accuracy (%) of predicting the DQN teacher's action, "
        "mean [95% t-interval] (seeds), beside the thesis's Table 4 (5 runs, faithful teacher) "
        "and the majority-class accuracy of the same test windows"
    )
    table = pd.DataFrame(rows)
    files.write_text(markdown, to_markdown(table, caption))
    files.write_text(latex, to_latex(table, caption, "tab:teacher"))


def plot_accuracy(
    runs_csv: str | Path,
    summary_csv: str | Path,
    teachers_csv: str | Path,
    published: Mapping[str, Any],
    png: str | Path,
) -> None:
    from attnmem.plots import teacher as plots

    plots.accuracy(
        pd.read_csv(runs_csv),
        pd.read_csv(summary_csv),
        pd.read_csv(teachers_csv),
        published_table(published),
        png,
    )
