"""Config checks that run before any job: the JSON Schemas, then what a schema cannot say.

``workflow/schemas/config.schema.yaml`` covers the top level; each study's block is checked
against ``workflow/schemas/studies/<study>.schema.yaml`` (they share the top schema's ``$defs``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource

from attnmem.data.catalog import missing_files
from attnmem.studies import REGISTRY


class ConfigError(ValueError):
    """A config that cannot run; the message names the key, what is allowed and how to fix it."""


def _key(path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def explain(error: jsonschema.ValidationError) -> str:
    if error.validator in ("oneOf", "anyOf") and error.context:
        # the branch written for this kind of value (a number, a mapping) says what is wrong
        fitting = [e for e in error.context if e.validator != "type"] or error.context
        return explain(max(fitting, key=lambda e: len(e.absolute_path)))
    key = _key(error.absolute_path)
    if error.validator == "enum":
        return f"{key}: {error.instance!r} is not allowed; allowed values: {error.validator_value}"
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        return f"{key}: missing required key(s) {missing}"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        return f"{key}: unknown key(s) {extra}; allowed keys: {allowed}"
    if error.validator == "pattern":  # a name that must be one of a family (network/size)
        return (
            f"{key}: {error.instance!r} is not allowed; allowed names match {error.validator_value}"
        )
    if error.validator == "const":  # a setting a study fixes: its description says why
        why = error.schema.get("description")
        return f"{key}: {error.instance!r} is not allowed; it must be " + (
            why if why else repr(error.validator_value)
        )
    if error.validator == "type":
        return f"{key}: {error.instance!r} has the wrong type; expected {error.validator_value}"
    bounds = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}
    if error.validator in bounds:
        return (
            f"{key}: {error.instance!r} is not allowed; it must be {bounds[error.validator]} "
            f"{error.validator_value}"
        )
    return f"{key}: {error.message}"


def load_schemas(schema_dir: str | Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The top-level schema and one schema per registered study."""
    schema_dir = Path(schema_dir)
    top = yaml.safe_load((schema_dir / "config.schema.yaml").read_text())
    studies = {
        name: yaml.safe_load((schema_dir / "studies" / f"{name}.schema.yaml").read_text())
        for name in REGISTRY
    }
    return top, studies


def _first_error(
    schema: Mapping[str, Any], instance: Any, registry: Registry, prefix: list
) -> None:
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    errors = list(validator.iter_errors(instance))
    if errors:
        deepest = max(errors, key=lambda e: len(e.absolute_path))
        deepest.path.extendleft(reversed(prefix))  # the key as the config file spells it
        raise ConfigError(f"invalid config: {explain(deepest)}")


def validate(config: Mapping[str, Any], schema_dir: str | Path) -> None:
    """Raise ConfigError with one message for the first problem found."""
    top, studies = load_schemas(schema_dir)
    registry = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in (top, *studies.values())
    )
    _first_error(top, config, registry, [])
    unknown = sorted(set(config["studies"]) - set(REGISTRY))
    if unknown:
        raise ConfigError(
            f"invalid config: studies: unknown study {unknown[0]!r}; allowed: {list(REGISTRY)}"
        )
    for name, settings in config["studies"].items():
        _first_error(studies[name], settings, registry, ["studies", name])
    _check_comparisons(config)
    _check_exclude(config)
    for name, settings in config["studies"].items():
        study = REGISTRY[name]
        _check_per_value(name, study.per_value, settings)
        own = getattr(study.module(), "check", None)
        if own is not None:  # what only this study can say (its grid first)
            own(settings, config)
        _check_figure_cells(name, study, settings)
        _check_data(name, study, settings, config)


def _check_comparisons(config: Mapping[str, Any]) -> None:
    for study, settings in config["studies"].items():
        axes = settings["axes"]
        for i, comparison in enumerate(settings.get("comparisons", [])):
            key = f"studies.{study}.comparisons[{i}]"
            if comparison["axis"] not in axes:
                raise ConfigError(
                    f"invalid config: {key}.axis: {comparison['axis']!r} is not an axis of "
                    f"{study}; allowed: {list(axes)}"
                )
            values = axes[comparison["axis"]]
            for side in ("a", "b"):
                if str(comparison[side]) not in map(str, values):
                    raise ConfigError(
                        f"invalid config: {key}.{side}: {comparison[side]!r} is not in "
                        f"studies.{study}.axes.{comparison['axis']} {values}"
                    )


def _check_exclude(config: Mapping[str, Any]) -> None:
    """An ``exclude`` entry names axes of its study."""
    for study, settings in config["studies"].items():
        for i, entry in enumerate(settings.get("exclude", [])):
            for axis in entry:
                if axis not in settings["axes"]:
                    raise ConfigError(
                        f"invalid config: studies.{study}.exclude[{i}]: {axis!r} is not an axis "
                        f"of {study}; allowed: {list(settings['axes'])}"
                    )


def _check_per_value(name: str, per_value, settings: Mapping[str, Any]) -> None:
    """A setting given per value of an axis has an entry for every configured value."""
    for key, axis in per_value:
        given = settings["run"][key]
        for value in settings["axes"][axis]:
            if str(value) not in map(str, given):
                raise ConfigError(
                    f"invalid config: studies.{name}.run.{key}: no entry for {value!r}, one "
                    f"of studies.{name}.axes.{axis}; add `{value}: ...` (given: {sorted(given)})"
                )


def _check_figure_cells(name: str, study, settings: Mapping[str, Any]) -> None:
    """The cell a figure draws (the block its ``cell_key`` names) is one the config trains."""
    keys = dict.fromkeys(f.cell_key for f in study.figures if f.cell_key)
    for key in keys:
        cell = settings.get(key)
        if cell is None:
            continue
        for axis, value in cell.items():
            if str(value) not in map(str, settings["axes"][axis]):
                raise ConfigError(
                    f"invalid config: studies.{name}.{key}.{axis}: {value!r} is not in "
                    f"studies.{name}.axes.{axis} {settings['axes'][axis]}"
                )
        text = {axis: str(value) for axis, value in cell.items()}
        if not study.has_cell(text):
            raise ConfigError(
                f"invalid config: studies.{name}.{key}: {text} is not a cell the study trains"
            )


def _check_data(name: str, study, settings: Mapping[str, Any], config) -> None:
    """With download off, every torchvision dataset the study reads must be on disk (its
    ``data_sources(settings)``: the name the config uses -> the catalog's source)."""
    sources = getattr(study.module(), "data_sources", None)
    if config["download"] or sources is None:
        return
    for dataset, source in sources(settings).items():
        missing = missing_files(source, config["data_root"])
        if missing:
            raise ConfigError(
                f"dataset {dataset!r} is not under data_root ({config['data_root']}): missing "
                f"{missing[0]}{' and more' if len(missing) > 1 else ''}. Set data_root to where "
                "the torchvision files are, or set download: true."
            )
