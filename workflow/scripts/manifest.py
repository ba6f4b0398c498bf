"""Snakemake entry point: results/MANIFEST.sha256 of every deterministic output."""

from attnmem.files import write_manifest
from attnmem.run import logged_job

smk = snakemake  # noqa: F821 - injected by Snakemake's script: directive

with logged_job(smk.log[0]) as log:
    write_manifest(smk.output[0], smk.input)
    log.info("hashed %d files", len(smk.input))
