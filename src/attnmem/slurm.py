"""The SLURM profile's group components, derived from the registry.

Snakemake reads ``group-components`` from the profile only, so the bundle sizes cannot come from
the registry at run time; this module writes them into the profile from each study's
``Study.slurm_bundle`` (``python -m attnmem.slurm``), and ``--check`` (run by the tests) fails
when the profile and the registry disagree, so a new study never needs the profile edited by
hand.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

from attnmem import files
from attnmem.studies import REGISTRY, Study

COMMAND = "python -m attnmem.slurm"
PROFILE = Path(__file__).resolve().parents[2] / "workflow" / "profiles" / "slurm" / "profile.yaml"
BEGIN = "# >>> group-components: written by `python -m attnmem.slurm` from Study.slurm_bundle"
END = "# <<< group-components"
#: Every study's summaries, figures, tables and claims: one submission.
SUMMARIES = 100


def group_components(registry: Mapping[str, Study]) -> list[str]:
    """``<study>_train=N`` for every study in the registry's order, then the summaries."""
    return [f"{name}_train={study.slurm_bundle}" for name, study in registry.items()] + [
        f"summaries={SUMMARIES}"
    ]


def render(profile: str, registry: Mapping[str, Study]) -> str:
    """``profile`` with the text between the markers replaced by the registry's components."""
    lines = profile.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.rstrip("\n") == BEGIN]
    ends = [i for i, line in enumerate(lines) if line.rstrip("\n") == END]
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise ValueError(f"the profile needs one '{BEGIN}' line and one '{END}' line after it")
    block = ["group-components:\n", *(f"  - {entry}\n" for entry in group_components(registry))]
    return "".join([*lines[: starts[0] + 1], *block, *lines[ends[0] :]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m attnmem.slurm", description=__doc__)
    parser.add_argument("profile", nargs="?", type=Path, default=PROFILE)
    parser.add_argument(
        "--check", action="store_true", help="fail if the profile differs; write nothing"
    )
    args = parser.parse_args(argv)
    path = args.profile
    return files.sync_derived(path, render(path.read_text(), REGISTRY), args.check, COMMAND)


if __name__ == "__main__":
    raise SystemExit(main())
