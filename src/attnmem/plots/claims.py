"""The claims overview: every claim cell's replicated estimate beside the published value.

One panel per claim, stacked under study headers: claims measure different things (accuracy
points, an integer R, a reward), so each panel gets its own x-scale rather than one shared axis.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import blended_transform_factory, offset_copy

from attnmem.claims import VALUE_KINDS, VERDICTS, band_of
from attnmem.plots.style import plt, save, setup
from attnmem.report import why_undecided

# Okabe–Ito green / vermillion and a mid grey; the marker shape repeats the verdict so that it
# survives greyscale printing and colour blindness (hollow: the data decided nothing).
VERDICT_COLOUR = {"supported": "#009E73", "contradicted": "#D55E00", "inconclusive": "#808080"}
VERDICT_MARKER = {"supported": "o", "contradicted": "s", "inconclusive": "o"}
PUBLISHED_COLOUR = "#1F1F1F"
NUMERIC = (
    "published_a",
    "published_diff",
    "n_seeds",
    "mean_a",
    "diff",
    "diff_low",
    "diff_high",
)

# Layout in inches, so a row keeps its height however many rows there are.
ROW = 0.2
PANEL_PAD = 0.1
TITLE = 1.2
STUDY_HEAD = 0.42
CLAIM_HEAD = 0.26
TEXT_LINE = 0.145
XTICKS = 0.32
GAP = 0.16
RIGHT = 0.55
MIN_WIDTH = 10.0
MIN_PANEL = 5.5
OFF_SCALE = 5.0  # published values may widen a panel's replicated range up to this factor
MARGIN = 0.75  # the right margin's extra width when some published value is off its scale
CHAR = 0.058  # average width of a 7.5 pt character
LABEL_SIZE = 7.5


@dataclass
class _Cell:
    label: str
    verdict: str
    x: float
    low: float
    high: float
    published: float
    n: float


@dataclass
class _Claim:
    id: str
    study: str
    statement: str
    source: str
    metric: str
    within: bool
    verdict: str | None
    kind: str = ""  # the rule: greater, equivalent, band or at_least
    band: tuple[float, float] | None = None  # a band rule's published [low, high]
    cells: list[_Cell] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return max(len(self.cells), 1)  # a claim without cells still gets its "no cells run" row


def _num(value: object) -> float:
    """A number, or NaN for the empty cells a CSV round trip leaves (None, "", NaN)."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _text(value: object, default: str = "") -> str:
    return (
        default if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    )


def _parse(table: pd.DataFrame) -> list[_Claim]:
    claims = []
    for claim_id, group in table.groupby("claim", sort=False, dropna=False):
        first = group.iloc[0]
        overall = group["cell"].astype(str).str.startswith("overall")
        # a claim about published values (equivalent, band, at_least) or a comparison
        within = _text(first["rule"]).split(":")[0] in VALUE_KINDS
        verdicts = group.loc[overall, "verdict"]
        claim = _Claim(
            id=_text(claim_id, "(unnamed claim)"),
            study=_text(first["study"], "(no study)"),
            statement=_text(first["statement"]),
            source=_text(first["source"]),
            metric=_text(first["metric"]),
            within=within,
            verdict=_text(verdicts.iloc[0]) if len(verdicts) else None,
            kind=_text(first["rule"]).split(":")[0],
            band=band_of(_text(first["rule"])),
        )
        for _, r in group[~overall].iterrows():
            value = {name: _num(r[name]) for name in NUMERIC}
            if within:  # the seeds' range is stored relative to the published value
                pub = value["published_a"]
                x, low, high = value["mean_a"], pub + value["diff_low"], pub + value["diff_high"]
            else:
                pub = value["published_diff"]
                x, low, high = value["diff"], value["diff_low"], value["diff_high"]
            claim.cells.append(
                _Cell(_label(r["cell"]), _text(r["verdict"]), x, low, high, pub, value["n_seeds"])
            )
        claims.append(claim)
    return claims


def _label(cell: object) -> str:
    """The cell's name; the reason a cell could not be decided (too few seeds, a diverged run, a
    cut budget: claims.md spells it out) shortens to a dagger, so long reasons cannot widen
    every panel of the figure."""
    text = _text(cell)
    return text.split(" (", 1)[0] + " †" if text.endswith(")") and " (" in text else text


