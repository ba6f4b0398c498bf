"""Snakemake entry point: one run of the optim study."""

from pathlib import Path

from attnmem.run import logged_job
from attnmem.studies.optim import make_run
from attnmem.train.image_classification import train

smk = snakemake  # noqa: F821 - injected by Snakemake's script: directive

with logged_job(smk.log[0]) as log:
    w = smk.wildcards
    run = make_run(smk.params.settings, w.dataset, w.arch, w.optimizer, int(w.seed))
    train(
        run,
        smk.input.data,
        Path(smk.output.final).parent,
        threads=smk.threads,
        device=smk.params.device,
        log=log,
    )
