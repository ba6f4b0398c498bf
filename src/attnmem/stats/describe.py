"""Per-cell summary of one metric across seeds."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

NAN = float("nan")


def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Student-t interval for the mean; NaN for fewer than two values."""
    x = np.asarray(values, dtype=float)
    if x.size < 2:
        return NAN, NAN
    sem = x.std(ddof=1) / math.sqrt(x.size)
    if sem == 0.0:
        return float(x.mean()), float(x.mean())
    low, high = stats.t.interval(confidence, x.size - 1, loc=x.mean(), scale=sem)
    return float(low), float(high)


def bootstrap_interval(
    values: Sequence[float],
    confidence: float = 0.95,
    n_resamples: int = 9999,
    random_state: int = 0,
) -> tuple[float, float]:
    """BCa bootstrap interval for the mean, from a fixed random state (so it is reproducible)."""
    x = np.asarray(values, dtype=float)
    if x.size < 2:
        return NAN, NAN
    if np.all(x == x[0]):  # BCa is undefined for constant data; the interval is the point
        return float(x[0]), float(x[0])
    result = stats.bootstrap(
        (x,),
        np.mean,
        confidence_level=confidence,
        n_resamples=n_resamples,
        method="BCa",
        rng=np.random.default_rng(random_state),
    )
    ci = result.confidence_interval
    return float(ci.low), float(ci.high)


def describe(
    values: Sequence[float],
    confidence: float = 0.95,
    n_resamples: int = 9999,
    random_state: int = 0,
) -> dict[str, float]:
    """n, mean, sd, median, interquartile mean, min, max, t-interval and BCa bootstrap interval."""
    x = np.asarray(values, dtype=float)
    n = int(x.size)
    if n == 0:
        keys = ("mean", "sd", "median", "iqm", "min", "max", "t_low", "t_high", "boot_low")
        return {"n": 0, **dict.fromkeys(keys, NAN), "boot_high": NAN}
    t_low, t_high = t_interval(x, confidence)
    boot_low, boot_high = bootstrap_interval(x, confidence, n_resamples, random_state)
    return {
        "n": n,
        "mean": float(x.mean()),
        "sd": float(x.std(ddof=1)) if n > 1 else NAN,
        "median": float(np.median(x)),
        "iqm": float(stats.trim_mean(x, 0.25)),
        "min": float(x.min()),
        "max": float(x.max()),
        "t_low": t_low,
        "t_high": t_high,
        "boot_low": boot_low,
        "boot_high": boot_high,
    }
