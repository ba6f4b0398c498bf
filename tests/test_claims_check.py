"""claims.yaml checks: the shipped file passes, and each kind of typo fails with its key named."""

from __future__ import annotations

import copy
from collections.abc import Callable

import jsonschema
import pytest
import yaml

from attnmem.claims_check import axis_names, check_claims_file, validate_claims
from attnmem.config_check import ConfigError
from attnmem.studies import AXES, REGISTRY
from conftest import REPO

SCHEMA = REPO / "workflow" / "schemas" / "claims.schema.yaml"
SPEC = yaml.safe_load((REPO / "config" / "claims.yaml").read_text())
SCHEMAS = REPO / "workflow" / "schemas"
VALUES = axis_names(SCHEMAS)
# sizes are any even integer in the schema; the published ones stand in for "every size"
VALUES["plasticity"]["size"] = ["50", "100"]
# glimpses are any non-negative integer; the paper's counts stand in (in the study's axis order)
VALUES["ram"] = {axis: VALUES["ram"].get(axis, [str(g) for g in range(9)]) for axis in AXES["ram"]}
METRICS = {name: list(study.metric_names) for name, study in REGISTRY.items()}


def check(spec) -> None:
    validate_claims(spec, SCHEMA, AXES, VALUES, METRICS)


def claim(spec, claim_id: str) -> dict:
    return next(c for c in spec["claims"] if c["id"] == claim_id)


def test_schema_is_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(yaml.safe_load(SCHEMA.read_text()))


def test_shipped_claims_pass():
    check(SPEC)


def test_shipped_claims_pass_without_values_or_metrics():
    validate_claims(SPEC, SCHEMA, AXES, {})


def test_the_test_values_cover_every_study_axis():
    assert {s: list(v) for s, v in VALUES.items()} == {s: list(a) for s, a in AXES.items()}


def _set(claim_id: str, key: str, value) -> Callable[[dict], None]:
    def mutate(spec: dict) -> None:
        claim(spec, claim_id)[key] = value

    return mutate


def _edit(claim_id: str, edit: Callable[[dict], None]) -> Callable[[dict], None]:
    return lambda spec: edit(claim(spec, claim_id))


def _duplicate(spec: dict) -> None:
    spec["claims"][1]["id"] = spec["claims"][0]["id"]


def _published_study(spec: dict) -> None:
    spec["published"]["optimm"] = copy.deepcopy(spec["published"]["optim"])


def _published_value(spec: dict) -> None:
    values = spec["published"]["optim"]["values"]["cifar100"]
    values["densenett121"] = values.pop("densenet121")


def _published_too_shallow(spec: dict) -> None:
    spec["published"]["plasticity"]["values"]["fc_M"][50] = 5


OPTIM = "optim.orthadam_gt_adamw"
RESNET = "optim.adamp_gt_orthadam_resnet18"
M_VS_A = "plasticity.m_beats_a"
NEURONS = "plasticity.m_gains_from_neurons"
TABLE1 = "plasticity.table1"
CHEETAH = "sac.halfcheetah_attention_beats_mlp.faithful"
SHAPE = "plasticity.hebbff_shape.at_2rmax"
BLEBOT = "ram.blebot.best_test_acc"
CLUTTER = "ram.beats_conv_on_clutter"


