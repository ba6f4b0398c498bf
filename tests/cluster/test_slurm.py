"""The smoke DAG on a real one-node SLURM cluster with the project's profile; byte-identical to
a local run.  Run by `make test-cluster` and by .ci/run after the main tests."""

from __future__ import annotations

import os
import re
import subprocess
import time

import pytest

from cluster.slurm import Cluster, Unavailable
from conftest import REPO, SNAKEMAKE, snakemake
from test_workflow import SMOKE, deterministic_outputs

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("the test cluster needs root (to install and start munge and SLURM)")
    root = tmp_path_factory.mktemp("slurm")
    running = Cluster(root)
    try:
        running.start()
    except Unavailable as reason:
        running.stop()
        pytest.skip(f"no test cluster here: {reason}")
    try:
        yield running
    finally:
        running.stop()


def test_smoke_dag_on_slurm_matches_a_local_run(cluster, tmp_path):
    local = tmp_path / "local"
    snakemake(local, "--cores", "2", configfile=SMOKE)

    on_slurm = tmp_path / "slurm"
    cmd = [SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(on_slurm),
           f"--configfile={SMOKE}", "--profile", str(REPO / "workflow/profiles/slurm"),
           "--slurm-init-seconds-before-status-checks", "2", "--latency-wait", "5",
           "--cores", str(os.cpu_count())]  # fmt: skip
    started = time.time()
    result = subprocess.run(cmd, capture_output=True, text=True, env=cluster.env)
    wall = time.time() - started
    assert result.returncode == 0, result.stderr[-4000:] + cluster.logs()

    submissions = re.findall(r"Job \S+ has been submitted with SLURM jobid (\d+)", result.stderr)
    print(f"SLURM smoke run: {wall:.0f} s wall, {len(set(submissions))} submissions")
    assert submissions, "nothing went through sbatch"
    # the profile's group-components bundle each study's training runs (optim 5 per
    # submission, atman 20, ...) and every summary, figure, table and claim: far fewer
    # submissions than jobs (the smoke DAG has ~90)
    jobs = len(list((local / "results").glob("**/benchmarks/**/*.tsv")))
    assert len(set(submissions)) <= jobs // 4, (len(set(submissions)), jobs)

    local_bytes, slurm_bytes = deterministic_outputs(local), deterministic_outputs(on_slurm)
    assert local_bytes.keys() == slurm_bytes.keys() and len(local_bytes) > 15
    assert [k for k in local_bytes if local_bytes[k] != slurm_bytes[k]] == []
    assert (on_slurm / "figures" / "optim" / "max_acc_digits.png").exists()
    (tmp_path / "wall.txt").write_text(f"{wall}\n{len(set(submissions))}\n")
