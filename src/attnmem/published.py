"""Published numbers, as config/claims.yaml records them (never typed into code)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def lookup(published: Mapping[str, Any], study: str, cell: Sequence[str], metric: str):
    """The published value of ``metric`` for ``cell`` (axis values in the study's order), or None.

    ``published[study]["values"]`` nests one level per axis, in axis order, down to a mapping
    of metric -> value.
    """
    node: Any = published.get(study, {}).get("values", {})
    for value in cell:
        # YAML reads a key such as 50 as an int; cells arrive as strings
        keys = {str(k): k for k in node} if isinstance(node, Mapping) else {}
        if str(value) not in keys:
            return None
        node = node[keys[str(value)]]
    if isinstance(node, Mapping):
        value = node.get(metric)
        return None if value is None else float(value)
    return None


def as_frame(published: Mapping[str, Any], study: str, axes: Sequence[str], metrics: Sequence[str]):
    """A study's published values as rows: its axes (as text, as cells arrive) and ``metrics``.

    Absent cells are simply absent; a metric the source did not publish for a cell is NaN.
    """
    import pandas as pd  # here: the DAG imports this module while it parses

    rows: list[dict[str, Any]] = []

    def walk(node: Any, cell: list[str]) -> None:
        if len(cell) == len(axes):
            if isinstance(node, Mapping):
                rows.append(
                    {**dict(zip(axes, cell, strict=True)), **{m: node.get(m) for m in metrics}}
                )
            return
        for key, child in (node or {}).items():
            walk(child, [*cell, str(key)])

    walk(published.get(study, {}).get("values", {}), [])
    return pd.DataFrame(rows, columns=[*axes, *metrics]).astype({m: float for m in metrics})
