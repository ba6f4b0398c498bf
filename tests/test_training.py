"""One optim run: output contract, determinism, resume after a crash, divergence."""

from __future__ import annotations

import dataclasses
import json

import pytest

from attnmem.jobs import JobOptions, JobSetup
from attnmem.run import file_logger
from attnmem.seeding import derive_seed
from attnmem.studies import REGISTRY
from attnmem.train.image_classification import OptimRun, train

RUN = OptimRun("digits", "shufflenet_v2_x0_5", "orthadam", seed=3, epochs=3, train_limit=256)


class Crash(Exception):
    pass


def outputs(directory):
    return {name: (directory / name).read_bytes() for name in ("metrics.csv", "final.json")}


def test_run_writes_the_output_contract(digits_file, tmp_path):
    log_path = tmp_path / "run.log"
    final = train(RUN, tmp_path / "run", inputs={"data": digits_file}, log=file_logger(log_path))
    assert final["status"] == "ok" and final["metrics"]["epochs_completed"] == 3
    lines = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    assert lines[0] == "step,split,metric,value"
    assert {line.split(",")[2] for line in lines[1:]} == {"loss", "lr", "accuracy"}
    provenance = json.loads((tmp_path / "run" / "provenance.json").read_text())
    assert {"versions", "git_commit", "host", "threads", "wall_seconds"} <= set(provenance)
    assert not (tmp_path / "run" / "checkpoint.pt").exists()
    log = log_path.read_text()
    assert "epoch 3/3" in log and "ETA" in log and "test acc" in log


def test_a_run_records_the_share_of_the_training_split_it_saw(digits_file, tmp_path):
    """The claims' budget guard: the thesis trained on the whole split; RUN on 256 of 1,347."""
    final = train(RUN, tmp_path / "run", inputs={"data": digits_file})
    assert final["metrics"]["train_fraction"] == pytest.approx(256 / 1347)
    assert REGISTRY["optim"].budget_metric == "train_fraction"


def test_same_run_twice_gives_identical_bytes(digits_file, tmp_path):
    train(RUN, tmp_path / "a", inputs={"data": digits_file})
    train(RUN, tmp_path / "b", inputs={"data": digits_file})
    assert outputs(tmp_path / "a") == outputs(tmp_path / "b")


def test_crashed_run_resumes_to_the_same_bytes(digits_file, tmp_path):
    train(RUN, tmp_path / "straight", inputs={"data": digits_file})

    def crash_after_second_epoch(epoch):
        if epoch == 2:
            raise Crash

    with pytest.raises(Crash):
        train(
            RUN,
            tmp_path / "resumed",
            inputs={"data": digits_file},
            on_step=crash_after_second_epoch,
        )
    assert (tmp_path / "resumed" / "checkpoint.pt").exists()
    assert not (tmp_path / "resumed" / "final.json").exists()
    log_path = tmp_path / "resume.log"
    train(RUN, tmp_path / "resumed", inputs={"data": digits_file}, log=file_logger(log_path))
    assert "resuming" in log_path.read_text()
    assert outputs(tmp_path / "straight") == outputs(tmp_path / "resumed")


def test_checkpoint_of_other_settings_is_not_resumed(digits_file, tmp_path):
    """A changed config reusing the run directory starts afresh instead of mixing two runs."""

    def crash_after_first_epoch(epoch):
        if epoch == 1:
            raise Crash

    with pytest.raises(Crash):
        train(
            RUN,
            tmp_path / "run",
            inputs={"data": digits_file},
            on_step=crash_after_first_epoch,
        )
    changed = dataclasses.replace(RUN, epochs=2)
    log_path = tmp_path / "run.log"
    train(changed, tmp_path / "run", inputs={"data": digits_file}, log=file_logger(log_path))
    assert "belongs to other settings" in log_path.read_text()
    train(changed, tmp_path / "straight", inputs={"data": digits_file})
    assert outputs(tmp_path / "straight") == outputs(tmp_path / "run")


def test_nan_loss_ends_the_run_as_diverged(digits_file, tmp_path):
    run = OptimRun(
        "digits", "shufflenet_v2_x0_5", "adamw", seed=0, epochs=3, lr=1e12, train_limit=256
    )
    final = train(run, tmp_path / "run", inputs={"data": digits_file})
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


# --- what every training job shares ---------------------------------------------------------

