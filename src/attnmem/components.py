"""How every library registry of components is shaped and read.

A registry (``OPTIMIZERS``, ``NETWORKS``, ``PREDICTORS``, ``ARCHITECTURES``, ``VARIANTS``) is a
dict from the name a config uses to what builds or describes that component; ``pick`` reads one
with the same error everywhere, naming what is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")


def pick(registry: Mapping[str, T], name: str, what: str) -> T:
    """``registry[name]``, or a ValueError naming the unknown ``what`` and the allowed names."""
    try:
        return registry[name]
    except KeyError:
        raise ValueError(f"unknown {what} {name!r}; allowed: {list(registry)}") from None
