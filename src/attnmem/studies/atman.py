"""The ātmán study (seed 002): layout × spatial attention × trainer × learning rule, on sine
regression, beside a small tanh MLP the source never showed."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attnmem.columns import Estimate, Published, Table
from attnmem.studies.base import Figure, Job, Metric, Study

if TYPE_CHECKING:
    from attnmem.inputs import TableInputs

# pandas and matplotlib are imported inside the functions that need them (see optim.py); the
# training path is numpy only.

AXES = ("layout", "attention", "trainer", "rule")

#: Rows, panels and groups in the study's own order (the summaries come sorted by name).
LAYOUT_ORDER = ("basic2x5", "basic3x5", "arrow5x5")
TRAINER_ORDER = ("single", "children", "genetic", "genetic_elitist")
RULE_ORDER = ("faithful", "true_grad")

TABLE = Table(
    caption=(
        "atman study: rounding accuracy (fraction of 40 test points within one-decimal "
        "rounding), test MSE and mse_auc, mean [95% t-interval] (seeds), beside the source's "
        "numbers, which are best-so-far accuracies of runs started from hand-picked checkpoints "
        "(best-of-many; ours start from N(0, 1))"
    ),
    columns=(
        Estimate("final_accuracy", "final accuracy", ".3f"),
        Estimate("best_accuracy", "best-so-far accuracy", ".3f"),
        Estimate("final_mse", "final test MSE", ".4f"),
        Estimate("mse_auc", "mse_auc", ".4f"),
        Published("best_accuracy", "published (best-of-many)", ".3f"),
    ),
    order=(
        ("layout", LAYOUT_ORDER),
        ("attention", ("on", "off")),
        ("trainer", TRAINER_ORDER),
        ("rule", RULE_ORDER),
    ),
    extra_rows="attnmem.studies.atman:reference_rows",
)

STUDY = Study(
    name="atman",
    source="seed 002 (ātmán): spatial attention in a moving DAG of scalar neurons, sine regression",
    axes=AXES,
    published=("best_accuracy",),
    metrics=(
        Metric(
            "final_accuracy",
            "rounding accuracy (round(ŷ, 1) = round(y, 1) on 40 test points) of the network the "
            "trainer hands back, after its last update",
        ),
        Metric(
            "best_accuracy",
            "best-so-far rounding accuracy over every network and iteration (the source's "
            "max_accuracy; optimistic: selected on the test points)",
        ),
        Metric("final_mse", "test mean squared error of the network handed back"),
        Metric("best_mse", "lowest test mean squared error of any network at any iteration"),
        Metric("final_r2", "test R² of the network handed back"),
        Metric(
            "mse_auc",
            "efficiency: mean over iterations of the lowest test MSE reached so far (lower: "
            "good sooner)",
        ),
        Metric("iterations", "iterations each network trained", compared=False),
        Metric("child_steps", "network-iterations spent in all", compared=False),
    ),
    jobs=(
        Job(
            "train_atman_reference",
            "reference",
            (),
            "attnmem.train.atman:train_reference",
            files=("network.json",),
            all_seeds=True,
        ),
        Job(
            "train_atman",
            "runs",
            AXES,
            "attnmem.train.atman:train",
            files=("network.json",),
            all_seeds=True,
        ),
    ),
    figures=(
        Figure(
            "attnmem.plots.atman:draw_accuracy",
            "accuracy",
            ("summary", "reference"),
            "Rounding accuracy per cell: final (left, the network each trainer hands back) and "
            "best-so-far (right, the source's number), mean and 95% BCa bootstrap interval over "
            "seeds, attention on (filled) and off (open), one row per layout.  Stars: the "
            "source's 62.5% (basic3x5, genetic, attention off) and ~45% (basic2x5, children, "
            "attention on), both best-of-many runs started from hand-picked checkpoints.  Grey "
            "band: the 1-16-16-1 tanh MLP (Adam) on the same data.",
        ),
        Figure(
            "attnmem.plots.atman:draw_mse",
            "mse",
            ("summary", "reference"),
            "Test MSE per cell (log scale): final (left) and the efficiency measure mse_auc "
            "(right: mean over iterations of the lowest MSE reached so far), mean and 95% BCa "
            "bootstrap interval over seeds, attention on (filled) and off (open).  Grey band: "
            "the 1-16-16-1 tanh MLP (Adam).",
        ),
        *(
            Figure(
                "attnmem.plots.atman:draw_fit",
                "fit_{layout}",
                ("runs", "fits"),
                "Fitted curves of layout {layout} against the target (sin x + 1)/2 on the 40 "
                "test points: per trainer (columns) and rule (rows), the seed with the median "
                "final MSE of each attention setting, and the median MLP seed (grey, dashed).",
            ),
        ),
        Figure(
            "attnmem.plots.atman:draw_network",
            "network",
            (),
            "One trained network (the config's ``network`` cell, first seed): node positions "
            "at initialisation (left) and after training (right), edges shaded by the absolute "
            "weight (darker: larger), node colour by activation.  Positions move only with "
            "attention on; the input node never moves.",
            cell_key="network",
            run_files=("network.json",),
        ),
    ),
    extra_tables=("reference", "fits"),
    budget_metric="iterations",
    run_columns=(
        "final_accuracy",
        "best_accuracy",
        "final_mse",
        "best_mse",
        "final_r2",
        "mse_auc",
        "iterations",
        "child_steps",
        "generations",
        "pruned",
    ),
    curve_rows=("metric", ("best_accuracy", "best_mse")),
    choices=(
        ("layout", "attnmem.models.atman:LAYOUTS"),
        ("attention", "attnmem.train.atman:ATTENTION"),
        ("trainer", "attnmem.train.atman:TRAINERS"),
        ("rule", "attnmem.models.atman:RULES"),
    ),
    # a job trains a whole cell in seconds to a minute or two
    slurm_bundle=20,
    cost_products=(("generations", "genetic_children"),),
    table=TABLE,
)
METRICS = STUDY.metric_names


def make_run(job: str, settings: Mapping[str, Any], cell: Mapping[str, str], seed: int):
    """The AtmanRun (or ReferenceRun) of one cell and seed under the study's ``run:`` block."""
    from attnmem.run import split_settings
    from attnmem.train.atman import AtmanRun, ReferenceRun

    if job == "train_atman_reference":
        reference = settings.get("reference", {})
        return ReferenceRun(seed=int(seed), **reference)
    (trainers,) = split_settings(settings, AtmanRun, rest=("reference",))
    return AtmanRun(**{axis: str(cell[axis]) for axis in AXES}, seed=int(seed), **trainers)


