"""The plasticity study's run (checkpoint, resume, metrics), its aggregate and its claims."""

from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd
import pytest
import torch

from attnmem.claims import evaluate
from attnmem.models.plastic import NETWORKS, Memo, NonlRO, Stack, build_network
from attnmem.published import lookup
from attnmem.seeding import derive_seed
from attnmem.stats.aggregate import write_table
from attnmem.stats.compare import compare, percentile_interval
from attnmem.studies import study_comparisons
from attnmem.studies.plasticity import STUDY, extra_table, make_run
from attnmem.summaries import aggregate_study
from attnmem.train.curriculum import Curriculum, CurriculumState
from attnmem.train.plasticity import PlasticityRun, generalisation, train

TINY = PlasticityRun(
    network="memo_MA",
    size=8,
    seed=0,
    curriculum=Curriculum(batch=2, stage_cap=4, total_cap=10),
    test_r_max=3,
    test_sequences=2,
    test_min_scenes=12,
    test_scenes_per_r=4,
    log_every=1,
)


class Crash(Exception):
    pass


def test_every_network_builds_with_its_plastic_neuron_count():
    for name in NETWORKS:
        net = build_network(name, 50)
        assert net(torch.ones(1, 4, 25)).shape == (1, 4)
    assert [layer.weight.shape[0] for layer in build_network("memo_MA", 100).layers] == [50, 50]
    assert isinstance(build_network("nonl_M", 50), NonlRO)
    assert build_network("nonl_M", 50).memory.weight.shape == (50, 25)
    assert isinstance(build_network("stack_MA", 50), Stack)
    assert isinstance(build_network("fc_A", 50), Memo)
    with pytest.raises(ValueError, match="even"):
        build_network("dyn_MA", 51)
    with pytest.raises(ValueError, match="allowed"):
        build_network("lstm", 50)


def test_a_run_writes_its_files_and_metrics(tmp_path):
    final = train(TINY, tmp_path)
    assert final["status"] == "ok"
    metrics = final["metrics"]
    assert metrics["sequences"] == 10 and metrics["steps"] == 5
    # stage cap 4 sequences: R=1 and R=2 capped, R=3 started -> Max R 3, nothing converged
    assert [s["r"] for s in metrics["stages"]] == [1, 2]
    assert metrics["r_reached"] == 3 and metrics["r_conv"] == 0
    assert sorted(p.name for p in (tmp_path / "stages").iterdir()) == ["R1.pt", "R2.pt"]
    rows = pd.read_csv(tmp_path / "metrics.csv")
    curve = rows[rows.split == "generalisation"]
    assert sorted(curve.step.unique()) == [1, 2, 3]
    assert set(curve.metric) == {"accuracy", "tpr", "fpr"}
    assert curve.value.between(0, 1).all()
    assert set(rows[rows.split == "train"].metric) == {"loss", "accuracy", "r"}
    state = torch.load(tmp_path / "model.pt")
    build_network("memo_MA", 8).load_state_dict(state)
    assert not (tmp_path / "checkpoint.pt").exists()


def test_hebbffs_shape_is_measured_where_training_stalled(tmp_path):
    """HebbFF's R_max is the R its training stalled on; the accuracy at 1, 2 and 4 R_max comes
    from the model saved when that stage hit its cap (R1.pt here), not the final one."""
    metrics = train(TINY, tmp_path)["metrics"]
    assert (metrics["r_stalled"], metrics["stall_sequences"]) == (1, 4)
    test = TINY.test_sequences, TINY.test_min_scenes, TINY.test_scenes_per_r
    # its own test stream (derived from the seed), whatever the curve before it drew
    data = torch.Generator().manual_seed(derive_seed("plasticity", "test-data-shape", TINY.seed))
    stalled = build_network("memo_MA", 8)
    stalled.load_state_dict(torch.load(tmp_path / "stages" / "R1.pt"))
    expected = [row["accuracy"] for row in generalisation(stalled, [1, 2, 4], *test, data)]
    measured = [metrics[f"gen_acc_{k}rmax"] for k in ("", "2", "4")]
    assert measured == pytest.approx(expected, abs=1e-12)


def test_a_run_killed_mid_stage_resumes_to_the_same_bytes(tmp_path):
    train(TINY, tmp_path / "straight")

    def crash(state):
        if state.total_sequences == 6:  # mid-stage (R=2 has seen 2 of its 4 sequences)
            raise Crash

    with pytest.raises(Crash):
        train(TINY, tmp_path / "killed", checkpoint_every=1, on_step=crash)
    assert (tmp_path / "killed" / "checkpoint.pt").exists()
    assert not (tmp_path / "killed" / "final.json").exists()
    train(TINY, tmp_path / "killed", checkpoint_every=1)
    for name in ("metrics.csv", "final.json"):
        assert (tmp_path / "killed" / name).read_bytes() == (
            tmp_path / "straight" / name
        ).read_bytes()


