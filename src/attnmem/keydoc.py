"""config/README.md's per-study key tables, derived from the study schemas.

Each key a study schema admits carries its meaning in its JSON-Schema ``description`` (an editor
shows it on hover; the config check's errors stand beside it), or ``x-doc-with: <key>`` to share
the row of a key documented with it.  ``python -m attnmem.keydoc`` writes each study's table
between its markers in config/README.md (a study with no section yet gets one before the
claims' section), and ``--check`` (run by the tests) fails when the README and the schemas
disagree: a new setting cannot ship undocumented, and a new study needs no hand-kept table.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from attnmem import files

COMMAND = "python -m attnmem.keydoc"
REPO = Path(__file__).resolve().parents[2]
README = REPO / "config" / "README.md"
SCHEMAS = REPO / "workflow" / "schemas" / "studies"
#: Keys every study block shares, documented once in "The shape of a study block": a study's
#: table names them only where its schema says something of its own.
SHARED = ("seeds", "checkpoint_every", "comparisons", "resources")
CLAIMS_SECTION = "## `claims.yaml`"


def begin(study: str) -> str:
    return (
        f"<!-- keys of workflow/schemas/studies/{study}.schema.yaml: written by "
        "`python -m attnmem.keydoc` from each key's description -->"
    )


END = "<!-- end of keys -->"


def schema_keys(schema: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(dotted key, its schema) in the schema's order: ``axes.<axis>``, ``run.<key>``, others."""
    keys: list[tuple[str, Mapping[str, Any]]] = []
    for name, node in schema["properties"].items():
        if name in ("axes", "run"):
            keys += [(f"{name}.{k}", v) for k, v in node.get("properties", {}).items()]
        else:
            keys.append((name, node))
    return keys


def rows(study: str, schema: Mapping[str, Any]) -> list[tuple[list[str], str]]:
    """One row per described key, with the keys that share it (``x-doc-with``)."""
    keys = schema_keys(schema)
    described = {k for k, node in keys if "description" in node}
    grouped: dict[str, list[str]] = {k: [k] for k, node in keys if "description" in node}
    missing = []
    for key, node in keys:
        if "description" in node:
            continue
        with_ = node.get("x-doc-with")
        if with_ is not None:
            if with_ not in described:
                raise ValueError(f"{study}: {key} x-doc-with {with_!r}, which has no description")
            grouped[with_].append(key)
        elif key not in SHARED:
            missing.append(key)
    if missing:
        raise ValueError(
            f"{study}: no description for {', '.join(missing)} (add one in its schema, or "
            "x-doc-with: <key> to share another key's row)"
        )
    nodes = dict(keys)
    return [(names, " ".join(str(nodes[k]["description"]).split())) for k, names in grouped.items()]


def table(study: str, schema: Mapping[str, Any]) -> str:
    lines = [begin(study), "| key | meaning |", "|---|---|"]
    for names, meaning in rows(study, schema):
        lines.append(f"| {', '.join(f'`{n}`' for n in names)} | {meaning} |")
    return "\n".join([*lines, END]) + "\n"


def render(readme: str, schemas: Mapping[str, Mapping[str, Any]]) -> str:
    """``readme`` with every study's table replaced; a study without markers gets a section."""
    for study, schema in schemas.items():
        pattern = re.compile(re.escape(begin(study)) + r".*?" + re.escape(END) + r"\n", re.S)
        text = table(study, schema)
        found = pattern.search(readme)
        if found:
            start, end = found.span()
            readme = readme[:start] + text + readme[end:]
        elif CLAIMS_SECTION in readme:
            section = f"## `studies.{study}`\n\n{schema.get('title', study)}\n\n{text}\n"
            readme = readme.replace(CLAIMS_SECTION, section + CLAIMS_SECTION, 1)
        else:
            raise ValueError(f"config/README.md has no {CLAIMS_SECTION!r} to put {study} before")
    return readme


def load_schemas(directory: Path, studies: Iterable[str]) -> dict[str, dict[str, Any]]:
    return {s: yaml.safe_load((directory / f"{s}.schema.yaml").read_text()) for s in studies}


def main(argv: list[str] | None = None) -> int:
    from attnmem.studies import REGISTRY

    parser = argparse.ArgumentParser(prog="python -m attnmem.keydoc", description=__doc__)
    parser.add_argument("--readme", type=Path, default=README)
    parser.add_argument("--schemas", type=Path, default=SCHEMAS)
    parser.add_argument(
        "--check", action="store_true", help="fail if the README differs; write nothing"
    )
    args = parser.parse_args(argv)
    path = args.readme
    wanted = render(path.read_text(), load_schemas(args.schemas, REGISTRY))
    return files.sync_derived(path, wanted, args.check, COMMAND)


if __name__ == "__main__":
    raise SystemExit(main())
