"""Snakemake entry point: the plasticity study's step plot, Table 1 heatmaps, generalisation."""

from attnmem.run import logged_job
from attnmem.studies.plasticity import plot_generalisation, plot_grid, plot_progress

smk = snakemake  # noqa: F821 - injected by Snakemake's script: directive

with logged_job(smk.log[0]):
    plot_progress(smk.input.runs, smk.input.stages, smk.output.progress)
    plot_grid(smk.input.summary, smk.params.published, smk.output.grid)
    plot_generalisation(smk.input.curves, smk.output.generalisation)