def _tally(verdicts: list[str]) -> str:
    counts = [f"{verdicts.count(v)} {v}" for v in VERDICTS if verdicts.count(v)]
    return ", ".join(counts)


def _xlim(claim: _Claim) -> tuple[float, float] | None:
    """The panel's x-range: the replicated values, and the published ones if they are near.

    Published values far off the replicated spread (a published metric other than the one
    replicated, a budget the replication did not reach) would squash the intervals to dots;
    then the range follows the replicated values alone, and a published value outside it is
    printed in the margin (see ``_draw_panel``).
    """
    replicated = [v for c in claim.cells for v in (c.x, c.low, c.high) if math.isfinite(v)]
    published = [c.published for c in claim.cells if math.isfinite(c.published)]
    published += list(claim.band or ())
    if not claim.within and (replicated or published):
        replicated.append(0.0)  # the zero line is the claim's yardstick: always in view
    values = replicated or published
    if not values:
        return None
    span = max(values) - min(values)
    together = max(values + published) - min(values + published)
    if not span or together <= OFF_SCALE * span:
        values = values + published
    low, high = min(values), max(values)
    span = high - low or max(abs(high), 1.0) * 0.2
    return low - 0.07 * span, high + 0.07 * span


def _draw_panel(ax, claim: _Claim, limits: tuple[float, float] | None) -> None:
    n = claim.rows
    ax.set_ylim(n - 0.5, -0.5)  # first cell on top, as in the table
    ax.grid(False, axis="y")
    ax.tick_params(axis="both", labelsize=LABEL_SIZE, length=2.5, pad=2)
    for i in range(1, n, 2):  # banding keeps a long panel's rows traceable to their labels
        ax.axhspan(i - 0.5, i + 0.5, color="#F0F0F0", lw=0, zorder=0)
    row_text = blended_transform_factory(ax.transAxes, ax.transData)
    if not claim.cells:
        ax.set_yticks([0], ["(no cells run)"])
        ax.set_xticks([])
        ax.set_xlim(0, 1)
        ax.spines["bottom"].set_visible(False)
        ax.text(0.5, 0, "no cells run", ha="center", va="center", style="italic", color="#555555")
        return
    ax.set_yticks(range(n), [c.label for c in claim.cells])
    if not claim.within:
        ax.axvline(0.0, color="black", lw=0.8, zorder=1)
    if claim.band is not None:
        ax.axvspan(*claim.band, color=PUBLISHED_COLOUR, alpha=0.12, lw=0, zorder=0.5)
    for i, c in enumerate(claim.cells):
        colour = VERDICT_COLOUR.get(c.verdict, VERDICT_COLOUR["inconclusive"])
        hollow = c.verdict not in ("supported", "contradicted")
        if math.isfinite(c.low) and math.isfinite(c.high):
            ax.hlines(i, c.low, c.high, color=colour, lw=1.8, zorder=2)
        # the star sits behind the estimate and is larger, so both show where they coincide
        if math.isfinite(c.published) and limits and limits[0] <= c.published <= limits[1]:
            ax.scatter(c.published, i, marker="*", s=85, color=PUBLISHED_COLOUR, lw=0, zorder=3)
        elif math.isfinite(c.published):  # off the scale: in the margin, clear of the data
            ax.text(
                1.01,
                i,
                (f"★ {c.published:.3g}" if claim.within else f"★ {c.published:+.3g}").replace(
                    "-", "−"
                ),
                transform=offset_copy(row_text, ax.figure, x=0.45, units="inches"),
                ha="left",
                va="center",
                fontsize=LABEL_SIZE - 0.5,
                color=PUBLISHED_COLOUR,
            )
        if math.isfinite(c.x):
            ax.scatter(
                c.x,
                i,
                marker=VERDICT_MARKER.get(c.verdict, "o"),
                s=30,
                facecolor="white" if hollow else colour,
                edgecolor=colour,
                lw=1.3,
                zorder=4,
            )
        if not any(math.isfinite(v) for v in (c.x, c.low, c.high, c.published)):
            ax.text(
                0.5,
                i,
                "no estimate",
                transform=row_text,
                ha="center",
                va="center",
                fontsize=LABEL_SIZE,
                style="italic",
                color="#555555",
            )
        if math.isfinite(c.n):
            ax.text(
                1.01,
                i,
                f"n={c.n:g}",
                transform=row_text,
                ha="left",
                va="center",
                fontsize=LABEL_SIZE - 0.5,
                color="#555555",
            )
    if limits is None:
        ax.set_xticks([])
    ax.set_xlim(*(limits or (-1.0, 1.0)))


