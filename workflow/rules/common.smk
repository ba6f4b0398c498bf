"""Config validation, paths, and the targets every other rule file uses, all from the registry."""

import re
import sys
from pathlib import Path

import yaml

# the repository: this file is workflow/rules/common.smk (current_basedir, unlike basedir, is
# also right when another workflow imports attnmem as a module)
ROOT = Path(workflow.current_basedir).parents[1]
# Jobs import the library through the symlink workflow/scripts/attnmem -> src/attnmem (Snakemake
# puts a script's folder on sys.path), so a conda environment built from envs/ needs no install.
sys.path.insert(0, str(ROOT / "src"))

from attnmem.claims_check import check_claims_file  # noqa: E402
from attnmem.config_check import ConfigError, validate as validate_config  # noqa: E402
from attnmem.data.catalog import VARIANTS  # noqa: E402
from attnmem.studies import REGISTRY, study_comparisons  # noqa: E402
from attnmem.studies import notes as study_notes  # noqa: E402

SCHEMAS = ROOT / "workflow" / "schemas"
CLAIMS_YAML = ROOT / "config" / "claims.yaml"
COSTS_YAML = ROOT / "config" / "costs.yaml"
CLAIMS_SPEC = yaml.safe_load(CLAIMS_YAML.read_text())
try:
    validate_config(config, SCHEMAS)
    check_claims_file(CLAIMS_SPEC, SCHEMAS)
except ConfigError as error:
    # Exit here, before any job, with the one message; Snakemake 9 sometimes drops the text of an
    # exception raised while parsing, so it is not left to Snakemake's logger.
    sys.exit(f"attnmem: {error}")

# Which claims this config can decide, said once before any job (not again in each job, which
# parses this file too); a claim the config runs in full but cannot decide stops the run.
if workflow.is_main_process:
    from attnmem.decidability import report as decidability_report  # noqa: E402

    _lines, _broken = decidability_report(CLAIMS_SPEC, config, REGISTRY)
    print("\n".join(_lines), file=sys.stderr)
    if _broken and not config.get("probe", False):
        sys.exit(
            "attnmem: claims undecidable by construction under this config (every required "
            "cell runs at the source's budget, but the test cannot reach alpha; add seeds or "
            "mark the claim descriptive: true):\n"
            + "\n".join(f"  {b.line()}" for b in _broken)
        )

RESULTS = config["results"]
FIGURES = config["figures"]
STUDIES = config["studies"]
ENV = str(ROOT / "envs" / "attnmem.yaml")
PUBLISHED = CLAIMS_SPEC["published"]
CLAIMS = [f"{RESULTS}/claims.csv", f"{RESULTS}/claims.md"]
#: Summary jobs are a few seconds each: they share one cluster submission.
SUMMARY_RESOURCES = {"mem_mb": 500, "runtime": 5}


def one_of(values):
    """A wildcard constraint that admits exactly the given names."""
    return "|".join(re.escape(str(v)) for v in values) if values else "(?!)"


def axis_values(study, axis):
    """The configured values of one axis of a study."""
    return STUDIES[study]["axes"][axis]


def constraints(study, axes):
    """Wildcard constraints of a study's rule: its configured values, nothing from other studies."""
    return {axis: one_of(axis_values(study, axis)) for axis in axes} | {"seed": r"\d+"}


def run_params(study, *keys):
    """A study's ``run:`` block (or the named parts of it) with its keys sorted at every level:
    Snakemake reruns a job whose params changed, and the order keys happen to have in a config
    file must not count as a change."""

    def ordered(value):
        if isinstance(value, dict):
            return {k: ordered(value[k]) for k in sorted(value)}
        return value

    block = STUDIES[study]["run"]
    return ordered({k: block[k] for k in keys} if keys else block)


def checkpoint_every(study):
    """The study's ``checkpoint_every``, or None: the training function's own default (written
    once, there)."""
    return STUDIES[study].get("checkpoint_every")


def job_threads(study):
    """A training job's threads: the study's ``resources.threads``."""
    return STUDIES[study]["resources"]["threads"]


def resources(study, **fixed):
    """A training job's resources as the study configures them (the schema requires mem_mb,
    runtime and gpu, so nothing here falls back to a default), its SLURM partition ("" for
    the cluster's default), and ``fixed`` for a job whose engine dictates one (the teacher's
    DQN job runs on the CPU: gpu=0; its predictor jobs take the configured gpu)."""
    given = STUDIES[study]["resources"]
    chosen = {key: given[key] for key in ("mem_mb", "runtime", "gpu")}
    return {**chosen, "slurm_partition": given.get("slurm_partition", ""), **fixed}


def job_dirs(study, rule):
    """Every run folder of one training job of a study: one per cell of its axes and seed,
    less the combinations the study does not have (its ``cell_filter``) and the cells the
    config's ``exclude`` entries leave out."""
    description = REGISTRY[study]
    job = description.job(rule)
    exclude = STUDIES[study].get("exclude", [])
    dirs = []
    for cell in expand_fields(study, job.axes):
        if not description.has_cell(cell) or excluded(exclude, cell):
            continue
        # a job without axes (one reference model) keeps its seeds right under its folder
        folder = "".join(f"{cell[axis]}/" for axis in job.axes)
        dirs += [
            f"{RESULTS}/{study}/{job.folder}/{folder}seed{seed}"
            for seed in STUDIES[study]["seeds"]
        ]
    return dirs


