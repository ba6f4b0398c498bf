"""Snakemake entry point: one training job of any study (the rule names the study and job)."""

from pathlib import Path

from attnmem.run import logged_job
from attnmem.studies import REGISTRY

smk = snakemake  # noqa: F821 - injected by Snakemake's script: directive

with logged_job(smk.log[0]) as log:
    study = REGISTRY[smk.params.study]
    job = study.job(smk.rule)
    cell = {axis: str(smk.wildcards[axis]) for axis in job.axes}
    run = study.module().make_run(job.rule, smk.params.settings, cell, int(smk.wildcards.seed))
    job.train_function()(
        run,
        Path(smk.output.final).parent,
        inputs={name: smk.input[name] for name in smk.input.keys()},
        threads=smk.threads,
        device=smk.params.get("device", "cpu"),
        log=log,
        checkpoint_every=smk.params.get("checkpoint_every"),
    )
