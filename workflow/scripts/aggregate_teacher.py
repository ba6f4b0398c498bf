"""Snakemake entry point: the teacher study's runs, teachers, summary, curves, comparisons."""

from pathlib import Path

from attnmem.run import logged_job
from attnmem.studies.teacher import aggregate_study, comparison_specs

smk = snakemake  # noqa: F821 - injected by Snakemake's script: directive

with logged_job(smk.log[0]) as log:
    run_dirs = [Path(f).parent for f in smk.input.finals]
    teacher_dirs = [Path(f).parent for f in smk.input.teachers]
    specs = comparison_specs(smk.params.settings, smk.params.claims)
    counts = map(len, (run_dirs, teacher_dirs, specs))
    log.info("%d predictor runs, %d teachers, %d comparisons", *counts)
    aggregate_study(run_dirs, teacher_dirs, specs, smk.params.stats, smk.output)
