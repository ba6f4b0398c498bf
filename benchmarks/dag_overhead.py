"""How much the DAG itself costs, and how well `--cores` scales, on this machine in one run.

1. Dry run of config/paper.yaml: wall time and time per planned job (target: < 20 s total).
2. The smoke config at --cores 1: Snakemake's own overhead per job, i.e. the run's wall time
   minus the time spent inside jobs (their benchmark: files), divided by the number of jobs.
3. The default config's optim study at --cores 1 and at --cores 2: the speed-up (aim >= 1.8).
   This trains 15 runs twice (about 20 minutes); --epochs and --seeds make it smaller.

    python benchmarks/dag_overhead.py [--epochs 30] [--seeds 5] [--skip-speedup]
"""

from __future__ import annotations

import argparse
import csv
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def run(workdir: Path, configfile: Path, *args: str) -> tuple[float, str]:
    cmd = [SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(workdir),
           f"--configfile={configfile}", *args]  # fmt: skip
    start = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, result.stdout + result.stderr


def seconds_inside_jobs(workdir: Path) -> tuple[float, int]:
    total, count = 0.0, 0
    for tsv in workdir.glob("results/**/benchmarks/**/*.tsv"):
        with open(tsv) as handle:
            total += float(next(csv.DictReader(handle, delimiter="\t"))["s"])
        count += 1
    return total, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="override the default's epochs")
    parser.add_argument("--seeds", type=int, default=None, help="use only the first N seeds")
    parser.add_argument("--skip-speedup", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        wall, out = run(scratch / "paper", REPO / "config" / "paper.yaml", "-n", "--cores", "2")
        jobs = int(re.search(r"^total\s+(\d+)", out, re.M).group(1))
        print(f"dry run, paper config: {jobs} jobs in {wall:.1f} s "
              f"({wall / jobs * 1000:.1f} ms per job)")  # fmt: skip

        wall, _ = run(scratch / "smoke", REPO / "config" / "smoke.yaml", "--cores", "1")
        inside, n = seconds_inside_jobs(scratch / "smoke")
        print(f"smoke config, --cores 1: {wall:.1f} s wall, {inside:.1f} s inside {n} jobs; "
              f"Snakemake overhead {(wall - inside) / n:.2f} s per job, "
              f"{inside / n:.1f} s per job inside (interpreter, imports, work)")  # fmt: skip

        if args.skip_speedup:
            return
        config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
        optim = config["studies"]["optim"]
        config["studies"] = {"optim": optim}  # the speed-up of one study's training jobs
        if args.epochs:
            optim["run"]["epochs"] = args.epochs
        if args.seeds:
            optim["seeds"] = optim["seeds"][: args.seeds]
        configfile = scratch / "default.yaml"
        configfile.write_text(yaml.safe_dump(config))
        runs = len(optim["seeds"])
        for values in optim["axes"].values():
            runs *= len(values)
        times = {}
        for cores in (1, 2):
            times[cores], _ = run(scratch / f"cores{cores}", configfile, "--cores", str(cores))
            print(f"default optim study ({runs} runs, {optim['run']['epochs']} epochs), "
                  f"--cores {cores}: {times[cores]:.1f} s")  # fmt: skip
        print(f"speed-up --cores 2 over --cores 1: {times[1] / times[2]:.2f}x")


if __name__ == "__main__":
    main()
