# The plasticity study (seed003): one curriculum run per network x size x seed, then Table 1,
# the step plot, generalisation curves and the Memo mechanism heatmaps.

PLASTIC_RUN = "{network}/{size}/seed{seed}"


rule train_plasticity:
    output:
        metrics=f"{RESULTS}/plasticity/runs/{PLASTIC_RUN}/metrics.csv",
        final=f"{RESULTS}/plasticity/runs/{PLASTIC_RUN}/final.json",
        provenance=f"{RESULTS}/plasticity/runs/{PLASTIC_RUN}/provenance.json",
        model=f"{RESULTS}/plasticity/runs/{PLASTIC_RUN}/model.pt",
    log:
        f"{RESULTS}/plasticity/logs/{PLASTIC_RUN}.log",
    benchmark:
        f"{RESULTS}/plasticity/benchmarks/{PLASTIC_RUN}.tsv"
    group:
        "plasticity_train"
    conda:
        ENV
    threads: PLASTICITY_RESOURCES.get("threads", 1)
    resources:
        mem_mb=PLASTICITY_RESOURCES.get("mem_mb", 1000),
        runtime=PLASTICITY_RESOURCES.get("runtime", 60),
        gpu=PLASTICITY_RESOURCES.get("gpu", 0),
        slurm_partition=PLASTICITY_RESOURCES.get("slurm_partition", ""),
    params:
        settings=run_settings("plasticity", PLASTICITY),
        checkpoint_every=PLASTICITY.get("checkpoint_every", 50),
        device=config["device"],
    script:
        "../scripts/train_plasticity.py"


rule aggregate_plasticity:
    input:
        finals=[f"{d}/final.json" for d in plasticity_run_dirs()],
        metrics=[f"{d}/metrics.csv" for d in plasticity_run_dirs()],
    output:
        runs=f"{RESULTS}/plasticity/runs.csv",
        stages=f"{RESULTS}/plasticity/stages.csv",
        summary=report(
            f"{RESULTS}/plasticity/summary.csv",
            caption="../report/plasticity_summary.rst",
            category="plasticity",
            subcategory="statistics",
        ),
        curves=f"{RESULTS}/plasticity/curves.csv",
        comparisons=report(
            f"{RESULTS}/plasticity/comparisons.csv",
            caption="../report/plasticity_comparisons.rst",
            category="plasticity",
            subcategory="statistics",
        ),
    log:
        f"{RESULTS}/logs/aggregate_plasticity.log",
    benchmark:
        f"{RESULTS}/benchmarks/aggregate_plasticity.tsv"
    group:
        "summaries"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        settings=PLASTICITY,
        claims=CLAIMS_SPEC["claims"],
        stats=config["stats"],
    script:
        "../scripts/aggregate_plasticity.py"


rule plot_plasticity:
    input:
        runs=f"{RESULTS}/plasticity/runs.csv",
        stages=f"{RESULTS}/plasticity/stages.csv",
        summary=f"{RESULTS}/plasticity/summary.csv",
        curves=f"{RESULTS}/plasticity/curves.csv",
    output:
        progress=report(
            f"{FIGURES}/plasticity/r_vs_sequences.png",
            caption="../report/plasticity_progress.rst",
            category="plasticity",
            subcategory="figures",
        ),
        grid=report(
            f"{FIGURES}/plasticity/table1.png",
            caption="../report/plasticity_grid.rst",
            category="plasticity",
            subcategory="figures",
        ),
        generalisation=report(
            f"{FIGURES}/plasticity/generalisation.png",
            caption="../report/plasticity_generalisation.rst",
            category="plasticity",
            subcategory="figures",
        ),
        pdfs=[
            f"{FIGURES}/plasticity/{name}.pdf"
            for name in ("r_vs_sequences", "table1", "generalisation")
        ],
    log:
        f"{RESULTS}/logs/plot_plasticity.log",
    benchmark:
        f"{RESULTS}/benchmarks/plot_plasticity.tsv"
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
        "../scripts/plot_plasticity.py"


rule plot_plasticity_mechanism:
    input:
        final=lambda wildcards: f"{mechanism_run_dir()}/final.json",
        model=lambda wildcards: f"{mechanism_run_dir()}/model.pt",
    output:
        **{
            panel: report(
                f"{FIGURES}/plasticity/mechanism_{panel}.png",
                caption="../report/plasticity_mechanism.rst",
                category="plasticity",
                subcategory="mechanism",
                labels={"panel": panel},
            )
            for panel in MECHANISM_PANELS
        },
        pdfs=[
            f"{FIGURES}/plasticity/mechanism_{panel}.pdf" for panel in MECHANISM_PANELS
        ],
    log:
        f"{RESULTS}/logs/plot_plasticity_mechanism.log",
    benchmark:
        f"{RESULTS}/benchmarks/plot_plasticity_mechanism.tsv"
    group:
        "summaries"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/plot_plasticity_mechanism.py"


rule table_plasticity:
    input:
        summary=f"{RESULTS}/plasticity/summary.csv",
    output:
        md=report(
            f"{RESULTS}/tables/plasticity.md",
            caption="../report/plasticity_table.rst",
            category="plasticity",
            subcategory="tables",
        ),
        tex=f"{RESULTS}/tables/plasticity.tex",
    log:
        f"{RESULTS}/logs/table_plasticity.log",
    benchmark:
        f"{RESULTS}/benchmarks/table_plasticity.tsv"
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
        "../scripts/table_plasticity.py"
