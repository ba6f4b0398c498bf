"""Snakemake entry point: one study's replicated-vs-published table (Markdown and LaTeX)."""

from attnmem.run import logged_job
from attnmem.studies import REGISTRY

smk = snakemake  # noqa: F821 - injected by Snakemake's script: directive

with logged_job(smk.log[0]):
    study = REGISTRY[smk.wildcards.study]
    files = {name: smk.input[name] for name in smk.input.keys()}
    tables = study.table_inputs(files, smk.params.published, smk.output.md, smk.output.tex)
    study.write_table(tables)
