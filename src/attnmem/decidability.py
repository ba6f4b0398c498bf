"""Before any job: which claims can the config being run decide, and what would decide the rest.

For each claim of a configured study: how many of its required cells the config's axes hold,
whether its run block meets the claim's budget (``min_run``, ``budget_setting`` against
``min_budget``/``max_budget``), and whether its test can reach alpha with the configured seeds
(``attnmem.verdicts``: 2^-n for a sign-flip test, the published SD's floor for an equivalence).

A claim whose every required cell runs at the source's budget, but whose test cannot reach alpha
with the seeds given, is **undecidable by construction**: compute spent for nothing.  The config
check refuses such a config unless the claim is marked ``descriptive: true``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from attnmem import verdicts
from attnmem.claims import (
    margin_of,
    required_cells,
    run_gates,
    setting_for,
    trivial_floor,
)
from attnmem.published import lookup


@dataclass(frozen=True)
class Decidability:
    claim: str
    cells: int  # required
    configured: int  # of them, in the config's axes
    seeds: int
    gaps: tuple[str, ...]  # what this config lacks: cells, budget
    reach: tuple[str, ...]  # what the test cannot reach with these seeds
    descriptive: bool = False

    @property
    def decidable(self) -> bool:
        return not self.gaps and not self.reach

    @property
    def by_construction(self) -> bool:
        """Every cell runs at the source's budget, yet the test cannot reach alpha."""
        return not self.gaps and bool(self.reach)

    def line(self) -> str:
        return f"{self.claim}: " + "; ".join([*self.gaps, *self.reach])


def _configured(cell: Mapping[str, str], axes: Mapping[str, list[Any]]) -> bool:
    return all(value in {str(v) for v in axes.get(axis, [])} for axis, value in cell.items())


def _reach(claim: Mapping[str, Any], published: Mapping[str, Any], cells, n: int) -> list[str]:
    rule = claim["verdict"]
    alpha = rule.get("alpha", 0.05)
    least = rule.get("min_seeds", 2)
    notes = []
    if n < least:
        notes.append(f"seeds {n} < min_seeds {least}")
    kind = rule["kind"]
    if kind == "greater" and verdicts.smallest_sign_flip_p(n) >= alpha:
        notes.append(
            f"an exact sign-flip test over {n} seeds cannot reach p < {alpha:g}: needs >= "
            f"{verdicts.seeds_to_reach(alpha)} seeds"
        )
    elif kind == "at_least":
        support, _ = verdicts.at_least_reach(n, len(cells), alpha)
        if not support:
            notes.append(f"the sign test over {n} seeds cannot support: needs >= "
                         f"{verdicts.seeds_to_reach(alpha)} seeds")  # fmt: skip
    elif kind == "equivalent":
        name = rule.get("published_sd")
        for cell in cells:
            sd = None
            if name is not None:
                sd = lookup(published, claim["study"], list(cell.sides[0].values()), name)
            pub = cell.published[0]
            margin = margin_of(rule, pub)
            if not verdicts.equivalence_reach(margin, alpha, rule.get("published_runs", 1), sd):
                notes.append(
                    f"{cell.label}: margin {margin:g} within the published mean's own standard "
                    "error: no seed count can show a match (widen the margin)"
                )
                break
    if kind in ("equivalent", "band") and n < 2:
        notes.append("one seed has no spread: needs >= 2 seeds")
    return notes


def assess(
    claim: Mapping[str, Any],
    published: Mapping[str, Any],
    block: Mapping[str, Any] | None,
    axes: list[str],
    has_cell=None,
) -> Decidability:
    """The claim under one study's config block (None: the study is not configured)."""
    cells = required_cells(claim, published, axes, has_cell)
    rule = claim["verdict"]
    if block is None:
        return Decidability(
            claim["id"], len(cells), 0, 0, (f"study {claim['study']} not configured",), (),
            bool(claim.get("descriptive")),
        )  # fmt: skip
    run, n = block.get("run", {}), len(block.get("seeds", []))
    configured = [c for c in cells if all(_configured(s, block["axes"]) for s in c.sides)]
    gaps = []
    if not cells:
        gaps.append("no required cells (check its where)")
    elif len(configured) < len(cells):
        gaps.append(f"{len(configured)} of {len(cells)} required cells configured")
    shortfalls: list[str] = []
    for cell in configured or cells:
        for note in run_gates(rule, run, cell.sides[0]):
            if note not in shortfalls:
                shortfalls.append(note)
        key = rule.get("budget_setting")
        if key is not None and "max_budget" in rule:
            value = setting_for(run, key, cell.sides[0])
            if value is not None and value > rule["max_budget"]:
                note = f"run.{key} {value:g} > {rule['max_budget']:g} (the published budget)"
                if note not in shortfalls:
                    shortfalls.append(note)
    gaps += [f"budget: {note}" for note in shortfalls]
    floored = [
        c.label
        for c in configured
        if (floor := trivial_floor(rule, run, c.sides[0])) is not None
        and c.published[0] is not None
        and c.published[0] <= floor
    ]
    if floored and len(floored) == len(configured):
        gaps.append("every cell's published value is reached by the budget alone")
    reach = _reach(claim, published, configured or cells, n)
    return Decidability(
        claim["id"], len(cells), len(configured), n, tuple(gaps), tuple(reach),
        bool(claim.get("descriptive")),
    )  # fmt: skip


