"""The teacher study (thesis Table 4): config -> teachers and predictors -> results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attnmem.columns import Estimate, Field, Lookup, Published, Table
from attnmem.studies.base import Figure, Job, Metric, Study

if TYPE_CHECKING:
    pass

# Torch, pandas and matplotlib are imported inside the functions that need them (see optim.py).

TABLE = Table(
    caption=(
        "teacher study: mean test accuracy (%) of predicting the DQN teacher's action, "
        "mean [95% t-interval] (seeds), beside the thesis's Table 4 (5 runs, faithful teacher) "
        "and the majority-class accuracy of the same test windows; the teacher's greedy return "
        "(mean over its rollout episodes and seeds) says whether it learned the task at all"
    ),
    columns=(
        Estimate("test_accuracy", "replicated (%)"),
        Field("test_accuracy", "sd", "sd"),
        Published("test_accuracy", "published (%)"),
        Lookup("teachers", "majority_accuracy", "majority class (%)", ("env", "mode")),
        # a teacher that collapsed to one action makes "accuracy" a label frequency
        Lookup(
            "teachers",
            "rollout_return",
            "teacher greedy return",
            ("env", "mode"),
            ".1f",
            missing="no episode ended",
        ),
    ),
    axis_labels=(("mode", "teacher"),),
)

STUDY = Study(
    name="teacher",
    source="seed 000 thesis §9.2.1 / Table 4: predicting a DQN teacher's action from 10 states",
    axes=("env", "mode", "predictor"),
    published=("test_accuracy",),
    metrics=(
        Metric("test_accuracy", "mean test accuracy (%) of predicting the teacher's action"),
        Metric("train_steps", "predictor training steps", compared=False),
    ),
    jobs=(
        Job(
            "train_teacher",
            "teachers",
            ("env", "mode"),
            "attnmem.train.teacher:make_teacher",
            files=("teacher.pt", "dataset.pt"),
        ),
        Job(
            "train_predictor",
            "runs",
            ("env", "mode", "predictor"),
            "attnmem.train.teacher:train_predictor",
        ),
    ),
    figures=(
        Figure(
            "attnmem.plots.teacher:draw_accuracy",
            "accuracy",
            ("runs", "summary", "teachers"),
            "Test accuracy of each predictor per env (dots: seeds; point and bar: mean and 95% "
            "t-interval) for the faithful teacher (argmax-index target bug, truncation ignored, "
            "one-step action lag — as Table 4 ran) and the clean one (thesis Alg. 9). Stars: the "
            "thesis's Table 4 (5 runs, faithful). Dashed: majority-class accuracy of the same "
            "test windows, the floor a predictor must beat. Grey, at the bottom: each teacher's "
            "greedy return (a teacher that collapsed to one action scores near nothing, and "
            "its predictors' accuracy is then a label frequency).",
        ),
    ),
    extra_tables=("teachers",),
    budget_metric="train_steps",
    # a tenth of the teacher's steps and the predictor's (the rollouts as short as batches allow)
    probe=(
        ("dqn.steps", 4000),
        ("rollout.train", 2560),
        ("rollout.test", 2560),
        ("predictor.epochs", 1),
        ("predictor.steps_per_epoch", 82),
        ("predictor.test_batches", 33),
    ),
    choices=(
        ("env", "attnmem.rl.dqn:ENVS"),
        ("mode", "attnmem.rl.dqn:MODES"),
        ("predictor", "attnmem.models.predictors:PREDICTORS"),
    ),
    # a teacher and its predictors are short at default budgets
    slurm_bundle=8,
    cost_products=(("predictor.epochs", "predictor.steps_per_epoch"),),
    table=TABLE,
)
AXES = STUDY.axes


def claim_notes(tables: Mapping[str, Any]):
    """The claims' note on a cell: its teacher's greedy return (mean over seeds), without which
    an accuracy can be the frequency of a collapsed teacher's one action."""
    teachers = tables["teachers"].groupby(["env", "mode"])["rollout_return"].mean()

    def note(cell: Mapping[str, str]) -> str:
        key = (cell.get("env"), cell.get("mode"))
        if key not in teachers.index:
            return ""
        value = teachers[key]
        return "teacher: no episode ended" if value != value else f"teacher return {value:.0f}"

    return note


TEACHER_METRICS = ("final_return", "rollout_return", "episodes", "majority_accuracy")


def check(settings: Mapping[str, Any], config: Mapping[str, Any]) -> None:
    """Each rollout must give the predictors more than two batches of windows to draw from."""
    from attnmem.config_check import ConfigError

    rollout, batch = settings["run"]["rollout"], settings["run"]["predictor"]["batch"]
    for split in ("train", "test"):
        windows = rollout[split] // rollout["window"]
        if windows - batch < batch:
            raise ConfigError(
                f"invalid config: studies.teacher.run.rollout.{split}: {rollout[split]} steps give "
                f"{windows} windows of {rollout['window']}; batches of {batch} are drawn from the "
                f"first windows - batch, so it needs at least {2 * batch * rollout['window']} steps"
            )


def make_run(job: str, settings: Mapping[str, Any], cell: Mapping[str, str], seed: int):
    """The run of one training job (a teacher or a predictor), cell and seed under the study's
    ``run:`` settings."""
    if job == "train_teacher":
        from attnmem.rl.dqn import DQNSettings
        from attnmem.run import split_settings
        from attnmem.train.teacher import TeacherRun

        # the config's ``dqn:`` block also holds the run's own log_every
        agent, own = split_settings(settings["dqn"], DQNSettings, TeacherRun)
        rollout = settings["rollout"]
        return TeacherRun(
            env=cell["env"],
            mode=cell["mode"],
            seed=int(seed),
            dqn=DQNSettings(**agent),
            train_rollout=rollout["train"],
            test_rollout=rollout["test"],
            window=rollout["window"],
            **own,
        )
    from attnmem.train.teacher import PredictorRun  # train_predictor

    return PredictorRun(
        env=cell["env"],
        mode=cell["mode"],
        predictor=cell["predictor"],
        seed=int(seed),
        **settings["predictor"],
    )


def extra_table(name: str, job_dirs: Mapping[str, Sequence[str | Path]]):
    """teachers.csv: per teacher its returns, label distribution and majority-class accuracy."""
    import pandas as pd

    from attnmem.run import read_final

    teachers = []
    for directory in map(Path, job_dirs["train_teacher"]):
        final = read_final(directory)
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
    return pd.DataFrame(teachers).sort_values(["env", "mode", "seed"])
