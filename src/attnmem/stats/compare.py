"""Comparisons between two cells (a treatment ``a`` against a baseline ``b``) across seeds."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats

from attnmem.stats.describe import NAN, t_interval


def probability_of_improvement(a: Sequence[float], b: Sequence[float]) -> float:
    """P(A > B) + P(A = B)/2 over all pairs of runs: the Mann–Whitney U of A over n_a * n_b."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.size == 0 or y.size == 0:
        return NAN
    u = stats.mannwhitneyu(x, y, alternative="two-sided").statistic
    return float(u / (x.size * y.size))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (NaN stays NaN and does not count toward the family)."""
    p = np.asarray(p_values, dtype=float)
    valid = np.flatnonzero(~np.isnan(p))
    adjusted = np.full(p.shape, np.nan)
    order = valid[np.argsort(p[valid], kind="stable")]
    m = order.size
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return [float(v) for v in adjusted]


def percentile_interval(
    values: Sequence[float],
    confidence: float = 0.95,
    n_resamples: int = 9999,
    random_state: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval for the mean (seeds resampled with replacement).

    Used for discrete metrics such as a curriculum's R: the resampled means stay on the lattice
    of possible means, and unlike BCa the interval needs no jackknife of tied values.
    """
    x = np.asarray(values, dtype=float)
    if x.size < 2:
        return NAN, NAN
    rng = np.random.default_rng(random_state)
    means = x[rng.integers(0, x.size, size=(n_resamples, x.size))].mean(axis=1)
    tail = (1 - confidence) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


#: The columns ``compare`` returns, in order.
COMPARE_KEYS = (
    "n_pairs",
    "n_a",
    "n_b",
    "mean_a",
    "mean_b",
    "diff",
    "diff_low",
    "diff_high",
    "p_paired",
    "p_greater",
    "p_less",
    "p_welch",
    "p_mwu",
    "prob_improvement",
)


#: Above this many pairs the sign-flip test samples patterns instead of listing all 2^n.
EXACT_PAIRS = 16


@functools.cache
def _sign_patterns(n: int) -> np.ndarray:
    """Every sign pattern of n pairs, or above EXACT_PAIRS 2^16 drawn with a fixed seed (the
    same draws every call: cached, as drawing them costs more than the test)."""
    if n <= EXACT_PAIRS:
        signs = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1) * 2 - 1
    else:
        signs = np.random.default_rng(0).choice([-1, 1], size=(2**16, n))
    signs = signs.astype(float)
    signs.flags.writeable = False
    return signs


def sign_flip_p(diff: Sequence[float], alternative: str = "two-sided") -> float:
    """Paired randomisation test of "the mean difference is 0", exact over all 2^n sign patterns.

    Under the null each difference is as likely negative as positive, so the observed mean is
    ranked among the means of every sign-flipped copy.  Valid for ties and integer data (a
    constant difference is not "infinitely significant": n pairs can never give a one-sided p
    below 2^-n), which a t-test on such data is not.  ``alternative``: "greater" (a > b),
    "less" (a < b) or "two-sided".  Above EXACT_PAIRS pairs, 2^16 patterns drawn with a fixed
    seed stand in for all of them (p = (hits + 1) / (draws + 1), never 0).
    """
    d = np.asarray(diff, dtype=float)
    n = d.size
    if n == 0:
        return NAN
    means = _sign_patterns(n) @ d / n
    observed = d.mean()
    # floating sums of the same terms in another order differ in the last bits
    tol = 1e-12 * max(1.0, float(np.abs(d).max()))
    if alternative == "greater":
        hits = means >= observed - tol
    elif alternative == "less":
        hits = means <= observed + tol
    else:
        hits = np.abs(means) >= abs(observed) - tol
    if n <= EXACT_PAIRS:
        return float(hits.mean())
    return float((hits.sum() + 1) / (hits.size + 1))  # the observed pattern counts once too


def compare(
    a: Mapping[int, float],
    b: Mapping[int, float],
    confidence: float = 0.95,
    bootstrap: tuple[int, int] | None = None,
) -> dict[str, float]:
    """Compare runs keyed by seed.

    The paired difference (a - b over seeds both have) is the primary estimate, with its
    t-interval (or, with ``bootstrap`` = (n_resamples, random_state), its percentile bootstrap
    interval) as a description, and exact sign-flip tests as the evidence: two-sided
    (``p_paired``) and one-sided for a > b (``p_greater``) and a < b (``p_less``).  Welch's t
    and Mann–Whitney use all runs of each side.
    """
    seeds = sorted(set(a) & set(b))
    diff = np.array([a[s] - b[s] for s in seeds], dtype=float)
    xa, xb = np.array(list(a.values()), dtype=float), np.array(list(b.values()), dtype=float)
    if bootstrap is None:
        low, high = t_interval(diff, confidence)
    else:
        low, high = percentile_interval(diff, confidence, *bootstrap)
    p_welch = NAN
    if xa.size >= 2 and xb.size >= 2 and (xa.std() > 0 or xb.std() > 0):
        p_welch = float(stats.ttest_ind(xa, xb, equal_var=False).pvalue)
    p_mwu = NAN
    if xa.size and xb.size:
        p_mwu = float(stats.mannwhitneyu(xa, xb, alternative="two-sided").pvalue)
    return {
        "n_pairs": int(diff.size),
        "n_a": int(xa.size),
        "n_b": int(xb.size),
        "mean_a": float(xa.mean()) if xa.size else NAN,
        "mean_b": float(xb.mean()) if xb.size else NAN,
        "diff": float(diff.mean()) if diff.size else NAN,
        "diff_low": low,
        "diff_high": high,
        "p_paired": sign_flip_p(diff),
        "p_greater": sign_flip_p(diff, "greater"),
        "p_less": sign_flip_p(diff, "less"),
        "p_welch": p_welch,
        "p_mwu": p_mwu,
        "prob_improvement": probability_of_improvement(xa, xb),
    }
