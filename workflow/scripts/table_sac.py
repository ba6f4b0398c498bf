"""Snakemake entry point: SAC final rewards replicated vs published (Markdown and LaTeX)."""

from attnmem.run import logged_job
from attnmem.studies.sac import write_tables

smk = snakemake  # noqa: F821 - injected by Snakemake's script: directive

with logged_job(smk.log[0]):
    write_tables(smk.input.summary, smk.params.published, smk.output.md, smk.output.tex)
