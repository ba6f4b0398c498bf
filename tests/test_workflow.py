"""The DAG end to end: dry runs, lint, the smoke config twice (byte-identical), the report, and
a training job killed mid-run that resumes to the same bytes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from attnmem.studies import REGISTRY
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


def one_cell(study: str) -> dict:
    """The smoke config with only ``study``, cut to its first cell and first seed."""
    config = yaml.safe_load(SMOKE.read_text())
    settings = config["studies"][study]
    config["studies"] = {study: settings}
    settings["axes"] = {axis: values[:1] for axis, values in settings["axes"].items()}
    settings["seeds"] = settings["seeds"][:1]
    settings["comparisons"] = []
    for figure in REGISTRY[study].figures:
        if figure.cell_key in settings:  # the figure's run must be the one left
            settings[figure.cell_key] = {
                axis: settings["axes"][axis][0] for axis in REGISTRY[study].runs.axes
            }
    return config


@pytest.mark.parametrize("study", sorted(REGISTRY))
def test_each_study_runs_alone_with_one_cell_and_one_seed(study, tmp_path):
    """Any subset of a study runs through aggregate, tables, figures and claims: one cell and one
    seed leave no comparable pair, and the study's claims say their cells were not run."""
    configfile = tmp_path / "one.yaml"
    configfile.write_text(yaml.safe_dump(one_cell(study)))
    snakemake(tmp_path, "--cores", "2", configfile=configfile)
    results = tmp_path / "results"
    runs = pd.read_csv(results / study / "runs.csv")
    assert len(runs) == 1 and runs.loc[0, "status"] == "ok"
    assert pd.read_csv(results / study / "comparisons.csv").empty  # a header, no rows
    for stem in dict.fromkeys(f.stem.split("{")[0] for f in REGISTRY[study].figures):
        assert list((tmp_path / "figures" / study).glob(f"{stem}*.png")), stem
    claims = pd.read_csv(results / "claims.csv")
    overall = claims[claims.cell.str.startswith("overall")]
    assert set(overall.study) == {study} and set(overall.verdict) == {"inconclusive"}
    assert (tmp_path / "figures" / "claims.png").stat().st_size > 10_000


def test_paper_dry_run_plans_the_thesis_grid(tmp_path):
    result = snakemake(tmp_path, "-n", "--cores", "2", configfile=REPO / "config" / "paper.yaml")
    counts = dict(
        line.split()[:2] for line in result.stdout.splitlines() if line.startswith("train_optim ")
    )
    # 5 datasets x 3 architectures x 3 optimizers x 5 seeds (3 could never decide a claim)
    assert int(counts["train_optim"]) == 5 * 3 * 3 * 5
    # before any job: every claim but the two fixed-budget anchors is decidable at paper scale
    assert "this config can decide 56 of 59 claims" in result.stderr


def test_figures_target_builds_figures_only(tmp_path):
    result = snakemake(tmp_path, "-n", "--cores", "2", "figures", configfile=SMOKE)
    assert "curves_digits_shufflenet_v2_x0_5.png" in result.stdout and "rule plot:" in result.stdout
    assert "rule table:" not in result.stdout and "rule manifest:" not in result.stdout


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


def job_counts(workdir: Path, configfile: Path) -> dict[str, int]:
    """Jobs per rule of the whole DAG, as Snakemake plans it (``-n --forceall``)."""
    result = snakemake(workdir, "-n", "--forceall", "--cores", "2", configfile=configfile)
    stats = result.stdout.split("Job stats:")[1].split("total")[0]
    return {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)$", stats, re.M)}


def excluded(config: dict, cell: dict[str, str]) -> bool:
    """Whether a study block's ``exclude`` entries leave ``cell`` out."""
    return any(
        set(entry) <= set(cell) and all(cell[a] in map(str, v) for a, v in entry.items())
        for entry in config.get("exclude", [])
    )


