"""Snakemake entry point: one training job of any study (the rule names the study and job).

A job of one run and seed, or, for a Job with ``all_seeds``, every configured seed of one cell."""

from pathlib import Path

from attnmem.run import logged_job
from attnmem.studies import REGISTRY

smk = snakemake  # noqa: F821 - injected by Snakemake's script: directive

with logged_job(smk.log[0]) as log:
    study = REGISTRY[smk.params.study]
    # a workflow that imports attnmem as a module renames its rules (attnmem_train_optim):
    # the job is the study's one whose rule name ends the renamed one
    renamed = [j.rule for j in study.jobs if smk.rule.endswith(f"_{j.rule}")]
    job = study.job(
        smk.rule if smk.rule in [j.rule for j in study.jobs] or not renamed else renamed[0]
    )
    cell = {axis: str(smk.wildcards[axis]) for axis in job.axes}
    make_run = study.module().make_run
    if job.all_seeds:  # one job trains every seed of the cell (Job.all_seeds)
        seeds = [int(seed) for seed in smk.params.seeds]
        run = [make_run(job.rule, smk.params.settings, cell, seed) for seed in seeds]
        out_dir = [Path(final).parent for final in smk.output.final]
    else:
        run = make_run(job.rule, smk.params.settings, cell, int(smk.wildcards.seed))
        out_dir = Path(smk.output.final).parent
    job.train_function()(
        run,
        out_dir,
        inputs={name: smk.input[name] for name in smk.input.keys()},
        threads=smk.threads,
        device=smk.params.get("device", "cpu"),
        log=log,
        checkpoint_every=smk.params.get("checkpoint_every"),
    )
