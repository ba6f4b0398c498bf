"""Snakemake entry point: the SAC study's runs, summary, curves and comparisons."""

from pathlib import Path

from attnmem.run import logged_job
from attnmem.studies.sac import aggregate_study, comparison_specs

smk = snakemake  # noqa: F821 - injected by Snakemake's script: directive

with logged_job(smk.log[0]) as log:
    run_dirs = [Path(f).parent for f in smk.input.finals]
    specs = comparison_specs(smk.params.settings, smk.params.claims)
    log.info("%d runs, %d comparisons", len(run_dirs), len(specs))
    aggregate_study(run_dirs, specs, smk.params.stats, smk.output)
