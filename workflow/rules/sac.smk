# The SAC study (thesis Figs. 11-12): one run per env x mode x actor x seed, then the reward and
# evaluation curves with seed bands, the summary table and the comparisons behind the claims.

SAC_RUN = "{env}/{mode}/{actor}/seed{seed}"


rule train_sac:
    output:
        metrics=f"{RESULTS}/sac/runs/{SAC_RUN}/metrics.csv",
        final=f"{RESULTS}/sac/runs/{SAC_RUN}/final.json",
        provenance=f"{RESULTS}/sac/runs/{SAC_RUN}/provenance.json",
        actor=f"{RESULTS}/sac/runs/{SAC_RUN}/actor.pt",
    log:
        f"{RESULTS}/sac/logs/{SAC_RUN}.log",
    benchmark:
        f"{RESULTS}/sac/benchmarks/{SAC_RUN}.tsv"
    group:
        "sac_train"
    conda:
        ENV
    threads: SAC_RESOURCES.get("threads", 1)
    resources:
        mem_mb=SAC_RESOURCES.get("mem_mb", 2000),
        runtime=SAC_RESOURCES.get("runtime", 60),
        gpu=0,  # one environment step per update on a small network: the CPU is faster
        slurm_partition=SAC_RESOURCES.get("slurm_partition", ""),
    params:
        settings=run_settings("sac", SAC),
        checkpoint_every=SAC.get("checkpoint_every", 50000),
    script:
        "../scripts/train_sac.py"


rule aggregate_sac:
    input:
        finals=[f"{d}/final.json" for d in sac_run_dirs()],
        metrics=[f"{d}/metrics.csv" for d in sac_run_dirs()],
    output:
        runs=f"{RESULTS}/sac/runs.csv",
        summary=report(
            f"{RESULTS}/sac/summary.csv",
            caption="../report/sac_summary.rst",
            category="sac",
            subcategory="statistics",
        ),
        curves=f"{RESULTS}/sac/curves.csv",
        comparisons=report(
            f"{RESULTS}/sac/comparisons.csv",
            caption="../report/sac_comparisons.rst",
            category="sac",
            subcategory="statistics",
        ),
    log:
        f"{RESULTS}/logs/aggregate_sac.log",
    benchmark:
        f"{RESULTS}/benchmarks/aggregate_sac.tsv"
    group:
        "summaries"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        settings=SAC,
        claims=CLAIMS_SPEC["claims"],
        stats=config["stats"],
    script:
        "../scripts/aggregate_sac.py"


rule plot_sac:
    input:
        curves=f"{RESULTS}/sac/curves.csv",
    output:
        reward=report(
            f"{FIGURES}/sac/reward.png",
            caption="../report/sac_reward.rst",
            category="sac",
            subcategory="figures",
        ),
        evaluation=report(
            f"{FIGURES}/sac/eval_return.png",
            caption="../report/sac_eval.rst",
            category="sac",
            subcategory="figures",
        ),
        pdfs=[f"{FIGURES}/sac/{name}.pdf" for name in ("reward", "eval_return")],
    log:
        f"{RESULTS}/logs/plot_sac.log",
    benchmark:
        f"{RESULTS}/benchmarks/plot_sac.tsv"
    group:
        "summaries"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        published=PUBLISHED,
    script:
        "../scripts/plot_sac.py"


rule table_sac:
    input:
        summary=f"{RESULTS}/sac/summary.csv",
    output:
        md=report(
            f"{RESULTS}/tables/sac.md",
            caption="../report/sac_table.rst",
            category="sac",
            subcategory="tables",
        ),
        tex=f"{RESULTS}/tables/sac.tex",
    log:
        f"{RESULTS}/logs/table_sac.log",
    benchmark:
        f"{RESULTS}/benchmarks/table_sac.tsv"
    group:
        "summaries"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        published=PUBLISHED,
    script:
        "../scripts/table_sac.py"
