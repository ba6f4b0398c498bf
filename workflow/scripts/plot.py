"""Snakemake entry point: one figure of one study."""

from attnmem.run import logged_job
from attnmem.studies import REGISTRY

smk = snakemake  # noqa: F821 - injected by Snakemake's script: directive

with logged_job(smk.log[0]) as log:
    study = REGISTRY[smk.wildcards.study]
    inputs = {name: smk.input[name] for name in smk.input.keys()}
    log.info("%s: %s %s from %s", study.name, smk.params.kind, smk.params.fields, sorted(inputs))
    study.module().plot(
        smk.params.kind, inputs, smk.params.fields, smk.params.published, smk.output.png
    )
