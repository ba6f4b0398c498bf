"""Snakemake entry point: the mechanism heatmaps of one trained Memo network."""

from pathlib import Path

from attnmem.run import logged_job
from attnmem.studies.plasticity import plot_mechanism

smk = snakemake  # noqa: F821 - injected by Snakemake's script: directive

with logged_job(smk.log[0]):
    panels = ("weights", "hidden", "plastic", "effective")
    plot_mechanism(Path(smk.input.final).parent, {p: smk.output[p] for p in panels})
