"""The SAC study (thesis Figs. 11–12): config -> runs -> curves, summaries, comparisons."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from attnmem.studies.base import Figure, Job, Metric, Study

if TYPE_CHECKING:
    from attnmem.inputs import TableInputs

# Torch, pandas and matplotlib are imported inside the functions that need them (see optim.py).

STUDY = Study(
    name="sac",
    source="seed 000 thesis §9.2.2 / Figs. 11–12: SAC with an MLP vs an AttentionSplit actor",
    axes=("env", "mode", "actor"),
    published=("final_reward", "max_reward"),
    metrics=(
        Metric(
            "final_reward",
            "mean per-step training reward over the last kept points (the thesis kept one "
            "1,000-step mean in every keep_every)",
        ),
        Metric("final_eval", "deterministic evaluation return of the last evaluations"),
        Metric("max_reward", "maximum per-step training reward over the kept points"),
        Metric("steps", "environment steps trained", compared=False),
    ),
    jobs=(
        Job(
            "train_sac",
            "runs",
            ("env", "mode", "actor"),
            "attnmem.train.sac:train",
            files=("actor.pt",),
        ),
    ),
    figures=(
        Figure(
            "attnmem.plots.sac:draw_reward",
            "reward",
            ("curves",),
            "Mean per-step training reward (thesis Figs. 11–12's metric, one point per "
            "reward_every steps) of the MLP and AttentionSplit actors, 95% t-band over seeds; "
            "one column per mode run: faithful (both agents as they ran, bugs included, "
            "OrthAdam), clean (the thesis's agents with the bugs fixed, identical warm-up and "
            "critics), reference (textbook SAC, Tianshou's settings, for the engine check). "
            "Dotted: the thesis's late-run mean (v4 environments, 1.47M / 1M steps).",
        ),
        Figure(
            "attnmem.plots.sac:draw_eval_return",
            "eval_return",
            ("curves",),
            "Return of a deterministic evaluation episode (tanh of the mean action, no dropout) "
            "every eval_every steps, 95% t-band over seeds; one column per mode run. The "
            "thesis reported no evaluation episodes; the reference mode's published curves "
            "(anchors.md) are its claims' rows.",
        ),
    ),
    budget_metric="steps",
    # 3,000 steps, 2,000 of them updating (a paper run warms up for 256-10,000 of its 1-1.47M)
    probe=(
        ("steps", 3000),
        ("warmup", 1000),
        ("eval_every", 1000),
        ("final_points", 1),
        ("log_every", 1000),
    ),
    run_columns=("final_reward", "final_eval", "max_reward", "episodes", "steps"),
    curve_rows=("metric", ("reward", "return")),
    choices=(
        ("env", "attnmem.train.sac:ENVS"),
        ("mode", "attnmem.rl.sac:MODES"),
        ("actor", "attnmem.rl.sac:ACTORS"),
    ),
    per_value=(("steps", "env"),),
    # SAC runs are hours at paper scale (there: --group-components sac_train=1)
    slurm_bundle=4,
)
AXES = STUDY.axes


def make_run(job: str, settings: Mapping[str, Any], cell: Mapping[str, str], seed: int):
    """The SACRun of one cell and seed under the study's ``run:`` settings."""
    from attnmem.rl.sac import SACSettings
    from attnmem.run import split_settings
    from attnmem.train.sac import SACRun

    env, mode, actor = cell["env"], cell["mode"], cell["actor"]
    # steps and warmup are given per env and per mode and actor
    agent_settings, loop = split_settings(settings, SACSettings, SACRun, rest=("steps", "warmup"))
    warmup = settings["warmup"]
    if mode == "reference":  # a textbook agent: its settings are fixed, not the thesis's
        agent = SACSettings.reference(actor)
    else:
        agent = SACSettings(
            mode=mode,  # type: ignore[arg-type]
            actor=actor,
            warmup=int(warmup["faithful"][actor] if mode == "faithful" else warmup["clean"]),
            **agent_settings,
        )
    return SACRun(
        env=env,
        seed=int(seed),
        sac=agent,
        steps=int(settings["steps"][env]),
        **loop,
    )


def write_tables(t: TableInputs) -> None:
    """Final per-step training reward and evaluation return per cell beside the thesis's run."""
    import pandas as pd

    from attnmem.tables import estimate

    summary = t.table("summary").set_index([*AXES, "metric"])
    pub = t.published_values().set_index(list(AXES))
    rows = []
    for cell in dict.fromkeys(key[:3] for key in summary.index):
        row = dict(zip(("env", "mode", "actor"), cell, strict=True))
        for metric, label in (
            ("final_reward", "reward/step (final)"),
            ("max_reward", "reward/step (max)"),
            ("final_eval", "eval return (final)"),
        ):
            row[label] = estimate(summary.loc[(*cell, metric)], ".3f")
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
    t.save(pd.DataFrame(rows), caption)
