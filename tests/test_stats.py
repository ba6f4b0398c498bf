"""Statistics against scipy on fixed data, and a coverage simulation of the t-interval."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from attnmem.run import RunResult
from attnmem.stats import compare, describe, holm, probability_of_improvement, t_interval
from attnmem.stats.aggregate import comparisons, summarise

DATA = [91.2, 92.5, 90.8, 93.1, 92.0, 91.7]


def test_describe_matches_numpy_and_scipy():
    d = describe(DATA, 0.95, 999, 7)
    x = np.array(DATA)
    assert d["n"] == 6
    assert d["mean"] == pytest.approx(x.mean())
    assert d["sd"] == pytest.approx(x.std(ddof=1))
    assert d["median"] == pytest.approx(np.median(x))
    assert d["iqm"] == pytest.approx(stats.trim_mean(x, 0.25))
    low, high = stats.t.interval(0.95, 5, loc=x.mean(), scale=stats.sem(x))
    assert (d["t_low"], d["t_high"]) == pytest.approx((low, high))
    boot = stats.bootstrap(
        (x,), np.mean, n_resamples=999, method="BCa", rng=np.random.default_rng(7)
    ).confidence_interval
    assert (d["boot_low"], d["boot_high"]) == pytest.approx((boot.low, boot.high))


def test_describe_is_reproducible_and_handles_small_samples():
    assert describe(DATA, 0.95, 999, 7) == describe(DATA, 0.95, 999, 7)
    one = describe([3.0])
    assert one["n"] == 1 and one["mean"] == 3.0 and math.isnan(one["t_low"])
    constant = describe([2.0, 2.0, 2.0])
    assert constant["t_low"] == constant["t_high"] == constant["boot_low"] == 2.0
    assert describe([])["n"] == 0


def test_t_interval_covers_the_true_mean_95_percent_of_the_time():
    rng = np.random.default_rng(12345)
    samples = rng.normal(10.0, 3.0, size=(2000, 5))
    covered = sum(low <= 10.0 <= high for low, high in map(t_interval, samples))
    assert 0.93 <= covered / 2000 <= 0.97


def test_holm_matches_a_hand_computed_family():
    # sorted p: 0.01*4=0.04, 0.02*3=0.06, 0.03*2=0.06 (monotone), 0.5*1=0.5
    assert holm([0.03, 0.01, 0.5, 0.02]) == pytest.approx([0.06, 0.04, 0.5, 0.06])
    adjusted = holm([0.2, float("nan")])
    assert adjusted[0] == pytest.approx(0.2) and math.isnan(adjusted[1])


def test_compare_against_scipy():
    a = {0: 92.0, 1: 93.5, 2: 91.0, 3: 94.0, 4: 92.5}
    b = {0: 91.0, 1: 92.0, 2: 91.5, 3: 92.0, 4: 91.0}
    r = compare(a, b)
    diffs = np.array([a[s] - b[s] for s in a])
    assert r["diff"] == pytest.approx(diffs.mean())
    exact = stats.permutation_test(
        (diffs,), np.mean, permutation_type="samples", n_resamples=np.inf
    )  # the exact sign-flip test, two-sided; and one-sided for a > b
    assert r["p_paired"] == pytest.approx(exact.pvalue)
    greater = stats.permutation_test(
        (diffs,), np.mean, permutation_type="samples", n_resamples=np.inf, alternative="greater"
    )
    assert r["p_greater"] == pytest.approx(greater.pvalue)
    assert r["p_welch"] == pytest.approx(
        stats.ttest_ind(list(a.values()), list(b.values()), equal_var=False).pvalue
    )
    assert r["p_mwu"] == pytest.approx(
        stats.mannwhitneyu(list(a.values()), list(b.values())).pvalue
    )
    assert (r["diff_low"], r["diff_high"]) == pytest.approx(t_interval(diffs))


def test_compare_pairs_only_shared_seeds():
    r = compare({0: 1.0, 1: 2.0, 2: 3.0}, {1: 1.0, 2: 1.0, 5: 0.0})
    assert r["n_pairs"] == 2 and r["diff"] == pytest.approx(1.5)
    assert r["n_a"] == 3 and r["n_b"] == 3


def test_probability_of_improvement():
    assert probability_of_improvement([3, 4, 5], [0, 1, 2]) == 1.0
    assert probability_of_improvement([0, 1], [2, 3]) == 0.0
    assert probability_of_improvement([1, 1], [1, 1]) == 0.5
    assert probability_of_improvement([1, 3], [2, 2]) == 0.5


def _run(cell, seed, status="ok", value=1.0):
    curve = pd.DataFrame({"step": [1], "split": ["test"], "metric": ["accuracy"], "value": [value]})
    return RunResult(cell, seed, status, {"max_acc": value if status == "ok" else None}, curve)


def test_summary_counts_diverged_runs_and_leaves_them_out_of_the_mean():
    runs = [
        _run(("d", "x"), 0, value=1.0),
        _run(("d", "x"), 1, value=3.0),
        _run(("d", "x"), 2, status="diverged"),
    ]
    row = summarise(runs, ["dataset", "optimizer"], ["max_acc"], n_resamples=199).iloc[0]
    assert row["n"] == 2 and row["n_diverged"] == 1 and row["mean"] == 2.0


def test_comparisons_apply_holm_over_the_family():
    runs = [
        _run(("d1", opt), s, value=v + s * 0.1 + (i * 0.01 * s))
        for i, (opt, v) in enumerate([("a", 5.0), ("b", 1.0)])
        for s in range(4)
    ]
    runs += [
        _run(("d2", opt), s, value=v + s * 0.3 - (i * 0.05 * s))
        for i, (opt, v) in enumerate([("a", 1.2), ("b", 1.0)])
        for s in range(4)
    ]
    table = comparisons(
        runs, ["dataset", "optimizer"], [{"axis": "optimizer", "a": "a", "b": "b"}], ["max_acc"]
    )
    assert list(table.dataset) == ["d1", "d2"]
    assert table.p_holm.tolist() == pytest.approx(holm(table.p_paired.tolist()))
    assert (table.p_holm >= table.p_paired).all()
