"""The verdict rules' error rates, measured by simulation, and their monotonicity.

Calibration: for every rule, at the seeds and cell counts the shipped configs give its claims
(config.yaml and paper.yaml), data sets are drawn once under the rule's null and once with "the
replication equals the source", and the rates of false support and false contradiction must stay
at or below alpha plus a Monte-Carlo tolerance of three standard errors of a rate of alpha.
Fixed seeds: the same draws every run.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from attnmem import verdicts
from attnmem.claims import required_cells
from attnmem.studies import REGISTRY
from conftest import REPO

ALPHA = 0.05
SPEC = yaml.safe_load((REPO / "config" / "claims.yaml").read_text())
RANK = {"contradicted": 0, "inconclusive": 1, "supported": 2}
REPS_EQ = 1500


def tolerance(reps: int) -> float:
    return 3 * math.sqrt(ALPHA * (1 - ALPHA) / reps)


@cache
def designs() -> dict[str, set[tuple]]:
    """Per rule kind: (seeds, group sizes) of every claim a shipped config can decide."""
    found: dict[str, set[tuple]] = {}
    for name in ("config", "paper"):
        config = yaml.safe_load((REPO / "config" / f"{name}.yaml").read_text())
        for claim in SPEC["claims"]:
            block = config["studies"].get(claim["study"])
            rule = claim["verdict"]
            if block is None or len(block["seeds"]) < rule["min_seeds"]:
                continue
            study = REGISTRY[claim["study"]]
            cells = required_cells(claim, SPEC["published"], study.axes, study.has_cell)
            sizes: dict[str, int] = {}
            for cell in cells:
                sizes[cell.group] = sizes.get(cell.group, 0) + 1
            design = (len(block["seeds"]), tuple(sorted(sizes.values())))
            if rule["kind"] == "equivalent":  # the published side's runs shape its test
                design = (len(block["seeds"]), rule.get("published_runs", 1))
            found.setdefault(rule["kind"], set()).add(design)
    return found


def test_the_shipped_configs_give_every_rule_a_design():
    assert set(designs()) == {"greater", "equivalent", "band", "at_least"}
    # paper.yaml's plasticity grid: 12 cells in one test; teacher: 2 envs each on its own
    assert (5, (12,)) in designs()["greater"] and (5, (1, 1)) in designs()["greater"]


def _reps(n: int) -> int:
    return 400 if n > 16 else 2000  # above 16 seeds the sign-flip test samples 2^16 patterns


def _greater_rates(n: int, sizes: tuple[int, ...], effect: float, rng) -> tuple[float, float]:
    reps, support, against = _reps(n), 0, 0
    for _ in range(reps):
        groups = {str(g): rng.normal(effect, 1.0, size=(n, k)) for g, k in enumerate(sizes)}
        verdict = verdicts.greater(groups, ALPHA).verdict
        support += verdict == "supported"
        against += verdict == "contradicted"
    return support / reps, against / reps


def test_greater_is_calibrated_at_the_shipped_designs():
    """No effect: supported at most alpha of the time; a true effect (the source is right):
    contradicted at most alpha of the time.  And it can decide: a consistent effect of one SD
    is supported at five seeds over any number of cells (the old per-cell Holm never could)."""
    rng = np.random.default_rng(1)
    for n, sizes in sorted(designs()["greater"]):
        reps = _reps(n)
        support, _ = _greater_rates(n, sizes, 0.0, rng)
        assert support <= ALPHA + tolerance(reps), (n, sizes, support)
        _, against = _greater_rates(n, sizes, 0.5, rng)
        assert against <= ALPHA + tolerance(reps), (n, sizes, against)
        strong, _ = _greater_rates(n, sizes, 3.0, rng)
        assert strong > 0.5, (n, sizes, strong)


def _equivalent_rates(n: int, runs: int, margin: float, rng) -> tuple[float, float, float]:
    """(false support at a true difference of one margin, false contradiction when the source's
    runs come from the replication's own distribution, support then)."""
    reps, false_support, false_against, support = REPS_EQ, 0, 0, 0
    for _ in range(reps):
        ours = rng.normal(0.0, 1.0, n)
        theirs_far = rng.normal(margin, 1.0, runs)
        theirs_same = rng.normal(0.0, 1.0, runs)
        sd = None if runs == 1 else float(theirs_far.std(ddof=1))
        far, _ = verdicts.equivalent(ours, theirs_far.mean(), margin, ALPHA, runs, sd)
        sd = None if runs == 1 else float(theirs_same.std(ddof=1))
        same, _ = verdicts.equivalent(ours, theirs_same.mean(), margin, ALPHA, runs, sd)
        false_support += far.verdict == "supported"
        false_against += same.verdict == "contradicted"
        support += same.verdict == "supported"
    return false_support / reps, false_against / reps, support / reps


def test_equivalent_is_calibrated_at_the_shipped_designs():
    """Every (seeds, published runs) design of the shipped configs (a single published run,
    Table 4's mean of 5 with its SD, Spinning Up's 192): a faithful replication is contradicted
    at most alpha of the time; a source off by the margin is matched at most alpha of the time."""
    rng = np.random.default_rng(2)
    tol = tolerance(REPS_EQ)
    assert (5, 1) in designs()["equivalent"] and (5, 5) in designs()["equivalent"]
    for n, runs in sorted(designs()["equivalent"]):
        false_support, false_against, _ = _equivalent_rates(n, runs, 2.5, rng)
        assert false_support <= ALPHA + tol, (n, runs, false_support)
        assert false_against <= ALPHA + tol, (n, runs, false_against)


def test_more_seeds_never_make_a_faithful_replication_look_worse():
    """The old within_ci contradicted a perfect replication of a single run in 32% of cells at
    5 seeds and 65% at 20."""
    rng = np.random.default_rng(5)
    rates = [_equivalent_rates(n, 1, 0.0, rng)[1] for n in (5, 20)]
    assert all(rate <= ALPHA + tolerance(REPS_EQ) for rate in rates), rates


def test_band_is_calibrated_at_the_shipped_designs():
    rng = np.random.default_rng(3)
    for n, _ in sorted(designs()["band"]):
        support = against = 0
        for _ in range(2000):
            edge = rng.normal(1.0, 1.0, n)  # true mean on the band's upper edge
            inside = rng.normal(0.0, 1.0, n)  # true mean at its centre
            support += verdicts.band(edge, -1.0, 1.0, ALPHA)[0].verdict == "supported"
            against += verdicts.band(inside, -1.0, 1.0, ALPHA)[0].verdict == "contradicted"
        assert support / 2000 <= ALPHA + tolerance(2000), n
        assert against / 2000 <= ALPHA + tolerance(2000), n


def test_at_least_is_calibrated_at_the_shipped_designs():
    """Integer outcomes (R, with ties): the published run drawn from the replication's own
    distribution is contradicted at most alpha of the time at any seed count; a median that
    just misses the published value is supported at most alpha of the time."""
    rng = np.random.default_rng(4)
    for n, sizes in sorted(designs()["at_least"]):
        k = sum(sizes)
        reps = 400 if k > 4 else 2000
        support = against = 0
        for _ in range(reps):
            ours = [rng.poisson(8, n) for _ in range(k)]
            published = [float(rng.poisson(8)) for _ in range(k)]
            against += verdicts.at_least(ours, published, ALPHA).verdict == "contradicted"
            # continuous, median exactly at the published value: the boundary of the null
            ours = [rng.normal(0.0, 1.0, n) for _ in range(k)]
            support += verdicts.at_least(ours, [0.0] * k, ALPHA).verdict == "supported"
        assert against / reps <= ALPHA + tolerance(reps), (n, sizes, against / reps)
        assert support / reps <= ALPHA + tolerance(reps), (n, sizes, support / reps)


# ---- monotone: further from the claim never reads better -------------------------------------

values = st.floats(min_value=-5, max_value=5, allow_nan=False).map(lambda x: round(x, 1))


@settings(max_examples=150, deadline=None)
@given(
    st.integers(5, 7).flatmap(
        lambda n: st.lists(st.lists(values, min_size=n, max_size=n), min_size=1, max_size=3)
    ),
    st.data(),
)
def test_greater_is_monotone(cells, data):
    diffs = np.array(cells, dtype=float).T  # seeds x cells
    i = data.draw(st.integers(0, diffs.shape[0] - 1))
    j = data.draw(st.integers(0, diffs.shape[1] - 1))
    worse = diffs.copy()
    worse[i, j] -= data.draw(st.floats(0.0, 5.0))
    every = data.draw(st.booleans())

    def verdict(d):
        groups = {str(c): d[:, [c]] for c in range(d.shape[1])} if every else {"": d}
        return verdicts.greater(groups, ALPHA).verdict

    assert RANK[verdict(worse)] <= RANK[verdict(diffs)]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(values, min_size=2, max_size=8),
    values,
    st.floats(0.1, 3.0),
    st.floats(0.0, 4.0),
    st.sampled_from([(1, None), (5, 1.5), (5, 0.0)]),
)
def test_equivalent_is_monotone(seeds, published, margin, shift, source):
    runs, sd = source
    x = np.array(seeds, dtype=float)
    away = np.sign(x.mean() - published) or 1.0
    before, _ = verdicts.equivalent(x, published, margin, ALPHA, runs, sd)
    after, _ = verdicts.equivalent(x + away * shift, published, margin, ALPHA, runs, sd)
    assert RANK[after.verdict] <= RANK[before.verdict]


