"""Snakemake entry point: SAC reward and evaluation curves, faithful and clean side by side."""

from attnmem.run import logged_job
from attnmem.studies.sac import plot_curves, plot_eval

smk = snakemake  # noqa: F821 - injected by Snakemake's script: directive

with logged_job(smk.log[0]):
    plot_curves(smk.input.curves, smk.params.published, smk.output.reward)
    plot_eval(smk.input.curves, smk.output.evaluation)