# final.json's ``config`` of each kind of run, as it was when the runs held flat copies of their
# algorithm's settings: composing the settings must not change one config hash.
CONFIG_KEYS = {
    "OptimRun": {
        "dataset", "arch", "optimizer", "seed", "epochs", "batch_size", "test_batch_size", "lr",
        "weight_decay", "milestones_at", "milestones_of", "gamma", "train_limit", "shape_probe",
    },
    "PlasticityRun": {
        "network", "size", "seed", "mode", "batch", "lr", "acc_threshold", "acc_num",
        "stage_cap", "total_cap", "max_r", "d", "frames", "var", "eta", "test_r_max",
        "test_sequences", "test_min_scenes", "test_scenes_per_r", "log_every", "engine",
        "convergence", "dtype",
    },
    "SACRun": {
        "env", "mode", "actor", "seed", "steps", "warmup", "gamma", "tau", "batch", "replay",
        "n_step", "lr", "weight_decay", "alpha", "frames", "reward_every", "keep_every",
        "eval_every", "eval_episodes", "final_points", "log_every", "max_episode_steps", "hidden",
        "layer_norm", "activation",
    },
    "TeacherRun": {
        "env", "mode", "seed", "steps", "replay", "batch", "gamma", "lr", "weight_decay",
        "epsilon_decay", "epsilon_floor", "hidden", "train_rollout", "test_rollout", "window",
        "log_every",
    },
    "PredictorRun": {
        "env", "mode", "predictor", "seed", "epochs", "steps_per_epoch", "batch", "lr",
        "weight_decay", "test_batches", "hidden", "output_stage", "transformer_fixed",
    },
}  # fmt: skip


def _runs():
    """One run of each kind, built as the DAG builds them (make_run over the smoke config)."""
    import yaml

    from attnmem.studies import optim, plasticity, sac, teacher
    from conftest import REPO

    studies = yaml.safe_load((REPO / "config" / "smoke.yaml").read_text())["studies"]

    def first(study, axes):
        """The study's run settings, its first cell (values as strings, as wildcards are) and
        its first seed."""
        block = studies[study]
        return block["run"], {a: str(block["axes"][a][0]) for a in axes}, block["seeds"][0]

    return [
        optim.make_run("train_optim", *first("optim", optim.AXES)),
        plasticity.make_run("train_plasticity", *first("plasticity", plasticity.AXES)),
        sac.make_run("train_sac", *first("sac", sac.AXES)),
        teacher.make_run("train_teacher", *first("teacher", ("env", "mode"))),
        teacher.make_run("train_predictor", *first("teacher", teacher.AXES)),
    ]


def test_flat_config_of_every_run_keeps_the_config_keys():
    from attnmem.run import flat_config

    runs = _runs()
    assert {type(r).__name__ for r in runs} == set(CONFIG_KEYS)
    for run in runs:
        config = flat_config(run)
        assert set(config) == CONFIG_KEYS[type(run).__name__], type(run).__name__
        assert not any(isinstance(v, dict) for v in config.values())


def test_flat_config_refuses_a_setting_named_twice():
    from attnmem.run import flat_config

    @dataclasses.dataclass(frozen=True)
    class Inner:
        lr: float = 1.0

    @dataclasses.dataclass(frozen=True)
    class Outer:
        inner: Inner = Inner()
        lr: float = 2.0

    with pytest.raises(ValueError, match="'lr' appears twice"):
        flat_config(Outer())


def test_a_run_block_splits_by_its_settings_fields_and_names_a_stray_key():
    """split_settings, flat_config's inverse: each key to the first class that has it, the
    caller's own keys left alone, a key of no class refused."""
    from attnmem.run import flat_config, split_settings

    @dataclasses.dataclass(frozen=True)
    class Agent:
        lr: float = 1.0
        batch: int = 2

    @dataclasses.dataclass(frozen=True)
    class Run:
        seed: int
        agent: Agent
        steps: int = 10
        log_every: int = 5

    settings = {"lr": 0.5, "steps": 20, "log_every": 1, "warmup": {"a": 3}}
    agent, own = split_settings(settings, Agent, Run, rest=("warmup",))
    assert (agent, own) == ({"lr": 0.5}, {"steps": 20, "log_every": 1})
    run = Run(seed=0, agent=Agent(**agent), **own)
    flat = flat_config(run)
    assert {k: flat[k] for k in ("lr", "steps", "log_every")} == {
        k: settings[k] for k in ("lr", "steps", "log_every")
    }
    with pytest.raises(ValueError, match=r"\['lr_decay'\] are fields of none of Agent, Run"):
        split_settings({**settings, "lr_decay": 0.1}, Agent, Run, rest=("warmup",))


