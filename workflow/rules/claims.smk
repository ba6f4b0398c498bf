# The claim-by-claim verdicts over every configured study, and the manifest of every
# deterministic output.


rule claims_table:
    input:
        **{
            f"{study}_{name}": path
            for study in STUDIES
            for name, path in study_tables(study).items()
        },
        runs=[f"{RESULTS}/{study}/runs.csv" for study in STUDIES],
        claims=str(CLAIMS_YAML),
        # measured CPU cost of each study's jobs: what an undecided claim would take
        costs=str(COSTS_YAML),
        # the studies' extra tables, named <study>_<table>: notes beside verdicts read them
    output:
        csv=f"{RESULTS}/claims.csv",
        md=report(
            f"{RESULTS}/claims.md",
            caption="../report/claims.rst",
            category="Claims overview",
        ),
    log:
        f"{RESULTS}/logs/claims.log",
    benchmark:
        f"{RESULTS}/benchmarks/claims.tsv"
    group:
        "summaries"
    conda:
        ENV
    threads: 1
    resources:
        **SUMMARY_RESOURCES,
    params:
        studies=list(STUDIES),
        # what each study's runs were trained with: the claims' min_run guards read it
        runs={study: run_params(study) for study in STUDIES},
    script:
        "../scripts/claims.py"


rule claims_figure:
    input:
        csv=f"{RESULTS}/claims.csv",
    output:
        png=report(
            f"{FIGURES}/claims.png",
            caption="../report/claims_figure.rst",
            category="Claims overview",
        ),
        pdf=f"{FIGURES}/claims.pdf",
    log:
        f"{RESULTS}/logs/claims_figure.log",
    benchmark:
        f"{RESULTS}/benchmarks/claims_figure.tsv"
    group:
        "summaries"
    conda:
        ENV
    threads: 1
    resources:
        **SUMMARY_RESOURCES,
    script:
        "../scripts/claims_figure.py"


rule manifest:
    input:
        deterministic_outputs(),
    output:
        f"{RESULTS}/MANIFEST.sha256",
    log:
        f"{RESULTS}/logs/manifest.log",
    benchmark:
        f"{RESULTS}/benchmarks/manifest.tsv"
    group:
        "summaries"
    conda:
        ENV
    threads: 1
    resources:
        **SUMMARY_RESOURCES,
    script:
        "../scripts/manifest.py"
