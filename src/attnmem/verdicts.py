"""The tests behind the verdict rules, what each design can reach, and what would decide it.

Pure statistics on arrays: ``claims.py`` gathers a claim's cells and seeds from the results and
calls these.  Each rule has three parts, kept side by side so that they cannot drift apart:
the test (a verdict from data), its reach (can this design ever get below alpha, before any job
runs) and its plan (how many seeds would decide it, from the observed spread).  Why these tests
and their measured error rates: docs/verdicts.md and tests/test_verdicts.py.

greater      one claim-level statistic per seed, T_s = the mean over the claim's cells of
             sign(a - b), and one exact sign-flip test over seeds.  With ``every`` (an axis, or
             "cell") the claim must hold in every group: supported when each group's own test
             passes (an intersection-union test: level alpha with no correction, so m groups
             need no more seeds than one); contradicted when the test over all cells shows a
             below b.  n seeds reach p = 2^-n: five decide at alpha 0.05, whatever m.
equivalent   a published value against the replication's seeds, as a difference
             d = mean - published with its standard error: for a single published run
             s * sqrt(1/n + 1), the run being one more draw (a prediction interval); for a
             mean of k runs with a published SD, Welch's sqrt(s^2/n + SD^2/k).  Supported when
             two one-sided tests put |d| below the declared margin (TOST, alpha each);
             contradicted when |d| exceeds the margin (alpha/2 each side).  Adding seeds never
             makes a faithful replication more likely to be contradicted: the standard error
             cannot fall below the published run's own spread.
band         the same two tests of the replicated mean against a published [low, high].
at_least     the seeds against a published value they should reach (R within a budget, a
             best-so-far accuracy): supported when every cell's median run reaches it (an exact
             sign test per cell); contradicted when the published runs lie above what the
             replication reaches (each cell's exact rank of the published run among the seeds,
             combined over cells by Fisher's method), which a faithful replication is at most
             alpha of the time, at any number of seeds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from attnmem.stats.compare import EXACT_PAIRS, sign_flip_p

#: The power a plan aims for (Colas et al. 2018 use 0.8 too).
POWER = 0.8
#: Above this many seeds a plan says "more than" rather than a number.
MAX_SEEDS = 1000


@dataclass(frozen=True)
class Outcome:
    """A test's verdict and its two p-values (for the claim, against it)."""

    verdict: str
    p_for: float
    p_against: float


def decide(p_for: float, p_against: float, alpha: float) -> Outcome:
    """Supported when p_for < alpha, else contradicted when p_against < alpha."""
    if p_for < alpha:
        return Outcome("supported", p_for, p_against)
    if p_against < alpha:
        return Outcome("contradicted", p_for, p_against)
    return Outcome("inconclusive", p_for, p_against)


# ---- greater ---------------------------------------------------------------------------------


def seed_statistic(diffs: np.ndarray) -> np.ndarray:
    """T_s: per seed (row), the mean over cells (columns) of sign(a - b)."""
    return np.sign(np.asarray(diffs, dtype=float)).mean(axis=1)


def greater(groups: Mapping[str, np.ndarray], alpha: float) -> Outcome:
    """``groups``: group -> seeds x cells array of a - b (one group when the claim has no
    ``every``).  Supported when every group's T passes the one-sided sign-flip test; contradicted
    when T over all cells is significantly negative."""
    p_for = max(sign_flip_p(seed_statistic(d), "greater") for d in groups.values())
    every = np.concatenate(list(groups.values()), axis=1)
    p_against = sign_flip_p(seed_statistic(every), "less")
    return decide(p_for, p_against, alpha)


def smallest_sign_flip_p(n: int) -> float:
    """The smallest one-sided p an exact sign-flip test over n seeds can give (sampled above
    EXACT_PAIRS: one hit in 2^16 + 1)."""
    return 0.5**n if n <= EXACT_PAIRS else 1 / (2**16 + 1)


def seeds_to_reach(alpha: float) -> int:
    """The fewest seeds whose exact sign-flip test can fall below alpha."""
    n = 1
    while smallest_sign_flip_p(n) >= alpha:
        n += 1
    return n


def t_test_seeds(effect_size: float, alpha: float, least: int) -> int | None:
    """The fewest seeds (>= least) at which a one-sided one-sample t-test of a mean whose true
    value is ``effect_size`` standard deviations has power POWER (None: more than MAX_SEEDS)."""
    if effect_size <= 0:
        return None
    for n in range(max(least, 2), MAX_SEEDS + 1):
        critical = stats.t.ppf(1 - alpha, n - 1)
        if stats.nct.sf(critical, n - 1, effect_size * math.sqrt(n)) >= POWER:
            return n
    return None


