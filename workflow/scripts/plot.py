"""Snakemake entry point: one figure of one study."""

from attnmem.plots.common import FigureInputs
from attnmem.run import logged_job
from attnmem.studies import REGISTRY
from attnmem.studies.base import resolve

smk = snakemake  # noqa: F821 - injected by Snakemake's script: directive

with logged_job(smk.log[0]) as log:
    study = REGISTRY[smk.wildcards.study]
    files = {name: str(smk.input[name]) for name in smk.input.keys()}
    log.info("%s: %s %s from %s", study.name, smk.params.draw, smk.params.fields, sorted(files))
    published = smk.params.published
    resolve(smk.params.draw)(
        FigureInputs(
            files=files,
            fields=smk.params.fields,
            published=published,
            axes=study.axes,
            png=str(smk.output.png),
            stem=smk.wildcards.figure,
            published_values=lambda: study.module().published_values(published),
        )
    )
