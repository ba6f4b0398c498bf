"""Snakemake entry point: accuracy-per-epoch figure of one dataset and architecture."""

from attnmem.run import logged_job
from attnmem.studies.optim import plot_curves

smk = snakemake  # noqa: F821 - injected by Snakemake's script: directive

with logged_job(smk.log[0]):
    plot_curves(smk.input.curves, smk.wildcards.dataset, smk.wildcards.arch, smk.output.png)
