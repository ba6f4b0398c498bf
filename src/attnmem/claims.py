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
contradicted if at least that fraction is contradicted, else inconclusive.
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
    return f"greater: Holm p < {rule['alpha']}, margin {rule.get('margin', 0.0)}"


def evaluate(
    claims: list[Mapping[str, Any]],
    published: Mapping[str, Any],
    comparisons: Mapping[str, pd.DataFrame],
    axes: Mapping[str, list[str]],
) -> pd.DataFrame:
    """One row per claim and cell, then one ``overall`` row per claim."""
    rows: list[dict[str, Any]] = []
    for claim in claims:
        study = claim["study"]
        table = comparisons.get(study)
        spec, rule = claim["compare"], claim["verdict"]
        others = [a for a in axes[study] if a != spec["axis"]]
        base = {
            "claim": claim["id"],
            "study": study,
            "statement": claim["statement"],
            "source": claim["source"],
            "metric": claim["metric"],
            "rule": _rule_text(rule),
        }
        matched = pd.DataFrame()
        if table is not None and not table.empty:
            keep = (
                (table["axis"] == spec["axis"])
                & (table["a"] == spec["a"])
                & (table["b"] == spec["b"])
                & (table["metric"] == claim["metric"])
            )
            for axis, allowed in claim.get("where", {}).items():
                keep &= table[axis].isin(allowed)
            matched = table[keep]
        cell_verdicts = []
        for _, row in matched.iterrows():
            context = [str(row[a]) for a in others]
            k = axes[study].index(spec["axis"])
            pub_a, pub_b = (
                lookup(published, study, [*context[:k], side, *context[k:]], claim["metric"])
                for side in (spec["a"], spec["b"])
            )
            verdict = cell_verdict(row, rule)
            cell_verdicts.append(verdict)
            rows.append(
                {
                    **base,
                    "cell": "/".join(context),
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


def _fmt(value: Any, digits: int = 2, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def to_markdown(table: pd.DataFrame) -> str:
    """claims.md: one section per claim, one line per cell."""
    lines = ["# Claims: published vs replicated", ""]
    lines.append(
        "Differences are a − b in the metric's units (accuracy: percentage points), paired by "
        "seed, with 95% t-intervals; p is Holm-adjusted over the study's comparisons."
    )
    for claim_id, group in table.groupby("claim", sort=False):
        first = group.iloc[0]
        lines += ["", f"## {claim_id}", "", f"**{first['statement']}** ({first['source']})", ""]
        lines.append(f"Rule: {first['rule']}.")
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
