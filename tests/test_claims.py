"""Claims: verdict rules, published lookups, and the tables and figures built from results."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import yaml

from attnmem.claims import cell_verdict, evaluate, overall_verdict, to_markdown
from attnmem.published import lookup
from conftest import REPO

RULE = {"kind": "greater", "alpha": 0.05, "margin": 0.0, "min_fraction": 0.67}
SPEC = yaml.safe_load((REPO / "config" / "claims.yaml").read_text())


def row(diff, low, high, p_holm, n=5):
    return {"diff": diff, "diff_low": low, "diff_high": high, "p_holm": p_holm, "n_pairs": n}


@pytest.mark.parametrize(
    ("values", "verdict"),
    [
        ((1.0, 0.5, 1.5, 0.01), "supported"),
        ((1.0, 0.5, 1.5, 0.20), "inconclusive"),  # CI above 0 but not after Holm
        ((-1.0, -1.5, -0.5, 0.01), "contradicted"),
        ((0.1, -0.4, 0.6, 0.70), "inconclusive"),
    ],
)
def test_cell_verdicts(values, verdict):
    assert cell_verdict(row(*values), RULE) == verdict


def test_margin_turns_a_too_small_gain_into_a_contradiction():
    assert cell_verdict(row(0.1, -0.1, 0.3, 0.5), {**RULE, "margin": 0.5}) == "contradicted"


def test_one_seed_is_never_enough():
    assert cell_verdict(row(2.0, math.nan, math.nan, math.nan, n=1), RULE) == "inconclusive"


def test_overall_verdict():
    assert overall_verdict(["supported"] * 2 + ["inconclusive"], 0.67) == "inconclusive"
    assert overall_verdict(["supported"] * 3, 0.67) == "supported"
    assert overall_verdict(["contradicted"] * 2 + ["supported"], 0.6) == "contradicted"
    assert overall_verdict([], 0.5) == "inconclusive"


def test_published_numbers_come_from_claims_yaml():
    published = SPEC["published"]
    assert (
        lookup(published, "optim", ["cifar10_aug", "densenet121", "orthadam"], "max_acc") == 90.35
    )
    # the .pt files, not the thesis's swapped Table 3 labels
    assert lookup(published, "optim", ["fmnist", "densenet121", "orthadam"], "max_acc") == 93.23
    assert lookup(published, "optim", ["digits", "resnet18", "adamw"], "max_acc") is None
    values = published["optim"]["values"]
    assert len(values) == 5 and all(len(archs) == 3 for archs in values.values())


def test_evaluate_builds_cell_and_overall_rows():
    comparisons = pd.DataFrame(
        [
            {
                "dataset": "cifar10_aug",
                "arch": "densenet121",
                "axis": "optimizer",
                "a": "orthadam",
                "b": "adamw",
                "metric": "max_acc",
                "n_pairs": 3,
                "mean_a": 90.0,
                "mean_b": 89.0,
                "diff": 1.0,
                "diff_low": 0.4,
                "diff_high": 1.6,
                "p_holm": 0.01,
                "prob_improvement": 1.0,
            },
        ]
    )
    claims = [c for c in SPEC["claims"] if c["id"] == "optim.orthadam_gt_adamw"]
    table = evaluate(
        claims,
        SPEC["published"],
        {"optim": comparisons},
        {"optim": ["dataset", "arch", "optimizer"]},
    )
    cell, overall = table.iloc[0], table.iloc[1]
    assert cell["cell"] == "cifar10_aug/densenet121" and cell["verdict"] == "supported"
    assert cell["published_diff"] == pytest.approx(90.35 - 88.29)
    assert overall["cell"].startswith("overall (1 supported") and overall["verdict"] == "supported"
    markdown = to_markdown(table)
    assert "+2.06 (90.35 vs 88.29)" in markdown and "+1.00 [+0.40, +1.60]" in markdown


def test_greater_claim_on_a_cut_budget_is_inconclusive():
    """A clear difference on fewer steps than the source's says nothing about its claim."""
    comparisons = pd.DataFrame(
        [
            {"env": "E", "mode": "clean", "axis": "actor", "a": "x", "b": "y", "metric": "m",
             **row(-1.0, -1.5, -0.5, 0.01), "mean_a": 0.0, "mean_b": 1.0,
             "prob_improvement": 0.0}
        ]
    )  # fmt: skip
    summary = pd.DataFrame(
        [
            {"env": "E", "mode": "clean", "actor": actor, "metric": "steps", "min": steps}
            for actor, steps in (("x", 1200), ("y", 1200))
        ]
    )
    claim = {
        "id": "c",
        "study": "sac",
        "statement": "x beats y",
        "source": "test",
        "metric": "m",
        "compare": {"axis": "actor", "a": "x", "b": "y"},
        "verdict": {**RULE, "budget_metric": "steps", "min_budget": 1e6},
    }
    axes = {"sac": ["env", "mode", "actor"]}
    table = evaluate([claim], {}, {"sac": comparisons}, axes, {"sac": summary})
    assert table.verdict.tolist() == ["inconclusive", "inconclusive"]
    assert "budget 1200 < 1e+06" in table.cell.iloc[0]
    summary["min"] = 2e6
    table = evaluate([claim], {}, {"sac": comparisons}, axes, {"sac": summary})
    assert table.verdict.iloc[0] == "contradicted"


def test_within_range_cell_on_a_cut_budget_says_so():
    """Published inside the seeds' range on a cut budget: inconclusive, and the cell says why."""
    summary = pd.DataFrame(
        [
            {"env": "E", "metric": "acc", "n": 3, "median": 90.0, "min": 80.0, "max": 99.0},
            {"env": "E", "metric": "steps", "n": 3, "median": 82, "min": 82, "max": 82},
        ]
    )
    claim = {
        "id": "t",
        "study": "teacher",
        "statement": "matches",
        "source": "test",
        "metric": "acc",
        "published_metric": "acc",
        "verdict": {"kind": "within_range", "budget_metric": "steps", "min_budget": 820},
    }
    published = {"teacher": {"values": {"E": {"acc": 95.0}}}}
    table = evaluate([claim], published, {}, {"teacher": ["env"]}, {"teacher": summary})
    assert table.cell.iloc[0] == "E (budget 82 < 820)" and table.verdict.iloc[0] == "inconclusive"
    summary.loc[summary.metric == "steps", "min"] = 820
    table = evaluate([claim], published, {}, {"teacher": ["env"]}, {"teacher": summary})
    assert table.cell.iloc[0] == "E" and table.verdict.iloc[0] == "supported"
