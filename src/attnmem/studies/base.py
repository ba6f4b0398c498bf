"""What a study is, as the DAG and the generic summary jobs see it.

Imported while Snakemake parses the DAG, so it holds plain frozen dataclasses and nothing that
pulls in torch, pandas or scipy.  Each study module (``studies/<name>.py``) declares one
``STUDY = Study(...)``; the study's own code (how a run is built, its tables and figures) lives
in the same module behind functions that import their heavy dependencies when called.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from attnmem.columns import Table
from attnmem.inputs import FigureInputs, TableInputs


@dataclass(frozen=True)
class Metric:
    """One number per run that the study summarises over seeds."""

    name: str
    description: str
    #: Integer metrics (a curriculum's R) get a percentile bootstrap interval in summary.csv
    #: instead of BCa: resampled means stay on the lattice and need no jackknife of ties.
    integer: bool = False
    #: Whether comparisons.csv (and so the claims) compares cells on it.
    compared: bool = True


def resolve(spec: str) -> Callable[..., Any]:
    """The function a "package.module:function" string names."""
    module, name = spec.split(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Job:
    """One kind of training job: one folder per combination of ``axes`` and seed.

    ``train`` names the function that runs one job ("module:function"); every such function
    takes ``(run, out_dir, **options: Unpack[attnmem.jobs.JobOptions])``, and the study
    module's ``make_run(rule, settings, cell, seed)`` builds its ``run``.

    ``all_seeds``: one job per cell trains every configured seed of it (runs so small that a
    job per seed would spend more on starting than on training).  Its function then takes
    ``(runs, out_dirs, *, ...)``, one run and one folder per seed in the config's order, and
    writes the same files into each seed's folder as a per-seed job would; a seed's numbers
    must not depend on which other seeds share the job.
    """

    rule: str
    folder: str  # results/<study>/<folder>/<axis values...>/seed<k>
    axes: tuple[str, ...]
    train: str
    files: tuple[str, ...] = ()  # outputs besides metrics.csv, final.json, provenance.json
    all_seeds: bool = False

    def train_function(self) -> Callable[..., Any]:
        return resolve(self.train)


@dataclass(frozen=True)
class Figure:
    """One figure of a study: ``figures/<study>/<stem>.png`` (and .pdf)."""

    #: The function that draws it, "module:function", called with one
    #: :class:`attnmem.plots.common.FigureInputs`.
    draw: str
    #: File stem; names in braces are axes, and the figure is drawn once per value of each.
    stem: str
    #: The study's result tables it reads (``results/<study>/<name>.csv``).
    reads: tuple[str, ...]
    #: The report caption (reStructuredText); may name the stem's axes in braces.
    caption: str
    #: A config key of the study naming one cell ({axis: value}); the figure then reads
    #: ``run_files`` of that cell's first seed, and is drawn only when the key is set.
    cell_key: str | None = None
    run_files: tuple[str, ...] = ()

    @property
    def per(self) -> tuple[str, ...]:
        """The axes the stem names, in the order they appear."""
        import string

        return tuple(name for _, name, _, _ in string.Formatter().parse(self.stem) if name)


@dataclass(frozen=True)
class Study:
    """A study's description: enough for the DAG, the aggregate, the tables and the claims."""

    name: str
    source: str  # one line: which source and which of its results
    axes: tuple[str, ...]  # the cell, in the order run paths and published values nest
    metrics: tuple[Metric, ...]
    jobs: tuple[Job, ...]  # the last one trains the runs whose cells the study summarises
    figures: tuple[Figure, ...]
    #: results/<study>/<name>.csv besides runs, summary, curves and comparisons.
    extra_tables: tuple[str, ...] = ()
    #: The summary metric that says how much a run trained (the claims' budget guard).
    budget_metric: str | None = None
    #: runs.csv's first metric columns (every metric follows); ``config_columns`` come from the
    #: run's config in final.json.
    run_columns: tuple[str, ...] | None = None
    config_columns: tuple[str, ...] = ()
    #: curves.csv keeps only the metrics.csv rows whose column (first) is one of the values.
    curve_rows: tuple[str, tuple[str, ...]] | None = None
    #: Interval of paired differences in comparisons.csv: "t" or "percentile" (integer metrics).
    paired_interval: str = "t"
    #: axis -> "module:NAME" of the library registry that holds the axis's allowed names
    #: (tests keep the study schema's enum equal to it).
    choices: tuple[tuple[str, str], ...] = ()
    #: "module:function" of a torch-free predicate on a cell ({axis: value as text}) for a study
    #: whose grid is not a full product (the ram study: a baseline has no glimpses); the DAG
    #: trains only the combinations it accepts.  None: every combination exists.
    cell_filter: str | None = None
    #: The metrics the source published per cell (config/claims.yaml's ``published`` block).
    published: tuple[str, ...] = ()
    #: (run key, axis): settings given once per value of an axis (SAC's ``steps`` per env);
    #: the config check asks every configured value for its entry.
    per_value: tuple[tuple[str, str], ...] = ()
    #: (dotted run key, value): the run-block settings of a short run that measures what a
    #: cell's job costs (``attnmem.probe``) where no full run did; a scalar replaces every
    #: entry of a per-value setting.  Empty: the study is not probed.
    probe: tuple[tuple[str, Any], ...] = ()
    #: Groups of dotted run settings (or the budget metric) whose product a job's work grows
    #: with (atman: generations x genetic_children; ram: train_images x epochs);
    #: ``attnmem.claims`` projects CPU-hours by the largest scaling of a group or of a setting
    #: alone (an upper bound where the parts of a job add, as a teacher's
    #: DQN steps and its predictor's epochs do).
    cost_products: tuple[tuple[str, ...], ...] = ()
    #: Its replicated-vs-published table (results/tables/<name>.md / .tex): columns as data.
    table: Table | None = None
    #: Training jobs per SLURM submission at the default budgets: the SLURM profile's
    #: ``<name>_train=N`` group component (``python -m attnmem.slurm`` writes it there).
    slurm_bundle: int = 1

    def has_cell(self, cell: dict[str, str]) -> bool:
        """Whether the combination of axis values ``cell`` is one of the study's cells."""
        if self.cell_filter is None:
            return True
        module, name = self.cell_filter.split(":")
        return bool(getattr(importlib.import_module(module), name)(cell))

    @property
    def runs(self) -> Job:
        return self.jobs[-1]

    @property
    def metric_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.metrics)

    @property
    def compared(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.metrics if m.compared)

    @property
    def integer_metrics(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.metrics if m.integer)

    @property
    def columns(self) -> tuple[str, ...]:
        """runs.csv's metric columns: ``run_columns`` and then every metric (the claims read
        each run's value of any metric from it)."""
        first = () if self.run_columns is None else self.run_columns
        return (*first, *(m for m in self.metric_names if m not in first))

    def job(self, rule: str) -> Job:
        for job in self.jobs:
            if job.rule == rule:
                return job
        raise KeyError(
            f"study {self.name!r} has no job {rule!r}; jobs: {[j.rule for j in self.jobs]}"
        )

    def published_values(self, published: Mapping[str, Any]):
        """The source's numbers as rows: the study's axes (as text) and ``published``."""
        from attnmem.published import as_frame

        return as_frame(published, self.name, self.axes, self.published)

    def write_table(self, t: TableInputs) -> None:
        """Its table as Markdown and LaTeX: ``Study.table`` drawn by ``attnmem.columns``."""
        from attnmem.columns import write

        if self.table is None:
            raise ValueError(f"study {self.name} declares no table")
        write(self.table, t)

    def _results(self, files: Mapping[str, str | Path], published: Mapping[str, Any]):
        """The part of a figure's or table's inputs every one shares: its result tables and
        the source's numbers."""
        return {
            "files": {name: str(path) for name, path in files.items()},
            "published": published,
            "axes": self.axes,
            "published_values": lambda: self.published_values(published),
        }

    def table_inputs(
        self,
        files: Mapping[str, str | Path],
        published: Mapping[str, Any],
        markdown: str | Path,
        latex: str | Path,
    ) -> TableInputs:
        """What the study's table reads and where it writes."""
        return TableInputs(
            **self._results(files, published),
            study=self.name,
            markdown=str(markdown),
            latex=str(latex),
        )

    def figure_inputs(
        self,
        files: Mapping[str, str | Path],
        fields: Mapping[str, str],
        published: Mapping[str, Any],
        png: str | Path,
        stem: str,
    ) -> FigureInputs:
        """What one of the study's figures (its ``draw`` function) reads and where it goes."""
        return FigureInputs(
            **self._results(files, published), fields=fields, png=str(png), stem=stem
        )

    def make_run(self, rule: str, settings: Mapping[str, Any], cell: Mapping[str, str], seed: int):
        """The run (settings object) of one cell and seed of the job ``rule``: the study
        module's ``make_run``, once the rule is known to be one of the study's jobs."""
        self.job(rule)  # an unknown rule stops here, naming the study's jobs
        return self.module().make_run(rule, settings, cell, seed)

    def module(self) -> ModuleType:
        """The study's module (run builders, extra tables, tables, figures)."""
        return importlib.import_module(f"attnmem.studies.{self.name}")
