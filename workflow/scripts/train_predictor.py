"""Snakemake entry point: one predictor trained on one teacher's dataset."""

from pathlib import Path

from attnmem.run import logged_job
from attnmem.studies.teacher import make_predictor_run
from attnmem.train.teacher import train_predictor

smk = snakemake  # noqa: F821 - injected by Snakemake's script: directive

with logged_job(smk.log[0]) as log:
    w = smk.wildcards
    train_predictor(
        make_predictor_run(smk.params.settings, w.env, w.mode, w.predictor, int(w.seed)),
        smk.input.dataset,
        Path(smk.output.final).parent,
        threads=smk.threads,
        device=smk.params.device,
        log=log,
    )
