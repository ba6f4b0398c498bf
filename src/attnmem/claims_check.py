"""config/claims.yaml checks: the JSON Schema, then the names only the studies know.

Without them a typo in a claim's study, axis, axis value or metric matches no result row and the
claim comes out "inconclusive" with no cells, which reads like a finding rather than a mistake.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from attnmem.config_check import ConfigError, explain

PREFIX = "claims.yaml: "


def validate_claims(
    spec: Mapping[str, Any],
    schema_path: str | Path,
    axes: Mapping[str, Sequence[str]],
    values: Mapping[str, Mapping[str, Sequence[str]]],
    metrics: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Raise ConfigError with one line for the first problem of the claims file ``spec``.

    ``axes[study]``: the study's axis names in nesting order.  ``values[study][axis]``: every
    value the axis may take, as strings; an axis (or study) missing from ``values`` is not
    checked, for axes such as ``size`` whose values no list can hold.  ``metrics[study]``: the
    metrics its summary reports, budget metrics included; not checked when None or missing.
    """
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    # str(): YAML reads keys such as a size of 50 as ints, which do not sort against names
    errors = sorted(validator.iter_errors(spec), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        deepest = max(errors, key=lambda e: len(e.absolute_path))
        raise ConfigError(PREFIX + _with_id(explain(deepest), deepest, spec))
    seen: dict[str, int] = {}
    for i, claim in enumerate(spec["claims"]):
        _check_claim(i, claim, spec["published"], axes, values, metrics or {})
        if claim["id"] in seen:
            raise ConfigError(
                f"{PREFIX}claims[{i}] ({claim['id']}).id: {claim['id']!r} is already the id of "
                f"claims[{seen[claim['id']]}]; ids must be unique"
            )
        seen[claim["id"]] = i
    for study, entry in spec["published"].items():
        if study not in axes:
            raise ConfigError(
                f"{PREFIX}published.{study}: {study!r} is not a study; allowed studies: "
                f"{list(axes)}"
            )
        _check_published(study, entry["values"], axes[study], values.get(study, {}))


def _with_id(message: str, error: jsonschema.ValidationError, spec: Mapping[str, Any]) -> str:
    """Name the claim by its id too: an index alone sends the reader counting list entries."""
    path = list(error.absolute_path)
    if len(path) < 2 or path[0] != "claims" or not isinstance(path[1], int):
        return message
    entry = spec["claims"][path[1]]
    claim_id = entry.get("id") if isinstance(entry, Mapping) else None
    # a malformed id is the error itself: repeating it adds nothing
    if not isinstance(claim_id, str) or path[2:] == ["id"]:
        return message
    head = f"claims[{path[1]}]"
    return f"{head} ({claim_id}){message[len(head) :]}"


def _allowed(key: str, value: Any, allowed: Sequence[str], what: str = "values") -> None:
    if str(value) not in [str(v) for v in allowed]:
        raise ConfigError(f"{PREFIX}{key}: {value!r} is not allowed; allowed {what}: {allowed}")


def _check_claim(
    i: int,
    claim: Mapping[str, Any],
    published: Mapping[str, Any],
    axes: Mapping[str, Sequence[str]],
    values: Mapping[str, Mapping[str, Sequence[str]]],
    metrics: Mapping[str, Sequence[str]],
) -> None:
    label = f"claims[{i}] ({claim['id']})"
    study = claim["study"]
    _allowed(f"{label}.study", study, list(axes), "studies")
    # claims.md and claims.csv sort and group by id; a prefix naming another study misleads
    if claim["id"].split(".")[0] != study:
        raise ConfigError(
            f"{PREFIX}{label}.id: {claim['id']!r} must start with its study, '{study}.'"
        )
    study_axes, study_values = list(axes[study]), values.get(study, {})

    compare = claim.get("compare")
    pairs = compare if isinstance(compare, list) else [compare] if compare else []
    for j, pair in enumerate(pairs):
        key = f"{label}.compare" + (f"[{j}]" if isinstance(compare, list) else "")
        _allowed(f"{key}.axis", pair["axis"], study_axes, f"axes of {study}")
        for side in ("a", "b"):
            if pair["axis"] in study_values:
                _allowed(f"{key}.{side}", pair[side], list(study_values[pair["axis"]]))
        if str(pair["a"]) == str(pair["b"]):
            raise ConfigError(f"{PREFIX}{key}.b: {pair['b']!r} is the same as a")

    for axis, chosen in claim.get("where", {}).items():
        _allowed(f"{label}.where", axis, study_axes, f"axes of {study}")
        # comparison rows carry only the other axes: a filter on the compared one keeps none
        if any(pair["axis"] == axis for pair in pairs):
            raise ConfigError(
                f"{PREFIX}{label}.where.{axis}: {axis!r} is the compared axis; where may "
                f"restrict only the others: {[a for a in study_axes if a != axis]}"
            )
        for k, value in enumerate(chosen):
            if axis in study_values:
                _allowed(f"{label}.where.{axis}[{k}]", value, list(study_values[axis]))

    for j, pair in enumerate(pairs):
        for side in ("at_a", "at_b"):
            for axis in pair.get(side, {}):
                key = f"{label}.compare" + (f"[{j}]" if isinstance(compare, list) else "")
                _allowed(f"{key}.{side}", axis, study_axes, f"axes of {study}")
    # the claim's scope is declared: every axis it does not compare along is listed in where,
    # so its required cells are known before any run (and no cell that happened to run widens
    # or narrows it)
    compared = {pair["axis"] for pair in pairs}
    unlisted = [a for a in study_axes if a not in compared and a not in claim.get("where", {})]
    if unlisted:
        raise ConfigError(
            f"{PREFIX}{label}.where: must list the values of every axis the claim speaks "
            f"about; missing: {unlisted}"
        )
    every = claim["verdict"].get("every")
    if every is not None:
        groups = ["cell", *[a for a in study_axes if a not in compared]]
        _allowed(f"{label}.verdict.every", every, groups, "groups")
    if "published_sd" in claim["verdict"]:
        names = _published_metrics(published.get(study, {}).get("values", {}), len(study_axes))
        _allowed(
            f"{label}.verdict.published_sd",
            claim["verdict"]["published_sd"],
            sorted(names),
            f"metrics of published.{study}",
        )
    if study in metrics:
        _allowed(f"{label}.metric", claim["metric"], list(metrics[study]), f"metrics of {study}")
        if "budget_metric" in claim["verdict"]:
            _allowed(
                f"{label}.verdict.budget_metric",
                claim["verdict"]["budget_metric"],
                list(metrics[study]),
                f"metrics of {study}",
            )
    band = claim["verdict"].get("band")
    if band is not None and not band[0] < band[1]:
        raise ConfigError(
            f"{PREFIX}{label}.verdict.band: {band} must be [low, high] with low < high"
        )
    # the published side is looked up by name: a misspelt one shows "not published" everywhere
    names = _published_metrics(published.get(study, {}).get("values", {}), len(study_axes))
    if "published_metric" in claim and names:
        _allowed(
            f"{label}.published_metric",
            claim["published_metric"],
            sorted(names),
            f"metrics of published.{study}",
        )


def _published_metrics(node: Any, depth: int) -> set[str]:
    """The metric names at the leaves of a study's published values (depth = number of axes)."""
    if not isinstance(node, Mapping):
        return set()
    if depth == 0:
        return {str(k) for k in node}
    return set().union(*(_published_metrics(child, depth - 1) for child in node.values()))


def _check_published(
    study: str,
    node: Mapping[Any, Any],
    axes: Sequence[str],
    values: Mapping[str, Sequence[str]],
    key: str = "",
    depth: int = 0,
) -> None:
    """One nesting level per axis, then metric -> number (the shape published.lookup reads)."""
    key = key or f"published.{study}.values"
    shape = f"{' -> '.join(axes)} -> metric -> value"
    if depth < len(axes):
        for name, child in node.items():
            axis = axes[depth]
            if axis in values:
                _allowed(f"{key}.{name}", name, list(values[axis]), f"values of {axis}")
            if not isinstance(child, Mapping):
                raise ConfigError(
                    f"{PREFIX}{key}.{name}: {child!r} is a value at the {axis} level; "
                    f"published.{study}.values nests {shape}"
                )
            _check_published(study, child, axes, values, f"{key}.{name}", depth + 1)
        return
    for name, child in node.items():
        if isinstance(child, Mapping):
            raise ConfigError(
                f"{PREFIX}{key}.{name}: a mapping where a metric value belongs; "
                f"published.{study}.values nests {shape}"
            )


def axis_names(schema_dir: str | Path) -> dict[str, dict[str, list[str]]]:
    """Every name each study's axes may take, read from the study schemas' enums (as strings).

    Axes whose schema holds no list of names (a size: any even integer) are left out.
    """
    from attnmem.config_check import load_schemas

    top, studies = load_schemas(schema_dir)
    names: dict[str, dict[str, list[str]]] = {}
    for study, schema in studies.items():
        names[study] = {}
        for axis, node in schema["properties"]["axes"]["properties"].items():
            if "$ref" in node:  # a definition shared through the top schema (modes)
                node = top["$defs"][node["$ref"].rsplit("/", 1)[-1]]
            enum = node.get("items", {}).get("enum")
            if enum is not None:
                names[study][axis] = [str(v) for v in enum]
    return names


def check_claims_file(spec: Mapping[str, Any], schema_dir: str | Path) -> None:
    """``validate_claims`` with every study of the registry: what the DAG runs before any job."""
    from attnmem.studies import REGISTRY

    validate_claims(
        spec,
        Path(schema_dir) / "claims.schema.yaml",
        {name: study.axes for name, study in REGISTRY.items()},
        axis_names(schema_dir),
        {name: study.metric_names for name, study in REGISTRY.items()},
    )
