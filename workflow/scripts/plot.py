"""Snakemake entry point: one figure of one study."""

from attnmem.run import logged_job
from attnmem.studies import REGISTRY
from attnmem.studies.base import resolve

smk = snakemake  # noqa: F821 - injected by Snakemake's script: directive

with logged_job(smk.log[0]) as log:
    study = REGISTRY[smk.wildcards.study]
    files = {name: smk.input[name] for name in smk.input.keys()}
    log.info("%s: %s %s from %s", study.name, smk.params.draw, smk.params.fields, sorted(files))
    figure = study.figure_inputs(
        files, smk.params.fields, smk.params.published, smk.output.png, smk.wildcards.figure
    )
    resolve(smk.params.draw)(figure)
