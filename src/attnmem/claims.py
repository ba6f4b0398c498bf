"""Claim-by-claim verdicts: config/claims.yaml + each study's runs.csv -> claims.csv / .md.

A claim names its **scope**: ``where`` lists the values of every axis it speaks about (the
compared axis aside), so its required cells are known before any run; a value claim drops the
cells the source published no number for.  Its overall verdict is inconclusive, and says
"k of K required cells run", until every required cell ran; and inconclusive, saying why, while
any cell cannot be decided:
  - fewer than ``min_seeds`` seeds finished (seeds both sides share, for a comparison);
  - a run diverged: a missing run may be the very effect claimed ("the attention agent
    collapses"), so no cell is decided on the runs that happened to survive;
  - it trained on less than the source did: ``budget_metric`` below ``min_budget`` on some run,
    or a setting of the study's ``run:`` block below ``min_run`` (with ``grows_with_budget``,
    an ``at_least`` metric that never falls as a run trains on, such as the R a curriculum has
    reached, a run that stopped short having already reached its target is not short); or,
    with ``floor_from_run``,
    the published value is one the budget reaches by itself (Table 1's Max R <= total_cap /
    stage_cap), so reaching it says nothing.
Then one test decides the claim (``attnmem.verdicts``: the tests, their reach and their plans):
  greater      one statistic per seed over the claim's cells, one exact sign-flip test; with
               ``every`` (an axis or "cell") it must hold in each group (intersection-union);
  equivalent   each cell's published value matched within ``margin`` (TOST) or missed beyond
               it, a single published run treated as one more draw (prediction-interval SE), a
               published mean of ``published_runs`` runs with its SD by Welch's SE; every cell
               must match, one cell beyond its margin (Holm over cells) contradicts;
  band         as equivalent, against a published [low, high];
  at_least     each cell's median run reaches the published value (exact sign test), or the
               published runs lie above what the replication reaches (exact ranks, combined).
Each cell row is a description: its estimate with a 95% interval, and its own test (for a
comparison, Holm over the claim's cells), whose verdict the overall row does not count.
An inconclusive claim says what would decide it (``to_decide``): the missing cells, the budget,
the seeds its test needs at the claim's declared effect (or margin) from the observed spread,
and the CPU-hours, projected from the measured cost of the study's jobs (config/costs.yaml).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from attnmem import verdicts
from attnmem.published import lookup
from attnmem.stats.compare import holm, probability_of_improvement, sign_flip_p
from attnmem.stats.describe import t_interval

VERDICTS = ("supported", "contradicted", "inconclusive")
#: The rules that compare each cell with a published number (the others compare two cells).
VALUE_KINDS = ("equivalent", "band", "at_least")
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
    "p_for",
    "p_against",
    "prob_improvement",
    "verdict",
    "rule",
    "scope",
    "to_decide",
)


def where_cells(claim: Mapping[str, Any], axes: Sequence[str]) -> list[dict[str, str]]:
    """Every combination of the claim's ``where`` values over ``axes`` (as text)."""
    where = claim.get("where", {})
    lists = [[str(v) for v in where.get(axis, [])] for axis in axes]
    return [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*lists)]


