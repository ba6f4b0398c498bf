"""One training run's outputs, as DESIGN.md's contract names them.

``results/<study>/runs/<cell>/seed<k>/`` holds ``metrics.csv`` (step, split, metric, value),
``final.json`` (status, final metrics, config hash) and ``provenance.json`` (versions, host,
wall time: the only file allowed to differ between reruns).  ``checkpoint.pt`` lives beside them
while the run is in progress and is removed when it ends.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attnmem import files

if TYPE_CHECKING:
    import pandas as pd

METRICS_HEADER = ("step", "split", "metric", "value")
PACKAGES = ("attnmem", "torch", "torchvision", "numpy", "scipy", "pandas", "gymnasium", "mujoco")


class Diverged(Exception):
    """A loss stopped being finite: the run ends with status "diverged", which is a result."""


def flat_config(run: Any) -> dict[str, Any]:
    """A run's settings as one flat dict: final.json's ``config`` and what its hash covers.

    A run holds its algorithm's settings as one dataclass (``SACRun.sac``, ``TeacherRun.dqn``,
    ``PlasticityRun.curriculum``); their fields are spliced into the top level, so a config key
    (and the hash) does not depend on which object a setting lives in, and the summaries read
    ``config["mode"]`` whatever the study.  Values come out as :func:`dataclasses.asdict` gives
    them (copies; tuples stay tuples).
    """
    config: dict[str, Any] = {}
    values = asdict(run)
    for f in fields(run):
        nested = getattr(run, f.name)
        part = flat_config(nested) if is_dataclass(nested) else {f.name: values[f.name]}
        for key in part:
            if key in config:
                # two settings of one name would silently share one config entry
                raise ValueError(f"{type(run).__name__}: setting {key!r} appears twice")
        config.update(part)
    return config


@dataclass(frozen=True)
class RunResult:
    """One run as the aggregate sees it."""

    cell: tuple[str, ...]  # values of the study's axes, in order
    seed: int
    status: str
    metrics: dict[str, Any]
    curve: pd.DataFrame  # metrics.csv
    config: dict[str, Any] = field(default_factory=dict)  # final.json's run config


def read_final(run_dir: str | Path) -> dict[str, Any]:
    """A finished run's final.json (what :meth:`RunRecorder.finish` wrote): status, metrics,
    config and config_hash."""
    return json.loads((Path(run_dir) / "final.json").read_text())


def load_runs(run_dirs: Iterable[str | Path], axes: Sequence[str]) -> list[RunResult]:
    """Read final.json and metrics.csv of each run directory (what RunRecorder wrote)."""
    import pandas as pd

    runs = []
    for directory in map(Path, run_dirs):
        final = read_final(directory)
        config = final["config"]
        runs.append(
            RunResult(
                cell=tuple(str(config[a]) for a in axes),
                seed=int(config["seed"]),
                status=final["status"],
                metrics=final["metrics"],
                curve=pd.read_csv(directory / "metrics.csv"),
                config=config,
            )
        )
    return sorted(runs, key=lambda r: (r.cell, r.seed))


def split_settings(
    settings: Mapping[str, Any], *classes: type, rest: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """A study's ``run:`` block split into keyword arguments for its settings dataclasses, by
    their fields: :func:`flat_config`'s inverse (a flat key belongs to exactly one object).

    Keys in ``rest`` are left to the caller (a per-env or per-optimizer mapping that the study
    resolves for its cell).  A key that no class has is an error, not dropped: the schema
    admits it, so some run would silently ignore it."""
    held = set(rest)
    parts = []
    for cls in classes:
        names = {f.name for f in fields(cls)}
        parts.append({k: v for k, v in settings.items() if k in names and k not in held})
        held |= names
    unknown = sorted(set(settings) - held)
    if unknown:
        owners = ", ".join(cls.__name__ for cls in classes)
        raise ValueError(f"run settings {unknown} are fields of none of {owners}")
    return parts


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that can change a result."""
    return dict(_package_versions())


# Once per process: a job that trains many seeds (atman: 20 per job) writes a provenance.json
# per seed, and reading the packages' metadata and asking git twice cost ~30 ms each time.
@functools.cache
def _package_versions() -> tuple[tuple[str, str], ...]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return tuple(versions.items())


def git_commit(start: Path) -> str:
    """The commit of the checkout holding ``start``, with "+dirty" when it has local changes
    (asked once per process and folder)."""
    return _git_commit(str(start if start.is_dir() else start.parent))


@functools.cache
def _git_commit(where: str) -> str:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=where,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