@pytest.mark.parametrize("study", sorted(REGISTRY))
def test_smoke_dag_makes_every_output(smoke_run, study):
    """Every run folder, table, figure and claim the registry promises, for every study."""
    config = yaml.safe_load(SMOKE.read_text())["studies"][study]
    description = REGISTRY[study]
    results, figures = smoke_run / "results", smoke_run / "figures" / study
    for job in description.jobs:
        folders = list((results / study / job.folder).glob("*/" * len(job.axes) + "seed*"))
        # every combination of the job's axes that the study's cell filter accepts and the
        # config does not exclude, per seed
        cells = [{}]
        for axis in job.axes:
            cells = [{**c, axis: str(v)} for c in cells for v in config["axes"][axis]]
        kept = [c for c in cells if description.has_cell(c) and not excluded(config, c)]
        expected = len(config["seeds"]) * len(kept)
        assert len(folders) == expected, job.rule
        for name in ("metrics.csv", "final.json", "provenance.json", *job.files):
            assert all((folder / name).stat().st_size > 0 for folder in folders), name
    for name in ("runs", "summary", "curves", "comparisons", *description.extra_tables):
        assert len(pd.read_csv(results / study / f"{name}.csv")) > 0, name
    summary = pd.read_csv(results / study / "summary.csv")
    assert set(summary.metric) == set(description.metric_names)
    for figure in description.figures:
        stems = (
            [figure.stem]
            if not figure.per
            else [p.stem for p in figures.glob(figure.stem.split("{")[0] + "*.png")]
        )
        assert stems, figure.draw
        for stem in stems:
            assert (figures / f"{stem}.png").stat().st_size > 10_000
            assert (figures / f"{stem}.pdf").exists()
    assert "|---|" in (results / "tables" / f"{study}.md").read_text()
    assert r"\begin{tabular}" in (results / "tables" / f"{study}.tex").read_text()
    claims = pd.read_csv(results / "claims.csv")
    spec = yaml.safe_load((REPO / "config" / "claims.yaml").read_text())["claims"]
    assert {c["id"] for c in spec if c["study"] == study} <= set(claims.claim)


def test_smoke_dag_logs_and_times_every_job(smoke_run):
    counts = job_counts(smoke_run, SMOKE)
    jobs = sum(counts.values()) - counts["all"]  # `all` is a local target: it runs nothing
    assert len(list((smoke_run / "results").glob("**/logs/**/*.log"))) == jobs
    assert len(list((smoke_run / "results").glob("**/benchmarks/**/*.tsv"))) == jobs
    assert (smoke_run / "figures" / "claims.png").stat().st_size > 10_000
    assert "overall" in (smoke_run / "results" / "claims.md").read_text()


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
        # docutils reports a caption's or the landing page's reStructuredText problems as
        # "<string>:N: (WARNING/2) ..." (or ERROR/3, SEVERE/4) and builds the report anyway
        messages = re.findall(r"\((?:INFO/1|WARNING/2|ERROR/3|SEVERE/4)\).*", result.stderr)
        assert not messages, messages
    html = (smoke_run / "report.html").read_text()
    assert "max_acc_digits.png" in html and "claims.md" in html
    assert "System Message" not in html and "docutils system-message" not in html
    # the landing page: a section per source linking its replication report
    for source in ("seed000", "seed001", "seed002", "seed003", "seed004"):
        assert f"{source}.html" in html, source
    assert "Replication reports" in html and "Claims overview" in html


def test_smoke_dag_writes_a_replication_report_per_source(smoke_run):
    reports = smoke_run / "results" / "report"
    assert sorted(p.stem for p in reports.glob("*.md")) == [f"seed00{k}" for k in range(5)]
    for md in reports.glob("*.md"):
        text = md.read_text()
        assert text.startswith("# Replication report") and "## 7. Reproducibility" in text
        assert md.with_suffix(".html").read_text().count("data:image/png;base64,") >= 2
    assert len(list((smoke_run / "figures" / "claims").glob("seed00*.png"))) == 5


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
