# Every study's summaries from one set of rules over a {study} wildcard: the aggregate across
# seeds, the study's extra tables, the replicated-vs-published table and each figure.  What
# differs between studies is looked up in the registry (attnmem.studies) by the scripts.


rule aggregate:
    input:
        finals=lambda wc: [f"{d}/final.json" for d in run_dirs(wc.study)],
        metrics=lambda wc: [f"{d}/metrics.csv" for d in run_dirs(wc.study)],
    output:
        runs=f"{RESULTS}/{{study}}/runs.csv",
        summary=report(
            f"{RESULTS}/{{study}}/summary.csv",
            caption="../report/summary.rst",
            category="{study}",
            subcategory="statistics",
            labels=study_labels("summary"),
        ),
        curves=f"{RESULTS}/{{study}}/curves.csv",
        comparisons=report(
            f"{RESULTS}/{{study}}/comparisons.csv",
            caption="../report/comparisons.rst",
            category="{study}",
            subcategory="statistics",
            labels=study_labels("comparisons"),
        ),
    log:
        f"{RESULTS}/logs/aggregate/{{study}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/aggregate/{{study}}.tsv"
    wildcard_constraints:
        study=one_of(STUDIES),
    group:
        "summaries"
    conda:
        ENV
    threads: 1
    resources:
        **SUMMARY_RESOURCES,
    params:
        comparisons=lambda wc: study_comparisons(
            wc.study, STUDIES[wc.study], study_claims(wc.study)
        ),
        stats=config["stats"],
        about=lambda wc: about(wc.study),
    script:
        "../scripts/aggregate.py"


rule extra_table:
    input:
        unpack(
            lambda wc: {
                job.rule: [f"{d}/final.json" for d in job_dirs(wc.study, job.rule)]
                for job in REGISTRY[wc.study].jobs
            }
        ),
    output:
        f"{RESULTS}/{{study}}/{{table}}.csv",
    log:
        f"{RESULTS}/logs/extra_table/{{study}}_{{table}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/extra_table/{{study}}_{{table}}.tsv"
    wildcard_constraints:
        study=one_of(STUDIES),
        table=one_of(
            sorted(
                {name for study in STUDIES for name in REGISTRY[study].extra_tables}
            )
        ),
    group:
        "summaries"
    conda:
        ENV
    threads: 1
    resources:
        **SUMMARY_RESOURCES,
    script:
        "../scripts/extra_table.py"


rule table:
    input:
        unpack(
            lambda wc: {
                "summary": f"{RESULTS}/{wc.study}/summary.csv",
                **study_tables(wc.study),
            }
        ),
    output:
        md=report(
            f"{RESULTS}/tables/{{study}}.md",
            caption="../report/table.rst",
            category="{study}",
            subcategory="tables",
            labels=study_labels("table"),
        ),
        tex=f"{RESULTS}/tables/{{study}}.tex",
    log:
        f"{RESULTS}/logs/table/{{study}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/table/{{study}}.tsv"
    wildcard_constraints:
        study=one_of(STUDIES),
    group:
        "summaries"
    conda:
        ENV
    threads: 1
    resources:
        **SUMMARY_RESOURCES,
    params:
        published=lambda wc: {wc.study: PUBLISHED.get(wc.study, {})},
        about=lambda wc: about(wc.study),
    script:
        "../scripts/table.py"


rule plot:
    input:
        unpack(figure_inputs),
    output:
        png=report(
            f"{FIGURES}/{{study}}/{{figure}}.png",
            caption="../report/figure.rst",
            category="{study}",
            subcategory="figures",
            labels=study_labels("figure"),
        ),
        pdf=f"{FIGURES}/{{study}}/{{figure}}.pdf",
    log:
        f"{RESULTS}/logs/plot/{{study}}/{{figure}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/plot/{{study}}/{{figure}}.tsv"
    wildcard_constraints:
        study=one_of(STUDIES),
    group:
        "summaries"
    conda:
        ENV
    threads: 1
    resources:
        **SUMMARY_RESOURCES,
    params:
        draw=lambda wc: FIGURE_INDEX[wc.study, wc.figure][0].draw,
        fields=lambda wc: FIGURE_INDEX[wc.study, wc.figure][1],
        caption=lambda wc: figure_caption(wc.study, wc.figure),
        published=lambda wc: {wc.study: PUBLISHED.get(wc.study, {})},
    script:
        "../scripts/plot.py"
