"""Snakemake entry point: the replication report of one source (Markdown and HTML)."""

import pandas as pd

from attnmem import report
from attnmem.run import logged_job

smk = snakemake  # noqa: F821 - injected by Snakemake's script: directive

with logged_job(smk.log[0]) as log:
    claims = pd.read_csv(smk.input.csv)
    figures = [report.StudyFigure(**f) for f in smk.params.figures]
    facts = report.facts(smk.params.repo, smk.params.config, smk.input.manifest)
    report.write(
        smk.wildcards.source,
        smk.params.studies,
        smk.params.settings,
        claims,
        figures,
        smk.input.forest,
        facts,
        smk.output.md,
        smk.output.html,
    )
    log.info("%s: %d figures, commit %s", smk.wildcards.source, len(figures), facts.commit)
