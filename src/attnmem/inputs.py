"""What a study's figures and tables are made from: its result tables, the source's numbers,
and where the output goes.  workflow/scripts/plot.py and table.py build these objects from the
study's description; a figure is a function of one ``FigureInputs``, a study's tables one of
one ``TableInputs``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class ResultInputs:
    files: Mapping[str, str]  # a result table's name (or a run file's name) -> its path
    published: Mapping[str, Any]  # {study: its published block} as config/claims.yaml holds it
    axes: tuple[str, ...]  # the study's axes
    #: the study's published values as rows (its ``published_values``)
    published_values: Callable[[], pd.DataFrame]

    def table(self, name: str) -> pd.DataFrame:
        """A result table (results/<study>/<name>.csv), its axis columns read as text: a size
        or a glimpse count names a cell, it is not a quantity."""
        import pandas as pd

        return pd.read_csv(self.files[name], dtype=dict.fromkeys(self.axes, str))


@dataclass(frozen=True)
class FigureInputs(ResultInputs):
    fields: Mapping[str, str]  # the stem's axis values ({dataset} -> "digits")
    png: str
    stem: str  # the file stem, axes filled in

    @property
    def run_folder(self) -> Path:
        """The folder of the one run a cell figure reads (``Figure.run_files``)."""
        return Path(next(iter(self.files.values()))).parent


@dataclass(frozen=True)
class TableInputs(ResultInputs):
    study: str
    markdown: str
    latex: str

    def save(self, table: pd.DataFrame, caption: str) -> None:
        """The study's table as Markdown and LaTeX (label ``tab:<study>``), atomically."""
        from attnmem.tables import save_table

        save_table(table, caption, f"tab:{self.study}", self.markdown, self.latex)