@dataclass
class RunRecorder:
    """Collects a run's metric rows and writes its three output files."""

    out_dir: Path
    config: dict[str, Any]
    threads: int
    rows: list[tuple[int, str, str, float]] = field(default_factory=list)
    started: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        self.out_dir = Path(self.out_dir)

    @property
    def checkpoint_path(self) -> Path:
        return self.out_dir / "checkpoint.pt"

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        """Write ``checkpoint.pt`` (atomically): ``state``, the rows so far and the config hash."""
        files.write_torch(
            self.checkpoint_path,
            {"config_hash": files.config_hash(self.config), "rows": self.rows} | state,
        )

    def load_checkpoint(self, log: logging.Logger) -> dict[str, Any] | None:
        """This run's checkpoint with its rows restored, or None: there is none, or it was
        written under other settings (then the run starts afresh, and says so)."""
        import torch  # here, so that summary jobs importing this module never import torch

        if not self.checkpoint_path.exists():
            return None
        saved = torch.load(self.checkpoint_path, weights_only=False)
        if saved.get("config_hash") != files.config_hash(self.config):
            log.warning("checkpoint.pt belongs to other settings; starting afresh")
            return None
        self.rows = saved["rows"]
        return saved

    def resume(self, state: Any, log: logging.Logger) -> bool:
        """Start or resume: load this run's checkpoint (if it is one of these settings) into
        ``state``, the object that saved it (its ``load_state_dict``); True when it resumed."""
        saved = self.load_checkpoint(log)
        if saved is not None:
            state.load_state_dict(saved)
        return saved is not None

    def add(self, step: int, split: str, metric: str, value: float) -> None:
        self.rows.append((int(step), split, metric, float(value)))

    def finish(self, status: str, final_metrics: dict[str, Any], device: str) -> dict[str, Any]:
        """Write metrics.csv, final.json and provenance.json; drop the checkpoint."""
        files.write_csv(self.out_dir / "metrics.csv", METRICS_HEADER, self.rows)
        final = {
            "status": status,
            "metrics": final_metrics,
            "config": self.config,
            "config_hash": files.config_hash(self.config),
        }
        files.write_json(self.out_dir / "final.json", final)
        files.write_json(
            self.out_dir / "provenance.json",
            {
                "versions": package_versions(),
                "git_commit": git_commit(Path(__file__)),
                "config_hash": final["config_hash"],
                "host": socket.gethostname(),
                "platform": platform.platform(),
                "argv": sys.argv,
                "threads": self.threads,
                "device": device,
                "started_unix": round(self.started, 3),
                "wall_seconds": round(time.time() - self.started, 3),
            },
        )
        self.checkpoint_path.unlink(missing_ok=True)
        return json.loads(files.dumps(final))  # exactly what final.json holds (NaN -> None)


class CellCheckpoint:
    """The checkpoint of a job that trains several runs as one state (every seed of a cell,
    their lanes interleaved, as the atman trainers do): one file beside the runs' folders,
    valid only for exactly these runs under these settings (their recorders' config hashes, in
    order).  A job whose runs separate (the plasticity population) checkpoints each run with
    its own :class:`RunRecorder` instead."""

    def __init__(self, path: str | Path, recorders: Sequence[RunRecorder]) -> None:
        self.path = Path(path)
        self.hashes = [files.config_hash(r.config) for r in recorders]

    def load(self, log: logging.Logger) -> dict[str, Any] | None:
        """The saved state, or None: there is none, or it belongs to other runs or settings
        (then the job starts afresh, and says so)."""
        import pickle

        if not self.path.exists():
            return None
        saved = pickle.loads(self.path.read_bytes())
        if saved.get("hashes") != self.hashes:
            log.warning("%s belongs to other settings or seeds; starting afresh", self.path.name)
            return None
        return saved["state"]

    def save(self, state: Mapping[str, Any]) -> None:
        import pickle

        files.write_bytes(self.path, pickle.dumps({"hashes": self.hashes, "state": dict(state)}))

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


class Progress:
    """Logs one line per epoch or step with the metric and an ETA."""

    def __init__(self, log: logging.Logger, total: int, start: int = 0, unit: str = "epoch"):
        # ``start`` > 0 on a resume: the rate counts only the work done in this process.
        self.log, self.total, self.start, self.unit = log, total, start, unit
        self.t0 = time.perf_counter()

    def update(self, done: int, message: str) -> None:
        rate = (time.perf_counter() - self.t0) / max(done - self.start, 1)
        # fast units read better as a throughput: "12.5 steps/s" rather than "0.1 s/step"
        speed = f"{1 / rate:.1f} {self.unit}s/s" if 0 < rate < 1 else f"{rate:.1f} s/{self.unit}"
        self.log.info(
            "%s %d/%d  %s  (%s, ETA %s)",
            self.unit,
            done,
            self.total,
            message,
            speed,
            format_seconds(rate * (self.total - done)),
        )


def format_seconds(seconds: float) -> str:
    """12 s, 3 min 04 s, 1 h 02 min."""
    if not math.isfinite(seconds):
        return "?"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def file_logger(path: str | Path | None, name: str = "attnmem") -> logging.Logger:
    """A logger writing to the job's ``log:`` file (and stderr when there is none)."""
    logger = logging.getLogger(f"{name}.{path}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    if not logger.handlers:
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path) if path else logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
    return logger


@contextmanager
def logged_job(path: str | Path | None) -> Iterator[logging.Logger]:
    """A job's logger; an exception is written to the log with its traceback, then re-raised,
    so a failed job's log says why it failed."""
    log = file_logger(path)
    try:
        yield log
    except BaseException:
        log.exception("job failed")
        raise