CASES = [
    (_set(OPTIM, "study", "optimm"), "study", "optimm"),
    (
        _edit(OPTIM, lambda c: c["compare"].update(axis="optimiser")),
        "compare.axis",
        "optimiser",
    ),
    (_edit(OPTIM, lambda c: c["compare"].update(a="orthadamm")), "compare.a", "orthadamm"),
    (_edit(M_VS_A, lambda c: c["compare"][1].update(b="nonl_AA")), "compare[1].b", "nonl_AA"),
    (_edit(NEURONS, lambda c: c["compare"].update(a=60)), "compare.a", "60"),
    (_edit(OPTIM, lambda c: c["compare"].update(b="orthadam")), "compare.b", "orthadam"),
    (_set(RESNET, "where", {"arc": ["resnet18"]}), "where", "arc"),
    (_set(RESNET, "where", {"arch": ["resnet81"]}), "where.arch[0]", "resnet81"),
    (
        _set(CHEETAH, "where", {"env": ["HalfCheetah-v5"], "mode": ["fathful"]}),
        "mode",
        "fathful",
    ),
    (_set(RESNET, "where", {"optimizer": ["adamw"]}), "where.optimizer", "compared axis"),
    (
        _edit(OPTIM, lambda c: c["verdict"].update(kind="greatr")),
        f"{OPTIM}).verdict.kind",
        "greatr",
    ),
    (_edit(OPTIM, lambda c: c["verdict"].pop("alpha")), "verdict", "alpha"),
    (_edit(OPTIM, lambda c: c["verdict"].update(alpha=1.5)), "verdict.alpha", "1.5"),
    (_edit(OPTIM, lambda c: c["verdict"].pop("budget_metric")), "verdict", "budget_metric"),
    (_edit(TABLE1, lambda c: c["verdict"].pop("min_budget")), "verdict", "min_budget"),
    (_edit(TABLE1, lambda c: c["verdict"].update(margin=1.0)), "verdict", "margin"),
    (_edit(OPTIM, lambda c: c["verdict"].pop("min_effect")), "verdict", "min_effect"),
    (_edit(OPTIM, lambda c: c["verdict"].update(every="datset")), "verdict.every", "datset"),
    (_edit(OPTIM, lambda c: c["where"].pop("arch")), f"{OPTIM}).where", "missing: ['arch']"),
    (_edit(BLEBOT, lambda c: c["verdict"].pop("margin")), "verdict", "margin"),
    (
        _edit(BLEBOT, lambda c: c["verdict"].update(published_sd="best_test_ac", published_runs=2)),
        "verdict.published_sd",
        "best_test_ac",
    ),
    (
        _edit(CLUTTER, lambda c: c["compare"].update(at_a={"glimpse": 0})),
        "compare.at_a",
        "glimpse",
    ),
    (_edit(TABLE1, lambda c: c.pop("published_metric")), "claims[", "published_metric"),
    (_edit(OPTIM, lambda c: c.pop("compare")), "claims[0]", "compare"),
    (_edit(OPTIM, lambda c: c.update(statment=c.pop("statement"))), "claims[0]", "statment"),
    (_set(OPTIM, "id", "Optim.orthadam"), "claims[0].id", "Optim.orthadam"),
    (_set(OPTIM, "id", "plasticity.orthadam"), ".id", "plasticity.orthadam"),
    (_duplicate, f"claims[1] ({OPTIM}).id", OPTIM),
    (_set(OPTIM, "metric", "max_accc"), "metric", "max_accc"),
    (
        _edit(CHEETAH, lambda c: c["verdict"].update(budget_metric="step")),
        "budget_metric",
        "step",
    ),
    (_set(TABLE1, "published_metric", "max_rr"), "published_metric", "max_rr"),
    (_edit(SHAPE, lambda c: c["verdict"].update(band=[0.9, 0.8])), "verdict.band", "0.9"),
    (_edit(SHAPE, lambda c: c["verdict"].pop("band")), "verdict", "band"),
    (_set(SHAPE, "published_metric", "max_r"), "claims[", "published_metric"),
    (_published_study, "published.optimm", "optimm"),
    (_published_value, "published.optim.values.cifar100.densenett121", "densenett121"),
    (_published_too_shallow, "published.plasticity.values.fc_M.50", "size"),
]


@pytest.mark.parametrize(("mutate", "key", "bad"), CASES, ids=[f"{k}:{b}" for _, k, b in CASES])
def test_a_typo_fails_with_its_key_and_value(mutate, key, bad):
    spec = copy.deepcopy(SPEC)
    mutate(spec)
    with pytest.raises(ConfigError) as error:
        check(spec)
    message = str(error.value)
    assert message.startswith("claims.yaml: ") and "\n" not in message
    assert key in message and bad in message, message


def test_the_dag_check_passes_the_shipped_file_and_names_a_typo():
    check_claims_file(SPEC, SCHEMAS)
    bad = copy.deepcopy(SPEC)
    bad["claims"][0]["study"] = "optimm"
    with pytest.raises(ConfigError, match="'optimm' is not allowed; allowed studies"):
        check_claims_file(bad, SCHEMAS)
