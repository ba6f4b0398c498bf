"""Snakemake entry point: maximal accuracy per optimizer of one dataset."""

from attnmem.run import logged_job
from attnmem.studies.optim import plot_max_accuracy

smk = snakemake  # noqa: F821 - injected by Snakemake's script: directive

with logged_job(smk.log[0]):
    plot_max_accuracy(
        smk.input.runs,
        smk.input.summary,
        smk.params.published,
        smk.wildcards.dataset,
        smk.output.png,
    )
