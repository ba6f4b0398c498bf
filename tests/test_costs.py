"""config/costs.yaml: what a run's benchmark files say its jobs cost, in core-seconds."""

from __future__ import annotations

from pathlib import Path

from attnmem.costs import study_costs


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
