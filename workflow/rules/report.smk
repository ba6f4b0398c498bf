# One replication report per source (results/report/<source>.md and .html) and the per-source
# claims figures, from the registry, each study's notes file, the config and the claims; the
# functions they use (SOURCES, labels) are in common.smk.


rule claims_forest:
    input:
        csv=f"{RESULTS}/claims.csv",
    output:
        png=report(
            f"{FIGURES}/claims/{{source}}.png",
            caption="../report/claims_forest.rst",
            category="Claims overview",
            subcategory="per source",
            labels=report_labels("claims by cell"),
        ),
        pdf=f"{FIGURES}/claims/{{source}}.pdf",
    log:
        f"{RESULTS}/logs/claims_forest/{{source}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/claims_forest/{{source}}.tsv"
    wildcard_constraints:
        source=one_of(SOURCES),
    group:
        "summaries"
    conda:
        ENV
    threads: 1
    resources:
        **SUMMARY_RESOURCES,
    params:
        studies=lambda wc: SOURCES[wc.source],
        title=lambda wc: SOURCE_TITLES[wc.source],
    script:
        "../scripts/claims_forest.py"


rule replication_report:
    input:
        csv=f"{RESULTS}/claims.csv",
        manifest=f"{RESULTS}/MANIFEST.sha256",
        forest=f"{FIGURES}/claims/{{source}}.png",
        figures=lambda wc: source_figures(wc.source),
        notes=lambda wc: [str(study_notes.path(s)) for s in SOURCES[wc.source]],
    output:
        md=f"{RESULTS}/report/{{source}}.md",
        html=report(
            f"{RESULTS}/report/{{source}}.html",
            caption="../report/replication_report.rst",
            category="Replication reports",
            labels=report_labels("replication report"),
        ),
    log:
        f"{RESULTS}/logs/report/{{source}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/{{source}}.tsv"
    wildcard_constraints:
        source=one_of(SOURCES),
    group:
        "summaries"
    conda:
        ENV
    threads: 1
    resources:
        **SUMMARY_RESOURCES,
    params:
        studies=lambda wc: SOURCES[wc.source],
        settings=lambda wc: {s: STUDIES[s] for s in SOURCES[wc.source]},
        figures=figure_list,
        repo=str(ROOT),
        # the whole config's hash goes into the report: pass it as data, not as a path
        config=config,
    script:
        "../scripts/replication_report.py"
