rule aggregate_optim:
    input:
        finals=[f"{d}/final.json" for d in optim_run_dirs()],
        metrics=[f"{d}/metrics.csv" for d in optim_run_dirs()],
    output:
        runs=f"{RESULTS}/optim/runs.csv",
        summary=report(
            f"{RESULTS}/optim/summary.csv",
            caption="../report/optim_summary.rst",
            category="optim",
            subcategory="statistics",
        ),
        curves=f"{RESULTS}/optim/curves.csv",
        comparisons=report(
            f"{RESULTS}/optim/comparisons.csv",
            caption="../report/optim_comparisons.rst",
            category="optim",
            subcategory="statistics",
        ),
    log:
        f"{RESULTS}/logs/aggregate_optim.log",
    benchmark:
        f"{RESULTS}/benchmarks/aggregate_optim.tsv"
    group:
        "summaries"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        settings=OPTIM,
        stats=config["stats"],
    script:
        "../scripts/aggregate_optim.py"


rule claims_table:
    input:
        comparisons=[f"{RESULTS}/{study}/comparisons.csv" for study in STUDIES],
        summaries=[f"{RESULTS}/{study}/summary.csv" for study in STUDIES],
        claims=str(CLAIMS_YAML),
    output:
        csv=f"{RESULTS}/claims.csv",
        md=report(
            f"{RESULTS}/claims.md",
            caption="../report/claims.rst",
            category="claims",
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
        mem_mb=500,
        runtime=5,
    params:
        studies=list(STUDIES),
    script:
        "../scripts/claims.py"


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
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/manifest.py"
