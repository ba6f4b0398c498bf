"""The verdict rules' error rates, by simulation at the designs the shipped configs give them.

For each rule and each (seeds, cells) design a shipped config gives one of its claims, data sets
are drawn under the rule's null (no effect; a source off by exactly the margin; a median exactly
at the published value) and with "the replication equals the source" (a real effect; the
published runs drawn from the replication's own distribution).  tests/test_verdicts.py holds the
rates to alpha; ``python -m attnmem.calibration`` prints them (docs/verdicts.md quotes it).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from attnmem import verdicts


def designs(spec: Mapping[str, Any], configs: Iterable[Mapping[str, Any]]) -> dict[str, set[tuple]]:
    """Per rule kind, the designs of every claim a config can decide: (seeds, group sizes) for
    greater and at_least, (seeds, published runs) for equivalent, (seeds, cells) for band."""
    from attnmem.claims import required_cells
    from attnmem.studies import REGISTRY

    found: dict[str, set[tuple]] = {}
    for config in configs:
        for claim in spec["claims"]:
            block = config["studies"].get(claim["study"])
            rule = claim["verdict"]
            if block is None or len(block["seeds"]) < rule["min_seeds"]:
                continue
            study = REGISTRY[claim["study"]]
            cells = required_cells(claim, spec["published"], study.axes, study.has_cell)
            sizes: dict[str, int] = {}
            for cell in cells:
                sizes[cell.group] = sizes.get(cell.group, 0) + 1
            n = len(block["seeds"])
            if rule["kind"] == "equivalent":  # the published side's runs shape its test
                design = (n, rule.get("published_runs", 1))
            else:
                design = (n, tuple(sorted(sizes.values())))
            found.setdefault(rule["kind"], set()).add(design)
    return found


def reps_for(n: int) -> int:
    return 400 if n > 16 else 2000  # above 16 seeds the sign-flip test samples 2^16 patterns


def greater_rates(
    n: int, sizes: tuple[int, ...], effect: float, alpha: float, rng, reps: int | None = None
) -> tuple[float, float]:
    """(supported, contradicted) rates when every cell's a - b ~ N(effect, 1)."""
    reps = reps or reps_for(n)
    support = against = 0
    for _ in range(reps):
        groups = {str(g): rng.normal(effect, 1.0, size=(n, k)) for g, k in enumerate(sizes)}
        verdict = verdicts.greater(groups, alpha).verdict
        support += verdict == "supported"
        against += verdict == "contradicted"
    return support / reps, against / reps


def equivalent_rates(
    n: int, runs: int, margin: float, alpha: float, rng, reps: int = 1500
) -> tuple[float, float]:
    """(false support when the source's mean is off by ``margin``, false contradiction when its
    runs come from the replication's own distribution); unit SD on both sides."""
    false_support = false_against = 0
    for _ in range(reps):
        ours = rng.normal(0.0, 1.0, n)
        for far in (True, False):
            theirs = rng.normal(margin if far else 0.0, 1.0, runs)
            sd = None if runs == 1 else float(theirs.std(ddof=1))
            outcome, _ = verdicts.equivalent(ours, float(theirs.mean()), margin, alpha, runs, sd)
            if far:
                false_support += outcome.verdict == "supported"
            else:
                false_against += outcome.verdict == "contradicted"
    return false_support / reps, false_against / reps


def band_rates(n: int, alpha: float, rng, reps: int = 2000) -> tuple[float, float]:
    """(support with the true mean on the band's edge, contradiction with it at the centre)."""
    support = against = 0
    for _ in range(reps):
        support += verdicts.band(rng.normal(1.0, 1.0, n), -1.0, 1.0, alpha)[0].verdict == (
            "supported"
        )
        against += verdicts.band(rng.normal(0.0, 1.0, n), -1.0, 1.0, alpha)[0].verdict == (
            "contradicted"
        )
    return support / reps, against / reps


def at_least_rates(n: int, cells: int, alpha: float, rng, reps: int | None = None):
    """(support when each cell's median sits exactly at the published value, contradiction when
    each published run is one more integer draw, with ties, from the replication's own)."""
    reps = reps or (400 if cells > 4 else 2000)
    support = against = 0
    for _ in range(reps):
        ours = [rng.poisson(8, n) for _ in range(cells)]
        published = [float(rng.poisson(8)) for _ in range(cells)]
        against += verdicts.at_least(ours, published, alpha).verdict == "contradicted"
        ours = [rng.normal(0.0, 1.0, n) for _ in range(cells)]
        support += verdicts.at_least(ours, [0.0] * cells, alpha).verdict == "supported"
    return support / reps, against / reps


def table(spec: Mapping[str, Any], configs: list[Mapping[str, Any]], alpha: float = 0.05) -> str:
    """The markdown table docs/verdicts.md shows."""
    rng = np.random.default_rng(0)
    lines = [
        "| rule | seeds | cells (groups) or published runs | false support | false contradiction |",
        "|---|---|---|---|---|",
    ]
    found = designs(spec, configs)
    for n, sizes in sorted(found.get("greater", ())):
        support, _ = greater_rates(n, sizes, 0.0, alpha, rng)
        _, against = greater_rates(n, sizes, 0.5, alpha, rng)
        lines.append(
            f"| greater | {n} | {'+'.join(map(str, sizes))} | {support:.3f} | {against:.3f} |"
        )
    for n, runs in sorted(found.get("equivalent", ())):
        support, against = equivalent_rates(n, runs, 2.5, alpha, rng)
        lines.append(f"| equivalent | {n} | {runs} | {support:.3f} | {against:.3f} |")
    for n, sizes in sorted(found.get("band", ())):
        support, against = band_rates(n, alpha, rng)
        lines.append(f"| band | {n} | {sum(sizes)} | {support:.3f} | {against:.3f} |")
    for n, sizes in sorted(found.get("at_least", ())):
        support, against = at_least_rates(n, sum(sizes), alpha, rng)
        lines.append(f"| at_least | {n} | {sum(sizes)} | {support:.3f} | {against:.3f} |")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    import yaml

    root = Path(argv[0]) if argv else Path(".")
    spec = yaml.safe_load((root / "config" / "claims.yaml").read_text())
    configs = [
        yaml.safe_load((root / "config" / f"{n}.yaml").read_text()) for n in ("config", "paper")
    ]
    print(table(spec, configs))


if __name__ == "__main__":
    main(sys.argv[1:])
