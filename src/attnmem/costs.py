"""What the studies' jobs cost, measured from a finished run's ``benchmark:`` files.

The claims project from this table what an undecided claim would take in CPU-hours.  It lives in
a committed file (config/costs.yaml), not in the run being judged, so that claims.csv and
claims.md stay byte-identical across reruns (DESIGN.md): a benchmark file's seconds differ
every time.  Refresh it after a run on the machine whose costs you want:

    python -m attnmem.costs results config/config.yaml config/costs.yaml

or, to add the cells another config ran (a longer run of one cell) to the table, and the
cells a cost probe ran (``make probe``, ``attnmem.probe``) where the table has none:

    python -m attnmem.costs other_results other.yaml config/costs.yaml --merge
    python -m attnmem.costs results_probe results_probe/probe.yaml config/costs.yaml --fill

Each job's core-seconds (Snakemake's ``s``, its wall time, times the threads it held) go to the
runs it trained: a per-seed job's to its seed, a job that trains every seed of a cell shared
among them, and a job several cells share (a DQN teacher behind three predictors) shared among
those.
"""

from __future__ import annotations

import platform
import re
import sys
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

_SEED = re.compile(r"^seed(\d+)$")


def flat(block: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """A run block's numeric settings under dotted keys (epochs.mnist28, dqn.steps)."""
    out: dict[str, float] = {}
    for key, value in block.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out |= flat(value, f"{name}.")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = float(value)
    return out


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def study_costs(
    results: Path,
    study: str,
    axes: list[str],
    budget_metric: str | None,
    run: Mapping,
    threads: int = 1,
) -> dict[str, Any] | None:
    """One study's measured cost per run (median) and per cell, with the budget it ran at: a
    job's wall seconds times the ``threads`` it held (a plasticity job runs its seeds on 2)."""
    import pandas as pd

    runs_csv, bench = results / study / "runs.csv", results / study / "benchmarks"
    if not runs_csv.exists() or not bench.is_dir():
        return None
    runs = pd.read_csv(runs_csv, dtype=dict.fromkeys(axes, str))
    keys = [(tuple(str(r[a]) for a in axes), int(r["seed"])) for _, r in runs.iterrows()]
    spent = dict.fromkeys(keys, 0.0)
    for path in sorted(bench.rglob("*.tsv")):
        parts = list(path.relative_to(bench).with_suffix("").parts)
        seed = next((int(m[1]) for p in parts if (m := _SEED.match(p))), None)
        names = {p for p in parts if not _SEED.match(p)}
        owners = [
            (cell, s)
            for cell, s in keys
            if (seed is None or s == seed) and names - {"runs", "teachers"} <= set(cell)
        ]
        if not owners:
            continue  # a job no summarised run depends on (atman's reference MLP)
        seconds = float(pd.read_csv(path, sep="\t")["s"].iloc[0]) * threads
        for owner in owners:
            spent[owner] += seconds / len(owners)
    by_cell: dict[str, list[float]] = {}
    budget_of: dict[str, list[float]] = {}
    for (cell, _seed), seconds in spent.items():
        by_cell.setdefault("/".join(cell), []).append(seconds)
    if budget_metric is not None and budget_metric in runs.columns:
        for _, r in runs.iterrows():
            if pd.notna(r[budget_metric]):
                key = "/".join(str(r[a]) for a in axes)
                budget_of.setdefault(key, []).append(float(r[budget_metric]))
    cells = {
        key: {"cpu_s": round(_median(v), 1)}
        | ({"budget": _median(budget_of[key])} if key in budget_of else {})
        for key, v in sorted(by_cell.items())
    }
    every = [s for v in by_cell.values() for s in v]
    budgets = [b for v in budget_of.values() for b in v]
    return {
        "cpu_s": round(_median(every), 1),
        **({"budget": _median(budgets)} if budgets else {}),
        "run": flat(run),
        "cells": cells,
    }


def measure(results: str | Path, config: Mapping[str, Any]) -> dict[str, Any]:
    """Every configured study's costs, with where and when they were measured."""
    from attnmem.studies import REGISTRY

    table: dict[str, Any] = {
        "_about": {
            "measured": date.today().isoformat(),
            "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
            "note": "core-seconds: a job's wall seconds (Snakemake benchmark 's') x its threads",
        }
    }
    for name, block in config["studies"].items():
        study = REGISTRY[name]
        costs = study_costs(
            Path(results),
            name,
            list(study.axes),
            study.budget_metric,
            block["run"],
            block.get("resources", {}).get("threads", 1),
        )
        if costs is not None:
            if config.get("probe"):  # short runs: the claims say their projection is rough
                costs["cells"] = {k: {**c, "probe": True} for k, c in costs["cells"].items()}
            table[name] = costs
    return table


def read(path: str | Path, registry: Mapping[str, Any]) -> dict[str, Any]:
    """config/costs.yaml as the claims project from it: each study's measured table with the
    settings whose product its jobs' work grows with (``Study.cost_products``, from code, not
    measured: so it is added here and never written to the file)."""
    import yaml

    table = yaml.safe_load(Path(path).read_text()) or {}
    return {
        name: {**costs, "products": [list(p) for p in registry[name].cost_products]}
        if name in registry and isinstance(costs, Mapping)
        else costs
        for name, costs in table.items()
    }


def merge(old: Mapping[str, Any], new: Mapping[str, Any], replace: bool = True) -> dict[str, Any]:
    """``old`` with the cells ``new`` measured put in (another config's cells, a probe's): a
    cell measured under run settings other than its study's keeps its own ``run``, so a
    projection scales from what that cell ran.  ``replace=False`` adds only the cells ``old``
    lacks: a probe's short run does not overwrite a full one."""
    table = {**old, "_about": {**old.get("_about", {}), **new["_about"]}}
    for name, costs in new.items():
        if name == "_about":
            continue
        if name not in old:
            table[name] = costs
            continue
        study = {**old[name], "cells": dict(old[name].get("cells", {}))}
        for key, cell in costs["cells"].items():
            if not replace and key in study["cells"]:
                continue
            own = costs["run"] != study.get("run")
            study["cells"][key] = {**cell, **({"run": costs["run"]} if own else {})}
        table[name] = study
    return table


def main(argv: list[str]) -> None:
    """``python -m attnmem.costs RESULTS CONFIG OUT [--merge | --fill]``: with --merge, OUT
    keeps the cells RESULTS did not run; with --fill, OUT gains only the cells it lacks."""
    import yaml

    flags = {a for a in argv if a.startswith("--")}
    results, config_path, out = [a for a in argv if not a.startswith("--")]
    config = yaml.safe_load(Path(config_path).read_text())
    table = measure(results, config)
    if flags & {"--merge", "--fill"} and Path(out).exists():
        old = yaml.safe_load(Path(out).read_text()) or {}
        table = merge(old, table, replace="--fill" not in flags)

    class Plain(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True  # each cell's settings written out, not as a YAML alias

    Path(out).write_text(
        "# Measured job costs (python -m attnmem.costs; see src/attnmem/costs.py).\n"
        + yaml.dump(table, Dumper=Plain, sort_keys=True, width=100)
    )


if __name__ == "__main__":
    main(sys.argv[1:])
