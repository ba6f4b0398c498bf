"""The SAC study (thesis Figs. 11–12): config -> runs -> curves, summaries, comparisons."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from attnmem.columns import Estimate, Published, Table
from attnmem.studies.base import Figure, Job, Metric, Study

if TYPE_CHECKING:
    pass

# Torch, pandas and matplotlib are imported inside the functions that need them (see optim.py).

TABLE = Table(
    caption=(
        "sac study: mean per-step training reward (the thesis's metric; last points of the run) "
        "and deterministic evaluation return, mean [95% t-interval] (seeds), beside the thesis's "
        "single run (v4 environments; HalfCheetah at 1.47M steps, Walker2d at 1M)"
    ),
    columns=(
        Estimate("final_reward", "reward/step (final)", ".3f"),
        Estimate("max_reward", "reward/step (max)", ".3f"),
        Estimate("final_eval", "eval return (final)", ".3f"),
        Published("final_reward", "published final reward"),
        Published("max_reward", "published max reward"),
    ),
)

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
    # the probe's warm-up as short as a batch: at 1,000 of 3,000 steps a third of its steps
    # were updateless, and the projection to millions of steps (nearly all updates) ~1/3 low
    probe=(
        ("steps", 3000),
        ("warmup", 256),
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
    table=TABLE,
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
