"""Snakemake entry point: predictor accuracy per env with seeds, intervals and Table 4."""

from attnmem.run import logged_job
from attnmem.studies.teacher import plot_accuracy

smk = snakemake  # noqa: F821 - injected by Snakemake's script: directive

with logged_job(smk.log[0]):
    plot_accuracy(
        smk.input.runs, smk.input.summary, smk.input.teachers, smk.params.published, smk.output.png
    )
