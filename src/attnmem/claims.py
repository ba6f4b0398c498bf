"""Claim-by-claim verdicts: config/claims.yaml + each study's comparisons -> claims.csv / .md.

A claim says that ``a`` beats ``b`` on ``metric`` along one axis of a study.  Each comparison
row of that study (one per combination of the other axes, optionally filtered by ``where``)
gets a verdict by the claim's rule, and the claim gets an overall verdict from the cell verdicts.

Rule ``greater`` (parameters alpha, margin):
  supported     the paired difference a - b is positive and its Holm-adjusted p < alpha;
  contradicted  the upper end of the 95% interval of a - b is below ``margin``
                (the data rule out an improvement of ``margin`` or more);
  inconclusive  otherwise, or with fewer than two paired seeds.
Overall (parameter min_fraction): supported if at least that fraction of cells is supported,
contradicted if at least that fraction is contradicted, else inconclusive.  ``compare`` may list
several pairs; their cells pool into one overall verdict.

Rule ``within_range`` (parameter min_budget) checks a published single-run value per cell
against the seeds' range of the replicated metric (study summary.csv):
  supported     the published value lies within [min, max] over seeds, and every seed trained
                at least ``min_budget``;
  contradicted  every seed lies above it, or every seed lies below it although every seed
                trained at least ``min_budget`` (the summary's ``budget_metric``);
  inconclusive  otherwise (e.g. within or below it on a smaller budget than the source's), or
                < 2 seeds.

Rule ``greater`` may also name ``budget_metric`` / ``min_budget``: cells trained on less are
inconclusive whatever the data say.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from attnmem.published import lookup

VERDICTS = ("supported", "contradicted", "inconclusive")
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


def range_verdict(
    published: float | None, low: float, high: float, n: int, budget: float, rule: Mapping
) -> str:
    """The verdict of one cell under a ``within_range`` rule."""
    if published is None or n < 2:
        return "inconclusive"
    if low <= published <= high:
        # on a cut budget a wide spread of seeds "contains" almost anything: no support
        return "supported" if budget >= rule["min_budget"] else "inconclusive"
    if low > published or budget >= rule["min_budget"]:
        return "contradicted"
    return "inconclusive"


def cell_verdict(row: Mapping[str, Any], rule: Mapping[str, Any]) -> str:
    """The verdict of one comparison row under a ``greater`` rule."""
    if rule.get("kind", "greater") != "greater":
        raise ValueError(f"unknown verdict rule {rule.get('kind')!r}; allowed: greater")
    if row["n_pairs"] < 2 or math.isnan(row["diff_high"]):
        return "inconclusive"
    if row["diff"] > 0 and row["p_holm"] < rule["alpha"]:
        return "supported"
    if row["diff_high"] < rule.get("margin", 0.0):
        return "contradicted"
    return "inconclusive"


def overall_verdict(verdicts: list[str], min_fraction: float) -> str:
    """Supported (or contradicted) when at least ``min_fraction`` of the cells say so."""
    if not verdicts:
        return "inconclusive"
    for verdict in ("supported", "contradicted"):
        if verdicts.count(verdict) / len(verdicts) >= min_fraction:
            return verdict
    return "inconclusive"


def _rule_text(rule: Mapping[str, Any]) -> str:
    if rule.get("kind") == "within_range":
        return (
            f"within_range: published value inside the seeds' [min, max] (support, and a "
            f"shortfall against it, only on a budget >= {rule['min_budget']:g})"
        )
    text = f"greater: Holm p < {rule['alpha']}, margin {rule.get('margin', 0.0)}"
    if "min_budget" in rule:
        text += f"; cells trained on fewer than {rule['min_budget']:g} {rule['budget_metric']} "
        text += "are inconclusive"
    return text


def _range_rows(
    claim: Mapping[str, Any],
    base: dict[str, Any],
    published: Mapping[str, Any],
    summary: pd.DataFrame | None,
    axes: list[str],
) -> list[dict[str, Any]]:
    """One row per cell of the study's summary for a ``within_range`` claim."""
    rule, metric = claim["verdict"], claim["metric"]
    if summary is None or summary.empty:
        return []
    keep = summary["metric"] == metric
    for axis, allowed in claim.get("where", {}).items():
        keep &= summary[axis].astype(str).isin([str(v) for v in allowed])
    rows = []
    for _, row in summary[keep].iterrows():
        context = [str(row[a]) for a in axes]
        pub = lookup(published, claim["study"], context, claim["published_metric"])
        spent = _budget(summary, rule, axes, [context]) or 0.0
        rows.append(
            {
                **base,
                "cell": "/".join(context) + _shortfall(spent, rule),
                "published_a": pub,
                "n_seeds": int(row["n"]),
                "mean_a": row["median"],
                "diff": None if pub is None else row["median"] - pub,
                "diff_low": None if pub is None else row["min"] - pub,
                "diff_high": None if pub is None else row["max"] - pub,
                "verdict": range_verdict(pub, row["min"], row["max"], int(row["n"]), spent, rule),
            }
        )
    return rows


