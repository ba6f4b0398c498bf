"""Snakemake entry point: the claims overview (forest plot) of every claim cell."""

import pandas as pd

from attnmem.plots.claims import forest
from attnmem.run import logged_job

smk = snakemake  # noqa: F821 - injected by Snakemake's script: directive

with logged_job(smk.log[0]) as log:
    claims = pd.read_csv(smk.input.csv)
    log.info("%d claim rows", len(claims))
    forest(claims, smk.output.png)
