"""Config validation, paths, and the target lists every other rule file uses."""

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(workflow.basedir)
# Jobs import the library through the symlink workflow/scripts/attnmem -> src/attnmem (Snakemake
# puts a script's folder on sys.path), so a conda environment built from envs/ needs no install.
sys.path.insert(0, str(ROOT / "src"))

from attnmem.config_check import ConfigError, validate as validate_config  # noqa: E402
from attnmem.data.catalog import VARIANTS  # noqa: E402
from attnmem.studies import run_settings  # noqa: E402

try:
    validate_config(config, ROOT / "workflow" / "schemas" / "config.schema.yaml")
except ConfigError as error:
    # Exit here, before any job, with the one message; Snakemake 9 sometimes drops the text of an
    # exception raised while parsing, so it is not left to Snakemake's logger.
    sys.exit(f"attnmem: {error}")

RESULTS = config["results"]
FIGURES = config["figures"]
STUDIES = config["studies"]
ENV = str(ROOT / "envs" / "attnmem.yaml")
CLAIMS_YAML = ROOT / "config" / "claims.yaml"
CLAIMS_SPEC = yaml.safe_load(CLAIMS_YAML.read_text())
PUBLISHED = CLAIMS_SPEC["published"]
CLAIMS = [f"{RESULTS}/claims.csv", f"{RESULTS}/claims.md"]


def one_of(values):
    """A wildcard constraint that admits exactly the configured names."""
    return "|".join(re.escape(str(v)) for v in values) if values else "(?!)"


OPTIM = STUDIES.get("optim", {})
OPTIM_RESOURCES = OPTIM.get("resources", {})
PLASTICITY = STUDIES.get("plasticity", {})
PLASTICITY_RESOURCES = PLASTICITY.get("resources", {})
TEACHER = STUDIES.get("teacher", {})
TEACHER_RESOURCES = TEACHER.get("resources", {})
SAC = STUDIES.get("sac", {})
SAC_RESOURCES = SAC.get("resources", {})


wildcard_constraints:
    dataset=one_of(OPTIM.get("datasets", [])),
    arch=one_of(OPTIM.get("archs", [])),
    optimizer=one_of(OPTIM.get("optimizers", [])),
    network=one_of(PLASTICITY.get("networks", [])),
    size=one_of(PLASTICITY.get("sizes", [])),
    env=one_of(TEACHER.get("envs", []) + SAC.get("envs", [])),
    mode=one_of(sorted(set(TEACHER.get("modes", []) + SAC.get("modes", [])))),
    predictor=one_of(TEACHER.get("predictors", [])),
    actor=one_of(SAC.get("actors", [])),
    seed=r"\d+",
    source=r"[a-z0-9]+",


def optim_run_dirs():
    if not OPTIM:
        return []
    return expand(
        f"{RESULTS}/optim/runs/{{dataset}}/{{arch}}/{{optimizer}}/seed{{seed}}",
        dataset=OPTIM["datasets"],
        arch=OPTIM["archs"],
        optimizer=OPTIM["optimizers"],
        seed=OPTIM["seeds"],
    )


def plasticity_run_dirs():
    if not PLASTICITY:
        return []
    return expand(
        f"{RESULTS}/plasticity/runs/{{network}}/{{size}}/seed{{seed}}",
        network=PLASTICITY["networks"],
        size=PLASTICITY["sizes"],
        seed=PLASTICITY["seeds"],
    )


def teacher_dirs():
    if not TEACHER:
        return []
    return expand(
        f"{RESULTS}/teacher/teachers/{{env}}/{{mode}}/seed{{seed}}",
        env=TEACHER["envs"],
        mode=TEACHER["modes"],
        seed=TEACHER["seeds"],
    )


def teacher_run_dirs():
    if not TEACHER:
        return []
    return expand(
        f"{RESULTS}/teacher/runs/{{env}}/{{mode}}/{{predictor}}/seed{{seed}}",
        env=TEACHER["envs"],
        mode=TEACHER["modes"],
        predictor=TEACHER["predictors"],
        seed=TEACHER["seeds"],
    )


def sac_run_dirs():
    if not SAC:
        return []
    return expand(
        f"{RESULTS}/sac/runs/{{env}}/{{mode}}/{{actor}}/seed{{seed}}",
        env=SAC["envs"],
        mode=SAC["modes"],
        actor=SAC["actors"],
        seed=SAC["seeds"],
    )


def mechanism_run_dir():
    """The first seed's run of the network the mechanism figures draw."""
    cell = PLASTICITY["mechanism"]
    return f"{RESULTS}/plasticity/runs/{cell['network']}/{cell['size']}/seed{PLASTICITY['seeds'][0]}"


MECHANISM_PANELS = ("weights", "hidden", "plastic", "effective")


def all_summaries():
    return [f"{RESULTS}/{study}/summary.csv" for study in STUDIES]


def all_figures():
    figures = []
    if OPTIM:
        figures += expand(
            f"{FIGURES}/optim/curves_{{dataset}}_{{arch}}.png",
            dataset=OPTIM["datasets"],
            arch=OPTIM["archs"],
        ) + expand(
            f"{FIGURES}/optim/max_acc_{{dataset}}.png", dataset=OPTIM["datasets"]
        )
    if PLASTICITY:
        figures += [
            f"{FIGURES}/plasticity/{name}.png"
            for name in ("r_vs_sequences", "table1", "generalisation")
        ]
        if "mechanism" in PLASTICITY:
            figures += [
                f"{FIGURES}/plasticity/mechanism_{panel}.png"
                for panel in MECHANISM_PANELS
            ]
    if TEACHER:
        figures.append(f"{FIGURES}/teacher/accuracy.png")
    if SAC:
        figures += [f"{FIGURES}/sac/{name}.png" for name in ("reward", "eval_return")]
    return figures


def all_tables():
    return [
        f"{RESULTS}/tables/{study}.{ext}" for study in STUDIES for ext in ("md", "tex")
    ]


def deterministic_outputs():
    """Every file the determinism contract covers: runs, summaries, tables and claims."""
    runs = [
        f"{d}/{name}"
        for d in optim_run_dirs()
        + plasticity_run_dirs()
        + teacher_dirs()
        + teacher_run_dirs()
        + sac_run_dirs()
        for name in ("metrics.csv", "final.json")
    ]
    per_study = [
        f"{RESULTS}/{study}/{name}.csv"
        for study in STUDIES
        for name in ("runs", "summary", "curves", "comparisons")
    ]
    if PLASTICITY:
        per_study.append(f"{RESULTS}/plasticity/stages.csv")
    if TEACHER:
        per_study.append(f"{RESULTS}/teacher/teachers.csv")
    return runs + per_study + all_tables() + CLAIMS


def image_source_file(wildcards):
    """The prepared tensor file of a dataset variant's source (two variants can share one)."""
    return f"{RESULTS}/data/{VARIANTS[wildcards.dataset].source}.pt"