def evaluate(
    claims: list[Mapping[str, Any]],
    published: Mapping[str, Any],
    comparisons: Mapping[str, pd.DataFrame],
    axes: Mapping[str, list[str]],
    summaries: Mapping[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """One row per claim and cell, then one ``overall`` row per claim."""
    rows: list[dict[str, Any]] = []
    for claim in claims:
        study = claim["study"]
        table = comparisons.get(study)
        rule = claim["verdict"]
        base = {
            "claim": claim["id"],
            "study": study,
            "statement": claim["statement"],
            "source": claim["source"],
            "metric": claim["metric"],
            "rule": _rule_text(rule),
        }
        if rule.get("kind") == "within_range":
            cells = _range_rows(
                claim, base, published, (summaries or {}).get(study), list(axes[study])
            )
        else:
            summary = (summaries or {}).get(study)
            cells = _pair_rows(claim, base, published, table, list(axes[study]), summary)
        rows += cells
        cell_verdicts = [row["verdict"] for row in cells]
        overall = overall_verdict(cell_verdicts, rule.get("min_fraction", 0.5))
        summary = ", ".join(f"{cell_verdicts.count(v)} {v}" for v in VERDICTS)
        rows.append(
            {
                **base,
                "cell": f"overall ({summary})" if cell_verdicts else "overall (no cells run)",
                "verdict": overall,
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _pair_rows(
    claim: Mapping[str, Any],
    base: dict[str, Any],
    published: Mapping[str, Any],
    table: pd.DataFrame | None,
    axes: list[str],
    summary: pd.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """One row per matching comparison of each {axis, a, b} pair a ``greater`` claim names.

    With ``budget_metric`` / ``min_budget`` in the rule, a cell whose runs (either side) trained
    less than ``min_budget`` (the summary's min of ``budget_metric``) is inconclusive: a verdict
    on a cut budget says nothing for or against the source's claim.
    """
    rule, study = claim["verdict"], claim["study"]
    pairs = claim["compare"] if isinstance(claim["compare"], list) else [claim["compare"]]
    rows = []
    for spec in pairs:
        a, b = str(spec["a"]), str(spec["b"])
        others = [name for name in axes if name != spec["axis"]]
        if table is None or table.empty:
            continue
        keep = (
            (table["axis"] == spec["axis"])
            & (table["a"].astype(str) == a)
            & (table["b"].astype(str) == b)
            & (table["metric"] == claim["metric"])
        )
        for axis, allowed in claim.get("where", {}).items():
            if axis not in table.columns:  # no comparison along another axis was run
                keep &= False
                continue
            keep &= table[axis].astype(str).isin([str(v) for v in allowed])
        for _, row in table[keep].iterrows():
            context = [str(row[name]) for name in others]
            k = axes.index(spec["axis"])
            pub_a, pub_b = (
                lookup(
                    published,
                    study,
                    [*context[:k], side, *context[k:]],
                    claim.get("published_metric", claim["metric"]),
                )
                for side in (a, b)
            )
            label = "/".join(context) + (f": {a} vs {b}" if len(pairs) > 1 else "")
            spent = _budget(
                summary, rule, axes, [[*context[:k], side, *context[k:]] for side in (a, b)]
            )
            shortfall = _shortfall(spent, rule)
            verdict = "inconclusive" if shortfall else cell_verdict(row, rule)
            label += shortfall
            rows.append(
                {
                    **base,
                    "cell": label,
                    "published_a": pub_a,
                    "published_b": pub_b,
                    "published_diff": None
                    if pub_a is None or pub_b is None
                    else round(pub_a - pub_b, 6),
                    "n_seeds": int(row["n_pairs"]),
                    "mean_a": row["mean_a"],
                    "mean_b": row["mean_b"],
                    "diff": row["diff"],
                    "diff_low": row["diff_low"],
                    "diff_high": row["diff_high"],
                    "p_holm": row["p_holm"],
                    "prob_improvement": row["prob_improvement"],
                    "verdict": verdict,
                }
            )
    return rows


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


def _shortfall(spent: float | None, rule: Mapping[str, Any]) -> str:
    """The cell label's note when its runs trained less than the rule asks ("" otherwise)."""
    if spent is None or spent >= rule["min_budget"]:
        return ""
    return f" (budget {spent:g} < {rule['min_budget']:g})"


def _fmt(value: Any, digits: int = 2, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _range_markdown(group: pd.DataFrame) -> list[str]:
    lines = ["", "| cell | published | replicated median [min, max] | n | verdict |"]
    lines.append("|---|---|---|---|---|")
    for _, r in group.iterrows():
        if str(r["cell"]).startswith("overall"):
            lines.append(f"| **{r['cell']}** | | | | **{r['verdict']}** |")
            continue
        pub = r["published_a"]
        low, high = (
            (pub + r["diff_low"], pub + r["diff_high"])
            if pub is not None and not pd.isna(pub)
            else (None, None)
        )
        lines.append(
            f"| {r['cell']} | {_fmt(pub, 0)} | {_fmt(r['mean_a'], 1)} [{_fmt(low, 0)}, "
            f"{_fmt(high, 0)}] | {int(r['n_seeds'])} | {r['verdict']} |"
        )
    return lines


def to_markdown(table: pd.DataFrame) -> str:
    """claims.md: one section per claim, one line per cell."""
    lines = ["# Claims: published vs replicated", ""]
    lines.append(
        "Differences are a − b in the metric's units (accuracy: percentage points), paired by "
        "seed, with 95% intervals (t; percentile bootstrap over seeds for the plasticity study, "
        "whose R is an integer); p is Holm-adjusted over the study's comparisons of one metric."
    )
    for claim_id, group in table.groupby("claim", sort=False):
        first = group.iloc[0]
        lines += ["", f"## {claim_id}", "", f"**{first['statement']}** ({first['source']})", ""]
        lines.append(f"Rule: {first['rule']}.")
        if str(first["rule"]).startswith("within_range"):
            lines += _range_markdown(group)
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
