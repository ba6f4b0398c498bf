"""Atomic, byte-stable output files.

Everything a run or an aggregate writes goes through here: written to a temporary file in the
same directory and renamed into place, so a killed job never leaves a half-written output.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any


def _atomic(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    _atomic(Path(path), lambda h: h.write(text.encode()))


def sync_derived(path: str | Path, wanted: str, check: bool, command: str) -> int:
    """Bring a file derived from the registry up to date (0), or with ``check`` only say that it
    is stale and which ``command`` derives it (1)."""
    path = Path(path)
    if path.read_text() == wanted:
        return 0
    if check:
        print(f"{path}: out of date with what derives it; run `{command}`", file=sys.stderr)
        return 1
    write_text(path, wanted)
    print(f"wrote {path}")
    return 0


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    _atomic(Path(path), lambda h: h.write(data))


def write_torch(path: str | Path, obj: Any) -> None:
    """``torch.save`` atomically."""
    import torch  # here, so that jobs writing only CSV and JSON never import torch

    _atomic(Path(path), lambda h: torch.save(obj, h))


def _clean(value: Any) -> Any:
    """JSON has no NaN: non-finite floats become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def dumps(obj: Any) -> str:
    """Canonical JSON: sorted keys, two-space indent, trailing newline."""
    return json.dumps(_clean(obj), indent=2, sort_keys=True, allow_nan=False) + "\n"


def write_json(path: str | Path, obj: Any) -> None:
    """Canonical JSON, atomically."""
    write_text(path, dumps(obj))


def config_hash(obj: Any) -> str:
    """SHA-256 (first 16 hex digits) of the canonical JSON of ``obj``."""
    return hashlib.sha256(dumps(obj).encode()).hexdigest()[:16]


def format_value(value: Any) -> str:
    """Shortest round-trip text of a number, so equal numbers give equal bytes."""
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    return str(value)


def write_csv(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A plain CSV (no quoting needed for our values), atomically."""
    lines = [",".join(header)]
    lines += [",".join(format_value(v) for v in row) for row in rows]
    write_text(path, "\n".join(lines) + "\n")


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(path: str | Path, outputs: Iterable[str | Path]) -> None:
    """``sha256sum``-format list of ``outputs`` (sorted), so two runs compare with one diff."""
    lines = [f"{sha256_of(p)}  {Path(p).as_posix()}" for p in sorted(map(str, outputs))]
    write_text(path, "\n".join(lines) + "\n")
