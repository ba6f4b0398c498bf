"""The population engine: each lane is the fast engine's run, whichever lanes share its job."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from attnmem.data.familiarity import generate
from attnmem.models.plastic import NETWORKS, build_network
from attnmem.models.plastic_fast import FastNetwork
from attnmem.models.plastic_pop import Population
from attnmem.train.curriculum import Curriculum
from attnmem.train.plasticity import PlasticityRun, train, train_cell

CASES = [(name, eta) for name in NETWORKS if name != "hebbff" for eta in ("full", "neuron")]
CASES += [("memo_MA", "scalar"), ("dyn_AM", "scalar"), ("nonl_M", "scalar"), ("hebbff", "scalar")]

# The production task (d 25, 4 frames, 2 flips), faithful protocol, budgets of seconds: the
# stage cap ends stages so that every run visits R = 1..3 (sequence lengths differ between
# lanes once one of them converges).
POP = PlasticityRun(
    network="memo_MA",
    size=8,
    seed=0,
    curriculum=Curriculum(
        mode="faithful", engine="population", batch=1, lr=1e-2, stage_cap=12, total_cap=30
    ),
    test_r_max=2,
    test_sequences=1,
    test_min_scenes=12,
    test_scenes_per_r=4,
    log_every=3,
)


class Crash(Exception):
    pass


def _read(folder):
    return {name: (folder / name).read_bytes() for name in ("metrics.csv", "final.json")}


@pytest.mark.parametrize(("name", "eta"), CASES)
def test_one_step_equals_the_fast_engine(name, eta):
    """Loss, accuracies and every float32 gradient of each lane equal the fast engine's on
    that lane's model and sequences (lanes of different lengths and R)."""
    models = []
    for k in range(3):
        torch.manual_seed(k)
        models.append(build_network(name, 6, d=8, eta=eta))
    population = Population(models)
    seqs = [generate(2, 12 + 4 * k, 1 + k, torch.Generator().manual_seed(k), d=8) for k in range(3)]
    loss, accuracy = population.step(
        [s.frames.numpy() for s in seqs], [s.labels.numpy() for s in seqs], 4
    )
    for k, (model, s) in enumerate(zip(models, seqs, strict=True)):
        fast_loss, outputs = FastNetwork(model).loss_and_grads(s.frames, s.scored_steps, s.labels)
        assert loss[k] == pytest.approx(fast_loss, rel=1e-12, abs=0)
        fast_accuracy = ((outputs >= 0.5) == s.labels.numpy().astype(bool)).mean(axis=1)
        assert accuracy[k].tolist() == fast_accuracy.tolist()
        for pname, p in model.named_parameters():
            if p.grad is None:  # Dyn_RO's unused decay: no gradient on either side
                assert pname not in population.trained
                continue
            ours = population.last_grads[pname][k].astype(np.float32)
            assert np.array_equal(ours, p.grad.reshape(-1).numpy()), pname


@pytest.mark.parametrize("network", list(NETWORKS))
def test_a_population_run_equals_the_fast_engine_run_by_run(tmp_path, network):
    """Every network type (both plasticities, every family): two seeds trained as one
    population write the numbers the fast engine writes for each seed alone."""
    runs = [replace(POP, network=network, seed=k) for k in (0, 1)]
    pop = train_cell(runs, [tmp_path / "pop" / f"seed{k}" for k in (0, 1)])
    for k, run in enumerate(runs):
        fast_run = replace(run, curriculum=replace(run.curriculum, engine="fast"))
        fast = train(fast_run, tmp_path / "fast" / f"seed{k}")
        assert pop[k]["metrics"] == fast["metrics"]  # stages, R, generalisation: all equal
        assert (tmp_path / "pop" / f"seed{k}" / "metrics.csv").read_bytes() == (
            tmp_path / "fast" / f"seed{k}" / "metrics.csv"
        ).read_bytes()


