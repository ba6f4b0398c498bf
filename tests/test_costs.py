"""config/costs.yaml: what a run's benchmark files say its jobs cost, in core-seconds."""

from __future__ import annotations

from pathlib import Path

from attnmem.costs import merge, study_costs


def _bench(path: Path, seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"s\th:m:s\tcpu_time\n{seconds}\t0:00:00\t1.0\n")


def test_a_job_of_every_seed_shares_its_core_seconds_among_them(tmp_path):
    """A plasticity job trains a cell's seeds on 2 threads: 100 s of wall is 200 core-s, 100
    per seed of its two; a per-seed job of another cell counts its own seconds."""
    study = tmp_path / "plasticity"
    study.mkdir()
    (study / "runs.csv").write_text(
        "network,size,seed,sequences\nmemo_MA,100,0,1000\nmemo_MA,100,1,1000\n"
        "fc_M,50,0,500\nfc_M,50,1,500\n"
    )
    _bench(study / "benchmarks" / "memo_MA" / "100.tsv", 100.0)
    _bench(study / "benchmarks" / "fc_M" / "50" / "seed0.tsv", 10.0)
    _bench(study / "benchmarks" / "fc_M" / "50" / "seed1.tsv", 30.0)
    costs = study_costs(tmp_path, "plasticity", ["network", "size"], "sequences", {}, threads=2)
    assert costs["cells"]["memo_MA/100"] == {"cpu_s": 100.0, "budget": 1000.0}
    assert costs["cells"]["fc_M/50"] == {"cpu_s": 40.0, "budget": 500.0}
    one = study_costs(tmp_path, "plasticity", ["network", "size"], "sequences", {})
    assert one["cells"]["memo_MA/100"]["cpu_s"] == 50.0


def test_a_merge_keeps_the_cells_it_did_not_measure_and_each_cells_settings():
    """A longer run of one cell (or a probe) goes into the table beside the default's cells;
    measured under other settings, it keeps them, so its projection scales from what it ran."""
    old = {
        "_about": {"measured": "2026-12-01"},
        "plasticity": {
            "cpu_s": 50.0,
            "run": {"total_cap": 10000.0},
            "cells": {"fc_M/50": {"cpu_s": 40.0}, "memo_MA/100": {"cpu_s": 90.0}},
        },
    }
    new = {
        "_about": {"measured": "2026-12-05"},
        "plasticity": {
            "cpu_s": 310.0,
            "run": {"total_cap": 100000.0},
            "cells": {"memo_MA/100": {"cpu_s": 310.0, "budget": 1e5}},
        },
        "sac": {"cpu_s": 400.0, "run": {}, "cells": {"H/reference/mlp": {"cpu_s": 400.0}}},
    }
    table = merge(old, new)
    cells = table["plasticity"]["cells"]
    assert cells["fc_M/50"] == {"cpu_s": 40.0}
    assert cells["memo_MA/100"] == {"cpu_s": 310.0, "budget": 1e5, "run": {"total_cap": 1e5}}
    assert table["plasticity"]["run"] == {"total_cap": 10000.0}
    assert table["sac"] == new["sac"] and table["_about"]["measured"] == "2026-12-05"
    # measured under the study's own settings, a cell needs no copy of them
    same = {**new, "plasticity": {**new["plasticity"], "run": {"total_cap": 10000.0}}}
    assert "run" not in merge(old, same)["plasticity"]["cells"]["memo_MA/100"]
    # a probe's short run fills the cells the table lacks and leaves a full run's alone
    short = {"memo_MA/100": {"cpu_s": 9.0, "budget": 3000.0}, "dyn_MA/100": {"cpu_s": 8.0}}
    probe = {**new, "plasticity": {**new["plasticity"], "cells": short}}
    filled = merge(table, probe, replace=False)["plasticity"]["cells"]
    assert filled["memo_MA/100"] == cells["memo_MA/100"]
    assert filled["dyn_MA/100"] == {"cpu_s": 8.0, "run": {"total_cap": 1e5}}


def test_read_gives_each_study_the_settings_its_work_multiplies_by(tmp_path):
    """The groups are code (Study.cost_products), not measurements: read adds them, the file
    never holds them, and a study the registry does not know is left as it is."""
    from attnmem.costs import read
    from attnmem.studies import REGISTRY

    path = tmp_path / "costs.yaml"
    path.write_text("_about: {measured: '2026-12-06'}\nram: {cpu_s: 1.0, cells: {}}\nold: {}\n")
    table = read(path, REGISTRY)
    assert table["ram"]["products"] == [["train_images", "epochs", "faithful.epochs"]]
    assert table["old"] == {} and table["_about"] == {"measured": "2026-12-06"}
    assert "products" not in path.read_text()
