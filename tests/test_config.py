"""Configs: the three shipped ones are valid, bad ones fail before any job with a clear message."""

from __future__ import annotations

import copy
import importlib

import pytest
import yaml

from attnmem.config_check import ConfigError, load_schemas, validate
from attnmem.models.plastic import NETWORKS
from attnmem.models.predictors import PREDICTORS
from attnmem.optim import OPTIMIZERS
from attnmem.rl import dqn, sac
from attnmem.studies import REGISTRY
from attnmem.train import sac as sac_run
from conftest import REPO, snakemake

SCHEMAS = REPO / "workflow" / "schemas"


def load(name: str) -> dict:
    return yaml.safe_load((REPO / "config" / f"{name}.yaml").read_text())


@pytest.mark.parametrize("study", sorted(REGISTRY))
def test_study_schema_matches_the_registry(study):
    """The schema's axes are the registry's, and each axis's enum is its library registry."""
    description = REGISTRY[study]
    axes = load_schemas(SCHEMAS)[1][study]["properties"]["axes"]
    assert tuple(axes["properties"]) == description.axes == tuple(axes["required"])
    for axis, where in description.choices:
        module, name = where.split(":")
        names = getattr(importlib.import_module(module), name)
        schema = axes["properties"][axis]
        enum = (schema.get("items") or schema)["enum"] if "$ref" not in schema else None
        if enum is None:  # a shared definition (modes)
            shared = schema["$ref"].split("/")[-1]
            enum = yaml.safe_load((SCHEMAS / "config.schema.yaml").read_text())["$defs"][shared]
            enum = enum["items"]["enum"]
        assert set(enum) == set(names), (study, axis)


def test_sac_budgets_cover_every_env():
    sac_schema = load_schemas(SCHEMAS)[1]["sac"]["properties"]
    steps = sac_schema["run"]["properties"]["steps"]["properties"]
    assert set(steps) == set(sac_run.ENVS)


def test_paper_config_compares_sac_where_the_thesis_did():
    """Fig. 11 plots HalfCheetah's first 294 kept points (5 x 1,000 steps each): the thesis's
    comparison is at 1.47M steps although its baseline ran on to 3M; Walker2d at 1M."""
    run = load("paper")["studies"]["sac"]["run"]
    point = run.get("keep_every", sac_run.SACRun.keep_every) * run["reward_every"]
    assert run["steps"] == {"HalfCheetah-v5": 294 * point, "Walker2d-v5": 200 * point}


@pytest.mark.parametrize("name", ["config", "smoke", "paper", "step_plot"])
def test_shipped_configs_are_valid(name):
    validate(load(name), SCHEMAS)