def _legend(fig: Figure, top: float) -> None:
    handles = [
        Line2D(
            [],
            [],
            color=VERDICT_COLOUR[v],
            marker=VERDICT_MARKER[v],
            lw=1.8,
            ms=6,
            mfc="white" if v == "inconclusive" else VERDICT_COLOUR[v],
            label=v,
        )
        for v in VERDICTS
    ]
    handles.append(
        Line2D([], [], ls="none", marker="*", ms=10, color=PUBLISHED_COLOUR, label="published")
    )
    handles.append(Line2D([], [], color="black", lw=0.8, label="zero (a = b)"))
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0.0, top),
        ncol=len(handles),
        fontsize=8.5,
        handlelength=2.2,
        columnspacing=1.6,
        borderaxespad=0.0,
    )


def forest(
    claims: pd.DataFrame, png: str | Path, title: str = "Claims: published vs replicated"
) -> Figure:
    """Draw the claims overview to ``png`` and the PDF beside it; return the (closed) figure.

    One row per claim cell under its claim's header (claim id, statement, overall verdict),
    claims grouped under study headers.  ``greater`` claims show a - b with its 95% interval
    against a zero line and the published a - b; value claims show the seeds'
    mean with its 95% t-interval and the published value.
    """
    setup()
    parsed = _parse(claims) if len(claims) else []
    if not parsed:
        fig = plt.figure(figsize=(6.0, 1.0))
        fig.text(0.5, 0.5, "No claims to show: the claims table is empty.", ha="center")
        save(fig, png)
        return fig

    studies: dict[str, list[_Claim]] = {}
    for claim in parsed:
        studies.setdefault(claim.study, []).append(claim)

    limits = {claim.id: _xlim(claim) for claim in parsed}
    off_scale = any(
        math.isfinite(c.published) and not (lim and lim[0] <= c.published <= lim[1])
        for claim in parsed
        for lim in [limits[claim.id]]
        for c in claim.cells
    )
    right = RIGHT + MARGIN * off_scale
    labels = [c.label for claim in parsed for c in claim.cells] + ["(no cells run)"]
    left = 0.3 + CHAR * max(len(label) for label in labels)
    width = max(MIN_WIDTH, left + MIN_PANEL + right)
    panel = width - left - right
    wrap = int((width - 0.2) / CHAR)
    notes = {}
    for claim in parsed:
        if claim.within:
            axis = f"x: {claim.metric}, mean of the seeds with its 95% t-interval"
        else:
            axis = f"x: {claim.metric}, a − b with its 95% interval"
        if claim.band is not None:
            axis += f"; shaded: the published band [{claim.band[0]:g}, {claim.band[1]:g}]"
        text = f"{claim.statement.rstrip('.')}. {axis}. Source: {claim.source}"
        notes[claim.id] = textwrap.wrap(text, wrap)

    height = TITLE + sum(
        STUDY_HEAD
        + sum(
            CLAIM_HEAD + TEXT_LINE * len(notes[c.id]) + c.rows * ROW + PANEL_PAD + XTICKS + GAP
            for c in group
        )
        for group in studies.values()
    )
    fig = plt.figure(figsize=(width, height))

    def y(inches: float) -> float:  # inches from the top -> figure fraction
        return 1.0 - inches / height

    x0, x1 = 0.1 / width, 1 - 0.1 / width  # headers span the panels and their n column
    fig.text(x0, y(0.08), title, fontsize=13, weight="bold", va="top")
    fig.text(
        x0,
        y(0.36),
        "Each claim has its own x-scale.  No star: the source published no value for that cell; "
        "a star with a number in the margin: off the claim's scale.  n: seeds (paired for a − b).\n"
        "†: not decided (too few seeds, a diverged run or less budget than the source's; "
        "claims.md says which).",
        fontsize=8,
        color="#444444",
        va="top",
    )
    _legend(fig, y(0.76))

    top = TITLE
    for study, group in studies.items():
        fig.text(x0, y(top + 0.12), study, fontsize=12, weight="bold", va="top")
        overall = [c.verdict or "inconclusive" for c in group]
        fig.text(
            x1,
            y(top + 0.14),
            f"{len(group)} claim{'s' * (len(group) != 1)}: {_tally(overall)}",
            fontsize=8.5,
            color="#444444",
            ha="right",
            va="top",
        )
        fig.add_artist(Line2D([x0, x1], [y(top + 0.38)] * 2, color="#444444", lw=0.8))
        top += STUDY_HEAD
        for claim in group:
            fig.text(x0, y(top + 0.05), claim.id, fontsize=9, weight="bold", va="top")
            verdict = claim.verdict or "no overall verdict"
            cells = _tally([c.verdict for c in claim.cells]) or "no cells run"
            fig.text(
                x1 - 0.04 / width,
                y(top + 0.06),
                f"overall: {verdict}  ({cells})",
                fontsize=8,
                color="white",
                weight="bold",
                ha="right",
                va="top",
                bbox=dict(
                    boxstyle="round,pad=0.25",
                    lw=0,
                    fc=VERDICT_COLOUR.get(verdict, VERDICT_COLOUR["inconclusive"]),
                ),
            )
            top += CLAIM_HEAD
            fig.text(
                x0,
                y(top),
                "\n".join(notes[claim.id]),
                fontsize=LABEL_SIZE,
                color="#444444",
                va="top",
                linespacing=1.25,
            )
            top += TEXT_LINE * len(notes[claim.id]) + 0.04
            tall = claim.rows * ROW + PANEL_PAD
            ax = fig.add_axes(
                (left / width, 1 - (top + tall) / height, panel / width, tall / height)
            )
            _draw_panel(ax, claim, limits[claim.id])
            top += tall + XTICKS + GAP - 0.04
    save(fig, png)
    return fig