@settings(max_examples=150, deadline=None)
@given(st.lists(values, min_size=2, max_size=8), st.floats(0.0, 4.0))
def test_band_is_monotone(seeds, shift):
    x = np.array(seeds, dtype=float)
    away = np.sign(x.mean()) or 1.0
    before = verdicts.band(x, -1.0, 1.0, ALPHA)[0].verdict
    after = verdicts.band(x + away * shift, -1.0, 1.0, ALPHA)[0].verdict
    assert RANK[after] <= RANK[before]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 15), min_size=5, max_size=21), min_size=1, max_size=3),
    st.lists(st.integers(0, 15), min_size=3, max_size=3),
    st.data(),
)
def test_at_least_is_monotone(cells, published, data):
    """Lower any seed's value: never a better verdict.  Covers the old tie branch's inversion
    ([5,5,5,5,5] inconclusive, [5,5,5,5,6] contradicted against a published 13)."""
    targets = [float(p) for p in published[: len(cells)]]
    i = data.draw(st.integers(0, len(cells) - 1))
    j = data.draw(st.integers(0, len(cells[i]) - 1))
    worse = [list(c) for c in cells]
    worse[i][j] -= data.draw(st.integers(0, 10))
    before = verdicts.at_least(cells, targets, ALPHA).verdict
    after = verdicts.at_least(worse, targets, ALPHA).verdict
    assert RANK[after] <= RANK[before]


