"""The plasticity study (seed003): config -> curriculum runs -> Table 1, curves, comparisons."""

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

STUDY = "plasticity"
AXES = tuple(STUDY_AXES[STUDY])
METRICS = ("r_conv", "r_reached", "gen_accuracy", "sequences")
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


def make_run(settings: Mapping[str, Any], network: str, size: int, seed: int):
    """The PlasticityRun of one cell and seed under the study's config section."""
    from attnmem.train.plasticity import PlasticityRun

    keys = (
        "mode",
        "batch",
        "lr",
        "acc_threshold",
        "acc_num",
        "stage_cap",
        "total_cap",
        "max_r",
        "eta",
        "test_r_max",
        "test_sequences",
        "test_min_scenes",
        "test_scenes_per_r",
        "log_every",
    )
    task = settings.get("task", {})
    return PlasticityRun(
        network=network,
        size=int(size),
        seed=int(seed),
        **{k: settings[k] for k in keys if k in settings},
        **{k: task[k] for k in ("d", "frames", "var") if k in task},
    )


def comparison_specs(
    settings: Mapping[str, Any], claims: Iterable[Mapping[str, Any]]
) -> list[dict[str, str]]:
    """The configured comparisons plus every pair a plasticity claim names."""
    return study_comparisons(STUDY, settings, claims)


def aggregate_study(
    run_dirs: Iterable[str | Path],
    specs: list[dict[str, str]],
    stats: Mapping[str, Any],
    out: Mapping[str, str | Path],
) -> None:
    """Write runs.csv, stages.csv, summary.csv, curves.csv and comparisons.csv.

    R is an integer, so its intervals are percentile bootstraps over seeds (summary: boot_low /
    boot_high of the mean; comparisons: of the paired mean difference), beside median and range.
    """
    run_dirs = list(run_dirs)
    runs = aggregate.load_runs(run_dirs, AXES)
    per_run, stages = [], []
    for directory in map(Path, run_dirs):
        final = json.loads((directory / "final.json").read_text())
        cell = {a: str(final["config"][a]) for a in AXES}
        seed = int(final["config"]["seed"])
        per_run.append(
            {
                **cell,
                "seed": seed,
                "status": final["status"],
                **{m: final["metrics"].get(m) for m in METRICS},
                "mode": final["config"]["mode"],
            }
        )
        done = 0
        for stage in final["metrics"]["stages"]:
            done += stage["sequences"]
            stages.append({**cell, "seed": seed, **stage, "cumulative": done})
    confidence, n_boot, rng = stats["confidence"], stats["n_resamples"], stats["random_state"]
    aggregate.write_table(out["runs"], pd.DataFrame(per_run).sort_values([*AXES, "seed"]))
    stage_columns = [*AXES, "seed", "r", "sequences", "converged", "cumulative"]
    aggregate.write_table(out["stages"], pd.DataFrame(stages, columns=stage_columns))
    summary = aggregate.summarise(runs, AXES, METRICS, confidence, n_boot, rng)
    summary = _percentile_for_integers(summary, runs, confidence, n_boot, rng)
    aggregate.write_table(out["summary"], summary)
    generalisation = [
        aggregate.RunResult(r.cell, r.seed, r.status, r.metrics, _split(r.curve, "generalisation"))
        for r in runs
    ]
    aggregate.write_table(out["curves"], aggregate.curves(generalisation, AXES, confidence))
    aggregate.write_table(
        out["comparisons"],
        aggregate.comparisons(runs, AXES, specs, METRICS[:3], confidence, (n_boot, rng)),
    )


def _split(curve: pd.DataFrame, split: str) -> pd.DataFrame:
    return curve[curve["split"] == split]


def _percentile_for_integers(summary, runs, confidence, n_resamples, random_state):
    """Replace BCa by percentile bootstrap intervals for the integer metrics (R)."""
    from attnmem.stats.compare import percentile_interval

    summary = summary.copy()
    for index, row in summary.iterrows():
        if row["metric"] not in ("r_conv", "r_reached"):
            continue
        cell = tuple(str(row[a]) for a in AXES)
        values = [
            float(r.metrics[row["metric"]]) for r in runs if r.cell == cell and r.status == "ok"
        ]
        summary.loc[index, ["boot_low", "boot_high"]] = percentile_interval(
            values, confidence, n_resamples, random_state
        )
    return summary