def test_default_config_meets_its_promises():
    optim = load("config")["studies"]["optim"]
    assert len(optim["seeds"]) >= 5 and not load("config")["download"]
    paper = load("paper")["studies"]["optim"]
    assert len(paper["seeds"]) >= 3 and paper["run"]["epochs"] == 186
    assert len(paper["axes"]["dataset"]) * len(paper["axes"]["arch"]) == 15
    assert set(paper["axes"]["optimizer"]) == {"adamw", "adamp", "orthadam"} <= set(OPTIMIZERS)
    assert paper["resources"]["gpu"] >= 1
    # plasticity: the step plot's Memo M_A [50,50] cell with 5 seeds beside a small M-vs-A
    # grid at size 50, in the source's protocol (faithful, lr 1e-3) on the population engine;
    # every column, both sizes and the source's budget at paper scale, 5 seeds
    default = load("config")["studies"]["plasticity"]
    assert {"memo_MA", "memo_AA", "fc_M", "fc_A"} <= set(default["axes"]["network"])
    assert default["axes"]["size"] == [50, 100] and len(default["seeds"]) >= 5
    assert default["run"]["total_cap"]["memo_MA/100"] >= 10_000
    assert default["run"]["mode"] == "faithful" and default["run"]["lr"] == 1e-3
    assert default["run"]["engine"] == "population"
    paper = load("paper")["studies"]["plasticity"]
    assert paper["run"]["mode"] == "faithful" and paper["run"]["stage_cap"] == 1_000_000
    assert paper["axes"]["size"] == [50, 100] and paper["run"]["engine"] == "population"
    assert paper["run"]["acc_num"] == 5 and paper["run"]["acc_threshold"] == 0.99
    assert set(paper["axes"]["network"]) == set(NETWORKS) and len(paper["seeds"]) >= 5
    # teacher: paper.yaml every env, mode and predictor; the default a slice of Table 4 with
    # the thesis's teacher and every run setting as paper.yaml's but the predictors' epochs (1
    # of 5: shown, not tested; config/README.md), every predictor, >= 3 seeds
    teacher = load("paper")["studies"]["teacher"]
    assert set(teacher["axes"]["env"]) == set(dqn.ENVS)
    assert set(teacher["axes"]["mode"]) == set(dqn.MODES)
    assert set(teacher["axes"]["predictor"]) == set(PREDICTORS) and len(teacher["seeds"]) >= 5
    default = load("config")["studies"]["teacher"]
    cut = {**teacher["run"], "predictor": {**teacher["run"]["predictor"], "epochs": 1}}
    assert default["run"] == cut and len(default["seeds"]) >= 3
    assert set(default["axes"]["predictor"]) == set(PREDICTORS)
    rl = load("paper")["studies"]["sac"]
    assert set(rl["axes"]["env"]) == set(sac_run.ENVS)
    assert set(rl["axes"]["mode"]) == {"faithful", "clean"}  # the thesis's agents
    assert set(rl["axes"]["actor"]) == set(sac.ACTORS) and len(rl["seeds"]) >= 3
    # the default shows that SAC learns: textbook SAC on HalfCheetah to the 50k-step anchors
    rl = load("config")["studies"]["sac"]
    assert rl["axes"] == {"env": ["HalfCheetah-v5"], "mode": ["reference"], "actor": ["mlp"]}
    assert rl["run"]["steps"]["HalfCheetah-v5"] >= 50_000 and len(rl["seeds"]) >= 2
    teacher, rl = (load("paper")["studies"][s]["run"] for s in ("teacher", "sac"))
    assert teacher["dqn"]["steps"] == 40_000 and teacher["rollout"]["train"] == 20_000
    assert teacher["predictor"]["epochs"] * teacher["predictor"]["steps_per_epoch"] == 820
    assert rl["steps"] == {"HalfCheetah-v5": 1_470_000, "Walker2d-v5": 1_000_000}
    assert rl["warmup"] == {"faithful": {"mlp": 256, "attention_split": 10_000}, "clean": 10_000}


def broken(edit) -> dict:
    config = copy.deepcopy(load("smoke"))
    edit(config)
    return config


