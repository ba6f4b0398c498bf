"""The shapes several studies draw: a mean curve with its band, and seeds beside their mean with
the published value as a star.  One place, so every figure shows an interval the same way."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from attnmem.plots.style import PUBLISHED_MARKER


def mean_band(ax, x, line: pd.DataFrame, colour: str, label: str, alpha: float = 0.2, **style):
    """``line``'s mean (curves.csv rows) with its low-high band; a band closes on the mean where
    one seed leaves it undefined."""
    ax.plot(x, line["mean"], color=colour, label=label, **style)
    low, high = line["low"].fillna(line["mean"]), line["high"].fillna(line["mean"])
    ax.fill_between(x, low, high, color=colour, alpha=alpha, linewidth=0)


def seed_strip(
    ax, x: float, values: Sequence[float], colour: str, half_width: float, size: float = 14
) -> None:
    """One dot per seed, spread evenly over x ± half_width so that equal values stay visible."""
    values = list(values)
    jitter = np.linspace(-half_width, half_width, len(values)) if len(values) > 1 else [0.0]
    ax.scatter(x + np.asarray(jitter), values, s=size, color=colour, alpha=0.6, linewidth=0)


def mean_interval(ax, x: float, row: pd.Series, colour: str, **style) -> None:
    """A summary row's mean with its 95% t-interval (the mean alone when n < 2)."""
    low, high = row["t_low"], row["t_high"]
    err = None if not np.isfinite(low) else [[row["mean"] - low], [high - row["mean"]]]
    ax.errorbar(x, row["mean"], yerr=err, fmt="o", color=colour, **style)


def published_star(ax, x: float, value: float | None, label: str | None = None) -> bool:
    """The source's single-run value as a star; False (nothing drawn) when it published none."""
    if value is None or pd.isna(value):
        return False
    ax.scatter([x], [value], **PUBLISHED_MARKER, label=label)
    return True


def step_label(value: float, _position=None) -> str:
    """An environment-step tick: 1500 -> 1.5k, 3000000 -> 3M."""
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:g}{suffix}"
    return f"{value:g}"


def step_axis(ax) -> None:
    """Environment steps on ``ax``'s x axis as 1.5k / 3M (a formatter per axis: matplotlib
    binds each to one)."""
    ax.xaxis.set_major_formatter(FuncFormatter(step_label))


def legend_of_all(axes, anchor, **style) -> None:
    """One legend beside ``anchor`` naming every line of every panel once: a legend read off
    one panel leaves out what only the others draw (the size-50 networks of the step plot)."""
    handles: dict[str, object] = {}
    for ax in np.ravel(axes):
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    anchor.legend(
        list(handles.values()), list(handles), loc="upper left", bbox_to_anchor=(1.0, 1.0), **style
    )


def env_mode_panels(data: pd.DataFrame, modes: Sequence[str], height: float):
    """The RL studies' curve grid: one row per env (in the data's order), one column per mode
    run (in ``modes``' order).  Returns the figure, its axes, the modes shown and, per panel,
    (axes, env, mode, the panel's rows of ``data``)."""
    from attnmem.plots.style import plt

    envs = list(dict.fromkeys(data.env))
    shown = [m for m in modes if m in set(data["mode"])]
    fig, axes = plt.subplots(
        len(envs), len(shown), figsize=(5 * len(shown), height * len(envs)), squeeze=False
    )
    panels = [
        (axes[r][c], env, mode, data[(data.env == env) & (data["mode"] == mode)])
        for r, env in enumerate(envs)
        for c, mode in enumerate(shown)
    ]
    return fig, axes, shown, panels
