"""The study registry: one description per study (``studies/<name>.py``'s ``STUDY``).

Imported while Snakemake parses the DAG and by every summary job, so nothing here (or at the
top of a study module) imports torch, pandas or scipy.  Adding a study means adding its module
to ``REGISTRY`` below; the DAG, the aggregate, the tables, the figures, the claims and the tests
find it there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from attnmem.studies import atman, optim, plasticity, ppo_attn, ram, sac, teacher
from attnmem.studies.base import Figure, Job, Metric, Study

__all__ = ["AXES", "REGISTRY", "Figure", "Job", "Metric", "Study", "study_comparisons"]

REGISTRY: dict[str, Study] = {
    m.STUDY.name: m.STUDY for m in (optim, plasticity, teacher, sac, ppo_attn, atman, ram)
}

#: Each study's axes, in the order its run paths and published values nest.
AXES: dict[str, list[str]] = {name: list(study.axes) for name, study in REGISTRY.items()}


def study_comparisons(
    study: str, settings: Mapping[str, Any], claims: Iterable[Mapping[str, Any]]
) -> list[dict[str, str]]:
    """The configured comparisons plus every pair a claim of ``study`` names, once each."""
    specs: list[dict[str, str]] = []
    pairs = [c["compare"] for c in claims if c["study"] == study and "compare" in c]
    listed = [p for c in pairs for p in (c if isinstance(c, list) else [c])]
    for spec in [*settings.get("comparisons", []), *listed]:
        spec = {"axis": spec["axis"], "a": str(spec["a"]), "b": str(spec["b"])}
        if spec not in specs:
            specs.append(spec)
    return specs