CASES = {
    "unknown study": (
        lambda c: c["studies"].update(optimm=c["studies"]["optim"]),
        ["studies", "'optimm'", "optim", "plasticity"],
    ),
    "unknown dataset": (
        lambda c: c["studies"]["optim"]["axes"].update(dataset=["imagenet"]),
        ["studies.optim.axes.dataset[0]", "'imagenet'", "cifar10_aug", "digits"],
    ),
    "unknown architecture": (
        lambda c: c["studies"]["optim"]["axes"].update(arch=["vgg16"]),
        ["studies.optim.axes.arch[0]", "resnet18"],
    ),
    "unknown optimizer": (
        lambda c: c["studies"]["optim"]["axes"].update(optimizer=["sgd"]),
        ["studies.optim.axes.optimizer[0]", "orthadam"],
    ),
    "unknown axis": (
        lambda c: c["studies"]["optim"]["axes"].update(model=["resnet18"]),
        ["studies.optim.axes", "'model'", "allowed keys", "arch"],
    ),
    "negative seed": (
        lambda c: c["studies"]["optim"].update(seeds=[0, -1]),
        ["studies.optim.seeds[1]", "-1", "must be >= 0"],
    ),
    "missing key": (
        lambda c: c["studies"]["optim"]["run"].pop("epochs"),
        ["studies.optim.run", "epochs"],
    ),
    "wrong type": (
        lambda c: c["studies"]["optim"]["run"].update(epochs="ten"),
        ["studies.optim.run.epochs", "'ten'", "integer"],
    ),
    "run setting outside run": (
        lambda c: c["studies"]["optim"].update(epochs=3),
        ["studies.optim", "'epochs'", "allowed keys"],
    ),
    "unknown key": (lambda c: c.update(seed=3), ["(top level)", "seed", "allowed keys"]),
    "comparison of an optimizer not run": (
        lambda c: c["studies"]["optim"]["comparisons"].append(
            {"axis": "optimizer", "a": "orthadam_thesis", "b": "adamw"}
        ),
        ["studies.optim.comparisons[3].a", "orthadam_thesis", "axes.optimizer"],
    ),
    "comparison along an axis the study lacks": (
        lambda c: c["studies"]["optim"]["comparisons"].append(
            {"axis": "network", "a": "memo_MA", "b": "memo_AA"}
        ),
        ["studies.optim.comparisons[3].axis", "'network'", "dataset"],
    ),
    "unknown network": (
        lambda c: c["studies"]["plasticity"]["axes"].update(network=["lstm"]),
        ["studies.plasticity.axes.network[0]", "'lstm'", "memo_MA", "hebbff"],
    ),
    "odd size": (
        lambda c: c["studies"]["plasticity"]["axes"].update(size=[51]),
        ["studies.plasticity.axes.size[0]", "51"],
    ),
    "unknown mode": (
        lambda c: c["studies"]["plasticity"]["run"].update(mode="fast"),
        ["studies.plasticity.run.mode", "'fast'", "faithful", "batched"],
    ),
    "budget for an unknown network": (
        lambda c: c["studies"]["plasticity"]["run"].update(total_cap={"default": 9, "lstm": 5}),
        ["studies.plasticity.run.total_cap", "'lstm' is not allowed", "hebbff"],
    ),
    "mechanism cell not trained": (
        lambda c: c["studies"]["plasticity"]["mechanism"].update(size=100),
        ["studies.plasticity.mechanism.size", "100", "studies.plasticity.axes.size"],
    ),
    "unknown teacher env": (
        lambda c: c["studies"]["teacher"]["axes"].update(env=["Pong-v5"]),
        ["studies.teacher.axes.env[0]", "'Pong-v5'", "CartPole-v1"],
    ),
    "teacher rollout too short": (
        lambda c: c["studies"]["teacher"]["run"]["rollout"].update(test=200),
        ["studies.teacher.run.rollout.test", "200 steps give 20 windows", "at least 320 steps"],
    ),
    "unknown actor": (
        lambda c: c["studies"]["sac"]["axes"].update(actor=["transformer"]),
        ["studies.sac.axes.actor[0]", "'transformer'", "attention_split", "mlp"],
    ),
    "sac env without a budget": (
        lambda c: c["studies"]["sac"]["axes"].update(env=["HalfCheetah-v5", "Walker2d-v5"]),
        ["studies.sac.run.steps", "'Walker2d-v5'"],
    ),
    "dataset not on disk": (
        lambda c: c["studies"]["optim"]["axes"].update(dataset=["svhn"]),
        ["'svhn'", "train_32x32.mat", "data_root", "download: true"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_config_gets_one_clear_message(case, tmp_path):
    edit, expected = CASES[case]
    config = broken(edit)
    config["data_root"] = str(tmp_path / "no-data")
    with pytest.raises(ConfigError) as error:
        validate(config, SCHEMAS)
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


@pytest.mark.parametrize(
    ("study", "axis"),
    [(name, axis) for name, study in sorted(REGISTRY.items()) for axis, _ in study.choices],
)
def test_every_axis_rejects_an_unknown_name_with_its_key(study, axis, tmp_path):
    config = copy.deepcopy(load("smoke"))
    config["data_root"] = str(tmp_path)
    config["studies"][study]["axes"][axis] = ["no_such_name"]
    with pytest.raises(ConfigError) as error:
        validate(config, SCHEMAS)
    assert f"studies.{study}.axes.{axis}[0]: 'no_such_name' is not allowed" in str(error.value)


@pytest.mark.parametrize("study", sorted(REGISTRY))
def test_every_study_rejects_a_run_setting_it_does_not_know(study):
    config = copy.deepcopy(load("smoke"))
    config["studies"][study]["run"]["no_such_setting"] = 1
    with pytest.raises(
        ConfigError, match=rf"studies\.{study}\.run: unknown key\(s\) \['no_such_setting'\]"
    ):
        validate(config, SCHEMAS)


@pytest.mark.parametrize("study", ["sac", "ppo_attn"])
def test_a_gpu_a_cpu_only_study_would_ignore_is_refused_not_dropped(study):
    """Their jobs step one environment at a time: a configured GPU would sit idle."""
    config = copy.deepcopy(load("smoke"))
    config["studies"][study]["resources"]["gpu"] = 1
    with pytest.raises(ConfigError, match=rf"studies\.{study}\.resources\.gpu: 1 is not allowed"):
        validate(config, SCHEMAS)


def test_plasticity_takes_hebbff_paper_sizes_and_both_engines(tmp_path):
    """HebbFF's capacity nets (d = 25, N = 16) and either engine pass the config check."""

    def edit(c):
        c["studies"]["plasticity"]["axes"].update(size=[16, 50])
        c["studies"]["plasticity"]["run"].update(engine="autograd", dtype="float64")

    config = broken(edit)
    config["data_root"] = str(tmp_path)
    validate(config, SCHEMAS)
    config["studies"]["plasticity"]["run"]["engine"] = "numba"
    with pytest.raises(ConfigError, match="engine"):
        validate(config, SCHEMAS)


def test_float32_under_an_engine_that_computes_in_float64_is_refused_naming_both_keys(tmp_path):
    def edit(c):
        c["studies"]["plasticity"]["run"].update(engine="fast", dtype="float32")

    config = broken(edit)
    config["data_root"] = str(tmp_path)
    with pytest.raises(ConfigError, match=r"run\.engine: 'fast' is not allowed.*dtype float32"):
        validate(config, SCHEMAS)


def test_the_config_check_names_no_study():
    """Checks by kind, driven by the registry (a setting per axis value, a figure's cell, data
    on disk); what only one study can say is its module's ``check``."""
    import re

    source = (REPO / "src" / "attnmem" / "config_check.py").read_text()
    named = [name for name in REGISTRY if re.search(rf"\b{name}\b", source)]
    assert named == []


def test_a_figure_cell_the_grid_lacks_is_refused(tmp_path):
    def edit(c):
        c["studies"]["ram"]["paths"].update(model="fc")

    config = broken(edit)
    config["data_root"] = str(tmp_path)
    with pytest.raises(ConfigError, match=r"studies\.ram\.paths\.model: 'fc' takes no glimpses"):
        validate(config, SCHEMAS)
    config["studies"]["ram"]["paths"].update(model="ram", glimpses=5)
    with pytest.raises(ConfigError, match=r"studies\.ram\.paths\.glimpses: 5 is not in"):
        validate(config, SCHEMAS)


def test_config_readme_documents_every_key_of_every_study_schema():
    """Each key a study's schema admits (block keys and ``run:`` keys) carries its meaning in
    the schema, and config/README.md's key tables are the ones ``attnmem.keydoc`` derives from
    them: a new setting cannot ship undocumented, and no table is kept by hand."""
    import re

    from attnmem import keydoc

    assert keydoc.main(["--check"]) == 0, "run `python -m attnmem.keydoc`"
    schemas = keydoc.load_schemas(SCHEMAS / "studies", REGISTRY)
    readme = (REPO / "config" / "README.md").read_text()
    for study, schema in schemas.items():
        documented = {n for names, _ in keydoc.rows(study, schema) for n in names}
        keys = {k for k, _ in keydoc.schema_keys(schema)}
        assert keys - documented <= set(keydoc.SHARED), study
        shape = re.search(r"^## The shape of a study block.*?(?=^## )", readme, re.M | re.S)
        assert all(f"`{k}`" in shape.group(0) for k in keys - documented), study
    # an undocumented key stops the derivation, naming it
    broken = copy.deepcopy(schemas["sac"])
    del broken["properties"]["run"]["properties"]["replay"]["description"]
    with pytest.raises(ValueError, match=r"sac: run.batch x-doc-with 'run.replay'"):
        keydoc.rows("sac", broken)
    broken["properties"]["run"]["properties"]["batch"].pop("x-doc-with")
    with pytest.raises(ValueError, match=r"no description for run.replay, run.batch"):
        keydoc.rows("sac", broken)
    # a new study's table comes with a section of its own, before the claims' section
    text = keydoc.render(readme, {"new": schemas["sac"]})
    assert text.index("## `studies.new`") < text.index(keydoc.CLAIMS_SECTION)
    assert keydoc.render(text, {"new": schemas["sac"]}) == text