def assess_all(
    spec: Mapping[str, Any], config: Mapping[str, Any], registry: Mapping[str, Any]
) -> list[Decidability]:
    """Every claim under ``config`` (its ``studies`` block)."""
    out = []
    for claim in spec["claims"]:
        study = registry[claim["study"]]
        block = config.get("studies", {}).get(claim["study"])
        out.append(assess(claim, spec["published"], block, list(study.axes), study.has_cell))
    return out


def needs(claim: Mapping[str, Any]) -> str:
    """What the claim's rule needs at the least, in words (the "would decide" half of a line)."""
    rule = claim["verdict"]
    parts = [f">= {max(rule.get('min_seeds', 2), _least(rule))} seeds"]
    if "min_budget" in rule:
        parts.append(f"{rule['budget_metric']} >= {rule['min_budget']:g}")
    parts += [f"run.{k} >= {v:g}" for k, v in rule.get("min_run", {}).items()]
    return ", ".join(parts)


def _least(rule: Mapping[str, Any]) -> int:
    if rule["kind"] in ("greater", "at_least"):
        return verdicts.seeds_to_reach(rule.get("alpha", 0.05))
    return 2


def report(
    spec: Mapping[str, Any], config: Mapping[str, Any], registry: Mapping[str, Any]
) -> tuple[list[str], list[Decidability]]:
    """The lines the DAG prints before any job, and the claims undecidable by construction
    (the config check's error, unless marked descriptive)."""
    results = assess_all(spec, config, registry)
    by_id = {c["id"]: c for c in spec["claims"]}
    lines = [
        f"attnmem: this config can decide {sum(r.decidable for r in results)} of "
        f"{len(results)} claims; it cannot decide (what would, in brackets):"
    ]
    for r in results:
        if r.decidable or (r.gaps and r.gaps[0].startswith("study ")):
            continue  # a study the config leaves out is not news
        lines.append(f"  {r.line()} [{needs(by_id[r.claim])}]")
    broken = [r for r in results if r.by_construction and not r.descriptive]
    return lines, broken


# ---- config/README.md's list of what the default decides -------------------------------------

COMMAND = "python -m attnmem.decidability"
BEGIN = (
    "<!-- what the default can decide: written by `python -m attnmem.decidability` from "
    "config/config.yaml and config/claims.yaml -->"
)
END = "<!-- end of what the default can decide -->"


def readme_section(
    spec: Mapping[str, Any], config: Mapping[str, Any], registry: Mapping[str, Any]
) -> str:
    """The default's decidability as config/README.md states it, markers included: the claims
    it can decide, and for each other one why not and what would (the lines the DAG prints)."""
    results = assess_all(spec, config, registry)
    by_id = {c["id"]: c for c in spec["claims"]}
    decidable = [r.claim for r in results if r.decidable]
    lines = [
        BEGIN,
        f"**What the default can decide** (printed by every run before any job; "
        f"`config/config.yaml`, {len(decidable)} of {len(results)} claims). Decidable: "
        + ", ".join(f"`{c}`" for c in decidable)
        + ".",
        "It cannot decide the others, each for the reason given (what would decide it in "
        "brackets):",
        "",
    ]
    lines += [
        f"- `{r.claim}`: {r.line().split(': ', 1)[1]} [{needs(by_id[r.claim])}]"
        for r in results
        if not r.decidable
    ]
    return "\n".join([*lines, END]) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write config/README.md's section between its markers (``--check``: only say if stale)."""
    import argparse
    import re
    from pathlib import Path

    import yaml

    from attnmem import files
    from attnmem.studies import REGISTRY

    repo = Path(__file__).resolve().parents[2]
    parser = argparse.ArgumentParser(prog=COMMAND, description=main.__doc__)
    parser.add_argument("--check", action="store_true", help="fail if stale; write nothing")
    args = parser.parse_args(argv)
    readme = repo / "config" / "README.md"
    spec = yaml.safe_load((repo / "config" / "claims.yaml").read_text())
    config = yaml.safe_load((repo / "config" / "config.yaml").read_text())
    text = readme.read_text()
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END) + r"\n", re.S)
    found = pattern.search(text)
    if found is None:
        raise ValueError(f"{readme} has no {BEGIN!r} ... {END!r} section to write")
    start, end = found.span()
    wanted = text[:start] + readme_section(spec, config, REGISTRY) + text[end:]
    return files.sync_derived(readme, wanted, args.check, COMMAND)


if __name__ == "__main__":
    raise SystemExit(main())
