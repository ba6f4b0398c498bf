"""Claim-by-claim verdicts: config/claims.yaml + each study's results -> claims.csv / .md.

Every rule first asks whether a cell can be decided at all.  A cell is **inconclusive**, and its
label says why, when
  - fewer than ``min_seeds`` seeds finished on a side (pairs, for a comparison);
  - a run of the cell diverged: its number is missing, and a missing run may be the very effect
    claimed ("the attention agent collapses"), so the cell is not decided on the runs that
    happened to survive;
  - it trained on less than the source did: a summary metric below ``min_budget``
    (``budget_metric``), or a setting of the study's ``run:`` block below ``min_run``.

Rule ``greater`` (a beats b on ``metric``, paired by seed) decides each remaining cell by exact
sign-flip tests of the paired differences (valid for ties and integer data; n pairs can never
give a one-sided p below 2^-n), Holm-adjusted over the claim's decided cells:
  supported     p(a > b) < alpha;
  contradicted  p(a < b) < alpha;
  inconclusive  otherwise.

Rule ``within_ci`` (a published mean over several runs) and rule ``within_range`` (a published
single unseeded run) compare one published value per cell with the replicated seeds:
  within_ci     supported when the published mean lies inside the 95% t-interval of the
                replicated mean, contradicted when outside; when every seed gave the same
                value (a zero-width interval), by the exact sign test of the seeds against the
                published value instead (contradicted at p < alpha, else inconclusive);
  within_range  supported when the published run lies inside the seeds' [min, max], contradicted
                when outside.
Rule ``within_band`` (an equivalence test against a published band, one for every cell: e.g.
the range of a reference paper's nets) decides each cell by the replicated mean's 95%
t-interval:
  within_band   supported when the interval lies inside [low, high], contradicted when it lies
                wholly outside, inconclusive when it straddles an edge (too few seeds to say);
                seeds that all tie outside the band decide by the exact sign test, as above.
With ``grows_with_budget`` (a metric such as R_reached that rises with the budget alone, against
a source run whose budget is unknown) a cell whose every seed lies above the published value is
inconclusive: more budget explains it.  Below the published value still contradicts, once the
budget guard holds.

Overall (``min_fraction``, optionally per ``group_by`` axis value): supported when at least that
fraction of the cells (of every group) is supported; contradicted when more than the rest is
contradicted, in some group, so that the fraction can no longer be reached; inconclusive
otherwise.  ``compare`` may list several pairs; their cells pool into one claim.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from attnmem.published import lookup
from attnmem.stats.compare import holm

VERDICTS = ("supported", "contradicted", "inconclusive")
#: A study's note on a cell (axis -> value, the axes a row names), or "" for none.
Note = Callable[[Mapping[str, str]], str]
COLUMNS = (
    "claim",
    "study",
    "cell",
    "statement",
    "source",
    "metric",
    "published_a",
    "published_b",
    "published_diff",
    "n_seeds",
    "n_diverged",
    "mean_a",
    "mean_b",
    "diff",
    "diff_low",
    "diff_high",
    "p_holm",
    "prob_improvement",
    "verdict",
    "rule",
)


def overall_verdict(
    verdicts: Sequence[str], min_fraction: float, groups: Sequence[str] | None = None
) -> str:
    """The claim's verdict from its cells' (see the module docstring)."""
    if not verdicts:
        return "inconclusive"
    groups = list(groups) if groups is not None else [""] * len(verdicts)
    by_group: dict[str, list[str]] = {}
    for group, verdict in zip(groups, verdicts, strict=True):
        by_group.setdefault(group, []).append(verdict)
    if any(v.count("contradicted") / len(v) > 1 - min_fraction for v in by_group.values()):
        return "contradicted"
    if all(v.count("supported") / len(v) >= min_fraction for v in by_group.values()):
        return "supported"
    return "inconclusive"


def _setting(run: Mapping[str, Any], dotted: str) -> Any:
    node: Any = run
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


def _gates(
    rule: Mapping[str, Any], seeds: int, diverged: int, spent: float | None, run: Mapping
) -> str:
    """Why a cell cannot be decided ("" when it can), as the note its label carries."""
    notes = []
    if seeds < rule.get("min_seeds", 2):
        notes.append(f"n={seeds} < {rule.get('min_seeds', 2)} seeds")
    if diverged:
        notes.append(f"{diverged} diverged")
    if spent is not None and spent < rule["min_budget"]:
        notes.append(f"budget {spent:g} < {rule['min_budget']:g}")
    for key, least in rule.get("min_run", {}).items():
        value = _setting(run, key)
        if value is None:
            notes.append(f"run.{key} not set")
        elif value < least:
            notes.append(f"run.{key} {value:g} < {least:g}")
    return f" ({'; '.join(notes)})" if notes else ""


def _tied_cell(n: int, alpha: float) -> tuple[str, str]:
    """A cell whose seeds all gave one value (a collapsed teacher's 100% accuracy): a zero-width
    interval is no evidence, so decide by the exact two-sided sign test of the seeds against the
    published value instead — all n on one side has p = 2 · 2^-n (n >= 6 for p < 0.05)."""
    p = min(1.0, 2.0 * 0.5**n)
    if p < alpha:
        return "contradicted", f" (all {n} seeds equal: sign test p = {p:.3g})"
    return "inconclusive", f" (all {n} seeds equal: sign test p = {p:.3g} >= {alpha:g})"


def _band_cell(
    band: Sequence[float], centre: float, low: float, high: float, n: int, alpha: float
) -> tuple[str, str]:
    """An equivalence test: the mean's interval [low, high] against the published band."""
    lo, hi = band
    if low == high and not lo <= centre <= hi:
        return _tied_cell(n, alpha)
    if lo <= low and high <= hi:
        return "supported", ""
    if high < lo or low > hi:
        return "contradicted", ""
    return "inconclusive", f" (interval [{low:.3g}, {high:.3g}] straddles the band's edge)"


_BAND = re.compile(r"^within_band: .* inside \[([^,\]]+), ([^\]]+)\]")


def band_of(rule_text: str) -> tuple[float, float] | None:
    """The published band a ``within_band`` rule's text names (None for other rules)."""
    match = _BAND.match(rule_text)
    return (float(match[1]), float(match[2])) if match else None


def _rule_text(rule: Mapping[str, Any]) -> str:
    kind = rule["kind"]
    if kind == "within_range":
        text = "within_range: published single run inside the seeds' [min, max]"
    elif kind == "within_ci":
        text = "within_ci: published mean inside the replicated mean's 95% t-interval"
    elif kind == "within_band":
        low, high = rule["band"]
        text = f"within_band: the replicated mean's 95% t-interval inside [{low:g}, {high:g}]"
    else:
        alpha = rule["alpha"]
        text = f"greater: exact sign-flip test of a − b, Holm over the claim's cells, p < {alpha}"
    text += f"; >= {rule.get('min_seeds', 2)} seeds per cell"
    if "min_budget" in rule:
        text += f", {rule['budget_metric']} >= {rule['min_budget']:g}"
    for key, least in rule.get("min_run", {}).items():
        text += f", run.{key} >= {least:g}"
    if rule.get("grows_with_budget"):
        text += "; every seed above the published value: inconclusive (grows with the budget)"
    text += f"; overall: >= {rule['min_fraction']:g} of the cells"
    if "group_by" in rule:
        text += f" of every {rule['group_by']}"
    return text


def _budget(
    summary: pd.DataFrame | None, rule: Mapping[str, Any], axes: list[str], cells: list[list[str]]
) -> float | None:
    """The smallest ``budget_metric`` any run of ``cells`` trained (None: rule sets no budget)."""
    if "min_budget" not in rule:
        return None
    if summary is None or summary.empty:
        return 0.0
    rows = summary[summary["metric"] == rule["budget_metric"]]
    spent = []
    for cell in cells:
        match = rows
        for axis, value in zip(axes, cell, strict=True):
            match = match[match[axis].astype(str) == str(value)]
        spent += match["min"].tolist()
    return min(spent) if spent else 0.0


def _keep(table: pd.DataFrame, where: Mapping[str, Sequence[Any]]) -> pd.Series:
    keep = pd.Series(True, index=table.index)
    for axis, allowed in where.items():
        if axis not in table.columns:  # e.g. the compared axis of a comparison table
            return keep & False
        keep &= table[axis].astype(str).isin([str(v) for v in allowed])
    return keep


def _context(notes: Note | None, cell: Mapping[str, str]) -> str:
    """What the study says the reader must know about a cell, in brackets ("" when nothing)."""
    text = notes(cell) if notes is not None else ""
    return f" [{text}]" if text else ""


def _value_rows(
    claim: Mapping[str, Any],
    base: dict[str, Any],
    published: Mapping[str, Any],
    summary: pd.DataFrame | None,
    axes: list[str],
    run: Mapping[str, Any],
    notes: Note | None = None,
) -> list[dict[str, Any]]:
    """One row per cell of the study's summary for a ``within_*`` claim."""
    rule, metric = claim["verdict"], claim["metric"]
    band = rule.get("band")
    if summary is None or summary.empty:
        return []
    rows = []
    chosen = summary[(summary["metric"] == metric) & _keep(summary, claim.get("where", {}))]
    for _, row in chosen.iterrows():
        context = [str(row[a]) for a in axes]
        if band is not None:  # the band's centre stands for it in the figure and tables
            pub = (band[0] + band[1]) / 2
        else:
            pub = lookup(published, claim["study"], context, claim["published_metric"])
        n, diverged = int(row["n"]), int(row["n_diverged"])
        note = _gates(rule, n, diverged, _budget(summary, rule, axes, [context]), run)
        cell_note = _context(notes, dict(zip(axes, context, strict=True)))
        if rule["kind"] in ("within_ci", "within_band"):
            centre, low, high = row["mean"], row["t_low"], row["t_high"]
        else:
            centre, low, high = row["median"], row["min"], row["max"]
        if pub is None or note or math.isnan(low):
            verdict = "inconclusive"
        elif rule.get("grows_with_budget") and pub < row["min"]:
            verdict = "inconclusive"
            note = " (every seed above: the metric grows with the budget, the source's is unknown)"
        elif band is not None:
            verdict, note = _band_cell(band, centre, low, high, n, rule.get("alpha", 0.05))
        elif low == high and centre != pub:
            verdict, note = _tied_cell(n, rule.get("alpha", 0.05))
        else:
            verdict = "supported" if low <= pub <= high else "contradicted"
        rows.append(
            {
                **base,
                "cell": "/".join(context) + cell_note + note,
                "published_a": pub,
                "n_seeds": n,
                "n_diverged": diverged,
                "mean_a": centre,
                # the interval relative to the published value: the figure and table read both
                "diff": None if pub is None else centre - pub,
                "diff_low": None if pub is None else low - pub,
                "diff_high": None if pub is None else high - pub,
                "verdict": verdict,
                "_group": row.get(rule.get("group_by", ""), ""),
            }
        )
    return rows


def _pair_rows(
    claim: Mapping[str, Any],
    base: dict[str, Any],
    published: Mapping[str, Any],
    table: pd.DataFrame | None,
    axes: list[str],
    summary: pd.DataFrame | None,
    run: Mapping[str, Any],
    notes: Note | None = None,
) -> list[dict[str, Any]]:
    """One row per matching comparison of each {axis, a, b} pair a ``greater`` claim names."""
    rule, study = claim["verdict"], claim["study"]
    pairs = claim["compare"] if isinstance(claim["compare"], list) else [claim["compare"]]
    if table is None or table.empty:
        return []
    rows, tests = [], []
    for spec in pairs:
        a, b = str(spec["a"]), str(spec["b"])
        k = axes.index(spec["axis"])
        others = [name for name in axes if name != spec["axis"]]
        keep = (
            (table["axis"] == spec["axis"])
            & (table["a"].astype(str) == a)
            & (table["b"].astype(str) == b)
            & (table["metric"] == claim["metric"])
            & _keep(table, claim.get("where", {}))
        )
        for _, row in table[keep].iterrows():
            context = [str(row[name]) for name in others]
            sides = [[*context[:k], side, *context[k:]] for side in (a, b)]
            pub_a, pub_b = (
                lookup(published, study, cell, claim.get("published_metric", claim["metric"]))
                for cell in sides
            )
            diverged = int(row["n_diverged_a"]) + int(row["n_diverged_b"])
            note = _gates(
                rule, int(row["n_pairs"]), diverged, _budget(summary, rule, axes, sides), run
            )
            label = "/".join(context) + (f": {a} vs {b}" if len(pairs) > 1 else "")
            label += _context(notes, dict(zip(others, context, strict=True)))
            rows.append(
                {
                    **base,
                    "cell": label + note,
                    "published_a": pub_a,
                    "published_b": pub_b,
                    "published_diff": None
                    if pub_a is None or pub_b is None
                    else round(pub_a - pub_b, 6),
                    "n_seeds": int(row["n_pairs"]),
                    "n_diverged": diverged,
                    "mean_a": row["mean_a"],
                    "mean_b": row["mean_b"],
                    "diff": row["diff"],
                    "diff_low": row["diff_low"],
                    "diff_high": row["diff_high"],
                    "prob_improvement": row["prob_improvement"],
                    "verdict": "inconclusive",
                    "_group": str(row[rule["group_by"]]) if "group_by" in rule else "",
                }
            )
            tests.append(None if note else (row["p_greater"], row["p_less"]))
    decided = [i for i, t in enumerate(tests) if t is not None]
    # Holm over the cells the claim decides: its own family of tests, in each direction
    support = holm([tests[i][0] for i in decided])
    against = holm([tests[i][1] for i in decided])
    for i, p_for, p_against in zip(decided, support, against, strict=True):
        rows[i]["p_holm"] = p_for
        if p_for < rule["alpha"]:
            rows[i]["verdict"] = "supported"
        elif p_against < rule["alpha"]:
            rows[i]["verdict"] = "contradicted"
    return rows


def evaluate(
    claims: list[Mapping[str, Any]],
    published: Mapping[str, Any],
    comparisons: Mapping[str, pd.DataFrame],
    axes: Mapping[str, Sequence[str]],
    summaries: Mapping[str, pd.DataFrame] | None = None,
    runs: Mapping[str, Mapping[str, Any]] | None = None,
    notes: Mapping[str, Note] | None = None,
) -> pd.DataFrame:
    """One row per claim and cell, then one ``overall`` row per claim.

    ``runs[study]`` is the study's ``run:`` block (for ``min_run``); ``notes[study]`` maps a
    cell (the axes a row names) to what a reader must know beside its verdict (the teacher
    study: the teacher's greedy return), shown in brackets after the cell.
    """
    rows: list[dict[str, Any]] = []
    for claim in claims:
        study, rule = claim["study"], claim["verdict"]
        base = {
            "claim": claim["id"],
            "study": study,
            "statement": claim["statement"],
            "source": claim["source"],
            "metric": claim["metric"],
            "rule": _rule_text(rule),
        }
        summary = (summaries or {}).get(study)
        run, note = (runs or {}).get(study, {}), (notes or {}).get(study)
        if rule["kind"].startswith("within"):
            cells = _value_rows(claim, base, published, summary, list(axes[study]), run, note)
        else:
            table = comparisons.get(study)
            cells = _pair_rows(claim, base, published, table, list(axes[study]), summary, run, note)
        verdicts = [row["verdict"] for row in cells]
        groups = [row.pop("_group") for row in cells]
        rows += cells
        tally = ", ".join(f"{verdicts.count(v)} {v}" for v in VERDICTS)
        rows.append(
            {
                **base,
                "cell": f"overall ({tally})" if verdicts else "overall (no cells run)",
                "verdict": overall_verdict(verdicts, rule["min_fraction"], groups),
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _fmt(value: Any, digits: int = 2, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _value_markdown(group: pd.DataFrame, kind: str) -> list[str]:
    spread = "[min, max]" if kind == "within_range" else "95% t-interval"
    centre = "median" if kind == "within_range" else "mean"
    lines = ["", f"| cell | published | replicated {centre} {spread} | n | verdict |"]
    lines.append("|---|---|---|---|---|")
    for _, r in group.iterrows():
        if str(r["cell"]).startswith("overall"):
            lines.append(f"| **{r['cell']}** | | | | **{r['verdict']}** |")
            continue
        pub = r["published_a"]
        known = pub is not None and not pd.isna(pub)
        low, high = (pub + r["diff_low"], pub + r["diff_high"]) if known else (None, None)
        lines.append(
            f"| {r['cell']} | {_fmt(pub)} | {_fmt(r['mean_a'])} [{_fmt(low)}, {_fmt(high)}] | "
            f"{int(r['n_seeds'])} | {r['verdict']} |"
        )
    return lines


def to_markdown(table: pd.DataFrame) -> str:
    """claims.md: one section per claim, one line per cell."""
    lines = ["# Claims: published vs replicated", ""]
    lines.append(
        "Differences are a − b in the metric's units (accuracy: percentage points), paired by "
        "seed, with 95% intervals (t; percentile bootstrap over seeds for the plasticity study, "
        "whose R is an integer) as descriptions; the verdicts come from exact sign-flip tests, "
        "Holm-adjusted over each claim's cells (p below: for a > b).  A cell that cannot be "
        "decided says why in brackets."
    )
    for claim_id, group in table.groupby("claim", sort=False):
        first = group.iloc[0]
        lines += ["", f"## {claim_id}", "", f"**{first['statement']}** ({first['source']})", ""]
        lines.append(f"Rule: {first['rule']}.")
        kind = str(first["rule"]).split(":")[0]
        if kind.startswith("within"):
            lines += _value_markdown(group, kind)
            continue
        lines += [
            "",
            "| cell | published a − b | replicated a − b [95% CI] | n | p (Holm) | verdict |",
        ]
        lines.append("|---|---|---|---|---|---|")
        for _, r in group.iterrows():
            if str(r["cell"]).startswith("overall"):
                lines.append(f"| **{r['cell']}** | | | | | **{r['verdict']}** |")
                continue
            published = (
                f"{_fmt(r['published_diff'], signed=True)} ({_fmt(r['published_a'])} vs "
                f"{_fmt(r['published_b'])})"
                if r["published_diff"] is not None and not pd.isna(r["published_diff"])
                else "not published for this cell"
            )
            replicated = (
                f"{_fmt(r['diff'], signed=True)} [{_fmt(r['diff_low'], signed=True)}, "
                f"{_fmt(r['diff_high'], signed=True)}]"
            )
            lines.append(
                f"| {r['cell']} | {published} | {replicated} | {int(r['n_seeds'])} | "
                f"{_fmt(r['p_holm'], 3)} | {r['verdict']} |"
            )
    return "\n".join(lines) + "\n"
