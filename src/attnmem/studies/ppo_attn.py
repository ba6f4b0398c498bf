"""The attention-PPO study (seed 001): config -> runs -> curves, summaries, comparisons, claims.

The source (a PPO agent with an "attention" policy on CartPole, Acrobot and MountainCar)
published no numbers, only statements: attention "helps the agent focus on the relevant parts
of the state space", and a with/without-attention ablation.  Its attention is degenerate (one
token: every weight is exactly 1, spec A.2), so the study also runs two policies whose attention
can mean something: one token per observation feature, and the last 4 observations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attnmem.columns import Estimate, Field, Table
from attnmem.studies.base import Figure, Job, Metric, Study

if TYPE_CHECKING:
    pass

# Torch, pandas and matplotlib are imported inside the functions that need them (see optim.py).

TABLE = Table(
    caption=(
        "ppo_attn study: greedy evaluation return, mean [95% t-interval] (seeds); steps to the "
        "env's threshold, right-censored at the budget, mean [95% percentile bootstrap], and "
        "the fraction of seeds that reached it; normalised area under the evaluation curve.  "
        "The source published no numbers."
    ),
    columns=(
        Estimate("final_return", "final return", ".1f"),
        Estimate("last3_return", "last-3 return", ".1f"),
        Estimate(
            "steps_to_threshold", "steps to threshold", ".0f", interval=("boot_low", "boot_high")
        ),
        Field("reached", "reached"),
        Estimate("auc", "AUC", ".3f"),
    ),
)

STUDY = Study(
    name="ppo_attn",
    source="seed 001: PPO with an attention policy vs without attention on classic control",
    axes=("env", "policy", "mode", "optimizer"),
    metrics=(
        Metric("final_return", "mean return of the last evaluation (10 greedy episodes)"),
        Metric("last3_return", "mean return of the last three evaluations"),
        Metric(
            "steps_to_threshold",
            "first evaluation step whose mean return reaches the env's threshold (475 / -100 / "
            "-110), right-censored at the budget",
            integer=True,
        ),
        Metric(
            "reached",
            "1 when an evaluation reached the threshold (its mean: the fraction of seeds)",
            integer=True,
        ),
        Metric(
            "auc",
            "area under the evaluation curve, returns scaled to [0, 1] by the env's range, "
            "divided by the steps",
        ),
        Metric("steps", "environment steps trained", compared=False),
    ),
    jobs=(
        Job(
            "train_ppo_attn",
            "runs",
            ("env", "policy", "mode", "optimizer"),
            "attnmem.train.ppo_attn:train",
        ),
    ),
    figures=(
        Figure(
            "attnmem.plots.ppo_attn:draw_curves",
            "curves_{optimizer}",
            ("curves",),
            "Greedy evaluation return (10 episodes on separately seeded environments, at step 0 "
            "and every eval_every steps) of each policy, mean and 95% t-band over seeds, with "
            "{optimizer}; rows: env, columns: the faithful loop (as published, quirks included) "
            "and the clean one.  Dotted: the env's solved threshold.",
        ),
        Figure(
            "attnmem.plots.ppo_attn:draw_steps_to_threshold",
            "steps_to_threshold",
            ("summary",),
            "Steps until an evaluation first reaches the env's threshold, mean and 95% "
            "percentile-bootstrap interval over seeds; a seed that never reaches it counts at "
            "the budget (right-censored), and the label gives the fraction that did.",
        ),
        Figure(
            "attnmem.plots.ppo_attn:draw_attention",
            "attention",
            ("attention",),
            "Mean attention weight each observation feature receives (self-attention layers, "
            "averaged over heads and queries, and the pooling), over the states of the final "
            "greedy evaluation and over seeds, for the feature-token policy; where it did not "
            "run, the published design's single token, whose every weight is exactly 1.",
        ),
    ),
    extra_tables=("attention",),
    budget_metric="steps",
    # two of a 100k-step run's 25 rollout-and-update rounds
    probe=(("steps", 8000), ("eval_every", 8000)),
    run_columns=(
        "final_return",
        "last3_return",
        "steps_to_threshold",
        "reached",
        "auc",
        "episodes",
        "steps",
    ),
    curve_rows=("metric", ("return", "episode_return")),
    choices=(
        ("env", "attnmem.rl.ppo:ENVS"),
        ("policy", "attnmem.rl.ppo_policies:POLICIES"),
        ("mode", "attnmem.rl.ppo:MODES"),
        ("optimizer", "attnmem.rl.ppo:OPTIMIZERS"),
    ),
    # a minute each at the source's 100k steps
    slurm_bundle=8,
    table=TABLE,
)
AXES = STUDY.axes

#: The observation features of each env, in the order Gymnasium gives them.
FEATURES = {
    "CartPole-v1": ("cart position", "cart velocity", "pole angle", "pole angular velocity"),
    "Acrobot-v1": ("cos θ1", "sin θ1", "cos θ2", "sin θ2", "θ1 velocity", "θ2 velocity"),
    "MountainCar-v0": ("position", "velocity"),
}


def make_run(job: str, settings: Mapping[str, Any], cell: Mapping[str, str], seed: int):
    """The PPORun of one cell and seed under the study's ``run:`` settings."""
    from attnmem.rl.ppo import PPOSettings
    from attnmem.run import split_settings
    from attnmem.train.ppo_attn import PPORun

    # weight_decay is given per optimizer
    agent, loop = split_settings(settings, PPOSettings, PPORun, rest=("weight_decay",))
    optimizer = cell["optimizer"]
    ppo = PPOSettings(
        mode=cell["mode"],  # type: ignore[arg-type]
        policy=cell["policy"],
        optimizer=optimizer,
        weight_decay=float(settings.get("weight_decay", {}).get(optimizer, 0.0)),
        **agent,
    )
    return PPORun(env=cell["env"], seed=int(seed), ppo=ppo, **loop)


def extra_table(name: str, job_dirs: Mapping[str, Sequence[str | Path]]):
    """attention.csv: per run and token, the mean attention weight it received (each
    self-attention layer, and the pooling) over the final evaluation's states."""
    import pandas as pd

    from attnmem.run import read_final

    if name != "attention":
        raise ValueError(f"the ppo_attn study has no extra table {name!r}")
    rows = []
    for directory in map(Path, job_dirs["train_ppo_attn"]):
        final = read_final(directory)
        config, profile = final["config"], final["metrics"].get("attention") or {}
        for where, weights in sorted(profile.items()):
            for token, weight in enumerate(weights):
                rows.append(
                    {
                        **{axis: config[axis] for axis in AXES},
                        "seed": int(config["seed"]),
                        "where": where,
                        "token": token,
                        "weight": weight,
                    }
                )
    columns = [*AXES, "seed", "where", "token", "weight"]
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values([*AXES, "seed", "where", "token"]).reset_index(drop=True)
