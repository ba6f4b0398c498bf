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