def test_a_checkpoint_of_other_settings_is_not_resumed(tmp_path):
    with pytest.raises(Crash):
        train(TINY, tmp_path, checkpoint_every=1, on_step=lambda s: (_ for _ in ()).throw(Crash))
    other = replace(TINY, curriculum=replace(TINY.curriculum, lr=2e-3))
    final = train(other, tmp_path)
    assert final["metrics"]["sequences"] == 10
    assert final["config"]["lr"] == 2e-3


def test_runs_share_data_streams_across_networks(tmp_path):
    """Common random numbers: seed k draws the same training data for every network."""
    a = train(replace(TINY, network="memo_AA"), tmp_path / "a")
    b = train(replace(TINY, network="fc_M"), tmp_path / "b")
    ca = pd.read_csv(tmp_path / "a" / "metrics.csv")
    cb = pd.read_csv(tmp_path / "b" / "metrics.csv")
    assert a["metrics"]["sequences"] == b["metrics"]["sequences"]
    assert not ca.equals(cb)  # different networks, different numbers on the same data


def test_make_run_takes_the_config_section():
    settings = {"mode": "faithful", "batch": 1, "total_cap": 5, "task": {"d": 9, "frames": 3}}
    run = make_run("train_plasticity", settings, {"network": "memo_MA", "size": "50"}, 2)
    assert (run.network, run.size, run.seed) == ("memo_MA", 50, 2)
    c = run.curriculum
    assert (c.mode, c.total_cap, c.d, c.frames, c.var) == ("faithful", 5, 9, 3, 0.1)
    assert c.sequences_per_step == 1
    # unset keys keep the run's defaults (a batch of 16, not the bare curriculum's 32)
    assert make_run("train_plasticity", {}, {"network": "fc_M", "size": "100"}, 0).curriculum == (
        Curriculum(batch=16)
    )
    # a budget per network, with a default for the rest
    caps = {"total_cap": {"default": 6000, "hebbff": 60000}}
    runs = {n: make_run("train_plasticity", caps, {"network": n, "size": "50"}, 0)
            for n in ("hebbff", "memo_MA")}  # fmt: skip
    assert {n: r.curriculum.total_cap for n, r in runs.items()} == {
        "hebbff": 60000,
        "memo_MA": 6000,
    }


def test_hebbff_takes_hebbffs_convergence_rule_where_configured():
    settings = {"convergence": {"default": "streak", "hebbff": "hebbff"}}
    cells = {n: {"network": n, "size": "50"} for n in ("hebbff", "fc_A")}
    rules = {n: make_run("train_plasticity", settings, c, 0).curriculum.convergence
             for n, c in cells.items()}  # fmt: skip
    assert rules == {"hebbff": "hebbff", "fc_A": "streak"}


def test_curriculum_state_restores_in_place():
    state = CurriculumState()
    alias = state
    saved = CurriculumState(r=3, streak=1, stage_sequences=2, total_sequences=9).state_dict()
    saved["stages"] = [{"r": 1, "sequences": 4, "converged": False}]
    state.load_state_dict(saved)
    assert alias.r == 3 and alias.total_sequences == 9 and alias.stages == saved["stages"]
    assert alias.stages is not saved["stages"]  # a copy: the checkpoint's dict stays as saved
    assert state.state_dict() == saved


def test_percentile_interval_for_integer_r():
    low, high = percentile_interval([3, 3, 4, 5, 5], 0.95, 2000, 1)
    assert 3 <= low <= high <= 5
    assert percentile_interval([4, 4, 4]) == (4.0, 4.0)
    assert percentile_interval([1, 2], 0.95, 500, 3) == percentile_interval([1, 2], 0.95, 500, 3)
    result = compare({0: 5, 1: 6, 2: 7}, {0: 4, 1: 5, 2: 6}, 0.95, (999, 0))
    assert result["diff"] == 1 and result["diff_low"] == result["diff_high"] == 1
    assert result["p_greater"] == 1 / 8  # a constant shift over 3 seeds: the exact test's floor


def test_published_sizes_match_string_cells():
    published = {"plasticity": {"values": {"memo_MA": {100: {"max_r": 14}}}}}
    assert lookup(published, "plasticity", ["memo_MA", "100"], "max_r") == 14.0


