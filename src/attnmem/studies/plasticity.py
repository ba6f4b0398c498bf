"""The plasticity study (seed003): config -> curriculum runs -> Table 1, curves, comparisons."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attnmem.columns import Estimate, Field, Published, Table
from attnmem.studies.base import Figure, Job, Metric, Study

if TYPE_CHECKING:
    pass

# Torch, pandas and matplotlib are imported inside the functions that need them (see optim.py).

#: Table 1's column order (report of seed 003), then the HebbFF control.
TABLE_ORDER = (
    "fc_M",
    "nonl_M",
    "dyn_MM",
    "dyn_MA",
    "memo_MM",
    "memo_MA",
    "fc_A",
    "nonl_A",
    "dyn_AM",
    "dyn_AA",
    "memo_AM",
    "memo_AA",
    "stack_MA",
    "hebbff",
)

TABLE = Table(
    caption=(
        "plasticity study: R_conv (last converged stage) and R_reached (the report's Max R), "
        "median [range] (seeds) over the configured budget, beside the report's single run"
    ),
    columns=(
        Estimate("r_conv", "R_conv", "g", "median", ("min", "max")),
        Estimate("r_reached", "R_reached", "g", "median", ("min", "max")),
        Published("max_r", "published Max R", "g"),
        Field("gen_accuracy", "generalisation acc.", fmt=".3f"),
    ),
    order=(("size", "number"), ("network", TABLE_ORDER)),
)

STUDY = Study(
    name="plasticity",
    source="seed 003: hybrid multiplicative/additive plasticity, continual scene familiarity",
    axes=("network", "size"),
    published=("max_r",),
    metrics=(
        Metric("r_conv", "largest R whose stage converged", integer=True),
        Metric(
            "r_reached", "the report's Max R: last stage started within the budget", integer=True
        ),
        Metric("gen_accuracy", "final model's mean accuracy over test intervals 1..test_r_max"),
        *(
            Metric(
                f"r_at_{k}k",
                f"R the curriculum was training at after {k},000 sequences (the report's step "
                "plot at that x)",
                integer=True,
            )
            for k in (100, 250)
        ),
        Metric(
            "r_stalled",
            "HebbFF's R_max: the R of the first stage that hit its cap unconverged (else the "
            "current stage)",
            integer=True,
        ),
        Metric("stall_sequences", "sequences the r_stalled stage ran for", compared=False),
        *(
            Metric(
                f"gen_acc_{k}rmax",
                f"accuracy at test R = {k or 1}·r_stalled, of the model as it stalled",
            )
            for k in ("", "2", "4")
        ),
        Metric("sequences", "training sequences used", compared=False),
    ),
    jobs=(
        Job(
            "train_plasticity",
            "runs",
            ("network", "size"),
            "attnmem.train.plasticity:train_cell",
            files=("model.pt",),
            all_seeds=True,
        ),
    ),
    figures=(
        Figure(
            "attnmem.plots.plasticity:draw_progress",
            "r_vs_sequences",
            ("runs", "stages"),
            'The report\'s step plot (Fig. "all_p"): the repeat interval R the curriculum is '
            "training at, against training sequences, one line per network (median over seeds; "
            "band: the seeds' range), one panel per size.  A stage ends after 5 consecutive "
            "sequences at ≥ 99% accuracy or at the stage cap.  In ``batched`` mode each Adam step "
            "trains several sequences; the x axis still counts sequences, as the source (one "
            "sequence per step) counted iterations.  Stars: the report's step plot read at the "
            "source's iteration counts (Memo M_A 50/50 at R = 14 by ~1e5, Dyn M_A 50/50 at R = 13 "
            "by ~2.5e5; the claims plasticity.step_plot.*).",
        ),
        Figure(
            "attnmem.plots.plasticity:draw_table1",
            "table1",
            ("summary",),
            "Table 1 of the report as heatmaps: the published Max R (one unseeded run, ~5e6 "
            "sequences) above the replicated median R_reached (the same metric, under this "
            "config's budget) and the median R_conv (last converged stage).  Grey: not run or not "
            "published.  Compare the budgets before the numbers: see config/README.md.",
        ),
        Figure(
            "attnmem.plots.plasticity:draw_generalisation",
            "generalisation",
            ("curves",),
            "Generalisation of each final model (spec seed003 §6.1): accuracy, true-positive rate "
            "and false-positive rate on fresh sequences at test intervals R = 1..max(test_r_max, "
            '2·R_conv), mean over seeds with a 95% t-band.  Always answering "novel" scores '
            "about 2/3 (dashed line).",
        ),
        *(
            Figure(
                "attnmem.plots.plasticity:draw_mechanism",
                f"mechanism_{panel}",
                (),
                "The trained network of the config's ``mechanism`` cell (first seed), as the "
                "report drew Memo [50,50] M_A: static weights W, learned rates η and decays σ(ℓ); "
                "hidden activity over a window of frames (ticks: prediction, target; 2 = not "
                "scored); the plastic matrices P(t) on the four frames of a familiar scene; and "
                "the weights in use, W ⊙ (1 + P) (the true effective weight under M) beside "
                "W ⊙ P (what the source plotted).  Matrices are centred at 0 and clipped to "
                f"mean ± 2 sd.  This panel: {panel}.",
                cell_key="mechanism",
                run_files=("final.json", "model.pt"),
            )
            for panel in ("weights", "hidden", "plastic", "effective")
        ),
    ),
    extra_tables=("stages",),
    budget_metric="sequences",
    # a few thousand sequences (R stays low, so a lower bound at a paper run's R of 10-14) and a
    # token generalisation test, which a short run would otherwise spend most of its time on
    probe=(
        ("total_cap", 3000),
        ("test_r_max", 2),
        ("test_sequences", 1),
        ("test_min_scenes", 50),
        ("test_scenes_per_r", 10),
        ("log_every", 500),
    ),
    config_columns=("mode",),
    curve_rows=("split", ("generalisation",)),
    paired_interval="percentile",
    choices=(("network", "attnmem.models.plastic:NETWORKS"),),
    # short at default budgets (~15 s); days long at paper scale (paper.yaml: one per
    # submission, --group-components plasticity_train=1)
    slurm_bundle=14,
    table=TABLE,
)
AXES = STUDY.axes
METRICS = STUDY.metric_names


#: The step plot's published points: the report's R at 1e5 and 2.5e5 iterations.
STEP_PLOT_METRICS = ("r_at_100k", "r_at_250k")


def make_run(job: str, settings: Mapping[str, Any], cell: Mapping[str, str], seed: int):
    """The PlasticityRun of one cell and seed under the study's ``run:`` settings."""
    from dataclasses import replace

    from attnmem.run import split_settings
    from attnmem.train.curriculum import Curriculum
    from attnmem.train.plasticity import CURRICULUM, PlasticityRun

    task = settings.get("task", {})
    chosen, own = split_settings(settings, Curriculum, PlasticityRun, rest=("task",))
    if isinstance(chosen.get("convergence"), Mapping):  # per network, with a default
        rules = chosen["convergence"]
        chosen["convergence"] = rules.get(cell["network"], rules["default"])
    if isinstance(chosen.get("total_cap"), Mapping):  # per cell or network, with a default
        caps = chosen["total_cap"]
        chosen["total_cap"] = caps.get(
            f"{cell['network']}/{cell['size']}", caps.get(cell["network"], caps["default"])
        )
    curriculum = replace(
        CURRICULUM, **chosen, **{k: task[k] for k in ("d", "frames", "var") if k in task}
    )
    return PlasticityRun(
        network=cell["network"],
        size=int(cell["size"]),
        seed=int(seed),
        curriculum=curriculum,
        **own,
    )


def extra_table(name: str, job_dirs: Mapping[str, Sequence[str | Path]]):
    """stages.csv: sequences per curriculum stage, converged or capped, per run."""
    import pandas as pd

    from attnmem.run import read_final

    stages = []
    for directory in map(Path, job_dirs["train_plasticity"]):
        final = read_final(directory)
        cell = {a: str(final["config"][a]) for a in AXES}
        seed, done = int(final["config"]["seed"]), 0
        for stage in final["metrics"]["stages"]:
            done += stage["sequences"]
            stages.append({**cell, "seed": seed, **stage, "cumulative": done})
    columns = [*AXES, "seed", "r", "sequences", "converged", "cumulative"]
    return pd.DataFrame(stages, columns=columns)
