"""Snakemake entry point: the per-cell claims figure of one source's studies."""

import pandas as pd

from attnmem.plots.claims import forest
from attnmem.run import logged_job

smk = snakemake  # noqa: F821 - injected by Snakemake's script: directive

with logged_job(smk.log[0]) as log:
    claims = pd.read_csv(smk.input.csv)
    mine = claims[claims["study"].isin(smk.params.studies)]
    log.info("%s: %d claim rows of %s", smk.wildcards.source, len(mine), smk.params.studies)
    title = f"{smk.wildcards.source}: {smk.params.title}"
    short = f"{smk.wildcards.source}: claims, published vs replicated"
    forest(mine, smk.output.png, title if len(title) < 90 else short)