def greater_seeds(
    spreads: Mapping[str, Sequence[float]], effect: float, alpha: float
) -> int | None:
    """Seeds for a ``greater`` claim to reach POWER when a beats b by ``effect`` in every cell.

    ``spreads``: group -> the SD over seeds of a - b in each of its cells (observed).  Under a
    normal model a cell's sign is +1 with q = Phi(effect / sd); T's mean and SD follow, and the
    sign-flip test's power is taken as the t-test's on T (the normal approximation of its
    randomisation distribution).  Every group must pass: the largest group's need counts.
    """
    least = seeds_to_reach(alpha)
    need = least
    for sds in spreads.values():
        q = np.array([1.0 if sd == 0 else stats.norm.cdf(effect / sd) for sd in sds])
        mean = float(np.mean(2 * q - 1))
        var = float(np.sum(1 - (2 * q - 1) ** 2)) / len(q) ** 2
        if var == 0:
            continue  # every seed wins every cell: the exact test's floor decides
        n = t_test_seeds(mean / math.sqrt(var), alpha, least)
        if n is None:
            return None
        need = max(need, n)
    return need


# ---- equivalence with a published value or band ----------------------------------------------


@dataclass(frozen=True)
class Difference:
    """The replication against a published value: d = mean - published, its SE and df."""

    d: float
    se: float
    df: float


def difference(
    values: Sequence[float], published: float, runs: int = 1, published_sd: float | None = None
) -> Difference:
    """``runs`` = 1: a single published run, one more draw from the replication's distribution
    (SE = s * sqrt(1/n + 1)); ``runs`` = k with ``published_sd``: a published mean of k runs
    (Welch's SE, the smaller sample's df); k without an SD: the replication's s stands for the
    source's spread."""
    x = np.asarray(values, dtype=float)
    n, mean = x.size, float(x.mean())
    s2 = float(x.var(ddof=1)) if n > 1 else math.nan
    if published_sd is None:
        return Difference(mean - published, math.sqrt(s2 * (1 / n + 1 / runs)), n - 1)
    own, theirs = s2 / n, published_sd**2 / runs
    var = own + theirs
    if own == 0 or theirs == 0:
        df = float(runs - 1 if own == 0 else n - 1)
    else:
        # Welch's SE with the conservative df (the smaller sample's): Satterthwaite's df let a
        # 2-seed replication match a 5-run mean 6.7% of the time at alpha 5% (tests/test_verdicts)
        df = float(min(n, runs) - 1)
    return Difference(mean - published, math.sqrt(var), max(df, 1.0))


def _tost(diff: Difference, margin: float, alpha: float) -> Outcome:
    """Equivalent within +-margin (TOST, alpha each side) or beyond it (alpha/2 each side)."""
    d, se, df = diff.d, diff.se, diff.df
    if se == 0 or math.isnan(se):
        # every seed equal and no published spread: the difference is known exactly
        inside, outside = abs(d) < margin, abs(d) > margin
        return decide(0.0 if inside else 1.0, 0.0 if outside else 1.0, alpha)
    p_equivalent = max(stats.t.sf((d + margin) / se, df), stats.t.cdf((d - margin) / se, df))
    beyond = min(stats.t.sf((d - margin) / se, df), stats.t.cdf((d + margin) / se, df))
    return decide(float(p_equivalent), float(min(1.0, 2 * beyond)), alpha)


def equivalent(
    values: Sequence[float],
    published: float,
    margin: float,
    alpha: float,
    runs: int = 1,
    published_sd: float | None = None,
) -> tuple[Outcome, Difference]:
    """A published value (single run, or mean of ``runs`` with ``published_sd``) matched within
    ``margin``, or missed by more than it."""
    diff = difference(values, published, runs, published_sd)
    return _tost(diff, margin, alpha), diff


def band(
    values: Sequence[float], low: float, high: float, alpha: float
) -> tuple[Outcome, Difference]:
    """The replicated mean inside a published band [low, high], or outside it."""
    x = np.asarray(values, dtype=float)
    centre, half = (low + high) / 2, (high - low) / 2
    se = float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else math.nan
    diff = Difference(float(x.mean()) - centre, se, x.size - 1)
    return _tost(diff, half, alpha), diff


