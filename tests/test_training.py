"""One optim run: output contract, determinism, resume after a crash, divergence."""

from __future__ import annotations

import dataclasses
import json

import pytest

from attnmem.run import file_logger
from attnmem.seeding import derive_seed
from attnmem.train.image_classification import OptimRun, train

RUN = OptimRun("digits", "shufflenet_v2_x0_5", "orthadam", seed=3, epochs=3, train_limit=256)


class Crash(Exception):
    pass


def outputs(directory):
    return {name: (directory / name).read_bytes() for name in ("metrics.csv", "final.json")}


def test_run_writes_the_output_contract(digits_file, tmp_path):
    log_path = tmp_path / "run.log"
    final = train(RUN, digits_file, tmp_path / "run", log=file_logger(log_path))
    assert final["status"] == "ok" and final["metrics"]["epochs_completed"] == 3
    lines = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    assert lines[0] == "step,split,metric,value"
    assert {line.split(",")[2] for line in lines[1:]} == {"loss", "lr", "accuracy"}
    provenance = json.loads((tmp_path / "run" / "provenance.json").read_text())
    assert {"versions", "git_commit", "host", "threads", "wall_seconds"} <= set(provenance)
    assert not (tmp_path / "run" / "checkpoint.pt").exists()
    log = log_path.read_text()
    assert "epoch 3/3" in log and "ETA" in log and "test acc" in log


def test_same_run_twice_gives_identical_bytes(digits_file, tmp_path):
    train(RUN, digits_file, tmp_path / "a")
    train(RUN, digits_file, tmp_path / "b")
    assert outputs(tmp_path / "a") == outputs(tmp_path / "b")


def test_crashed_run_resumes_to_the_same_bytes(digits_file, tmp_path):
    train(RUN, digits_file, tmp_path / "straight")

    def crash_after_second_epoch(epoch):
        if epoch == 2:
            raise Crash

    with pytest.raises(Crash):
        train(RUN, digits_file, tmp_path / "resumed", on_epoch_end=crash_after_second_epoch)
    assert (tmp_path / "resumed" / "checkpoint.pt").exists()
    assert not (tmp_path / "resumed" / "final.json").exists()
    log_path = tmp_path / "resume.log"
    train(RUN, digits_file, tmp_path / "resumed", log=file_logger(log_path))
    assert "resuming" in log_path.read_text()
    assert outputs(tmp_path / "straight") == outputs(tmp_path / "resumed")


def test_checkpoint_of_other_settings_is_not_resumed(digits_file, tmp_path):
    """A changed config reusing the run directory starts afresh instead of mixing two runs."""

    def crash_after_first_epoch(epoch):
        if epoch == 1:
            raise Crash

    with pytest.raises(Crash):
        train(RUN, digits_file, tmp_path / "run", on_epoch_end=crash_after_first_epoch)
    changed = dataclasses.replace(RUN, epochs=2)
    log_path = tmp_path / "run.log"
    train(changed, digits_file, tmp_path / "run", log=file_logger(log_path))
    assert "belongs to other settings" in log_path.read_text()
    train(changed, digits_file, tmp_path / "straight")
    assert outputs(tmp_path / "straight") == outputs(tmp_path / "run")


def test_nan_loss_ends_the_run_as_diverged(digits_file, tmp_path):
    run = OptimRun(
        "digits", "shufflenet_v2_x0_5", "adamw", seed=0, epochs=3, lr=1e12, train_limit=256
    )
    final = train(run, digits_file, tmp_path / "run")
    assert final["status"] == "diverged"
    assert final["metrics"]["final_acc"] is None


def test_optimizers_share_the_random_stream_of_a_seed():
    adamw = OptimRun("digits", "resnet18", "adamw", seed=1, epochs=1)
    orth = OptimRun("digits", "resnet18", "orthadam", seed=1, epochs=1)
    assert adamw.pairing_cell == orth.pairing_cell
    assert derive_seed("optim", adamw.pairing_cell, 1) != derive_seed(
        "optim", adamw.pairing_cell, 2
    )


def test_milestones_scale_the_thesis_schedule():
    assert OptimRun("digits", "resnet18", "adamw", 0, epochs=186).milestones == [81, 122]
    assert OptimRun("digits", "resnet18", "adamw", 0, epochs=40).milestones == [17, 26]