def test_the_old_tie_inversion_is_gone():
    assert verdicts.at_least([[5] * 5], [13.0], ALPHA).verdict == "inconclusive"
    assert verdicts.at_least([[5, 5, 5, 5, 6]], [13.0], ALPHA).verdict == "inconclusive"
    # twenty seeds all below a single published run: it is outside what they reach
    assert verdicts.at_least([[5] * 20], [13.0], ALPHA).verdict == "contradicted"


# ---- reach and plans ---------------------------------------------------------------------------


def test_reach_is_what_the_tests_can_give():
    assert verdicts.seeds_to_reach(0.05) == 5 and verdicts.seeds_to_reach(0.01) == 7
    assert verdicts.smallest_sign_flip_p(5) == 1 / 32
    assert verdicts.at_least_reach(5, 1, 0.05) == (True, False)  # a single run: 1/6
    assert verdicts.at_least_reach(20, 1, 0.05) == (True, True)  # 1/21
    # Table 4: a margin below t * SD / sqrt(5) can never be shown
    assert not verdicts.equivalence_reach(3.0, 0.05, 5, 3.2)
    assert verdicts.equivalence_reach(5.0, 0.05, 5, 4.0)


def test_plans_grow_as_the_effect_shrinks():
    big = verdicts.greater_seeds({"": [1.0, 1.0]}, 2.0, ALPHA)
    small = verdicts.greater_seeds({"": [1.0, 1.0]}, 0.3, ALPHA)
    assert big == 5 and small > big
    assert verdicts.at_least_seeds(0.5, ALPHA) is None
    assert verdicts.at_least_seeds(0.95, ALPHA) < verdicts.at_least_seeds(0.7, ALPHA)
    # a single published run: the margin must exceed its own spread, whatever the seeds
    assert verdicts.equivalence_seeds(1.0, 0.0, 1.0, ALPHA) is None
    assert verdicts.equivalence_seeds(1.0, 0.0, 4.0, ALPHA) is not None
