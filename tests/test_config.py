"""Configs: the three shipped ones are valid, bad ones fail before any job with a clear message."""

from __future__ import annotations

import copy

import pytest
import yaml

from attnmem.config_check import ConfigError, validate
from attnmem.data.catalog import VARIANTS
from attnmem.models.plastic import NETWORKS
from attnmem.models.predictors import PREDICTORS
from attnmem.models.vision import ARCHITECTURES
from attnmem.optim import OPTIMIZERS
from attnmem.rl import dqn, sac
from attnmem.train import sac as sac_run
from conftest import REPO, snakemake

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


def load(name: str) -> dict:
    return yaml.safe_load((REPO / "config" / f"{name}.yaml").read_text())


def test_schema_names_match_the_library_registries():
    optim = yaml.safe_load(SCHEMA.read_text())["$defs"]["optim"]["properties"]
    assert set(optim["datasets"]["items"]["enum"]) == set(VARIANTS)
    assert set(optim["archs"]["items"]["enum"]) == set(ARCHITECTURES)
    assert set(optim["optimizers"]["items"]["enum"]) == set(OPTIMIZERS)
    plasticity = yaml.safe_load(SCHEMA.read_text())["$defs"]["plasticity"]["properties"]
    assert set(plasticity["networks"]["items"]["enum"]) == set(NETWORKS)
    defs = yaml.safe_load(SCHEMA.read_text())["$defs"]
    teacher, rl = defs["teacher"]["properties"], defs["sac"]["properties"]
    assert set(teacher["envs"]["items"]["enum"]) == set(dqn.ENVS)
    assert set(teacher["predictors"]["items"]["enum"]) == set(PREDICTORS)
    assert set(defs["modes"]["items"]["enum"]) == set(dqn.MODES)
    assert set(rl["envs"]["items"]["enum"]) == set(sac_run.ENVS) == set(rl["steps"]["properties"])
    assert set(rl["actors"]["items"]["enum"]) == set(sac.ACTORS)


@pytest.mark.parametrize("name", ["config", "smoke", "paper"])
def test_shipped_configs_are_valid(name):
    validate(load(name), SCHEMA)


def test_default_config_meets_its_promises():
    optim = load("config")["studies"]["optim"]
    assert len(optim["seeds"]) >= 5 and not load("config")["download"]
    paper = load("paper")["studies"]["optim"]
    assert len(paper["seeds"]) >= 3 and paper["epochs"] == 186
    assert len(paper["datasets"]) * len(paper["archs"]) * len(paper["optimizers"]) == 45
    assert paper["resources"]["gpu"] >= 1
    # plasticity: the full grid (Table 1's 13 columns + HebbFF, at both sizes) with >= 3 seeds,
    # batched by default; the source's protocol at paper scale
    default = load("config")["studies"]["plasticity"]
    assert set(default["networks"]) == set(NETWORKS) and default["sizes"] == [50, 100]
    assert len(default["seeds"]) >= 3 and default["mode"] == "batched"
    paper = load("paper")["studies"]["plasticity"]
    assert paper["mode"] == "faithful" and paper["stage_cap"] == 1_000_000
    assert paper["acc_num"] == 5 and paper["acc_threshold"] == 0.99
    assert set(paper["networks"]) == set(NETWORKS) and len(paper["seeds"]) >= 3
    # teacher and sac: every env, mode and model with >= 5 / >= 3 seeds; the thesis's budgets
    for name in ("config", "paper"):
        teacher, rl = load(name)["studies"]["teacher"], load(name)["studies"]["sac"]
        assert set(teacher["envs"]) == set(dqn.ENVS) and set(teacher["modes"]) == set(dqn.MODES)
        assert set(teacher["predictors"]) == set(PREDICTORS) and len(teacher["seeds"]) >= 5
        assert set(rl["envs"]) == set(sac_run.ENVS) and set(rl["modes"]) == set(dqn.MODES)
        assert set(rl["actors"]) == set(sac.ACTORS) and len(rl["seeds"]) >= 3
    teacher, rl = load("paper")["studies"]["teacher"], load("paper")["studies"]["sac"]
    assert teacher["dqn"]["steps"] == 40_000 and teacher["rollout"]["train"] == 20_000
    assert teacher["predictor"]["epochs"] * teacher["predictor"]["steps_per_epoch"] == 820
    assert rl["steps"] == {"HalfCheetah-v5": 3_000_000, "Walker2d-v5": 1_000_000}
    assert rl["warmup"] == {"faithful": {"mlp": 256, "attention_split": 10_000}, "clean": 10_000}


