"""Replicated-vs-published tables, in Markdown and LaTeX."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd


def _num(value: Any) -> str:
    return (
        "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2f}"
    )


def estimate(
    row: pd.Series | None,
    fmt: str = ".2f",
    centre: str = "mean",
    interval: tuple[str, str] = ("t_low", "t_high"),
) -> str:
    """A summary row as every table shows it: ``centre [low, high] (n=N)``; the interval is left
    out where one seed leaves it undefined, and "–" stands for a cell with no finished run."""
    if row is None or row["n"] == 0:
        return "–"
    low, high = (row[name] for name in interval)
    text = f"{row[centre]:{fmt}}"
    if not (math.isnan(low) or math.isnan(high)):
        text += f" [{low:{fmt}}, {high:{fmt}}]"
    return f"{text} (n={int(row['n'])})"


def to_markdown(table: pd.DataFrame, caption: str) -> str:
    header = "| " + " | ".join(table.columns) + " |"
    rule = "|" + "---|" * len(table.columns)
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([f"**{caption}**", "", header, rule, *body]) + "\n"


def _latex_escape(text: str) -> str:
    for old, new in (
        ("\\", r"\textbackslash{}"),
        ("_", r"\_"),
        ("%", r"\%"),
        ("&", r"\&"),
        ("#", r"\#"),
        ("–", "--"),
    ):
        text = text.replace(old, new)
    return text


def to_latex(table: pd.DataFrame, caption: str, label: str) -> str:
    lines = [
        r"\begin{table}[ht]",
        r"\centering",
        r"\small",
        rf"\caption{{{_latex_escape(caption)}}}",
        rf"\label{{{label}}}",
        r"\begin{tabular}{" + "l" * len(table.columns) + "}",
        r"\hline",
        " & ".join(_latex_escape(str(c)) for c in table.columns) + r" \\",
        r"\hline",
    ]
    for row in table.itertuples(index=False):
        lines.append(" & ".join(_latex_escape(str(v)) for v in row) + r" \\")
    lines += [r"\hline", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def save_table(
    table: pd.DataFrame, caption: str, label: str, markdown: str | Path, latex: str | Path
) -> None:
    """One table as Markdown and LaTeX (results/tables/<study>.md / .tex), atomically."""
    from attnmem import files

    files.write_text(markdown, to_markdown(table, caption))
    files.write_text(latex, to_latex(table, caption, label))
