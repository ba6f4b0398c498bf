"""Snakemake entry point: the one-screen claims overview (one row per claim)."""

import pandas as pd

from attnmem.plots.claims import overview
from attnmem.run import logged_job

smk = snakemake  # noqa: F821 - injected by Snakemake's script: directive

with logged_job(smk.log[0]) as log:
    claims = pd.read_csv(smk.input.csv)
    log.info("%d claim rows", len(claims))
    overview(claims, smk.output.png, smk.params.sources, smk.params.titles)