def published_grid(published: Mapping[str, Any]) -> pd.DataFrame:
    """The report's Table 1 as rows (network, size, max_r)."""
    values = published.get(STUDY, {}).get("values", {})
    rows = [
        {"network": network, "size": str(size), "max_r": cell["max_r"]}
        for network, sizes in values.items()
        for size, cell in sizes.items()
    ]
    return pd.DataFrame(rows, columns=["network", "size", "max_r"])


def write_tables(
    summary_csv: str | Path, published: Mapping[str, Any], markdown: str | Path, latex: str | Path
) -> None:
    """Table 1 replicated: median [range] of R_conv and R_reached per cell beside Max R."""
    from attnmem.tables import to_latex, to_markdown

    summary = pd.read_csv(summary_csv, dtype={"size": str})
    grid = published_grid(published).set_index(["network", "size"])["max_r"]
    rows = []
    for (network, size), cell in summary.groupby(["network", "size"], sort=False):
        by_metric = cell.set_index("metric")
        row = {"network": network, "size": size}
        for metric, label in (("r_conv", "R_conv"), ("r_reached", "R_reached")):
            m = by_metric.loc[metric]
            row[label] = f"{m['median']:g} [{m['min']:g}, {m['max']:g}] ({int(m['n'])})"
        row["published Max R"] = (
            f"{grid[(network, size)]:g}" if (network, size) in grid.index else "–"
        )
        gen = by_metric.loc["gen_accuracy"]
        row["generalisation acc."] = f"{gen['mean']:.3f}"
        rows.append(row)
    order = {name: i for i, name in enumerate(TABLE_ORDER)}
    table = pd.DataFrame(rows)
    table = table.sort_values(
        ["size", "network"], key=lambda c: c.map(order) if c.name == "network" else c.astype(int)
    )
    caption = (
        "plasticity study: R_conv (last converged stage) and R_reached (the report's Max R), "
        "median [range] (seeds) over the configured budget, beside the report's single run"
    )
    files.write_text(markdown, to_markdown(table, caption))
    files.write_text(latex, to_latex(table, caption, "tab:plasticity"))


def plot_progress(runs_csv: str | Path, stages_csv: str | Path, png: str | Path) -> None:
    from attnmem.plots import plasticity as plots

    runs = pd.read_csv(runs_csv, dtype={"size": str})
    plots.r_vs_sequences(runs, pd.read_csv(stages_csv, dtype={"size": str}), png)


def plot_grid(summary_csv: str | Path, published: Mapping[str, Any], png: str | Path) -> None:
    from attnmem.plots import plasticity as plots

    plots.table_heatmaps(
        pd.read_csv(summary_csv, dtype={"size": str}), published_grid(published), TABLE_ORDER, png
    )


def plot_generalisation(curves_csv: str | Path, png: str | Path) -> None:
    from attnmem.plots import plasticity as plots

    plots.generalisation(pd.read_csv(curves_csv, dtype={"size": str}), TABLE_ORDER, png)


def plot_mechanism(
    run_dir: str | Path, pngs: Mapping[str, str | Path], window: int = 48, seed: int = 0
) -> None:
    """Weights, η, hidden activity, P(t) and effective weights of one trained Memo network."""
    import torch

    from attnmem.data.familiarity import generate, train_length
    from attnmem.models.plastic import build_network
    from attnmem.plots import plasticity as plots

    run_dir = Path(run_dir)
    final = json.loads((run_dir / "final.json").read_text())
    config = final["config"]
    model = build_network(config["network"], int(config["size"]), config["d"], config["eta"])
    model.load_state_dict(torch.load(run_dir / "model.pt"))
    r = max(1, int(final["metrics"]["r_reached"]))
    seqs = generate(
        1, train_length(r), r, torch.Generator().manual_seed(seed), config["d"], config["frames"]
    )
    trace: list = []
    with torch.no_grad():
        outputs = model(seqs.frames, trace=trace)[0]
    start = config["frames"] * r
    frames = range(start, min(start + window, outputs.numel()))
    title = f"{config['network']} size {config['size']}, seed {config['seed']}, at R={r}"
    plots.mechanism(model, trace, outputs, seqs.total_target[0], frames, title, pngs)