def excluded(exclude, cell):
    """Whether ``cell`` (axis -> value) matches an ``exclude`` entry: every axis the entry
    names is one of the cell's, and the cell's value is among the entry's values."""
    return any(
        set(entry) <= set(cell)
        and all(cell[axis] in map(str, values) for axis, values in entry.items())
        for entry in exclude
    )


def all_seed_outputs(study, cell_dir, *files):
    """The outputs of a job that trains every seed of a cell (``Job.all_seeds``): each seed's
    metrics.csv, final.json, provenance.json and ``files``, with the cell's wildcards left for
    Snakemake to fill."""
    names = ("metrics.csv", "final.json", "provenance.json", *files)
    return {
        Path(name).stem: expand(
            f"{cell_dir}seed{{seed}}/{name}",
            seed=STUDIES[study]["seeds"],
            allow_missing=True,
        )
        for name in names
    }


def run_dirs(study):
    """The run folders whose cells the study summarises."""
    return job_dirs(study, REGISTRY[study].runs.rule)


def figure_index():
    """(study, stem) -> (figure, {axis: value}) for every figure the config draws."""
    index = {}
    for study in STUDIES:
        for figure in REGISTRY[study].figures:
            if figure.cell_key and figure.cell_key not in STUDIES[study]:
                continue
            for fields in expand_fields(study, figure.per):
                index[study, figure.stem.format(**fields)] = (figure, fields)
    return index


def expand_fields(study, axes):
    combos = [{}]
    for axis in axes:
        combos = [{**c, axis: str(v)} for c in combos for v in axis_values(study, axis)]
    return combos


FIGURE_INDEX = figure_index()


def figure_inputs(wildcards):
    """What one figure reads: the study's tables it names, or files of one trained run."""
    figure, _ = FIGURE_INDEX[wildcards.study, wildcards.figure]
    study = REGISTRY[wildcards.study]
    inputs = {name: f"{RESULTS}/{study.name}/{name}.csv" for name in figure.reads}
    if figure.cell_key:
        settings = STUDIES[study.name]
        cell = settings[figure.cell_key]
        folder = Path(*(str(cell[axis]) for axis in study.runs.axes))
        run = f"{RESULTS}/{study.name}/{study.runs.folder}/{folder}/seed{settings['seeds'][0]}"
        inputs |= {name: f"{run}/{name}" for name in figure.run_files}
    return inputs


def figure_caption(study, stem):
    figure, fields = FIGURE_INDEX[study, stem]
    return figure.caption.format(**fields)


def about(study):
    """What a study's captions say about it: its axes and metrics (rendered by report/*.rst)."""
    description = REGISTRY[study]
    return {
        "source": description.source,
        "axes": " × ".join(description.axes),
        "metrics": [
            {
                "name": m.name,
                "description": m.description,
                "interval": "percentile bootstrap" if m.integer else "BCa bootstrap",
            }
            for m in description.metrics
        ],
        "paired": (
            "percentile bootstrap"
            if description.paired_interval == "percentile"
            else "t"
        ),
    }


def all_summaries():
    return [f"{RESULTS}/{study}/summary.csv" for study in STUDIES]


def all_figures():
    studies = [f"{FIGURES}/{study}/{stem}.png" for study, stem in FIGURE_INDEX]
    return [f"{FIGURES}/claims.png", *studies]


def all_tables():
    return [
        f"{RESULTS}/tables/{study}.{ext}" for study in STUDIES for ext in ("md", "tex")
    ]


def study_tables(study):
    """results/<study>/<name>.csv of the study's extra tables."""
    return {
        name: f"{RESULTS}/{study}/{name}.csv" for name in REGISTRY[study].extra_tables
    }


def deterministic_outputs():
    """Every file the determinism contract covers: runs, summaries, tables and claims."""
    runs = [
        f"{d}/{name}"
        for study in STUDIES
        for job in REGISTRY[study].jobs
        for d in job_dirs(study, job.rule)
        for name in ("metrics.csv", "final.json")
    ]
    per_study = [
        f"{RESULTS}/{study}/{name}.csv"
        for study in STUDIES
        for name in ("runs", "summary", "curves", "comparisons")
    ]
    extras = [path for study in STUDIES for path in study_tables(study).values()]
    return runs + per_study + extras + all_tables() + CLAIMS


def study_claims(study):
    """The claims of one study: its aggregate job reruns only when they change."""
    return [c for c in CLAIMS_SPEC["claims"] if c["study"] == study]


def image_source_file(wildcards):
    """The prepared tensor file of a dataset variant's source (two variants can share one), or
    under a cost probe's ``run.shape_probe`` its random twin of that shape."""
    source = VARIANTS[wildcards.dataset].source
    fraction = STUDIES["optim"]["run"].get("shape_probe")
    if fraction is not None:
        return f"{RESULTS}/data/shapes/{fraction:g}/{source}.pt"
    return f"{RESULTS}/data/{source}.pt"


# --- replication reports and labels (workflow/rules/report.smk) -------------------------------

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
        {
            "study": study,
            "png": f"{FIGURES}/{study}/{stem}.png",
            "caption": figure_caption(study, stem),
        }
        for study in SOURCES[wildcards.source]
        for (name, stem) in FIGURE_INDEX
        if name == study
    ]


def verdicts_of(studies):
    """The overall verdicts of the studies' claims ("2 supported, 1 inconclusive"), read from
    claims.csv when the HTML report is built (labels are evaluated then); "" before it exists.
    """
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
