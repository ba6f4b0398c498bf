"""Snakemake entry point: one curriculum run of the plasticity study."""

from pathlib import Path

from attnmem.run import logged_job
from attnmem.studies.plasticity import make_run
from attnmem.train.plasticity import train

smk = snakemake  # noqa: F821 - injected by Snakemake's script: directive

with logged_job(smk.log[0]) as log:
    w = smk.wildcards
    train(
        make_run(smk.params.settings, w.network, int(w.size), int(w.seed)),
        Path(smk.output.final).parent,
        threads=smk.threads,
        device=smk.params.device,
        log=log,
        checkpoint_every=smk.params.checkpoint_every,
    )
