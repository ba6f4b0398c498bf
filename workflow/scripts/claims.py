"""Snakemake entry point: the claim-by-claim verdicts."""

import pandas as pd
import yaml

from attnmem import files
from attnmem.claims import evaluate, to_markdown
from attnmem.costs import read as read_costs
from attnmem.run import logged_job
from attnmem.stats.aggregate import write_table
from attnmem.studies import AXES, REGISTRY

smk = snakemake  # noqa: F821 - injected by Snakemake's script: directive

with logged_job(smk.log[0]) as log:
    spec = yaml.safe_load(open(smk.input.claims))
    costs = read_costs(smk.input.costs, REGISTRY)
    # axis values are names: read them as text (a size of 50 must not become 50.0 next to NaN)
    runs = {
        study: pd.read_csv(path, dtype=dict.fromkeys(AXES[study], str))
        for study, path in zip(smk.params.studies, smk.input.runs, strict=True)
    }
    claims = [c for c in spec["claims"] if c["study"] in runs]
    # a study may say what a reader must know beside a verdict (teacher: the teacher's return)
    notes = {}
    for study in smk.params.studies:
        module = REGISTRY[study].module()
        if hasattr(module, "claim_notes"):
            names = REGISTRY[study].extra_tables
            tables = {n: pd.read_csv(smk.input[f"{study}_{n}"]) for n in names}
            notes[study] = module.claim_notes(tables)
    has_cell = {study: REGISTRY[study].has_cell for study in smk.params.studies}
    table = evaluate(claims, spec["published"], runs, AXES, smk.params.runs, notes, has_cell, costs)
    log.info("%d claims, %d rows", len(claims), len(table))
    write_table(smk.output.csv, table)
    files.write_text(smk.output.md, to_markdown(table))
