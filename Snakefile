"""attnmem: one DAG that re-runs attention-and-memory papers with seeds and CIs.

snakemake --cores N                      the default config's whole DAG
snakemake figures | tables | claims      one kind of output
snakemake reports                        one replication report per source (results/report/)
snakemake --configfile config/paper.yaml the sources' budgets (cluster)
"""

from pathlib import Path

from snakemake.utils import min_version

min_version("9.19")

# A config file is complete on its own: the default is read only when none is given, so
# `--configfile config/smoke.yaml` never inherits studies or budgets from config.yaml.
if not config:

    configfile: str(Path(workflow.current_basedir) / "config" / "config.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/summaries.smk"
include: "workflow/rules/claims.smk"
include: "workflow/rules/report.smk"


# A study's rules file holds its training jobs; it is read only when the config has the study.
for study in STUDIES:

    include: f"workflow/rules/{study}.smk"


localrules:
    all,
    figures,
    tables,
    claims,
    reports,


rule all:
    default_target: True
    input:
        all_summaries(),
        all_figures(),
        all_tables(),
        CLAIMS,
        f"{RESULTS}/MANIFEST.sha256",
        REPORTS,


rule figures:
    input:
        all_figures(),
        [f"{FIGURES}/claims/{source}.png" for source in SOURCES],


rule tables:
    input:
        all_tables(),


rule claims:
    input:
        CLAIMS,


rule reports:
    input:
        REPORTS,