def broken(edit) -> dict:
    config = copy.deepcopy(load("smoke"))
    edit(config)
    return config


CASES = {
    "unknown dataset": (
        lambda c: c["studies"]["optim"].update(datasets=["imagenet"]),
        ["studies.optim.datasets[0]", "'imagenet'", "cifar10_aug", "digits"],
    ),
    "unknown architecture": (
        lambda c: c["studies"]["optim"].update(archs=["vgg16"]),
        ["studies.optim.archs[0]", "resnet18"],
    ),
    "unknown optimizer": (
        lambda c: c["studies"]["optim"].update(optimizers=["sgd"]),
        ["studies.optim.optimizers[0]", "orthadam"],
    ),
    "negative seed": (
        lambda c: c["studies"]["optim"].update(seeds=[0, -1]),
        ["studies.optim.seeds[1]", "-1", "must be >= 0"],
    ),
    "missing key": (lambda c: c["studies"]["optim"].pop("epochs"), ["studies.optim", "epochs"]),
    "wrong type": (
        lambda c: c["studies"]["optim"].update(epochs="ten"),
        ["studies.optim.epochs", "'ten'", "integer"],
    ),
    "unknown key": (lambda c: c.update(seed=3), ["(top level)", "seed", "allowed keys"]),
    "comparison of an optimizer not run": (
        lambda c: c["studies"]["optim"]["comparisons"].append(
            {"axis": "optimizer", "a": "orthadam_thesis", "b": "adamw"}
        ),
        ["studies.optim.comparisons[3].a", "orthadam_thesis", "optimizers"],
    ),
    "unknown network": (
        lambda c: c["studies"]["plasticity"].update(networks=["lstm"]),
        ["studies.plasticity.networks[0]", "'lstm'", "memo_MA", "hebbff"],
    ),
    "odd size": (
        lambda c: c["studies"]["plasticity"].update(sizes=[51]),
        ["studies.plasticity.sizes[0]", "51"],
    ),
    "unknown mode": (
        lambda c: c["studies"]["plasticity"].update(mode="fast"),
        ["studies.plasticity.mode", "'fast'", "faithful", "batched"],
    ),
    "mechanism cell not trained": (
        lambda c: c["studies"]["plasticity"]["mechanism"].update(size=100),
        ["studies.plasticity.mechanism.size", "100", "studies.plasticity.sizes"],
    ),
    "unknown teacher env": (
        lambda c: c["studies"]["teacher"].update(envs=["Pong-v5"]),
        ["studies.teacher.envs[0]", "'Pong-v5'", "CartPole-v1"],
    ),
    "teacher rollout too short": (
        lambda c: c["studies"]["teacher"]["rollout"].update(test=200),
        ["studies.teacher.rollout.test", "200 steps give 20 windows", "at least 320 steps"],
    ),
    "unknown actor": (
        lambda c: c["studies"]["sac"].update(actors=["transformer"]),
        ["studies.sac.actors[0]", "'transformer'", "attention_split", "mlp"],
    ),
    "sac env without a budget": (
        lambda c: c["studies"]["sac"].update(envs=["HalfCheetah-v5", "Walker2d-v5"]),
        ["studies.sac.steps", "'Walker2d-v5'"],
    ),
    "dataset not on disk": (
        lambda c: c["studies"]["optim"].update(datasets=["svhn"]),
        ["'svhn'", "train_32x32.mat", "data_root", "download: true"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_config_gets_one_clear_message(case, tmp_path):
    edit, expected = CASES[case]
    config = broken(edit)
    config["data_root"] = str(tmp_path / "no-data")
    with pytest.raises(ConfigError) as error:
        validate(config, SCHEMA)
    message = str(error.value)
    assert "\n" not in message
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in {message!r}"


@pytest.mark.parametrize(
    "case",
    [
        "unknown optimizer",
        "negative seed",
        "dataset not on disk",
        "unknown network",
        "teacher rollout too short",
    ],
)
def test_snakemake_rejects_bad_config_before_any_job(case, tmp_path):
    config = broken(CASES[case][0])
    config["data_root"] = str(tmp_path / "no-data")
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path / "work", "--cores", "1", configfile=path, check=False)
    assert result.returncode != 0
    assert CASES[case][1][0] in result.stderr
    assert not (tmp_path / "work" / "results").exists()