def test_aggregate_and_claims_over_tiny_runs(tmp_path):
    dirs = []
    for network in ("memo_MA", "memo_AA"):
        for seed in (0, 1):
            d = tmp_path / "runs" / network / "8" / f"seed{seed}"
            train(replace(TINY, network=network, seed=seed), d)
            dirs.append(d)
    claims = [
        {
            "id": "m_beats_a",
            "study": "plasticity",
            "statement": "M beats A",
            "source": "test",
            "metric": "gen_accuracy",
            "compare": [
                {"axis": "network", "a": "memo_MA", "b": "memo_AA"},
                {"axis": "network", "a": "fc_M", "b": "fc_A"},  # not run: no row
            ],
            "where": {"size": [8]},
            "verdict": {"kind": "greater", "alpha": 0.05, "min_seeds": 2, "min_effect": 0.05},
        },
        {
            "id": "table1",
            "study": "plasticity",
            "statement": "Max R",
            "source": "test",
            "metric": "r_reached",
            "published_metric": "max_r",
            "where": {"network": ["memo_MA", "memo_AA"], "size": [8]},
            "verdict": {
                "kind": "at_least",
                "alpha": 0.05,
                "min_seeds": 2,
                "budget_metric": "sequences",
                "min_budget": 8,
            },
        },
    ]
    specs = study_comparisons("plasticity", {"comparisons": []}, claims)
    assert len(specs) == 2
    out = {n: tmp_path / f"{n}.csv" for n in ("runs", "stages", "summary", "curves", "comparisons")}
    stats = {"confidence": 0.95, "n_resamples": 499, "random_state": 0}
    aggregate_study(STUDY, dirs, specs, stats, out)
    write_table(out["stages"], extra_table("stages", {"train_plasticity": dirs}))
    runs = pd.read_csv(out["runs"])
    assert len(runs) == 4 and set(runs.r_reached) == {3}
    stages = pd.read_csv(out["stages"])
    assert stages.groupby(["network", "seed"]).cumulative.max().eq(8).all()
    summary = pd.read_csv(out["summary"])
    r = summary[(summary.metric == "r_reached") & (summary.network == "memo_MA")].iloc[0]
    assert (r["median"], r["min"], r["max"], r["boot_low"], r["boot_high"]) == (3, 3, 3, 3, 3)
    published = {"plasticity": {"values": {"memo_MA": {8: {"max_r": 3}}, "memo_AA": {8: {}}}}}
    table = evaluate(
        claims,
        published,
        {"plasticity": pd.read_csv(out["runs"], dtype={"network": str, "size": str})},
        {"plasticity": ["network", "size"]},
    )
    # memo_AA has no published Max R: not part of the claim; two seeds at R = 3 against a
    # published 3 reach p = 1/4 at best: a description, not a verdict
    grid = table[table.claim == "table1"].set_index("cell")
    assert list(grid.index) == [
        "memo_MA/8",
        "overall (cells: 0 supported, 0 contradicted, 1 inconclusive)",
    ]
    assert grid.loc["memo_MA/8", "p_for"] == 0.25
    pairs = table[(table.claim == "m_beats_a")]
    assert list(pairs.cell)[:2] == ["8/memo_MA vs memo_AA", "8/fc_M vs fc_A (not run)"]
    assert pairs.iloc[-1].cell == "overall (1 of 2 required cells run)"
    final = json.loads((dirs[0] / "final.json").read_text())
    assert final["config"]["network"] == "memo_MA"


def test_step_plot_draws_the_reports_points(tmp_path):
    from attnmem.plots.plasticity import r_vs_sequences
    from attnmem.published import as_frame

    runs = pd.DataFrame(
        {
            "network": ["memo_MA"] * 2,
            "size": ["100"] * 2,
            "seed": [0, 1],
            "sequences": [120_000, 120_000],
        }
    )
    stages = pd.DataFrame(
        {
            "network": ["memo_MA"] * 4,
            "size": ["100"] * 4,
            "seed": [0, 0, 1, 1],
            "r": [1, 2, 1, 2],
            "sequences": [500, 900, 700, 800],
            "converged": [True] * 4,
            "cumulative": [500, 1400, 700, 1500],
        }
    )
    published = {"plasticity": {"values": {"memo_MA": {100: {"max_r": 14, "r_at_100k": 14}}}}}
    points = as_frame(published, "plasticity", ("network", "size"), ("r_at_100k", "r_at_250k"))
    r_vs_sequences(runs, stages, tmp_path / "steps.png", points)
    assert (tmp_path / "steps.png").stat().st_size > 0