# --- the one-screen overview ----------------------------------------------------------------

OVERVIEW_DPI = 120
OVERVIEW_WIDTH = 16.0  # inches: 1,920 px at OVERVIEW_DPI
OVERVIEW_ROW = 0.205
OVERVIEW_HEAD = 0.34
OVERVIEW_FONT = 8.0


@dataclass
class _Row:
    claim: _Claim
    reason: str
    estimate: tuple[str, str]


def _reason(claim: _Claim, raw: list[str], to_decide: str) -> str:
    """A few words on why a claim is undecided ("" for a decided one), then what would decide it
    where the claims table says."""
    text = why_undecided(claim.verdict or "inconclusive", raw)
    if text == "not significant" and to_decide.startswith("run "):
        text = "cells not run"  # the claim's scope is not complete: no test was made
    elif text == "not significant" and not any(c.verdict == "inconclusive" for c in claim.cells):
        text = "too few cells decided"
    if text and to_decide:
        text += f" — {to_decide}"
    return text


def _estimate(claim: _Claim) -> tuple[str, str]:
    """(replicated, published) in the claim's own units: one cell's estimate with its interval,
    or the range of the cells' estimates; the published value, range or band ("–": none)."""
    cells = [c for c in claim.cells if math.isfinite(c.x)]
    signed = not claim.within

    def fmt(value: float) -> str:
        # returns and other large numbers in whole units (3,459, not 3.46e+03: the column
        # has room for a value and its interval only without exponents)
        if abs(value) >= 1000:
            text = f"{value:+,.0f}" if signed else f"{value:,.0f}"
        else:
            text = f"{value:+.3g}" if signed else f"{value:.3g}"
        return text.replace("-", "−")

    def span(values: list[float]) -> str:
        low, high = min(values), max(values)
        return fmt(low) if fmt(low) == fmt(high) else f"{fmt(low)} … {fmt(high)}"

    published = [c.published for c in cells if math.isfinite(c.published)]
    if claim.band is not None:
        pub = f"[{fmt(claim.band[0])}, {fmt(claim.band[1])}]"
    else:
        pub = span(published) if published else "–"
    if not cells:
        return "no estimate", pub
    if len(cells) == 1:
        c = cells[0]
        if math.isfinite(c.low) and math.isfinite(c.high):
            return f"{fmt(c.x)} [{fmt(c.low)}, {fmt(c.high)}]", pub
        return fmt(c.x), pub
    return span([c.x for c in cells]), pub


def _clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1].rstrip() + "…"


