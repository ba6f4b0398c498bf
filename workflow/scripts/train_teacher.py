"""Snakemake entry point: one DQN teacher and its windowed dataset."""

from pathlib import Path

from attnmem.run import logged_job
from attnmem.studies.teacher import make_teacher_run
from attnmem.train.teacher import make_teacher

smk = snakemake  # noqa: F821 - injected by Snakemake's script: directive

with logged_job(smk.log[0]) as log:
    w = smk.wildcards
    make_teacher(
        make_teacher_run(smk.params.settings, w.env, w.mode, int(w.seed)),
        Path(smk.output.final).parent,
        threads=smk.threads,
        log=log,
    )
