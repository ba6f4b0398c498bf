"""The conda environment pins the same versions as pyproject.toml."""

from __future__ import annotations

import re
import tomllib

import yaml

from conftest import REPO


def pins(requirements):
    out = {}
    for requirement in requirements:
        name, version = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)==(\S+)", requirement).groups()
        out[re.sub(r"\[.*\]", "", name).lower()] = version
    return out


def test_conda_env_pins_match_pyproject():
    project = pins(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"])
    env = yaml.safe_load((REPO / "envs" / "attnmem.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda_pins = pins(pip)
    project.pop("snakemake")  # the scheduler runs outside the job environment
    assert conda_pins == project
    assert "python=3.11" in env["dependencies"]
