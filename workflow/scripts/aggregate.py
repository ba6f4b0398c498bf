"""Snakemake entry point: one study's runs, summary, curves and comparisons."""

from pathlib import Path

from attnmem.run import logged_job
from attnmem.studies import REGISTRY
from attnmem.summaries import aggregate_study

smk = snakemake  # noqa: F821 - injected by Snakemake's script: directive

with logged_job(smk.log[0]) as log:
    study = REGISTRY[smk.wildcards.study]
    run_dirs = [Path(f).parent for f in smk.input.finals]
    log.info("%s: %d runs, %d comparisons", study.name, len(run_dirs), len(smk.params.comparisons))
    aggregate_study(study, run_dirs, smk.params.comparisons, smk.params.stats, smk.output)
