"""Config checks that run before any job: the JSON Schema, then what a schema cannot say."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from attnmem.data.catalog import VARIANTS, missing_files


class ConfigError(ValueError):
    """A config that cannot run; the message names the key, what is allowed and how to fix it."""


def _key(path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _explain(error: jsonschema.ValidationError) -> str:
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
    if error.validator == "type":
        return f"{key}: {error.instance!r} has the wrong type; expected {error.validator_value}"
    bounds = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}
    if error.validator in bounds:
        return (
            f"{key}: {error.instance!r} is not allowed; it must be {bounds[error.validator]} "
            f"{error.validator_value}"
        )
    return f"{key}: {error.message}"


def validate(config: Mapping[str, Any], schema_path: str | Path) -> None:
    """Raise ConfigError with one message for the first problem found."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        deepest = max(errors, key=lambda e: len(e.absolute_path))
        raise ConfigError(f"invalid config: {_explain(deepest)}")
    _check_comparisons(config)
    _check_mechanism(config)
    _check_teacher(config)
    _check_sac(config)
    _check_data(config)


def _check_comparisons(config: Mapping[str, Any]) -> None:
    for study, settings in config["studies"].items():
        for i, comparison in enumerate(settings.get("comparisons", [])):
            axis_values = settings.get(f"{comparison['axis']}s", [])
            for side in ("a", "b"):
                if str(comparison[side]) not in map(str, axis_values):
                    raise ConfigError(
                        f"invalid config: studies.{study}.comparisons[{i}].{side}: "
                        f"{comparison[side]!r} is not in studies.{study}.{comparison['axis']}s "
                        f"{axis_values}"
                    )


def _check_mechanism(config: Mapping[str, Any]) -> None:
    """The network drawn by the mechanism figures must be one the study trains."""
    settings = config["studies"].get("plasticity", {})
    cell = settings.get("mechanism")
    if cell is None:
        return
    for key, axis in (("network", "networks"), ("size", "sizes")):
        if cell[key] not in settings[axis]:
            raise ConfigError(
                f"invalid config: studies.plasticity.mechanism.{key}: {cell[key]!r} is not in "
                f"studies.plasticity.{axis} {settings[axis]}"
            )


def _check_teacher(config: Mapping[str, Any]) -> None:
    """Each rollout must give the predictors more than two batches of windows to draw from."""
    settings = config["studies"].get("teacher")
    if settings is None:
        return
    rollout, batch = settings["rollout"], settings["predictor"]["batch"]
    for split in ("train", "test"):
        windows = rollout[split] // rollout["window"]
        if windows - batch < batch:
            raise ConfigError(
                f"invalid config: studies.teacher.rollout.{split}: {rollout[split]} steps give "
                f"{windows} windows of {rollout['window']}; batches of {batch} are drawn from the "
                f"first windows - batch, so it needs at least {2 * batch * rollout['window']} steps"
            )


def _check_sac(config: Mapping[str, Any]) -> None:
    """Every SAC env needs its step budget."""
    settings = config["studies"].get("sac")
    if settings is None:
        return
    for env in settings["envs"]:
        if env not in settings["steps"]:
            raise ConfigError(
                f"invalid config: studies.sac.steps: no budget for {env!r}; add "
                f"`{env}: <environment steps>` (budgets given: {sorted(settings['steps'])})"
            )


def _check_data(config: Mapping[str, Any]) -> None:
    """With download off, every torchvision dataset the config names must already be on disk."""
    if config["download"] or "optim" not in config["studies"]:
        return
    for dataset in config["studies"]["optim"]["datasets"]:
        missing = missing_files(VARIANTS[dataset].source, config["data_root"])
        if missing:
            raise ConfigError(
                f"dataset {dataset!r} is not under data_root ({config['data_root']}): missing "
                f"{missing[0]}{' and more' if len(missing) > 1 else ''}. Set data_root to where "
                "the torchvision files are, or set download: true."
            )
