"""The cost probe: a short run of every cell of a config, so a claim the default never ran
still says what deciding it would cost (attnmem.probe, make probe)."""

from __future__ import annotations

import pytest
import yaml

from attnmem.config_check import validate
from attnmem.probe import probe_config
from attnmem.studies import REGISTRY
from conftest import REPO, snakemake

SCHEMAS = REPO / "workflow" / "schemas"
PAPER = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())


def test_the_probe_runs_every_paper_cell_once_at_its_studys_short_settings():
    probe = probe_config(PAPER, "results_probe")
    validate(probe, SCHEMAS)
    assert probe["probe"] is True and probe["results"] == "results_probe"
    assert set(probe["studies"]) == {name for name in PAPER["studies"] if REGISTRY[name].probe}
    # the datasets' studies measure where their data is; the cheap ones' costs are the default's
    assert {"optim", "plasticity", "teacher", "sac", "ppo_attn", "ram"} <= set(probe["studies"])
    # optim's datasets are not here: one epoch on random images of their shapes
    assert (
        probe["studies"]["optim"]["run"] | {"shape_probe": 0.05, "epochs": 1}
        == (probe["studies"]["optim"]["run"])
    )
    for name, block in probe["studies"].items():
        paper = PAPER["studies"][name]
        assert block["axes"] == paper["axes"] and block["seeds"] == paper["seeds"][:1]
        assert block["resources"]["threads"] == 1 and block["resources"]["gpu"] == 0
    assert probe["device"] == "cpu"  # CPU-hours, also where a GPU is (optim asks for one)
    # a scalar probe setting replaces each entry of a per-value one (SAC's steps per env)
    sac = probe["studies"]["sac"]["run"]
    assert sac["steps"] == dict.fromkeys(PAPER["studies"]["sac"]["run"]["steps"], 3000)
    assert sac["warmup"] == {"faithful": {"mlp": 256, "attention_split": 256}, "clean": 256}
    teacher = probe["studies"]["teacher"]["run"]
    assert teacher["dqn"]["steps"] == 4000 and teacher["dqn"]["gamma"] == 0.95
    assert probe["studies"]["plasticity"]["run"]["total_cap"] == 3000


@pytest.mark.dag
def test_the_probe_plans_its_jobs_although_it_can_decide_nothing(tmp_path):
    """One seed of every cell: the config check would stop a config whose claims run in full
    but cannot decide; a probe decides nothing by design and says so."""
    config = tmp_path / "probe.yaml"
    config.write_text(yaml.safe_dump(probe_config(PAPER, str(tmp_path / "results"))))
    result = snakemake(tmp_path, "-n", "--cores", "2", configfile=config)
    assert "train_sac" in result.stdout and "undecidable by construction" not in result.stderr
    # with download off and no dataset on disk: optim trains on shape twins, never the files
    assert "data/shapes/0.05/cifar10.pt" in result.stdout
    assert not any(f"data/{s}.pt" in result.stdout for s in ("cifar10", "cifar100", "svhn"))
    plain = yaml.safe_load(config.read_text())
    del plain["probe"]
    config.write_text(yaml.safe_dump(plain))
    result = snakemake(tmp_path, "-n", "--cores", "2", configfile=config, check=False)
    assert result.returncode != 0 and "undecidable by construction" in result.stderr
