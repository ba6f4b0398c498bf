"""The study registry: every registered study has what the generic rules, scripts and tests
expect of it, and importing it while the DAG parses stays cheap."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys

import pytest
import yaml

from attnmem.jobs import JobOptions
from attnmem.studies import REGISTRY
from conftest import REPO


def test_registry_imports_no_heavy_library():
    """Snakemake imports the registry to parse the DAG: torch, pandas or scipy there would cost
    seconds on every `snakemake` call."""
    code = (
        "import sys, attnmem.studies, attnmem.config_check, attnmem.claims_check\n"
        "print(sorted(m for m in ('torch', 'pandas', 'scipy', 'matplotlib') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_study_has_everything_the_generic_rules_use(name):
    study = REGISTRY[name]
    assert study.name == name and study.runs.folder == "runs"
    module = study.module()
    assert callable(module.make_run)
    assert study.table is not None and study.table.columns
    if study.extra_tables:
        assert callable(module.extra_table)
    assert study.budget_metric in (None, *study.metric_names)
    assert set(study.compared) <= set(study.metric_names)
    assert set(axis for axis, _ in study.choices) <= set(study.axes)
    for figure in study.figures:
        assert set(figure.per) <= set(study.axes), figure.stem
        assert set(figure.reads) <= {
            "runs",
            "summary",
            "curves",
            "comparisons",
            *study.extra_tables,
        }
    assert (REPO / "workflow" / "schemas" / "studies" / f"{name}.schema.yaml").exists()


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_each_figure_is_drawn_by_one_function_of_its_plots_module(name):
    """A figure is data: the function that draws it, from one FigureInputs; the study module
    has no plotting code (and so no import circle with its plots module)."""
    from attnmem.studies.base import resolve

    study = REGISTRY[name]
    for figure in study.figures:
        module, _ = figure.draw.split(":")
        assert module == f"attnmem.plots.{name}", figure.draw
        assert list(inspect.signature(resolve(figure.draw)).parameters)[:1] == ["f"]
    source = (REPO / "src" / "attnmem" / "studies" / f"{name}.py").read_text()
    assert "attnmem.plots" not in source.replace('"attnmem.plots.', "")


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_each_job_has_its_rule_and_a_uniform_train_function(name):
    study = REGISTRY[name]
    rules = (REPO / "workflow" / "rules" / f"{name}.smk").read_text()
    for job in study.jobs:
        assert re.search(rf"^rule {job.rule}:", rules, re.M), job.rule
        # the rule writes the job's folders: results/<study>/<folder>/...
        assert f"{{RESULTS}}/{name}/{job.folder}/" in rules
        parameters = inspect.signature(job.train_function()).parameters
        # a job training every seed of a cell takes one run and one folder per seed
        assert list(parameters)[:2] == (
            ["runs", "out_dirs"] if job.all_seeds else ["run", "out_dir"]
        )
        # the job's options come as one typed **options (run.JobOptions, read by JobSetup)
        options = [p for p in parameters.values() if p.kind is inspect.Parameter.VAR_KEYWORD]
        assert [p.name for p in options] == ["options"], job.rule
        assert not set(parameters) & set(JobOptions.__annotations__), job.rule


def test_the_slurm_profile_bundles_every_studys_training_group():
    """Each study's training rules share the group ``<study>_train``; the SLURM profile's
    group components are the registry's ``slurm_bundle``s, written by ``attnmem.slurm`` (a
    study left out would submit one job per run), and a new study's line comes from the
    registry, not from an edit of the profile."""
    import dataclasses

    from attnmem import slurm

    path = REPO / "workflow" / "profiles" / "slurm" / "profile.yaml"
    assert slurm.main([str(path), "--check"]) == 0, "run `python -m attnmem.slurm`"
    bundled = dict(
        entry.split("=") for entry in yaml.safe_load(path.read_text())["group-components"]
    )
    for name, study in REGISTRY.items():
        rules = (REPO / "workflow" / "rules" / f"{name}.smk").read_text()
        groups = set(re.findall(r'group:\s*\n\s*"([^"]+)"', rules))
        assert groups == {f"{name}_train"}, (name, groups)
        assert int(bundled[f"{name}_train"]) == study.slurm_bundle >= 1, name
    assert set(bundled) == {f"{name}_train" for name in REGISTRY} | {"summaries"}
    grown = {**REGISTRY, "new": dataclasses.replace(REGISTRY["sac"], name="new", slurm_bundle=3)}
    text = slurm.render(path.read_text(), grown)
    assert "  - new_train=3\n" in text and text.count("\ngroup-components:\n") == 1
    with pytest.raises(ValueError, match="needs one"):
        slurm.render(text.replace(slurm.END, ""), REGISTRY)
