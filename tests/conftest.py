"""Shared helpers: where the repository is and how to run its workflow in a scratch directory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def snakemake(workdir: Path, *args: str, configfile: Path | None = None, check: bool = True):
    """Run the repository's Snakefile with ``workdir`` as its working directory."""
    cmd = [SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(workdir)]
    if configfile is not None:  # the "=" form: --configfile takes several values otherwise
        cmd.append(f"--configfile={configfile}")
    result = subprocess.run([*cmd, *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd + list(args))} failed:\n{result.stderr[-4000:]}")
    return result


@pytest.fixture(scope="session")
def digits_file(tmp_path_factory) -> Path:
    """The prepared digits tensors, made once per test session."""
    from attnmem.data.images import load_source
    from attnmem.files import write_torch

    path = tmp_path_factory.mktemp("data") / "digits.pt"
    write_torch(path, load_source("digits", "unused"))
    return path


class Killed(Exception):
    """Raised from a training function's ``on_step`` hook: the job dies there."""


def kill_at(step: int):
    """An ``on_step`` hook that kills the job at the first checkpoint at or past ``step``."""

    def hook(done: int) -> None:
        if done >= step:
            raise Killed

    return hook