def overview(
    claims: pd.DataFrame,
    png: str | Path,
    sources: dict[str, list[str]] | None = None,
    titles: dict[str, str] | None = None,
) -> Figure:
    """The claims overview on one screen: one row per claim, grouped by source and study.

    Each row: the overall verdict (colour and marker as in the forest figures), the claim, its
    cells' verdicts as a bar, the replicated estimate against the published value in the claim's
    own units, and for an undecided claim the short reason (and what would decide it, from the
    claims table's ``to_decide`` column when it has one).  ``sources`` maps a source to its
    studies (default: each study its own source); the per-source forest figures hold the cells.
    """
    setup()
    parsed = _parse(claims) if len(claims) else []
    if not parsed:
        fig = plt.figure(figsize=(6.0, 1.0))
        fig.text(0.5, 0.5, "No claims to show: the claims table is empty.", ha="center")
        save(fig, png)
        return fig
    raw = {
        str(cid): [str(c) for c in g["cell"] if not str(c).startswith("overall")]
        for cid, g in claims.groupby("claim", sort=False)
    }
    decide = {}
    if "to_decide" in claims.columns:
        overall = claims[claims["cell"].astype(str).str.startswith("overall")]
        decide = {str(r["claim"]): _text(r["to_decide"]) for _, r in overall.iterrows()}
    studies = list(dict.fromkeys(c.study for c in parsed))
    sources = sources or {study: [study] for study in studies}
    known = {s for group in sources.values() for s in group}
    sources = {**sources, **{s: [s] for s in studies if s not in known}}
    groups: list[tuple[str, list[tuple[str, list[_Row]]]]] = []
    for source, members in sources.items():
        blocks = []
        for study in members:
            rows = [
                _Row(c, _reason(c, raw.get(c.id, []), decide.get(c.id, "")), _estimate(c))
                for c in parsed
                if c.study == study
            ]
            if rows:
                blocks.append((study, rows))
        if blocks:
            groups.append((source, blocks))

    # two columns, sources kept whole, split where the heights are most even
    heights = [
        OVERVIEW_HEAD + sum(OVERVIEW_HEAD * 0.8 + len(r) * OVERVIEW_ROW for _, r in b)
        for _, b in groups
    ]
    split = min(
        range(1, len(groups) + 1),
        key=lambda k: max(sum(heights[:k]), sum(heights[k:])),
    )
    columns = [groups[:split], groups[split:]]
    body = max(sum(heights[:split]), sum(heights[split:]))
    top_margin, bottom = 1.35, 0.15
    height = top_margin + body + bottom
    width = OVERVIEW_WIDTH
    fig = plt.figure(figsize=(width, height))

    def y(inches: float) -> float:
        return 1.0 - inches / height

    def x(inches: float) -> float:
        return inches / width

    tally = _tally([c.verdict or "inconclusive" for c in parsed])
    fig.text(
        x(0.15), y(0.1), f"Claims: {len(parsed)} — {tally}", fontsize=14, weight="bold", va="top"
    )
    fig.text(
        x(0.15),
        y(0.45),
        "One row per claim: its overall verdict (marker), its cells' verdicts (bar) and number, "
        "the replicated estimate with its interval (a range: over the claim's cells) and the "
        "published value, in the claim's own units\n(signed: a paired difference a − b; else "
        "the seeds' mean or median), and why an undecided claim is undecided.  Each claim's cells: "
        "figures/claims/<source>.png and results/claims.md.",
        fontsize=8.5,
        color="#444444",
        va="top",
    )
    _legend_overview(fig, y(0.8))
    column_width = (width - 0.3) / 2
    for k, column in enumerate(columns):
        left = 0.15 + k * (column_width + 0.15)
        _overview_header(fig, left, top_margin - 0.22, x, y)
        top = top_margin
        for source, blocks in column:
            title = (titles or {}).get(source, "")
            fig.text(x(left), y(top + 0.06), source, fontsize=11, weight="bold", va="top")
            if title:
                fig.text(
                    x(left + 0.9),
                    y(top + 0.09),
                    _clip(title, 95),
                    fontsize=8,
                    color="#444444",
                    va="top",
                )
            fig.add_artist(
                Line2D(
                    [x(left), x(left + column_width - 0.1)],
                    [y(top + 0.3)] * 2,
                    color="#444444",
                    lw=0.8,
                )
            )
            top += OVERVIEW_HEAD
            for study, rows in blocks:
                fig.text(
                    x(left + 0.05),
                    y(top + 0.05),
                    study,
                    fontsize=9,
                    style="italic",
                    weight="bold",
                    color="#333333",
                    va="top",
                )
                top += OVERVIEW_HEAD * 0.8
                for i, row in enumerate(rows):
                    _overview_row(fig, row, study, left, top + i * OVERVIEW_ROW, column_width, x, y)
                top += len(rows) * OVERVIEW_ROW
    with plt.rc_context({"savefig.dpi": OVERVIEW_DPI}):
        save(fig, png)
    return fig


