# One replication report per source (results/report/<source>.md and .html) and the per-source
# claims figures, from the registry, each study's notes file, the config and the claims.

from attnmem.studies import notes as study_notes  # noqa: E402

#: Source id -> its configured studies (each study's notes file names its source).
SOURCES = study_notes.sources(STUDIES)
SOURCE_TITLES = {
    source: study_notes.load(studies[0])["source"]["title"]
    for source, studies in SOURCES.items()
}
REPORTS = [
    f"{RESULTS}/report/{source}.{ext}" for source in SOURCES for ext in ("md", "html")
]


def source_figures(source):
    """Every study figure of a source's studies, in registry order."""
    return [
        f"{FIGURES}/{study}/{stem}.png"
        for study in SOURCES[source]
        for (name, stem) in FIGURE_INDEX
        if name == study
    ]


def figure_list(wildcards):
    """[{study, png, caption}] of a source's figures (the report shows each with its caption)."""
    return [
        {"study": study, "png": f"{FIGURES}/{study}/{stem}.png", "caption": figure_caption(study, stem)}
        for study in SOURCES[wildcards.source]
        for (name, stem) in FIGURE_INDEX
        if name == study
    ]


def verdicts_of(studies):
    """The overall verdicts of the studies' claims ("2 supported, 1 inconclusive"), read from
    claims.csv when the HTML report is built (labels are evaluated then); "" before it exists."""
    import csv

    path = Path(f"{RESULTS}/claims.csv")
    if not path.exists():
        return ""
    with path.open() as f:
        verdicts = [
            r["verdict"]
            for r in csv.DictReader(f)
            if r["study"] in studies and r["cell"].startswith("overall")
        ]
    return ", ".join(
        f"{verdicts.count(v)} {v}"
        for v in ("supported", "contradicted", "inconclusive")
        if verdicts.count(v)
    )


def report_labels(kind):
    """Labels of a per-source output in the HTML report (a reader filters by them)."""

    def labels(wildcards):
        return {
            "source": wildcards.source,
            "studies": ", ".join(SOURCES[wildcards.source]),
            "kind": kind,
            "title": SOURCE_TITLES[wildcards.source],
            "verdicts": verdicts_of(SOURCES[wildcards.source]),
        }

    return labels


def study_labels(kind):
    """Labels of a per-study output: study, source, what it is and its claims' verdicts."""

    def labels(wildcards):
        found = {
            "study": wildcards.study,
            "source": study_notes.source_of(wildcards.study),
            "kind": kind,
            "claims": verdicts_of([wildcards.study]) or "none",
        }
        if "figure" in wildcards.keys():
            found["figure"] = wildcards.figure
        return found

    return labels


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