def equivalence_reach(margin: float, alpha: float, runs: int, published_sd: float | None) -> bool:
    """Whether any number of seeds can support equivalence: with a published mean's SD the SE
    never falls below SD / sqrt(k), and TOST needs margin > t * SE."""
    if published_sd is None or published_sd == 0:
        return margin > 0
    floor = published_sd / math.sqrt(runs)
    return margin > stats.t.ppf(1 - alpha, max(runs - 1, 1)) * floor


#: ``runs`` of a published value that has no uncertainty of its own (a band's fixed edges)
FIXED = math.inf


def equivalence_seeds(
    spread: float,
    d: float,
    margin: float,
    alpha: float,
    runs: float = 1,
    published_sd: float | None = None,
) -> int | None:
    """Seeds at which the TOST decides (power POWER) when the true difference is ``d`` and the
    seeds' SD is ``spread``: towards support when |d| < margin, towards contradiction otherwise.

    ``runs`` published runs carry uncertainty of their own (``published_sd``, or the seeds'
    spread for a single run); ``runs=FIXED`` is a value without any (a band's edges)."""
    for n in range(2, MAX_SEEDS + 1):
        theirs = (published_sd**2 if published_sd is not None else spread**2) / runs
        se = math.sqrt(spread**2 / n + theirs)
        df = n - 1 if published_sd is None else max(runs - 1, 1)  # conservative
        if se == 0:
            return n
        if abs(d) < margin:
            t = stats.t.ppf(1 - alpha, df)
            power = stats.t.cdf((margin - abs(d)) / se - t, df) - stats.t.sf(
                (margin + abs(d)) / se - t, df
            )
        else:
            t = stats.t.ppf(1 - alpha / 2, df)
            power = stats.t.sf(t - (abs(d) - margin) / se, df)
        if power >= POWER:
            return n
    return None


# ---- at_least ------------------------------------------------------------------------------------


def at_least_p(reached: int, n: int) -> float:
    """One-sided exact sign test: P(at least ``reached`` of n) when each run reaches with 1/2."""
    return float(stats.binom.sf(reached - 1, n, 0.5)) if n else math.nan


def rank_p(values: Sequence[float], published: float) -> float:
    """How extreme a published single run is among the replication's runs, from above: with the
    run exchangeable with n replicated ones, P(it is at least as high as it is) =
    (1 + #{x >= published}) / (n + 1), exact whatever the distribution (ties count against)."""
    x = np.asarray(values, dtype=float)
    return float((1 + (x >= published).sum()) / (x.size + 1))


def at_least(cells: Sequence[Sequence[float]], published: Sequence[float], alpha: float) -> Outcome:
    """Every cell's median run reaches its published value (each cell's exact sign test: an
    intersection-union test), or the published runs lie above what the replication reaches
    (each cell's rank p, combined over the claim's independent cells by Fisher's method)."""
    p_for, ranks = 0.0, []
    for values, target in zip(cells, published, strict=True):
        x = np.asarray(values, dtype=float)
        p_for = max(p_for, at_least_p(int((x >= target).sum()), x.size))
        ranks.append(rank_p(x, target))
    p_against = ranks[0] if len(ranks) == 1 else float(stats.combine_pvalues(ranks).pvalue)
    return decide(p_for, p_against, alpha)


def at_least_reach(n: int, cells: int, alpha: float) -> tuple[bool, bool]:
    """Whether n seeds per cell can support (sign test: 2^-n) and contradict (every published run
    above every seed: rank p 1/(n+1) in each cell, combined)."""
    lowest = 1 / (n + 1)
    against = lowest if cells == 1 else float(stats.combine_pvalues([lowest] * cells).pvalue)
    return 0.5**n < alpha, against < alpha


def at_least_seeds(fraction: float, alpha: float) -> int | None:
    """Seeds at which an ``at_least`` cell decides when a run reaches the published value with
    probability ``fraction``: the sign test's support with power POWER (fraction > 1/2), or,
    below alpha, the rank test's contradiction, whose p tends to (1 + fraction n) / (n + 1);
    None between (the published run is a plausible draw: no seed count decides)."""
    if fraction < alpha:
        return next(n for n in range(1, MAX_SEEDS + 1) if (1 + fraction * n) / (n + 1) < alpha)
    if fraction <= 0.5:
        return None
    for n in range(seeds_to_reach(alpha), MAX_SEEDS + 1):
        critical = next(k for k in range(n + 2) if k > n or at_least_p(k, n) < alpha)
        if critical <= n and stats.binom.sf(critical - 1, n, fraction) >= POWER:
            return n
    return None