#: Column positions of an overview row, inches from the column's left edge.
OVERVIEW_COLUMNS = {
    "marker": 0.12,
    "claim": 0.28,
    "cells": 2.85,
    "replicated": 3.6,
    "published": 5.0,
    "why undecided": 5.95,
}


def _overview_header(fig: Figure, left: float, top: float, x, y) -> None:
    for name, at in OVERVIEW_COLUMNS.items():
        if name != "marker":
            fig.text(
                x(left + at), y(top), name, fontsize=8, color="#555555", va="top", weight="bold"
            )


def _overview_row(
    fig: Figure, row: _Row, study: str, left: float, top: float, width: float, x, y
) -> None:
    claim = row.claim
    at = {name: left + offset for name, offset in OVERVIEW_COLUMNS.items()}
    verdict = claim.verdict or "inconclusive"
    colour = VERDICT_COLOUR.get(verdict, VERDICT_COLOUR["inconclusive"])
    mid = y(top + OVERVIEW_ROW / 2)
    fig.add_artist(
        Line2D(
            [x(at["marker"])],
            [mid],
            marker=VERDICT_MARKER.get(verdict, "o"),
            ms=6.5,
            color=colour,
            mfc="white" if verdict not in ("supported", "contradicted") else colour,
            mew=1.4,
            ls="none",
        )
    )
    name = claim.id.removeprefix(f"{study}.")
    fig.text(x(at["claim"]), mid, _clip(name, 40), fontsize=OVERVIEW_FONT, va="center")
    # the cells' verdicts as a bar: green, vermillion, grey segments, and their number
    bar_width = 0.5
    counts = [sum(c.verdict == v for c in claim.cells) for v in VERDICTS]
    total = sum(counts)
    start = at["cells"]
    for verdict_name, count in zip(VERDICTS, counts, strict=True):
        if not count:
            continue
        span = bar_width * count / total
        fig.add_artist(
            plt.Rectangle(
                (x(start), mid - 0.055 / fig.get_figheight()),
                span / fig.get_figwidth(),
                0.11 / fig.get_figheight(),
                color=VERDICT_COLOUR[verdict_name],
                lw=0,
                alpha=0.85 if verdict_name != "inconclusive" else 0.45,
            )
        )
        start += span
    small = OVERVIEW_FONT - 0.5
    if total:
        fig.text(
            x(at["cells"] + bar_width + 0.05),
            mid,
            f"{total}",
            fontsize=small,
            va="center",
            color="#555555",
        )
    else:
        fig.text(
            x(at["cells"]),
            mid,
            "none run",
            fontsize=small,
            va="center",
            color="#777777",
            style="italic",
        )
    replicated, published = row.estimate
    fig.text(x(at["replicated"]), mid, _clip(replicated, 25), fontsize=small, va="center")
    fig.text(x(at["published"]), mid, _clip(published, 16), fontsize=small, va="center")
    room = int((width - OVERVIEW_COLUMNS["why undecided"] - 0.2) / CHAR)
    fig.text(
        x(at["why undecided"]),
        mid,
        _clip(row.reason, room),
        fontsize=small,
        va="center",
        color="#666666",
        style="italic",
    )


def _legend_overview(fig: Figure, top: float) -> None:
    handles = [
        Line2D(
            [],
            [],
            color=VERDICT_COLOUR[v],
            marker=VERDICT_MARKER[v],
            ls="none",
            ms=7,
            mfc="white" if v == "inconclusive" else VERDICT_COLOUR[v],
            label=v,
        )
        for v in VERDICTS
    ]
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0.01, top),
        ncol=3,
        fontsize=8.5,
        borderaxespad=0.0,
        handletextpad=0.3,
        columnspacing=1.4,
    )
