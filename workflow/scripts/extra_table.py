"""Snakemake entry point: one of a study's extra tables (plasticity stages, teacher teachers)."""

from pathlib import Path

from attnmem.run import logged_job
from attnmem.stats.aggregate import write_table
from attnmem.studies import REGISTRY

smk = snakemake  # noqa: F821 - injected by Snakemake's script: directive

with logged_job(smk.log[0]) as log:
    study, name = REGISTRY[smk.wildcards.study], smk.wildcards.table
    dirs = {job: [Path(f).parent for f in smk.input[job]] for job in smk.input.keys()}
    log.info("%s/%s.csv from %s", study.name, name, {job: len(d) for job, d in dirs.items()})
    write_table(smk.output[0], study.module().extra_table(name, dirs))
