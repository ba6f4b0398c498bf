rule plot_optim_curves:
    input:
        curves=f"{RESULTS}/optim/curves.csv",
    output:
        png=report(
            f"{FIGURES}/optim/curves_{{dataset}}_{{arch}}.png",
            caption="../report/optim_curves.rst",
            category="optim",
            subcategory="accuracy per epoch",
            labels={"dataset": "{dataset}", "architecture": "{arch}"},
        ),
        pdf=f"{FIGURES}/optim/curves_{{dataset}}_{{arch}}.pdf",
    log:
        f"{RESULTS}/logs/plot_optim_curves/{{dataset}}_{{arch}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/plot_optim_curves/{{dataset}}_{{arch}}.tsv"
    group:
        "summaries"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/plot_optim_curves.py"


rule plot_optim_max_accuracy:
    input:
        runs=f"{RESULTS}/optim/runs.csv",
        summary=f"{RESULTS}/optim/summary.csv",
    output:
        png=report(
            f"{FIGURES}/optim/max_acc_{{dataset}}.png",
            caption="../report/optim_max_acc.rst",
            category="optim",
            subcategory="maximal accuracy",
            labels={"dataset": "{dataset}"},
        ),
        pdf=f"{FIGURES}/optim/max_acc_{{dataset}}.pdf",
    log:
        f"{RESULTS}/logs/plot_optim_max_accuracy/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/plot_optim_max_accuracy/{{dataset}}.tsv"
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
        "../scripts/plot_optim_max_accuracy.py"


rule table_optim:
    input:
        summary=f"{RESULTS}/optim/summary.csv",
    output:
        md=report(
            f"{RESULTS}/tables/optim.md",
            caption="../report/optim_table.rst",
            category="optim",
            subcategory="tables",
        ),
        tex=f"{RESULTS}/tables/optim.tex",
    log:
        f"{RESULTS}/logs/table_optim.log",
    benchmark:
        f"{RESULTS}/benchmarks/table_optim.tsv"
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
        "../scripts/table_optim.py"