def test_every_training_job_takes_the_same_options_with_the_same_defaults():
    """One signature, train(run, out_dir, **options), the options typed once (JobOptions) and
    read through JobSetup: its defaults are every job's (tests/test_registry.py checks that
    each registered job has the signature)."""
    import inspect

    from attnmem.train import image_classification, plasticity, sac, teacher

    for job in (image_classification.train, plasticity.train, sac.train, teacher.make_teacher,
                teacher.train_predictor):  # fmt: skip
        parameters = list(inspect.signature(job).parameters.values())
        assert [p.name for p in parameters] == ["run", "out_dir", "options"], job.__qualname__
        assert parameters[2].kind is parameters[2].VAR_KEYWORD
    setup = JobSetup()
    assert (setup.inputs, setup.threads, setup.device, setup.checkpoint_every) == (
        None, 1, "cpu", None,
    )  # fmt: skip
    assert setup.every(50) == 50 and JobSetup(checkpoint_every=3).every(50) == 3
    assert setup.logger is not None
    seen: list[int] = []
    JobSetup(on_step=seen.append).step_done(7)
    setup.step_done(8)  # no hook: nothing happens
    assert seen == [7]
    with pytest.raises(TypeError):
        JobSetup(**{"checkpoints": 3})  # a misspelt option fails loudly, not silently
    assert set(JobOptions.__annotations__) == {f for f in JobSetup.__dataclass_fields__}


@pytest.mark.parametrize("study", sorted(REGISTRY))
def test_make_run_names_an_unknown_job(study):
    jobs = [j.rule for j in REGISTRY[study].jobs]
    with pytest.raises(KeyError, match=rf"study '{study}' has no job 'train_x'; jobs: .*{jobs[0]}"):
        REGISTRY[study].make_run("train_x", {}, {}, 0)


def test_an_optim_run_without_its_data_fails_clearly(tmp_path):
    with pytest.raises(ValueError, match=r"inputs\['data'\]"):
        train(RUN, tmp_path)


def test_provenance_asks_git_and_the_package_metadata_once_per_process(tmp_path, monkeypatch):
    """A job that trains many seeds (atman: 20) writes a provenance.json per seed; git and the
    packages' metadata are asked once per process (and folder), and a caller cannot change the
    cached versions through the dict it gets."""
    import subprocess

    from attnmem import run

    calls = []
    real = subprocess.run

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(run.subprocess, "run", counting)
    run._git_commit.cache_clear()
    first = run.git_commit(tmp_path)
    assert run.git_commit(tmp_path) == first and len(calls) <= 2  # rev-parse (+ status)
    versions = run.package_versions()
    versions["numpy"] = "edited"
    assert run.package_versions()["numpy"] != "edited"


def test_a_cell_checkpoint_resumes_only_the_same_runs(tmp_path, caplog):
    """One checkpoint for a job that trains several seeds as one state: it loads back for the
    same runs in the same order, and is refused (the job starts afresh) for any other."""
    import logging

    from attnmem.run import CellCheckpoint, RunRecorder

    def recorders(*seeds):
        return [RunRecorder(tmp_path / f"seed{k}", {"seed": k, "lr": 0.1}, 1) for k in seeds]

    state = {"tick": 7, "rows": [[(1, "train", "loss", 0.5)], []]}
    CellCheckpoint(tmp_path / "checkpoint.pkl", recorders(0, 1)).save(state)
    log = logging.getLogger("cell")
    assert CellCheckpoint(tmp_path / "checkpoint.pkl", recorders(0, 1)).load(log) == state
    with caplog.at_level(logging.WARNING):
        assert CellCheckpoint(tmp_path / "checkpoint.pkl", recorders(1, 0)).load(log) is None
    assert "belongs to other settings or seeds" in caplog.text
    CellCheckpoint(tmp_path / "checkpoint.pkl", recorders(0, 1)).remove()
    assert not (tmp_path / "checkpoint.pkl").exists()