def pairs_of(claim: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    compare = claim.get("compare")
    return compare if isinstance(compare, list) else [compare] if compare else []


@dataclass
class Cell:
    """One required cell of a claim: a value cell, or a comparison's (a, b) pair of cells."""

    label: str
    sides: list[dict[str, str]]  # one cell (value claims) or [a, b]
    group: str = ""
    published: list[float | None] = field(default_factory=list)
    values: list[dict[int, float]] = field(default_factory=list)  # per side: seed -> value
    diverged: int = 0
    ran: bool = False
    gate: str = ""
    short: list[str] = field(default_factory=list)  # the budget notes among the gate's
    floored: str = ""  # why the cell is shown but not tested: the budget alone reaches it


def required_cells(
    claim: Mapping[str, Any],
    published: Mapping[str, Any],
    axes: Sequence[str],
    has_cell: Callable[[Mapping[str, str]], bool] | None = None,
) -> list[Cell]:
    """The cells a claim speaks about (its declared scope), before any result is read."""
    exists = has_cell or (lambda cell: True)
    rule, study = claim["verdict"], claim["study"]
    name = claim.get("published_metric", claim["metric"])
    every = rule.get("every")
    cells = []
    if rule["kind"] in VALUE_KINDS:
        for cell in where_cells(claim, axes):
            if not exists(cell):
                continue
            pub = lookup(published, study, list(cell.values()), name)
            if rule["kind"] != "band" and pub is None:
                continue  # the source published nothing here: not part of the claim
            cells.append(Cell("/".join(cell.values()), [cell], "", [pub]))
        return cells
    pairs = pairs_of(claim)
    for pair in pairs:
        others = [a for a in axes if a != pair["axis"]]
        for context in where_cells(claim, others):
            # at_a / at_b: a side that differs on another axis too (a conv net has 0 glimpses)
            sides = [
                {**context, pair["axis"]: str(pair[s]), **_text(pair.get(f"at_{s}", {}))}
                for s in ("a", "b")
            ]
            sides = [{a: side[a] for a in axes} for side in sides]
            if not all(exists(side) for side in sides):
                continue
            label = "/".join(context.values())
            if len(pairs) > 1:
                label += f"{'/' if label else ''}{pair['a']} vs {pair['b']}"
            group = label if every == "cell" else context.get(every, "") if every else ""
            pubs = [lookup(published, study, list(side.values()), name) for side in sides]
            cells.append(Cell(label, sides, group, pubs))
    return cells


def _text(mapping: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in mapping.items()}


def _setting(run: Mapping[str, Any], dotted: str) -> Any:
    node: Any = run
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


def setting_for(run: Mapping[str, Any], dotted: str, cell: Mapping[str, str]) -> float | None:
    """A run setting for one cell: a number, or a mapping keyed by the cell's axis values
    joined with "/" (``memo_MA/100``), by one of them, or ``default``, as per-env, per-network
    and per-cell budgets are written."""
    value = _setting(run, dotted)
    if isinstance(value, Mapping):
        keyed = {str(k): v for k, v in value.items()}
        keys = ["/".join(str(v) for v in cell.values()), *(str(v) for v in cell.values())]
        value = next((keyed[k] for k in keys if k in keyed), keyed.get("default"))
    return None if value is None or isinstance(value, Mapping) else float(value)


def run_gates(
    rule: Mapping[str, Any], run: Mapping[str, Any], cell: Mapping[str, str]
) -> list[str]:
    """The ``min_run`` settings (and ``budget_setting``) a cell's run block falls short of."""
    notes = []
    for key, least in rule.get("min_run", {}).items():
        value = setting_for(run, key, cell)
        if value is None:
            notes.append(f"run.{key} not set")
        elif value < least:
            notes.append(f"run.{key} {value:g} < {least:g}")
    key = rule.get("budget_setting")
    if key is not None and "min_budget" in rule:
        value = setting_for(run, key, cell)
        if value is not None and value < rule["min_budget"]:
            notes.append(f"run.{key} {value:g} < {rule['min_budget']:g}")
    return notes


def trivial_floor(rule: Mapping[str, Any], run: Mapping[str, Any], cell: Mapping[str, str]):
    """With ``floor_from_run`` {numerator, denominator}: the value the budget reaches alone."""
    spec = rule.get("floor_from_run")
    if spec is None:
        return None
    top, bottom = (setting_for(run, spec[k], cell) for k in ("numerator", "denominator"))
    return None if top is None or not bottom else math.floor(top / bottom)


def _values(table: pd.DataFrame | None, cell: Mapping[str, str], metric: str):
    """seed -> value of the cell's finished runs, the number of diverged runs, and the runs'
    budget column (all of it) when asked."""
    if table is None or table.empty or metric not in table.columns:
        return {}, 0, table.iloc[0:0] if table is not None else None
    keep = pd.Series(True, index=table.index)
    for axis, value in cell.items():
        keep &= table[axis].astype(str) == value
    rows = table[keep]
    ok = rows[(rows["status"] == "ok") & rows[metric].notna()]
    return (
        dict(zip(ok["seed"].astype(int), ok[metric].astype(float), strict=True)),
        int((rows["status"] == "diverged").sum()),
        rows,
    )


def _fill(
    cell: Cell,
    claim: Mapping[str, Any],
    table: pd.DataFrame | None,
    run: Mapping[str, Any],
) -> None:
    """Read a cell's runs and say why it cannot be decided ("" when it can)."""
    rule, metric = claim["verdict"], claim["metric"]
    notes, spent, ran, reached_early = [], [], [], 0
    for side in cell.sides:
        values, diverged, rows = _values(table, side, metric)
        cell.values.append(values)
        cell.diverged += diverged
        ran.append(rows is not None and not rows.empty)
        budget = rule.get("budget_metric")
        if budget is not None and rows is not None and budget in rows.columns:
            if rule.get("grows_with_budget") and cell.published[0] is not None:
                # the metric only grows as a run trains on, so a run that stopped short but
                # already reached the target reaches it at the full budget too
                early = rows[metric].astype(float) >= cell.published[0]
                reached_early += int(early.sum())
                rows = rows[~early]
            spent += rows[budget].dropna().astype(float).tolist()
    cell.ran = all(ran)
    seeds = len(set.intersection(*(set(v) for v in cell.values))) if cell.values else 0
    if seeds < rule.get("min_seeds", 2):
        notes.append(f"n={seeds} < {rule.get('min_seeds', 2)} seeds")
    if cell.diverged:
        notes.append(f"{cell.diverged} diverged")
    if "min_budget" in rule and (
        (spent and min(spent) < rule["min_budget"]) or not (spent or reached_early)
    ):
        least = min(spent) if spent else 0
        notes.append(f"{rule['budget_metric']} {least:g} < {rule['min_budget']:g}")
    if "max_budget" in rule and spent and max(spent) > rule["max_budget"]:
        notes.append(
            f"{rule['budget_metric']} {max(spent):g} > {rule['max_budget']:g}: the published "
            "value is at that budget"
        )
    notes += run_gates(rule, run, cell.sides[0])
    cell.short = [n for n in notes if "seeds" not in n and "diverged" not in n]
    floor = trivial_floor(rule, run, cell.sides[0])
    if floor is not None and cell.published[0] is not None and cell.published[0] <= floor:
        spec = rule["floor_from_run"]
        cell.floored = (
            f"published {cell.published[0]:g} <= {floor:g} = run.{spec['numerator']} / "
            f"run.{spec['denominator']}: the budget alone reaches it, shown, not tested"
        )
    cell.gate = "; ".join(notes)


# ---- the rules ----------------------------------------------------------------------------------


def _rule_text(rule: Mapping[str, Any]) -> str:
    kind, alpha = rule["kind"], rule.get("alpha", 0.05)
    if kind == "greater":
        every = rule.get("every")
        text = "greater: one exact sign-flip test over seeds of the mean over cells of sign(a − b)"
        if every:
            text += f", in every {every} (intersection-union)"
        text += f", p < {alpha:g}"
    elif kind == "equivalent":
        runs = rule.get("published_runs", 1)
        source = "a single published run" if runs == 1 else f"a published mean of {runs} runs"
        margin = _margin_text(rule)
        text = (
            f"equivalent: {source} matched within {margin} (TOST) or missed beyond it, α {alpha:g}"
        )
    elif kind == "band":
        low, high = rule["band"]
        text = (
            f"band: the replicated mean inside [{low:g}, {high:g}] (TOST) or outside, α {alpha:g}"
        )
    else:
        text = (
            "at_least: each cell's median run reaches the published value (exact sign test), "
            f"or the published runs lie above the seeds (exact ranks, Fisher), α {alpha:g}"
        )
    text += f"; >= {rule.get('min_seeds', 2)} seeds per cell"
    if rule.get("max_budget") == rule.get("min_budget") and "max_budget" in rule:
        text += f", {rule['budget_metric']} = {rule['min_budget']:g}"
    elif "min_budget" in rule:
        text += f", {rule['budget_metric']} >= {rule['min_budget']:g}"
    for key, least in rule.get("min_run", {}).items():
        text += f", run.{key} >= {least:g}"
    return text


def _margin_text(rule: Mapping[str, Any]) -> str:
    if "margin_rel" in rule:
        return f"±{rule['margin_rel']:.0%} of the published value"
    return f"±{rule['margin']:g}"


def margin_of(rule: Mapping[str, Any], published: float) -> float:
    if "margin_rel" in rule:
        return abs(published) * rule["margin_rel"]
    return float(rule["margin"])


def band_of(rule_text: str) -> tuple[float, float] | None:
    """The published band a ``band`` rule's text names (None for other rules)."""
    if not rule_text.startswith("band: "):
        return None
    inside = rule_text.split("[", 1)[1].split("]", 1)[0]
    low, high = inside.split(", ")
    return float(low), float(high)


def _published_sd(claim: Mapping[str, Any], published: Mapping[str, Any], cell: Cell):
    name = claim["verdict"].get("published_sd")
    if name is None:
        return None
    return lookup(published, claim["study"], list(cell.sides[0].values()), name)


def _value_row(claim, published, cell: Cell, base) -> dict[str, Any]:
    """A value cell's row: its estimate, interval and its own test."""
    rule, alpha = claim["verdict"], claim["verdict"].get("alpha", 0.05)
    x = np.array(list(cell.values[0].values()), dtype=float)
    pub = cell.published[0]
    if rule["kind"] == "band":
        pub = sum(rule["band"]) / 2  # the band's centre stands for it in the figure and tables
    row = {**base, "cell": cell.label, "published_a": pub, "n_seeds": int(x.size),
           "n_diverged": cell.diverged, "verdict": "inconclusive"}  # fmt: skip
    if x.size == 0:
        return row
    low, high = t_interval(x)
    row.update(mean_a=float(x.mean()), diff=float(x.mean()) - pub)
    row.update(diff_low=low - pub, diff_high=high - pub)
    if cell.gate or x.size < 2:
        return row
    if rule["kind"] == "equivalent":
        runs = rule.get("published_runs", 1)
        outcome, _ = verdicts.equivalent(
            x, pub, margin_of(rule, pub), alpha, runs, _published_sd(claim, published, cell)
        )
    elif rule["kind"] == "band":
        outcome, _ = verdicts.band(x, *rule["band"], alpha)
    else:
        outcome = verdicts.at_least([x], [pub], alpha)
    row.update(p_for=outcome.p_for, p_against=outcome.p_against, verdict=outcome.verdict)
    return row


def _value_claim(claim, cells: list[Cell], rows: list[dict]) -> verdicts.Outcome:
    """Every cell matches (intersection-union), or one misses (Holm over the cells)."""
    alpha = claim["verdict"].get("alpha", 0.05)
    if claim["verdict"]["kind"] == "at_least":
        samples = [list(c.values[0].values()) for c in cells]
        return verdicts.at_least(samples, [c.published[0] for c in cells], alpha)
    p_for = max(row["p_for"] for row in rows)
    p_against = min(holm([row["p_against"] for row in rows]))
    return verdicts.decide(p_for, p_against, alpha)


def _pair_row(claim, cell: Cell, base) -> dict[str, Any]:
    a, b = cell.values
    seeds = sorted(set(a) & set(b))
    diff = np.array([a[s] - b[s] for s in seeds], dtype=float)
    pub_a, pub_b = cell.published
    row = {
        **base,
        "cell": cell.label,
        "published_a": pub_a,
        "published_b": pub_b,
        "published_diff": None if pub_a is None or pub_b is None else round(pub_a - pub_b, 6),
        "n_seeds": len(seeds),
        "n_diverged": cell.diverged,
        "verdict": "inconclusive",
    }
    if seeds:
        low, high = t_interval(diff)
        row.update(mean_a=float(np.mean(list(a.values()))), mean_b=float(np.mean(list(b.values()))))
        row.update(diff=float(diff.mean()), diff_low=low, diff_high=high)
        row["prob_improvement"] = probability_of_improvement(list(a.values()), list(b.values()))
        row["_diff"] = diff
    return row


def _group_diffs(cells: list[Cell]) -> dict[str, np.ndarray]:
    """Each group's paired differences a − b, (seeds, cells), over the seeds every cell shares:
    what the claim-level test, and the seeds it would need, read."""
    seeds = sorted(set.intersection(*(set(c.values[0]) & set(c.values[1]) for c in cells)))
    groups: dict[str, list[np.ndarray]] = {}
    for c in cells:
        groups.setdefault(c.group, []).append(
            np.array([c.values[0][s] - c.values[1][s] for s in seeds], dtype=float)
        )
    return {g: np.column_stack(d) for g, d in groups.items()}


def _pair_claim(claim, cells: list[Cell]) -> verdicts.Outcome:
    """The claim-level test over the seeds every cell shares."""
    return verdicts.greater(_group_diffs(cells), claim["verdict"]["alpha"])


def _describe_cells(claim, rows: list[dict]) -> None:
    """Each comparison cell's own one-sided tests, Holm over the claim's cells: a description
    beside the claim-level verdict, never counted in it."""
    alpha = claim["verdict"]["alpha"]
    tested = [r for r in rows if "_diff" in r and r["n_seeds"] >= 2 and not r.get("_gate")]
    for side, key in (("greater", "p_for"), ("less", "p_against")):
        adjusted = holm([sign_flip_p(r["_diff"], side) for r in tested])
        for row, p in zip(tested, adjusted, strict=True):
            row[key] = p
    for row in tested:
        if row["p_for"] < alpha:
            row["verdict"] = "supported"
        elif row["p_against"] < alpha:
            row["verdict"] = "contradicted"


# ---- what it would take -------------------------------------------------------------------------


def _needed_seeds(claim, cells: list[Cell], rows: list[dict], published) -> tuple[int | None, str]:
    """Seeds the claim's test needs (power 0.8) from the observed spread; why, in words."""
    rule, alpha = claim["verdict"], claim["verdict"].get("alpha", 0.05)
    least = max(rule.get("min_seeds", 2), verdicts.seeds_to_reach(alpha))
    observed = [r for r in rows if r.get("n_seeds", 0) >= 2 and r.get("mean_a") is not None]
    if rule["kind"] == "greater":
        spreads: dict[str, list[float]] = {}
        for c, r in zip(cells, rows, strict=True):
            if "_diff" in r and len(r["_diff"]) >= 2:
                spreads.setdefault(c.group, []).append(float(np.std(r["_diff"], ddof=1)))
        if not spreads:
            return least, "the least its exact test can decide with"
        n = verdicts.greater_seeds(spreads, rule["min_effect"], alpha)
        ran = min(int(r["n_seeds"]) for r in rows if "_diff" in r and len(r["_diff"]) >= 2)
        at_budget = all(c.ran and not c.short for c in cells)
        if n is None or n > ran or not at_budget:
            return (max(n, least) if n else None), f"for a − b = {rule['min_effect']:g} per cell"
        # at the claim's budget, the seeds run would have decided the declared effect: the true
        # one is smaller, and what decides the claim is the observed statistic's own power
        return _seeds_at_observed(claim, cells, least, ran)
    if not observed:
        return least, "the least its test can decide with"
    need = least
    for c, r in zip(cells, rows, strict=True):
        x = np.array(list(c.values[0].values()), dtype=float)
        if x.size < 2:
            continue
        pub = r["published_a"]
        if rule["kind"] == "at_least":
            n = verdicts.at_least_seeds(float((x >= pub).mean()), alpha)
        elif rule["kind"] == "band":
            low, high = rule["band"]
            n = verdicts.equivalence_seeds(
                float(x.std(ddof=1)), float(x.mean()) - pub, (high - low) / 2, alpha, verdicts.FIXED
            )
        else:
            n = verdicts.equivalence_seeds(
                float(x.std(ddof=1)), float(x.mean()) - pub, margin_of(rule, pub), alpha,
                rule.get("published_runs", 1), _published_sd(claim, published, c),
            )  # fmt: skip
        if n is None:
            return None, f"cell {c.label}: no number of seeds decides at the observed spread"
        need = max(need, n)
    return need, "at the observed estimates and spread"


def _measured(flat: Mapping[str, Any], key: str, cell: Mapping[str, str]) -> float | None:
    """A setting of a measured run block (flattened by ``attnmem.costs``) for one cell: per-value
    settings are written ``epochs.mnist28`` or ``total_cap.memo_MA/100``, read as
    ``setting_for`` reads the nested block."""
    keys = [key, f"{key}.{'/'.join(cell.values())}", *(f"{key}.{v}" for v in cell.values())]
    value = next((flat[k] for k in keys if k in flat), flat.get(f"{key}.default"))
    return None if value is None else float(value)


def _seeds_at_observed(claim, cells: list[Cell], least: int, ran: int) -> tuple[int | None, str]:
    """Seeds a ``greater`` claim needs at the spread and mean of its own per-seed statistic T
    (``verdicts.seed_statistic``) as observed: to support, every group's mean T must be positive
    (the largest group's need counts); to contradict, the mean T over every cell negative.
    Neither: no seed count decides it at the observed differences."""
    rule = claim["verdict"]
    groups = _group_diffs(cells)
    stats = {g: verdicts.seed_statistic(d) for g, d in groups.items()}
    every = verdicts.seed_statistic(np.column_stack(list(groups.values())))

    def need(t: np.ndarray, sign: int) -> int | None:
        mean, sd = sign * float(t.mean()), float(t.std(ddof=1))
        if mean <= 0:
            return None
        return least if sd == 0 else verdicts.t_test_seeds(mean / sd, rule["alpha"], least)

    shown = ", ".join(f"{t.mean():+.2f}" + (f" ({g})" if g else "") for g, t in stats.items())
    after = f"the {ran} seeds run would decide a − b = {rule['min_effect']:g} per cell"
    if all(t.mean() > 0 for t in stats.values()):
        needs = [need(t, +1) for t in stats.values()]
        n = None if None in needs else max(n for n in needs if n is not None)
        return n, f"to support at the observed mean sign of a − b per seed, {shown}; {after}"
    if every.mean() < 0:
        n = need(every, -1)
        return n, f"to contradict at the observed mean sign of a − b, {every.mean():+.2f}; {after}"
    return None, f"the observed mean sign of a − b per seed, {shown}, moves no test; {after}"


def _scale(claim, cost: Mapping[str, Any], cell: Mapping[str, str]) -> float:
    """How much longer a run at the claim's budget takes than the measured one, linear in each
    setting: the ``min_run`` settings (and the budget metric) a study names as one product
    (``Study.cost_products``: 14 generations x 10 children is 140 runs' work; RAM's training
    images x epochs) multiply, and the rest count by the largest: the parts of a job that add (a
    teacher's DQN steps, its predictor's epochs), and a budget metric that counts the same
    work again (train_steps = epochs x steps_per_epoch).  The groups come with the cost
    (``products``, which ``attnmem.costs.read`` adds from the study's description)."""
    rule = claim["verdict"]
    products = [tuple(group) for group in cost.get("products", ())]
    measured = cost.get("run", {})
    ratios: dict[str, float] = {}
    named_values = {str(v) for values in claim.get("where", {}).values() for v in values}
    for key, least in rule.get("min_run", {}).items():
        suffix = key.rsplit(".", 1)[-1]
        if "." in key and suffix in named_values and suffix not in cell.values():
            continue  # another cell's entry of a per-value setting (epochs.cluttered100)
        value = _measured(measured, key, cell)
        if value:
            ratios[key] = least / value
    if "min_budget" in rule and cost.get("budget"):
        ratios[rule.get("budget_metric", "")] = rule["min_budget"] / cost["budget"]

    def named(key: str, keys: tuple[str, ...]) -> bool:  # epochs names epochs.mnist28 too
        return any(key == k or key.startswith(f"{k}.") for k in keys)

    scales = [
        math.prod(r for k, r in ratios.items() if named(k, keys))
        for keys in products
        if any(named(k, keys) for k in ratios)
    ]
    scales += [r for k, r in ratios.items() if not any(named(k, keys) for keys in products)]
    return max(scales, default=1.0)


def _cpu_hours(claim, cells: list[Cell], seeds: int, costs) -> tuple[float, list[str], bool]:
    """CPU-hours of ``seeds`` runs of every cell the costs table measured, projected to the
    claim's budget; the cells it never measured (their cost is unknown, not borrowed from
    another cell: a digits ShuffleNet says nothing of a CIFAR ResNet); and whether any cell's
    cost comes from a short probe run (``attnmem.probe``)."""
    study = (costs or {}).get(claim["study"]) or {}
    measured = study.get("cells", {})
    total, unknown, probed = 0.0, [], False
    for c in cells:
        for side in c.sides:
            key = "/".join(side.values())
            if key in measured:
                # a cell measured under another config (python -m attnmem.costs --merge) keeps
                # its own run settings; the others ran under the study's
                cost = {"run": study.get("run", {}), **measured[key]}
                cost["products"] = study.get("products", ())
                total += seeds * cost["cpu_s"] * _scale(claim, cost, side)
                probed = probed or bool(cost.get("probe"))
            elif key not in unknown:
                unknown.append(key)
    return total / 3600, unknown, probed


def to_decide(claim, cells: list[Cell], rows: list[dict], published, run, costs) -> str:
    """What would decide an inconclusive claim: cells, budget, seeds, CPU-hours."""
    rule = claim["verdict"]
    parts = []
    missing = [c for c in cells if not c.ran]
    if missing:
        names = ", ".join(c.label or "the cell" for c in missing[:3])
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        parts.append(f"run {len(missing)} of {len(cells)} required cells ({names}{more})")
    budget = []
    if "min_budget" in rule:
        budget.append(f"{rule['budget_metric']} >= {rule['min_budget']:g}")
    budget += [f"run.{k} >= {v:g}" for k, v in rule.get("min_run", {}).items()]
    if budget and any(c.short for c in cells):
        parts.append("at " + ", ".join(budget))
    diverged = [c for c in cells if c.diverged]
    if diverged:
        # seeds cannot fix a cell whose runs diverge: the claim is undecided by that, first
        k = len(diverged)
        parts.append(
            f"runs that do not diverge (seeds alone cannot decide it: {k} "
            f"{'cell loses' if k == 1 else 'cells lose'} runs to divergence, "
            f"{', '.join(c.label for c in diverged[:3])}{' …' if k > 3 else ''})"
        )
    seeds, why = _needed_seeds(claim, cells, rows, published)
    if seeds is None:
        parts.append(f"no seed count suffices ({why})")
    else:
        parts.append(f"{seeds} seeds ({why})")
        hours, unknown, probed = _cpu_hours(claim, cells, seeds, costs)
        sides = sum(len(c.sides) for c in cells)
        rough = " from short probe runs, linear in the budget" if probed else ""
        if not unknown:
            parts.append(f"≈ {_hours(hours)} CPU-h ({seeds} seeds × {len(cells)} cells{rough})")
        elif len(unknown) < sides:
            parts.append(
                f"≈ {_hours(hours)} CPU-h for the cells config/costs.yaml measured{rough}, plus "
                f"{len(unknown)} never measured here ({', '.join(unknown[:3])}"
                f"{' …' if len(unknown) > 3 else ''})"
            )
        else:
            parts.append(
                "CPU-h unknown: config/costs.yaml measured none of its cells (`make probe` "
                "measures them where their data is)"
            )
    floors = [c.gate for c in cells if "the budget alone" in c.gate]
    if floors:
        parts.append("a budget whose floor lies below the published value")
    return "; ".join(parts)


def _hours(hours: float) -> str:
    if hours < 1:
        return f"{hours:.2f}"
    return f"{hours:,.0f}" if hours >= 10 else f"{hours:.1f}"


# ---- the table -------------------------------------------------------------------------------


def evaluate_claim(
    claim: Mapping[str, Any],
    published: Mapping[str, Any],
    table: pd.DataFrame | None,
    axes: Sequence[str],
    run: Mapping[str, Any] | None = None,
    note: Note | None = None,
    has_cell: Callable[[Mapping[str, str]], bool] | None = None,
    costs: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """One claim's cell rows and its overall row."""
    rule, run = claim["verdict"], run or {}
    base = {
        "claim": claim["id"],
        "study": claim["study"],
        "statement": claim["statement"],
        "source": claim["source"],
        "metric": claim["metric"],
        "rule": _rule_text(rule),
    }
    cells = required_cells(claim, published, axes, has_cell)
    for cell in cells:
        _fill(cell, claim, table, run)
    value = rule["kind"] in VALUE_KINDS
    rows = []
    for cell in cells:
        row = _value_row(claim, published, cell, base) if value else _pair_row(claim, cell, base)
        row["_gate"] = cell.gate
        rows.append(row)
    if not value:
        _describe_cells(claim, rows)
    # a cell the budget reaches by itself carries no evidence: shown, outside the test
    tested = [(c, r) for c, r in zip(cells, rows, strict=True) if not c.floored]
    ran = sum(c.ran for c, _ in tested)
    scope = f"{ran} of {len(tested)} required cells run"
    if len(tested) < len(cells):
        scope += f" ({len(cells) - len(tested)} more shown, reached by the budget alone)"
    gated = [c for c, _ in tested if c.gate]
    outcome = None
    if not tested:
        reason = "no testable cells: check the claim's where and budget"
    elif ran < len(tested):
        reason = scope
    elif gated:
        reason = f"{len(gated)} of {len(tested)} cells cannot be decided"
    else:
        kept_cells, kept_rows = [c for c, _ in tested], [r for _, r in tested]
        outcome = (
            _value_claim(claim, kept_cells, kept_rows) if value else _pair_claim(claim, kept_cells)
        )
        reason = ""
    verdict = outcome.verdict if outcome else "inconclusive"
    tally = ", ".join(f"{[r['verdict'] for r in rows].count(v)} {v}" for v in VERDICTS)
    overall = {
        **base,
        "cell": f"overall ({reason})" if reason else f"overall (cells: {tally})",
        "verdict": verdict,
        "p_for": outcome.p_for if outcome else None,
        "p_against": outcome.p_against if outcome else None,
        "scope": scope,
        "to_decide": ""
        if verdict != "inconclusive"
        else to_decide(
            claim, [c for c, _ in tested], [r for _, r in tested], published, run, costs
        ),
    }
    for cell, row in zip(cells, rows, strict=True):
        context = dict(cell.sides[0])
        text = note(context) if note is not None else ""
        row["cell"] += f" [{text}]" if text else ""
        if not cell.ran:
            row["cell"] += " (not run)"
        elif cell.gate:
            row["cell"] += f" ({cell.gate})"
        if cell.floored:
            row["cell"] += f" ({cell.floored})"
            row["verdict"] = "inconclusive"
        row.pop("_diff", None)
        row.pop("_gate", None)
    return [*rows, overall]


def evaluate(
    claims: list[Mapping[str, Any]],
    published: Mapping[str, Any],
    runs: Mapping[str, pd.DataFrame],
    axes: Mapping[str, Sequence[str]],
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    notes: Mapping[str, Note] | None = None,
    has_cell: Mapping[str, Callable[[Mapping[str, str]], bool]] | None = None,
    costs: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """One row per claim and required cell, then one ``overall`` row per claim.

    ``runs[study]``: the study's runs.csv (axis values as text).  ``settings[study]``: its
    ``run:`` block (for ``min_run``).  ``notes[study]`` maps a cell (the axes a row names) to
    what a reader must know beside its verdict (the teacher study: the teacher's return).
    ``has_cell[study]``: which axis combinations the study has.  ``costs``: config/costs.yaml.
    """
    rows: list[dict[str, Any]] = []
    for claim in claims:
        study = claim["study"]
        rows += evaluate_claim(
            claim,
            published,
            runs.get(study),
            list(axes[study]),
            (settings or {}).get(study, {}),
            (notes or {}).get(study),
            (has_cell or {}).get(study),
            costs,
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _fmt(value: Any, digits: int = 2, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _overall_line(r: pd.Series, columns: int) -> str:
    pad = " |" * (columns - 2)
    return f"| **{r['cell']}** |{pad} **{r['verdict']}** |"


def _markdown_table(group: pd.DataFrame, header: Sequence[str], cells) -> list[str]:
    """A claim's table: one line per cell from ``cells(row)``, its overall row across them."""
    lines = ["", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, r in group.iterrows():
        if str(r["cell"]).startswith("overall"):
            lines.append(_overall_line(r, len(header)))
        else:
            lines.append("| " + " | ".join(cells(r)) + " |")
    return lines


def _value_cells(r: pd.Series) -> list[str]:
    pub = r["published_a"]
    known = pub is not None and not pd.isna(pub) and not pd.isna(r["diff_low"])
    low, high = (pub + r["diff_low"], pub + r["diff_high"]) if known else (None, None)
    replicated = f"{_fmt(r['mean_a'])} [{_fmt(low)}, {_fmt(high)}]"
    return [str(r["cell"]), _fmt(pub), replicated, str(int(r["n_seeds"])), str(r["verdict"])]


def _pair_cells(r: pd.Series) -> list[str]:
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
    n, p = str(int(r["n_seeds"])), _fmt(r["p_for"], 3)
    return [str(r["cell"]), published, replicated, n, p, str(r["verdict"])]


_VALUE_HEADER = ("cell", "published", "replicated mean [95% t-interval]", "n", "verdict")
_PAIR_HEADER = ("cell", "published a − b", "replicated a − b [95% CI]", "n", "p (Holm)", "verdict")


def to_markdown(table: pd.DataFrame) -> str:
    """claims.md: one section per claim, one line per cell, the claim's verdict and, for an
    inconclusive one, what would decide it."""
    lines = ["# Claims: published vs replicated", ""]
    lines.append(
        "Each claim is decided by one test over its required cells (its rule says which); the "
        "cell rows are descriptions: differences a − b in the metric's units, paired by seed, "
        "with 95% t-intervals, and each cell's own test (Holm over the claim's cells).  A cell "
        "that cannot be decided says why in brackets; an undecided claim says what would "
        "decide it.  How the rules work and their measured error rates: docs/verdicts.md."
    )
    for claim_id, group in table.groupby("claim", sort=False):
        first = group.iloc[0]
        lines += ["", f"## {claim_id}", "", f"**{first['statement']}** ({first['source']})", ""]
        lines.append(f"Rule: {first['rule']}.")
        overall = group[group["cell"].astype(str).str.startswith("overall")].iloc[-1]
        kind = str(first["rule"]).split(":")[0]
        if kind in VALUE_KINDS:
            lines += _markdown_table(group, _VALUE_HEADER, _value_cells)
        else:
            lines += _markdown_table(group, _PAIR_HEADER, _pair_cells)
        p = overall["p_for"]
        verdict = f"**Verdict: {overall['verdict']}**"
        if p is not None and not pd.isna(p):
            verdict += f" (p for {_fmt(p, 3)}, against {_fmt(overall['p_against'], 3)})"
        lines += ["", verdict + f"; scope: {overall['scope']}."]
        todo = overall["to_decide"]
        if isinstance(todo, str) and todo:
            lines.append(f"To decide: {todo}.")
    return "\n".join(lines) + "\n"
