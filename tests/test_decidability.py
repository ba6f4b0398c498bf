"""Before any job: which claims a config can decide, and what would decide the rest."""

from __future__ import annotations

import copy

import yaml

from attnmem.decidability import assess_all, report
from attnmem.studies import REGISTRY
from conftest import REPO, snakemake

SPEC = yaml.safe_load((REPO / "config" / "claims.yaml").read_text())


def load(name: str) -> dict:
    return yaml.safe_load((REPO / "config" / f"{name}.yaml").read_text())


def test_no_shipped_config_holds_a_claim_undecidable_by_construction():
    """paper.yaml ran the optim grid with 3 seeds: 2^-3 = 0.125 could never pass alpha."""
    for name in ("config", "paper", "smoke", "step_plot"):
        _, broken = report(SPEC, load(name), REGISTRY)
        assert broken == [], (name, [b.line() for b in broken])


def test_the_step_plot_config_can_decide_its_claim_both_ways():
    """20 seeds: the report's single run above every seed is p = 1/21 < 0.05 (5 could not)."""
    from attnmem.verdicts import at_least_reach

    results = {r.claim: r for r in assess_all(SPEC, load("step_plot"), REGISTRY)}
    assert [c for c, r in results.items() if r.decidable] == ["plasticity.step_plot.memo_ma_1e5"]
    assert at_least_reach(len(load("step_plot")["studies"]["plasticity"]["seeds"]), 1, 0.05) == (
        True,
        True,
    )
    assert at_least_reach(19, 1, 0.05) == (True, False)


def test_paper_scale_decides_every_claim_but_the_fixed_budget_anchors():
    results = {r.claim: r for r in assess_all(SPEC, load("paper"), REGISTRY)}
    undecided = sorted(c for c, r in results.items() if not r.decidable)
    # external anchors at a budget paper.yaml does not run: shown, with what would decide them
    assert undecided == [
        "ppo_attn.reference.cleanrl",
        "sac.reference.healthy_50k",
        "sac.reference.spinning_up",
    ]


def test_the_default_names_what_it_cannot_decide_and_why():
    lines, _ = report(SPEC, load("config"), REGISTRY)
    text = "\n".join(lines)
    assert lines[0].startswith("attnmem: this config can decide ")
    assert (
        "optim.orthadam_gt_adamw: 0 of 12 required cells configured; budget: run.epochs 30 < 186"
        in text
    )
    assert "[>= 5 seeds, train_fraction >= 1, run.epochs >= 186]" in text
    assert "teacher.table4.acrobot: 0 of 3 required cells configured" in text
    decided = {r.claim for r in assess_all(SPEC, load("config"), REGISTRY) if r.decidable}
    assert {"ppo_attn.attention_beats_mlp.faithful", "ram.more_glimpses_help"} <= decided
    assert "sac.reference.healthy_50k" in decided  # the engine check, at 3 seeds
    # Table 4's row the default runs, its predictors at 1 of 5 epochs: shown, and says so
    assert "teacher.table4.cartpole: budget: run.predictor.epochs 1 < 5" in text
    assert "atman.genetic_62_5" in decided


def test_a_per_cell_budget_is_read_for_its_cell():
    """total_cap {default, memo_MA/100}: the step-plot claim is judged on its own cell's cap,
    so a default that runs Memo M_A [50,50] for 1e4 sequences does not count it as decidable."""
    config = load("config")
    run = config["studies"]["plasticity"]["run"]
    run["total_cap"] = {"default": 10_000, "memo_MA/100": 10_000}
    results = {r.claim: r for r in assess_all(SPEC, config, REGISTRY)}
    assert not results["plasticity.step_plot.memo_ma_1e5"].decidable
    assert "run.total_cap 10000 < 100000" in results["plasticity.step_plot.memo_ma_1e5"].line()
    run["total_cap"] = {"default": 10_000, "memo_MA/100": 100_000}
    results = {r.claim: r for r in assess_all(SPEC, config, REGISTRY)}
    assert results["plasticity.step_plot.memo_ma_1e5"].decidable


def _three_optim_seeds() -> dict:
    config = load("paper")
    config["studies"]["optim"]["seeds"] = [0, 1, 2]
    return config


def test_too_few_seeds_at_full_scope_and_budget_is_refused():
    _, broken = report(SPEC, _three_optim_seeds(), REGISTRY)
    lines = {b.claim: b.line() for b in broken}
    assert set(lines) == {c["id"] for c in SPEC["claims"] if c["study"] == "optim"}
    assert "cannot reach p < 0.05: needs >= 5 seeds" in lines["optim.orthadam_gt_adamw"]
    spec = copy.deepcopy(SPEC)
    for claim in spec["claims"]:
        if claim["study"] == "optim":
            claim["descriptive"] = True
    assert report(spec, _three_optim_seeds(), REGISTRY)[1] == []


def test_an_unreachable_margin_is_refused():
    """Table 4 within 3 pp of a 5-run mean with SD 3.2: its standard error alone forbids it."""
    spec = copy.deepcopy(SPEC)
    for claim in spec["claims"]:
        if claim["id"].startswith("teacher.table4."):
            claim["verdict"] = {**claim["verdict"], "margin": 3.0}
    _, broken = report(spec, load("paper"), REGISTRY)
    # CartPole's and MountainCar's SDs (<= 2.5) leave room for 3 pp; Acrobot's 3.2 does not
    assert [b.claim for b in broken] == ["teacher.table4.acrobot"]
    assert "no seed count can show a match" in broken[0].line()


def test_snakemake_refuses_it_before_any_job(tmp_path):
    path = tmp_path / "three.yaml"
    config = _three_optim_seeds()
    config["studies"] = {"optim": config["studies"]["optim"]}
    config["data_root"] = str(tmp_path / "data")
    path.write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path / "work", "-n", configfile=path, check=False)
    assert result.returncode != 0
    assert "undecidable by construction" in result.stderr
    assert "optim.orthadam_gt_adamw" in result.stderr
    assert not (tmp_path / "work" / "results").exists()


def test_config_readme_states_what_the_default_decides_as_the_dag_prints_it():
    """config/README.md's list is derived (``python -m attnmem.decidability``), not kept by
    hand: it went stale when the teacher block dropped to 3 seeds."""
    from attnmem import decidability

    assert decidability.main(["--check"]) == 0, "run `python -m attnmem.decidability`"
    section = decidability.readme_section(SPEC, load("config"), REGISTRY)
    lines, _ = report(SPEC, load("config"), REGISTRY)
    assert lines[0].split("decide ")[1].split(" claims")[0] in section  # "18 of 59"
    undecided = [r.claim for r in assess_all(SPEC, load("config"), REGISTRY) if not r.decidable]
    listed = [line[3:].split("`")[0] for line in section.splitlines() if line.startswith("- `")]
    assert listed == undecided
    for line in lines[1:]:  # the DAG's line of each, and what would decide it
        assert f"- `{line.strip()}".replace(": ", "`: ", 1) in section
