"""Figures and tables from small synthetic results."""

from __future__ import annotations

import pandas as pd
import yaml

from attnmem.plots.optim import accuracy_curves, max_accuracy
from attnmem.run import RunResult
from attnmem.stats.aggregate import curves, summarise
from attnmem.tables import to_latex, to_markdown
from conftest import REPO

AXES = ["dataset", "arch", "optimizer"]
PUBLISHED = yaml.safe_load((REPO / "config" / "claims.yaml").read_text())["published"]


def synthetic_runs():
    runs = []
    for i, optimizer in enumerate(["adamw", "adamp", "orthadam"]):
        for seed in range(3):
            accs = [50 + 10 * step + i + seed * 0.5 for step in range(1, 5)]
            curve = pd.DataFrame(
                {"step": range(1, 5), "split": "test", "metric": "accuracy", "value": accs}
            )
            runs.append(
                RunResult(
                    ("cifar10_aug", "resnet18", optimizer),
                    seed,
                    "ok",
                    {"max_acc": max(accs), "final_acc": accs[-1]},
                    curve,
                )
            )
    return runs


def test_figures_are_written_as_png_and_pdf(tmp_path):
    runs = synthetic_runs()
    accuracy_curves(curves(runs, AXES), "cifar10_aug", "resnet18", tmp_path / "curves.png")
    per_run = pd.DataFrame(
        [{**dict(zip(AXES, r.cell, strict=True)), "seed": r.seed, **r.metrics} for r in runs]
    )
    summary = summarise(runs, AXES, ["max_acc", "final_acc"], n_resamples=199)
    max_accuracy(per_run, summary, PUBLISHED, "cifar10_aug", tmp_path / "max.png")
    for stem in ("curves", "max"):
        assert (tmp_path / f"{stem}.png").stat().st_size > 10_000
        assert (tmp_path / f"{stem}.pdf").read_bytes().startswith(b"%PDF")


def test_table_puts_replicated_beside_published(tmp_path):
    """The optim study's table, as its ``Table`` declares it: per cell and metric the replicated
    estimate beside the published value, cells sorted by their axis values."""
    from attnmem.columns import frame
    from attnmem.studies.optim import STUDY

    summary = summarise(synthetic_runs(), AXES, ["max_acc", "final_acc"], n_resamples=199)
    summary.to_csv(tmp_path / "summary.csv", index=False)
    inputs = STUDY.table_inputs({"summary": tmp_path / "summary.csv"}, PUBLISHED, "t.md", "t.tex")
    table = frame(STUDY.table, inputs)
    metrics = [
        f"{m} {side}" for m in ("max_acc", "final_acc") for side in ("replicated", "published")
    ]
    assert list(table.columns) == [*AXES, *metrics, "diverged"]
    assert list(table.optimizer) == sorted(table.optimizer)
    orth = table[table.optimizer == "orthadam"].iloc[0]
    assert orth["max_acc published"] == "87.42" and orth["final_acc published"] == "87.32"
    assert (
        orth["max_acc replicated"].startswith("92.50 [") and "(n=3)" in orth["max_acc replicated"]
    )
    assert orth["diverged"] == "0"
    assert "| orthadam |" in to_markdown(table, "caption")
    latex = to_latex(table, "caption with 50% & more", "tab:x")
    assert r"50\% \& more" in latex and r"\end{tabular}" in latex


def test_every_table_writes_an_estimate_the_same_way():
    from attnmem.tables import estimate

    row = pd.Series({"n": 3, "mean": 1.234, "t_low": 0.5, "t_high": 2.0, "median": 1.0})
    assert estimate(row) == "1.23 [0.50, 2.00] (n=3)"
    assert estimate(row, "g", "median", ("t_low", "t_high")) == "1 [0.5, 2] (n=3)"
    one_seed = pd.Series({"n": 1, "mean": 1.0, "t_low": float("nan"), "t_high": float("nan")})
    assert estimate(one_seed) == "1.00 (n=1)"
    assert estimate(pd.Series({"n": 0})) == "–" and estimate(None) == "–"


def test_published_values_as_one_frame():
    from attnmem.published import as_frame

    published = {"s": {"values": {"a": {50: {"m": 1, "k": 2}}, "b": {100: {"k": 3}}}}}
    frame = as_frame(published, "s", ("x", "size"), ("m",))
    assert frame.to_dict("records")[0] == {"x": "a", "size": "50", "m": 1.0}
    assert frame["m"].isna().tolist() == [False, True]
    assert as_frame({}, "s", ("x",), ("m",)).columns.tolist() == ["x", "m"]


def test_table4_shows_each_teachers_greedy_return(tmp_path):
    """Table 4's accuracy means little when the teacher collapsed: its return stands beside it."""
    from attnmem.stats.describe import describe
    from attnmem.studies.teacher import STUDY

    cell = {"env": "CartPole-v1", "mode": "faithful", "predictor": "lstm"}
    summary = pd.DataFrame([{**cell, "metric": "test_accuracy", "n_diverged": 0,
                             **describe([90.0, 92.0])}])  # fmt: skip
    teachers = pd.DataFrame(
        [
            {
                "env": "CartPole-v1",
                "mode": "faithful",
                "seed": seed,
                "majority_accuracy": 77.0,
                "rollout_return": value,
            }
            for seed, value in ((0, 12.0), (1, 10.0))
        ]
    )
    inputs = {"summary": tmp_path / "summary.csv", "teachers": tmp_path / "teachers.csv"}
    summary.to_csv(inputs["summary"], index=False)
    teachers.to_csv(inputs["teachers"], index=False)
    STUDY.write_table(STUDY.table_inputs(inputs, {}, tmp_path / "t.md", tmp_path / "t.tex"))
    table = (tmp_path / "t.md").read_text()
    assert "teacher greedy return" in table and "| 11.0 |" in table
