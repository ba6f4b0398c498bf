"""The DAG end to end: dry runs, lint, the smoke config twice (byte-identical), the report, and
a training job killed mid-run that resumes to the same bytes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from conftest import REPO, SNAKEMAKE, snakemake

pytestmark = pytest.mark.dag
SMOKE = REPO / "config" / "smoke.yaml"


def deterministic_outputs(workdir: Path) -> dict[str, bytes]:
    """Every file the contract says must be byte-identical between runs."""
    results = workdir / "results"
    paths = [
        *results.glob("*/**/metrics.csv"),  # runs, and the teacher study's teachers
        *results.glob("*/**/final.json"),
        *results.glob("*/*.csv"),
        *results.glob("tables/*"),
        *results.glob("claims.*"),
    ]
    return {str(p.relative_to(workdir)): p.read_bytes() for p in sorted(paths)}


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("smoke")
    snakemake(workdir, "--cores", "2", configfile=SMOKE)
    return workdir


@pytest.mark.parametrize("name", ["config", "smoke", "paper"])
def test_dry_run(name, tmp_path):
    result = snakemake(tmp_path, "-n", "--cores", "2", configfile=REPO / "config" / f"{name}.yaml")
    assert "train_optim" in result.stdout + result.stderr


@pytest.mark.parametrize("study", ["optim", "plasticity", "teacher", "sac"])
def test_each_study_runs_alone(study, tmp_path):
    """A config may hold any subset of the studies; rules of absent studies must not need theirs."""
    config = yaml.safe_load(SMOKE.read_text())
    config["studies"] = {study: config["studies"][study]}
    configfile = tmp_path / "one.yaml"
    configfile.write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path / "work", "-n", "--cores", "2", configfile=configfile)
    assert result.returncode == 0 and "claims_table" in result.stdout


def test_paper_dry_run_plans_the_thesis_grid(tmp_path):
    result = snakemake(tmp_path, "-n", "--cores", "2", configfile=REPO / "config" / "paper.yaml")
    counts = dict(
        line.split()[:2] for line in result.stdout.splitlines() if line.startswith("train_optim ")
    )
    assert int(counts["train_optim"]) == 5 * 3 * 3 * 3


def test_figures_target_builds_figures_only(tmp_path):
    result = snakemake(tmp_path, "-n", "--cores", "2", "figures", configfile=SMOKE)
    assert "curves_digits_shufflenet_v2_x0_5.png" in result.stdout and "rule plot:" in result.stdout
    assert "claims_table" not in result.stdout and "rule table:" not in result.stdout


def test_lint_and_format_are_clean():
    lint = subprocess.run(
        [SNAKEMAKE, "--lint", "-s", str(REPO / "Snakefile")],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert "Lints for" not in lint.stdout + lint.stderr, lint.stdout + lint.stderr
    snakefmt = Path(SNAKEMAKE).with_name("snakefmt")
    fmt = subprocess.run(
        [str(snakefmt), "--check", "Snakefile", "workflow"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert fmt.returncode == 0, fmt.stderr


def test_smoke_dag_makes_every_output(smoke_run):
    results, figures = smoke_run / "results", smoke_run / "figures"
    for name in ("runs.csv", "summary.csv", "curves.csv", "comparisons.csv"):
        assert (results / "optim" / name).stat().st_size > 0
    for stem in ("curves_digits_shufflenet_v2_x0_5", "max_acc_digits"):
        assert (figures / "optim" / f"{stem}.png").stat().st_size > 10_000
        assert (figures / "optim" / f"{stem}.pdf").exists()
    assert "| optimizer |" in (results / "tables" / "optim.md").read_text()
    assert r"\begin{tabular}" in (results / "tables" / "optim.tex").read_text()
    claims = (results / "claims.md").read_text()
    assert "optim.orthadam_gt_adamw" in claims and "overall" in claims
    assert len(list((results / "optim" / "runs").glob("*/*/*/seed*/final.json"))) == 6
    # the plasticity study: 3 networks x 1 size x 2 seeds, Table 1, figures, claims
    for name in ("runs.csv", "stages.csv", "summary.csv", "curves.csv", "comparisons.csv"):
        assert (results / "plasticity" / name).stat().st_size > 0
    assert len(list((results / "plasticity" / "runs").glob("*/*/seed*/model.pt"))) == 6
    stems = ["r_vs_sequences", "table1", "generalisation"]
    stems += [f"mechanism_{p}" for p in ("weights", "hidden", "plastic", "effective")]
    for stem in stems:
        assert (figures / "plasticity" / f"{stem}.png").stat().st_size > 10_000
        assert (figures / "plasticity" / f"{stem}.pdf").exists()
    assert "published Max R" in (results / "tables" / "plasticity.md").read_text()
    assert "plasticity.table1" in claims and "plasticity.m_beats_a" in claims
    assert "50: memo_MA vs memo_AA" in claims
    # the teacher study: 1 env x 1 mode x 3 predictors x 1 seed, one shared teacher
    teacher = results / "teacher"
    for name in ("runs.csv", "teachers.csv", "summary.csv", "curves.csv", "comparisons.csv"):
        assert (teacher / name).stat().st_size > 0
    assert len(list((teacher / "teachers").glob("*/*/seed*/dataset.pt"))) == 1
    assert len(list((teacher / "runs").glob("*/*/*/seed*/final.json"))) == 3
    assert (figures / "teacher" / "accuracy.png").stat().st_size > 10_000
    assert "majority class" in (results / "tables" / "teacher.md").read_text()
    assert "teacher.as_beats_lstm.clean" in claims and "teacher.table4" in claims
    # the SAC study: 1 env x 2 modes x 2 actors x 1 seed
    assert len(list((results / "sac" / "runs").glob("*/*/*/seed*/actor.pt"))) == 4
    for name in ("runs.csv", "summary.csv", "curves.csv", "comparisons.csv"):
        assert (results / "sac" / name).stat().st_size > 0
    for stem in ("reward", "eval_return"):
        assert (figures / "sac" / f"{stem}.png").stat().st_size > 10_000
    assert "sac.halfcheetah_attention_beats_mlp.faithful" in claims
    # every rule leaves a log and a benchmark
    expected = 12 + 6 + 5 + (4 + 3) + (4 + 3)
    assert len(list(results.glob("**/logs/**/*.log"))) >= expected
    assert len(list(results.glob("**/benchmarks/**/*.tsv"))) >= expected


def test_second_run_on_one_core_is_byte_identical(smoke_run, tmp_path):
    snakemake(tmp_path, "--cores", "1", configfile=SMOKE)
    first, second = deterministic_outputs(smoke_run), deterministic_outputs(tmp_path)
    assert len(first) > 15 and first.keys() == second.keys()
    differing = [name for name in first if first[name] != second[name]]
    assert not differing, f"outputs differ between runs: {differing}"


def test_adding_a_seed_trains_only_the_new_runs(smoke_run, tmp_path):
    config = yaml.safe_load(SMOKE.read_text())
    config["studies"]["optim"]["seeds"].append(7)
    config["studies"]["optim"]["comparisons"].pop()
    configfile = tmp_path / "more.yaml"
    configfile.write_text(yaml.safe_dump(config))
    result = snakemake(smoke_run, "-n", "--cores", "2", configfile=configfile)
    jobs = dict(re.findall(r"^(train_optim|prepare_data)\s+(\d+)$", result.stdout, re.M))
    assert jobs == {"train_optim": "3"}, result.stdout


def test_manifest_hashes_every_deterministic_output(smoke_run):
    import hashlib

    lines = (smoke_run / "results" / "MANIFEST.sha256").read_text().splitlines()
    listed = dict(reversed(line.split("  ", 1)) for line in lines)
    expected = set(deterministic_outputs(smoke_run)) - {"results/MANIFEST.sha256"}
    assert set(listed) == expected
    for path, digest in listed.items():
        assert hashlib.sha256((smoke_run / path).read_bytes()).hexdigest() == digest


def test_report_bundles_figures_and_claims(smoke_run):
    for name in ("report.html", "report.zip"):
        result = snakemake(smoke_run, "--report", name, configfile=SMOKE)
        assert result.returncode == 0 and (smoke_run / name).stat().st_size > 10_000
    html = (smoke_run / "report.html").read_text()
    assert "max_acc_digits.png" in html and "claims.md" in html


def test_killed_training_job_resumes_to_the_same_bytes(tmp_path):
    config = yaml.safe_load(SMOKE.read_text())
    optim = config["studies"]["optim"]
    optim.update(seeds=[0], comparisons=[])
    optim["axes"]["optimizer"] = ["orthadam"]
    optim["run"]["epochs"] = 6
    configfile = tmp_path / "resume.yaml"
    configfile.write_text(yaml.safe_dump(config))
    run = "results/optim/runs/digits/shufflenet_v2_x0_5/orthadam/seed0"
    target = f"{run}/final.json"

    straight = tmp_path / "straight"
    snakemake(straight, "--cores", "1", target, configfile=configfile)

    killed = tmp_path / "killed"
    cmd = [
        SNAKEMAKE,
        "-s",
        str(REPO / "Snakefile"),
        "-d",
        str(killed),
        "--cores",
        "1",
        f"--configfile={configfile}",
        target,
    ]
    process = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    checkpoint = killed / run / "checkpoint.pt"
    deadline = time.time() + 120
    while not checkpoint.exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)  # the whole job tree, no chance to clean up
    process.wait()
    assert checkpoint.exists(), "the job never wrote a checkpoint"
    assert not (killed / target).exists(), "the job finished before it could be killed"

    snakemake(killed, "--unlock", configfile=configfile)  # a killed Snakemake leaves its lock
    snakemake(killed, "--cores", "1", "--rerun-incomplete", target, configfile=configfile)
    log = (killed / "results/optim/logs/digits/shufflenet_v2_x0_5/orthadam/seed0.log").read_text()
    assert "resuming" in log
    for name in ("metrics.csv", "final.json"):
        assert (killed / run / name).read_bytes() == (straight / run / name).read_bytes()