def extra_table(name: str, job_dirs: Mapping[str, Sequence[str | Path]]):
    """reference.csv: the MLP's metrics per seed; fits.csv: every run's test predictions."""
    import pandas as pd

    from attnmem.run import read_final

    if name == "reference":
        rows = []
        for directory in map(Path, job_dirs["train_atman_reference"]):
            final = read_final(directory)
            rows.append(
                {"seed": final["config"]["seed"], "status": final["status"], **final["metrics"]}
            )
        return pd.DataFrame(rows).sort_values("seed", kind="stable")
    if name != "fits":
        raise ValueError(f"the atman study has no table {name!r}")
    rows = []
    sources = [("train_atman_reference", "mlp"), ("train_atman", "atman")]
    for job, model in sources:
        for directory in map(Path, job_dirs[job]):
            config = read_final(directory)["config"]
            net = json.loads((directory / "network.json").read_text())
            cell = {a: str(config.get(a, "")) for a in AXES}
            for x, y, p in zip(net["x_test"], net["y_test"], net["prediction"], strict=True):
                rows.append(
                    {
                        "model": model,
                        **cell,
                        "seed": config["seed"],
                        "x": x,
                        "y": y,
                        "prediction": p,
                    }
                )
    return pd.DataFrame(rows, columns=["model", *AXES, "seed", "x", "y", "prediction"])


def reference_rows(t: TableInputs) -> list[dict[str, str]]:
    """The 1-16-16-1 tanh MLP beside the grid: each estimate column's mean over its seeds."""
    reference = t.table("reference")
    ok = reference[reference.status == "ok"]
    if not len(ok):
        return []
    row = dict.fromkeys(AXES, "–") | {"layout": "MLP 1-16-16-1 (Adam)"}
    for column in TABLE.columns:
        if isinstance(column, Estimate):
            row[column.label] = f"{ok[column.metric].mean():{column.fmt}} (n={len(ok)})"
        else:
            row[column.label] = "–"
    return [row]