def _in(dtype):
    return replace(POP, curriculum=replace(POP.curriculum, dtype=dtype))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_seeds_bytes_do_not_depend_on_the_other_lanes(tmp_path, dtype):
    alone = train_cell([replace(_in(dtype), seed=1)], [tmp_path / "alone"])
    runs = [replace(_in(dtype), seed=k) for k in (3, 1, 2)]
    shared = train_cell(runs, [tmp_path / f"shared{k}" for k in (3, 1, 2)])
    assert alone[0]["metrics"]["stages"] == shared[1]["metrics"]["stages"]
    assert _read(tmp_path / "alone") == _read(tmp_path / "shared1")
    assert len({(tmp_path / f"shared{k}" / "metrics.csv").read_bytes() for k in (3, 1, 2)}) == 3


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_population_killed_mid_stage_resumes_to_the_same_bytes(tmp_path, dtype):
    runs = [replace(_in(dtype), seed=k) for k in (0, 1)]
    straight = [tmp_path / "straight" / f"seed{k}" for k in (0, 1)]
    killed = [tmp_path / "killed" / f"seed{k}" for k in (0, 1)]
    train_cell(runs, straight)

    def crash(states):
        if states[0].total_sequences == 17:
            raise Crash

    with pytest.raises(Crash):
        train_cell(runs, killed, checkpoint_every=4, on_step=crash)
    assert all((d / "checkpoint.pt").exists() for d in killed)
    assert not any((d / "final.json").exists() for d in killed)
    train_cell(runs, killed, checkpoint_every=4)
    for a, b in zip(straight, killed, strict=True):
        assert _read(a) == _read(b)
        assert (a / "model.pt").read_bytes() == (b / "model.pt").read_bytes()


def test_train_of_one_population_run_is_a_population_of_one(tmp_path):
    single = train(POP, tmp_path / "single")
    cell = train_cell([POP], [tmp_path / "cell"])[0]
    assert single["metrics"] == cell["metrics"]
    assert _read(tmp_path / "single") == _read(tmp_path / "cell")


def test_a_diverged_lane_stops_alone(tmp_path):
    """A lane whose loss is not finite ends as 'diverged'; the other lanes train on."""
    runs = [replace(POP, seed=k) for k in (0, 1)]
    healthy = train_cell([runs[1]], [tmp_path / "alone"])[0]
    original = Population.restore

    def poison(self, models, optimizers=None):
        original(self, models, optimizers)
        self.values["readout.bias"][0] = np.nan

    Population.restore = poison
    try:
        finals = train_cell(runs, [tmp_path / "a", tmp_path / "b"])
    finally:
        Population.restore = original
    assert finals[0]["status"] == "diverged"
    assert finals[1]["status"] == "ok"
    assert finals[1]["metrics"] == healthy["metrics"]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_threads_change_no_byte(tmp_path, dtype):
    """The lanes of a job given two threads run side by side, each as on one thread."""
    runs = [replace(_in(dtype), seed=k) for k in (0, 1, 2)]
    train_cell(runs, [tmp_path / "one" / f"seed{k}" for k in (0, 1, 2)], threads=1)
    train_cell(runs, [tmp_path / "two" / f"seed{k}" for k in (0, 1, 2)], threads=2)
    for k in (0, 1, 2):
        assert _read(tmp_path / "one" / f"seed{k}") == _read(tmp_path / "two" / f"seed{k}")


@pytest.mark.parametrize(("name", "eta"), CASES)
def test_one_float32_step_is_the_fast_engines_within_float32_rounding(name, eta):
    """In float32 (the source's dtype) each lane's loss and gradients are the float64 fast
    engine's within float32 rounding, accumulated over the sequence: every parameter's
    gradient within 1e-3 of its largest element (measured: <= 1.3e-4 here, the decay's sum
    over frames and synapses the worst), the loss within 1e-5."""
    models = []
    for k in range(3):
        torch.manual_seed(k)
        models.append(build_network(name, 6, d=8, eta=eta))
    population = Population(models, dtype="float32")
    seqs = [generate(2, 12 + 4 * k, 1 + k, torch.Generator().manual_seed(k), d=8) for k in range(3)]
    loss, _ = population.step([s.frames.numpy() for s in seqs], [s.labels.numpy() for s in seqs], 4)
    for k, (model, s) in enumerate(zip(models, seqs, strict=True)):
        fast_loss, _ = FastNetwork(model).loss_and_grads(s.frames, s.scored_steps, s.labels)
        assert loss[k] == pytest.approx(fast_loss, rel=1e-5)
        for pname, p in model.named_parameters():
            if p.grad is None:
                continue
            ours = population.last_grads[pname][k]
            fast = p.grad.reshape(-1).numpy()
            assert np.abs(ours - fast).max() <= 1e-3 * np.abs(fast).max() + 1e-12, pname


