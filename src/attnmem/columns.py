"""A study's replicated-vs-published table as data: its columns, row order and caption.

``Study.table`` holds one ``Table``; ``write(table, t)`` draws it from the study's result tables
(one row per cell of summary.csv: the cell's axis values, then each column) and saves it as
Markdown and LaTeX.  Every column kind formats as every table does (``tables.estimate`` for an
estimate, "–" where there is nothing to show), so a study declares what it shows and never
writes the loop.  Nothing here imports pandas at module level: the registry imports it while
Snakemake parses the DAG.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from attnmem.inputs import TableInputs

Cell = tuple[str, ...]


@dataclass(frozen=True)
class Estimate:
    """A metric's summary as ``centre [low, high] (n=N)``, in the cells ``only`` names (all
    cells when empty; blank elsewhere, and no column where the table holds none of them)."""

    metric: str
    label: str
    fmt: str = ".2f"
    centre: str = "mean"
    interval: tuple[str, str] = ("t_low", "t_high")
    only: tuple[tuple[str, str], ...] = ()

    def value(self, view: _View, cell: Cell) -> Any:
        from attnmem.tables import estimate

        if not view.in_cells(self.only, cell):
            return ""
        return estimate(view.summary_row(cell, self.metric), self.fmt, self.centre, self.interval)


@dataclass(frozen=True)
class Field:
    """One number of a metric's summary row (``mean`` of a 0/1 metric is a fraction of seeds;
    ``sd``), "–" where no seed finished or the number is undefined."""

    metric: str
    label: str
    field: str = "mean"
    fmt: str = ".2f"

    def value(self, view: _View, cell: Cell) -> Any:
        row = view.summary_row(cell, self.metric)
        if row is None or not row["n"] or _missing(row[self.field]):
            return "–"
        return f"{row[self.field]:{self.fmt}}"


@dataclass(frozen=True)
class Published:
    """The source's value of ``metric`` for the cell; ``flag``, a published boolean column,
    appends ``flag_text`` where it is set."""

    metric: str
    label: str
    fmt: str = ".2f"
    flag: str | None = None
    flag_text: str = " (unconfirmed)"

    def value(self, view: _View, cell: Cell) -> Any:
        value = view.published(cell, self.metric)
        text = "–" if _missing(value) else f"{value:{self.fmt}}"
        if self.flag is not None and view.published(cell, self.flag) is True:
            text += self.flag_text
        return text


@dataclass(frozen=True)
class Lookup:
    """A column of another result table (``extra_tables``), matched on the axes ``by``: the
    mean over its matching rows, or with ``fmt`` None the first row's value as it is."""

    table: str
    column: str
    label: str
    by: tuple[str, ...]
    fmt: str | None = ".2f"
    missing: str = "–"

    def value(self, view: _View, cell: Cell) -> Any:
        rows = view.rows(self.table, dict(zip(view.axes, cell, strict=True)), self.by)
        values = rows[self.column] if len(rows) else None
        if values is None:
            return self.missing
        if self.fmt is None:
            return values.iloc[0]
        mean = values.mean()
        return self.missing if _missing(mean) else f"{mean:{self.fmt}}"


@dataclass(frozen=True)
class Diverged:
    """The most runs of the cell that diverged, over its metrics."""

    label: str = "diverged"

    def value(self, view: _View, cell: Cell) -> Any:
        rows = view.summary_cell(cell)
        return str(int(rows["n_diverged"].max()) if len(rows) else 0)


Column = Estimate | Field | Published | Lookup | Diverged


