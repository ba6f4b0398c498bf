"""Snakemake entry point: Table 4 replicated vs published (Markdown and LaTeX)."""

from attnmem.run import logged_job
from attnmem.studies.teacher import write_tables

smk = snakemake  # noqa: F821 - injected by Snakemake's script: directive

with logged_job(smk.log[0]):
    write_tables(
        smk.input.summary, smk.input.teachers, smk.params.published, smk.output.md, smk.output.tex
    )
