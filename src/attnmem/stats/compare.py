"""Comparisons between two cells (a treatment ``a`` against a baseline ``b``) across seeds."""

from __future__ import annotations

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


def compare(
    a: Mapping[int, float], b: Mapping[int, float], confidence: float = 0.95
) -> dict[str, float]:
    """Compare runs keyed by seed.

    The paired difference (a - b over seeds both have) is the primary estimate, with its
    t-interval and paired t-test; Welch's t and Mann–Whitney use all runs of each side.
    """
    seeds = sorted(set(a) & set(b))
    diff = np.array([a[s] - b[s] for s in seeds], dtype=float)
    xa, xb = np.array(list(a.values()), dtype=float), np.array(list(b.values()), dtype=float)
    low, high = t_interval(diff, confidence)
    p_paired = NAN
    if diff.size >= 2:
        p_paired = (
            1.0
            if np.all(diff == 0)
            else float(stats.ttest_rel([a[s] for s in seeds], [b[s] for s in seeds]).pvalue)
        )
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
        "p_paired": p_paired,
        "p_welch": p_welch,
        "p_mwu": p_mwu,
        "prob_improvement": probability_of_improvement(xa, xb),
    }
