"""Snakemake entry point: summaries, curves and comparisons of the optim study."""

from pathlib import Path

from attnmem.run import logged_job
from attnmem.studies.optim import aggregate_study

smk = snakemake  # noqa: F821 - injected by Snakemake's script: directive

with logged_job(smk.log[0]) as log:
    run_dirs = [Path(f).parent for f in smk.input.finals]
    log.info("aggregating %d runs", len(run_dirs))
    aggregate_study(run_dirs, smk.params.settings, smk.params.stats, smk.output)
