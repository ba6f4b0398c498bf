"""attnmem as a module of another workflow: ``module attnmem: snakefile: ...`` with
``use rule * from attnmem as attnmem_*``, as a lab adding its own paper beside the five would."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import REPO, SNAKEMAKE

pytestmark = pytest.mark.dag

OUTER = """\
configfile: "attnmem.yaml"


module attnmem:
    snakefile:
        "{snakefile}"
    config:
        config


use rule * from attnmem as attnmem_*


# the outer workflow's own rule beside attnmem's: reads attnmem's claims
rule my_summary:
    input:
        rules.attnmem_claims.input,
    output:
        "results/my_summary.txt",
    shell:
        "wc -l {{input[0]}} > {{output}}"
"""


def outer_workflow(workdir: Path, studies: tuple[str, ...]) -> Path:
    config = yaml.safe_load((REPO / "config" / "smoke.yaml").read_text())
    config["studies"] = {name: config["studies"][name] for name in studies}
    (workdir / "attnmem.yaml").write_text(yaml.safe_dump(config))
    snakefile = workdir / "Snakefile"
    snakefile.write_text(OUTER.format(snakefile=REPO / "Snakefile"))
    return snakefile


def run(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [SNAKEMAKE, "-s", str(workdir / "Snakefile"), "-d", str(workdir), *args]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-4000:]
    return result


def test_module_dry_run_plans_every_rule_renamed(tmp_path):
    outer_workflow(tmp_path, ("optim", "plasticity"))
    result = run(tmp_path, "-n", "--cores", "2", "attnmem_all", "my_summary")
    for rule in ("attnmem_train_optim", "attnmem_train_plasticity", "attnmem_claims_table",
                 "attnmem_replication_report", "my_summary"):  # fmt: skip
        assert f"rule {rule}:" in result.stdout or f"localrule {rule}:" in result.stdout, rule


def test_module_runs_one_study_to_its_claims_and_report(tmp_path):
    outer_workflow(tmp_path, ("optim",))
    run(tmp_path, "--cores", "2", "attnmem_all", "my_summary")
    results = tmp_path / "results"
    claims = pd.read_csv(results / "claims.csv")
    assert set(claims.study) == {"optim"} and (claims.cell.str.startswith("overall")).any()
    assert (results / "report" / "seed000.md").read_text().startswith("# Replication report")
    assert (results / "my_summary.txt").exists()
