"""What every training job is given beside its run: one set of options for all studies.

workflow/scripts/train.py calls each study's train function as ``train(run, out_dir,
**options)``; the function reads the options through :class:`JobSetup`, so the seven engines
do not each spell out (and default) the same six keywords.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from attnmem.run import file_logger


class JobOptions(TypedDict, total=False):
    """What the DAG's train script (workflow/scripts/train.py) passes every study's train
    function beside its run(s) and output folder(s): one set of keywords for all of them."""

    inputs: Mapping[str, str | Path] | None
    threads: int
    device: str
    log: logging.Logger | None
    checkpoint_every: int | None
    on_step: Callable[..., None] | None


@dataclass(frozen=True)
class JobSetup:
    """A training job's :class:`JobOptions`, with their defaults.  ``inputs``: the rule's input
    files by name; ``threads``: torch's (they fix the bytes); ``checkpoint_every``: in the
    module's own unit (epochs, steps, ticks), None for its default; ``on_step``: the tests'
    hook, called after each step and its checkpoint (tests/conftest.py ``kill_at`` raises from
    it to simulate a kill)."""

    inputs: Mapping[str, str | Path] | None = None
    threads: int = 1
    device: str = "cpu"
    log: logging.Logger | None = None
    checkpoint_every: int | None = None
    on_step: Callable[..., None] | None = None

    @property
    def logger(self) -> logging.Logger:
        """The job's log, or one to stderr when a caller (a test, a notebook) gave none."""
        return self.log or file_logger(None)

    def every(self, default: int) -> int:
        """Steps between checkpoints: the job's, or the module's ``default``."""
        return default if self.checkpoint_every is None else self.checkpoint_every

    def step_done(self, *progress: Any) -> None:
        """Call the tests' hook, if any."""
        if self.on_step is not None:
            self.on_step(*progress)