@pytest.mark.parametrize("network", ["fc_M", "nonl_A", "dyn_MA", "memo_AM", "stack_MA", "hebbff"])
def test_float32_lanes_follow_autograd_on_the_production_task(tmp_path, network):
    """One network per family on the production task (d 25, 4 frames, 2 flips) at the
    production rate, 25 faithful steps: the float32 population follows the float32 autograd
    reference (the source's arithmetic): the same R, every step's accuracy within one scene,
    losses within float32 rounding."""
    base = replace(
        POP,
        network=network,
        curriculum=Curriculum(mode="faithful", engine="population", dtype="float32", total_cap=25),
        log_every=1,
    )
    runs = {
        "population": base,
        "autograd": replace(base, curriculum=replace(base.curriculum, engine="autograd",
                                                     dtype="float64")),
    }  # fmt: skip
    rows = {}
    for engine, run in runs.items():
        train(run, tmp_path / engine)
        metrics = (tmp_path / engine / "metrics.csv").read_text().splitlines()[1:]
        rows[engine] = [line.split(",") for line in metrics if ",train," in line]
    pop, ref = rows["population"], rows["autograd"]
    assert [r[:3] for r in pop] == [r[:3] for r in ref]  # the same steps, splits, metrics
    for a, b in zip(pop, ref, strict=True):
        if a[2] == "r":
            assert a[3] == b[3]
        elif a[2] == "accuracy":
            assert float(a[3]) == pytest.approx(float(b[3]), abs=0.0101)
        else:
            assert float(a[3]) == pytest.approx(float(b[3]), rel=1e-3)


def test_float32_is_the_population_engines_alone():
    with pytest.raises(ValueError, match="population engine"):
        Curriculum(engine="fast", dtype="float32")
    with pytest.raises(ValueError, match="float64"):
        Population([build_network("hebbff", 6, d=8)], dtype="float16")


# A float32 Memo [50,50] population of two seeds for 40 sequences, in a fresh process: prints
# its metrics.csv's hash.
_FRESH_PROCESS = """
import hashlib, sys
from pathlib import Path
from attnmem.train.curriculum import Curriculum
from attnmem.train.plasticity import PlasticityRun, train_cell
curriculum = Curriculum(mode="faithful", engine="population", batch=1, lr=1e-3, stage_cap=20,
                        total_cap=40, dtype="float32")
runs = [PlasticityRun(network="memo_MA", size=50, seed=k, curriculum=curriculum, test_r_max=2,
                      test_sequences=1, test_min_scenes=12, test_scenes_per_r=4, log_every=2)
        for k in (0, 1)]
out = Path(sys.argv[1])
train_cell(runs, [out / "0", out / "1"])
print(hashlib.sha256((out / "0" / "metrics.csv").read_bytes()).hexdigest())
"""


def test_a_runs_bytes_do_not_depend_on_numbas_cache(tmp_path):
    """The first process compiles the kernels and writes numba's cache; the next loads them
    from it.  Both give the same bytes (a kernel loaded from the cache once computed other
    float32 bits than compiled, so a default run's bytes hung on which job compiled first)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    hashes = []
    for k in range(2):
        done = subprocess.run(
            [sys.executable, "-c", _FRESH_PROCESS, str(tmp_path / f"run{k}")],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        hashes.append(done.stdout.split()[-1])
    assert any((tmp_path / "numba").rglob("*.nbi")), "the first process wrote no cache"
    assert hashes[0] == hashes[1]
