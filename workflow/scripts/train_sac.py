"""Snakemake entry point: one SAC run."""

from pathlib import Path

from attnmem.run import logged_job
from attnmem.studies.sac import make_run
from attnmem.train.sac import train

smk = snakemake  # noqa: F821 - injected by Snakemake's script: directive

with logged_job(smk.log[0]) as log:
    w = smk.wildcards
    train(
        make_run(smk.params.settings, w.env, w.mode, w.actor, int(w.seed)),
        Path(smk.output.final).parent,
        threads=smk.threads,
        log=log,
        checkpoint_every=smk.params.checkpoint_every,
    )
