"""Each study's source, budget, deviations and difficulties: ``notes/<study>.yaml``.

One data file per study, beside its registry entry, because these are facts about what the code
does (the faithful mode keeps a quirk, the clean mode fixes it) and about the source it
replicates: they change with the code, not with a run's config (``config/``) and not with the
published numbers (``config/claims.yaml``).  The replication reports (``attnmem.report``) read
them; tests/test_report.py checks every study has one and that it names a spec section.

Imported while Snakemake parses the DAG (the reports' sources are its wildcards): yaml only.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import yaml

FOLDER = Path(__file__).parent
#: The kinds of deviation a notes file may list.
KINDS = ("faithful", "deviation")


@cache
def load(study: str) -> dict[str, Any]:
    """The notes of ``study`` (``notes/<study>.yaml``)."""
    path = FOLDER / f"{study}.yaml"
    if not path.exists():
        raise FileNotFoundError(
            f"study {study!r} has no notes file {path}: add one (see notes/optim.yaml)"
        )
    return yaml.safe_load(path.read_text())


def path(study: str) -> Path:
    """The notes file of ``study``."""
    return FOLDER / f"{study}.yaml"


def source_of(study: str) -> str:
    """The id of the source a study replicates (e.g. ``seed003``): its report's name."""
    return str(load(study)["source"]["id"])


def sources(studies: Iterable[str]) -> dict[str, list[str]]:
    """Source id -> its studies among ``studies``: sources by id, studies in the order given."""
    grouped: dict[str, list[str]] = {}
    for study in studies:
        grouped.setdefault(source_of(study), []).append(study)
    return dict(sorted(grouped.items()))
