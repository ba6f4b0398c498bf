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

from attnmem.data.catalog import VARIANTS, missing_files
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
    _check_mechanism(config)
    _check_teacher(config)
    _check_sac(config)
    _check_atman(config)
    _check_ram(config)
    _check_data(config)


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


def _check_mechanism(config: Mapping[str, Any]) -> None:
    """The network drawn by the mechanism figures must be one the study trains."""
    settings = config["studies"].get("plasticity", {})
    cell = settings.get("mechanism")
    if cell is None:
        return
    for axis in ("network", "size"):
        if cell[axis] not in settings["axes"][axis]:
            raise ConfigError(
                f"invalid config: studies.plasticity.mechanism.{axis}: {cell[axis]!r} is not in "
                f"studies.plasticity.axes.{axis} {settings['axes'][axis]}"
            )


def _check_teacher(config: Mapping[str, Any]) -> None:
    """Each rollout must give the predictors more than two batches of windows to draw from."""
    settings = config["studies"].get("teacher")
    if settings is None:
        return
    rollout, batch = settings["run"]["rollout"], settings["run"]["predictor"]["batch"]
    for split in ("train", "test"):
        windows = rollout[split] // rollout["window"]
        if windows - batch < batch:
            raise ConfigError(
                f"invalid config: studies.teacher.run.rollout.{split}: {rollout[split]} steps give "
                f"{windows} windows of {rollout['window']}; batches of {batch} are drawn from the "
                f"first windows - batch, so it needs at least {2 * batch * rollout['window']} steps"
            )


def _check_sac(config: Mapping[str, Any]) -> None:
    """Every SAC env needs its step budget."""
    settings = config["studies"].get("sac")
    if settings is None:
        return
    steps = settings["run"]["steps"]
    for env in settings["axes"]["env"]:
        if env not in steps:
            raise ConfigError(
                f"invalid config: studies.sac.run.steps: no budget for {env!r}; add "
                f"`{env}: <environment steps>` (budgets given: {sorted(steps)})"
            )


def _check_atman(config: Mapping[str, Any]) -> None:
    """The network drawn by the atman study's figure must be one it trains."""
    settings = config["studies"].get("atman", {})
    cell = settings.get("network")
    if cell is None:
        return
    for axis, value in cell.items():
        if str(value) not in map(str, settings["axes"][axis]):
            raise ConfigError(
                f"invalid config: studies.atman.network.{axis}: {value!r} is not in "
                f"studies.atman.axes.{axis} {settings['axes'][axis]}"
            )


def _check_data(config: Mapping[str, Any]) -> None:
    """With download off, every torchvision dataset the config names must already be on disk."""
    if config["download"] or "optim" not in config["studies"]:
        return
    for dataset in config["studies"]["optim"]["axes"]["dataset"]:
        missing = missing_files(VARIANTS[dataset].source, config["data_root"])
        if missing:
            raise ConfigError(
                f"dataset {dataset!r} is not under data_root ({config['data_root']}): missing "
                f"{missing[0]}{' and more' if len(missing) > 1 else ''}. Set data_root to where "
                "the torchvision files are, or set download: true."
            )


def _check_ram(config: Mapping[str, Any]) -> None:
    """Every ram dataset needs its epochs, every model a cell, the paths figure a trained run,
    and MNIST (when it is the digit source) its files unless the data rule may download them."""
    settings = config["studies"].get("ram")
    if settings is None:
        return
    from attnmem.studies import ram

    axes, run = settings["axes"], settings["run"]
    for dataset in axes["dataset"]:
        if dataset not in run["epochs"]:
            raise ConfigError(
                f"invalid config: studies.ram.run.epochs: no epochs for {dataset!r}; add "
                f"`{dataset}: <epochs>` (given: {sorted(run['epochs'])})"
            )
    for model in axes["model"]:
        if not any(
            ram.has_cell({"dataset": d, "model": model, "glimpses": str(g), "optimizer": o})
            for d in axes["dataset"]
            for g in axes["glimpses"]
            for o in axes["optimizer"]
        ):
            need = "glimpses 0" if model not in ram.GLIMPSING else "glimpses >= 1"
            if model == "ram_faithful":
                need = "dataset mnist28, glimpses 6 and optimizer sgd (Blebot's run)"
            raise ConfigError(
                f"invalid config: studies.ram.axes.model: {model!r} has no cell; it needs {need}"
                f" in studies.ram.axes (glimpses {axes['glimpses']}, optimizer "
                f"{axes['optimizer']})"
            )
    cell = settings.get("paths")
    if cell is not None:
        text = {axis: str(value) for axis, value in cell.items()}
        for axis, value in cell.items():
            if value not in axes[axis]:
                raise ConfigError(
                    f"invalid config: studies.ram.paths.{axis}: {value!r} is not in "
                    f"studies.ram.axes.{axis} {axes[axis]}"
                )
        if not ram.has_cell(text) or cell["model"] not in ram.GLIMPSING:
            raise ConfigError(
                f"invalid config: studies.ram.paths: {text} is not a RAM cell the study trains "
                "(it needs a glimpsing model with glimpses >= 1)"
            )
    if run["digits"] == "mnist" and not config["download"]:
        missing = missing_files("mnist", config["data_root"])
        if missing:
            raise ConfigError(
                f"dataset 'mnist' is not under data_root ({config['data_root']}): missing "
                f"{missing[0]}{' and more' if len(missing) > 1 else ''}. Set data_root to where "
                "the torchvision files are, or set download: true."
            )