@dataclass(frozen=True)
class Table:
    """What a study's table shows.

    ``order``: (axis, how) pairs, most significant first, to sort the cells by: a tuple of the
    axis's values in table order (others after them), ``"number"`` or ``"text"``; empty keeps
    summary.csv's order.  ``axis_labels`` renames an axis's column.  ``extra_rows`` names a
    ``module:function`` of the ``TableInputs`` returning rows to append (a reference model
    that is no cell of the grid).
    """

    caption: str
    columns: tuple[Column, ...]
    order: tuple[tuple[str, tuple[str, ...] | str], ...] = ()
    axis_labels: tuple[tuple[str, str], ...] = ()
    extra_rows: str | None = None
    #: a value for every cell the table leaves blank (a column shown only in some cells)
    fill: str | None = None


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


class _View:
    """The result tables of one study, read once and looked up by cell."""

    def __init__(self, t: TableInputs) -> None:
        self.t = t
        self.axes = tuple(t.axes)
        self.summary = t.table("summary")
        self._by_cell = self.summary.set_index([*self.axes, "metric"]).sort_index()
        published = t.published_values()
        self._published = published.set_index(list(self.axes)) if not published.empty else published
        self._tables: dict[str, pd.DataFrame] = {}

    def cells(self) -> list[Cell]:
        keys = self.summary[list(self.axes)].astype(str).itertuples(index=False, name=None)
        return list(dict.fromkeys(keys))

    def summary_cell(self, cell: Cell) -> pd.DataFrame:
        return self.summary[(self.summary[list(self.axes)].astype(str) == cell).all(axis=1)]

    def summary_row(self, cell: Cell, metric: str) -> pd.Series | None:
        key = (*cell, metric)
        return self._by_cell.loc[key] if key in self._by_cell.index else None

    def published(self, cell: Cell, column: str) -> Any:
        table = self._published
        if table.empty or column not in table.columns or cell not in table.index:
            return None
        value = table.loc[cell, column]
        return value.item() if hasattr(value, "item") else value

    def rows(self, name: str, cell: Mapping[str, str], by: tuple[str, ...]) -> pd.DataFrame:
        if name not in self._tables:
            self._tables[name] = self.t.table(name)
        table = self._tables[name]
        keep = (table[list(by)].astype(str) == [cell[a] for a in by]).all(axis=1)
        return table[keep]

    def in_cells(self, only: tuple[tuple[str, str], ...], cell: Cell) -> bool:
        return all(cell[self.axes.index(axis)] == value for axis, value in only)


def _sort_key(order: tuple[tuple[str, tuple[str, ...] | str], ...], axes: tuple[str, ...]):
    def key(cell: Cell) -> tuple[Any, ...]:
        parts: list[Any] = []
        for axis, how in order:
            value = cell[axes.index(axis)]
            if how == "number":
                parts.append(float(value))
            elif how == "text":
                parts.append(value)
            else:
                parts.append(how.index(value) if value in how else len(how))
        return tuple(parts)

    return key


def frame(table: Table, t: TableInputs) -> pd.DataFrame:
    """The table's rows: one per cell of summary.csv, then its ``extra_rows``."""
    import pandas as pd

    view = _View(t)
    labels = dict(table.axis_labels)
    cells = view.cells()
    if table.order:
        cells = sorted(cells, key=_sort_key(table.order, view.axes))
    # a column shown only in some cells is left out where the table holds none of them
    columns = [
        c
        for c in table.columns
        if not getattr(c, "only", ()) or any(view.in_cells(c.only, cell) for cell in cells)
    ]
    rows = []
    for cell in cells:
        row: dict[str, Any] = {labels.get(a, a): v for a, v in zip(view.axes, cell, strict=True)}
        for column in columns:
            row[column.label] = column.value(view, cell)
        rows.append(row)
    if table.extra_rows is not None:
        module, name = table.extra_rows.split(":")
        rows += getattr(importlib.import_module(module), name)(t)
    out = pd.DataFrame(rows)
    return out.fillna(table.fill) if table.fill is not None else out


def write(table: Table, t: TableInputs) -> None:
    """The study's table as Markdown and LaTeX (results/tables/<study>.md / .tex)."""
    t.save(frame(table, t), table.caption)
