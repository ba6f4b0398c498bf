"""The teacher study: DQN teacher (faithful and clean), rollouts, windows, predictors, aggregate."""

import json
import logging

import gymnasium as gym
import pytest
import torch
from torch import nn

from attnmem.models.predictors import build_predictor
from attnmem.rl import dqn
from attnmem.rl.dqn import DQNSettings, Replay, rollout, td_target, train_dqn, windows
from attnmem.train import teacher
from attnmem.train.teacher import (
    PredictorRun,
    TeacherRun,
    batch_streams,
    make_teacher,
    train_predictor,
)
from conftest import REPO


class FixedQ(nn.Module):
    """A Q-function with a readable greedy action: 1 when the observation's feature ``k`` > 0."""

    def __init__(self, k: int, actions: int = 2):
        super().__init__()
        self.k, self.actions = k, actions
        self.dummy = nn.Linear(1, 1)

    def forward(self, x):
        q = torch.zeros(x.shape[0], self.actions)
        q[:, 1] = x[:, self.k]
        return q


def test_faithful_target_bootstraps_from_the_argmax_index():
    q = FixedQ(0, actions=3)
    next_states = torch.tensor([[5.0], [-5.0]])
    rewards, terminal = torch.tensor([1.0, 1.0]), torch.tensor([0.0, 1.0])
    faithful = td_target(q, rewards, next_states, terminal, 0.5, "faithful")
    clean = td_target(q, rewards, next_states, terminal, 0.5, "clean")
    # state 0: Q = (0, 5, 0): argmax index 1, max 5;  state 1 is terminal
    assert faithful.tolist() == [1.0 + 0.5 * 1, 1.0]
    assert clean.tolist() == [1.0 + 0.5 * 5, 1.0]


def test_rollout_labels_faithful_lag_and_clean():
    q = FixedQ(2)  # CartPole: push right when the pole leans right
    states, labels, _ = rollout(q, "CartPole-v1", 300, "faithful", seed=3)
    greedy = (states[:, 2] > 0).long()
    assert torch.equal(labels[1:], greedy[:-1])  # the action at s_k is greedy(s_{k-1})
    states, labels, _ = rollout(q, "CartPole-v1", 300, "clean", seed=3)
    assert torch.equal(labels, (states[:, 2] > 0).long())


def test_faithful_ignores_truncation():
    """MountainCar with one fixed action never reaches the goal: only truncation could end it."""

    class Always(nn.Module):
        def forward(self, x):
            return torch.tensor([[0.0, 0.0, 1.0]]).expand(x.shape[0], -1)

    _, _, faithful = rollout(Always(), "MountainCar-v0", 450, "faithful", seed=0)
    _, _, clean = rollout(Always(), "MountainCar-v0", 450, "clean", seed=0)
    assert faithful == [] and clean == [-200.0, -200.0]


class Steps(gym.Wrapper):
    """Records (state, action, whether the state is an episode's first) for every step."""

    def __init__(self, env, log):
        super().__init__(env)
        self.log, self.state, self.first = log, None, True

    def reset(self, **kwargs):
        self.state, info = self.env.reset(**kwargs)
        self.first = True
        return self.state, info

    def step(self, action):
        self.log.append((torch.as_tensor(self.state), int(action), self.first))
        self.state, *rest = self.env.step(action)
        self.first = False
        return (self.state, *rest)


@pytest.mark.parametrize("mode", ["faithful", "clean"])
def test_teacher_training_acts_one_step_late_in_faithful_mode(monkeypatch, mode):
    """qlearn.py's train: an episode's first action is epsilon-greedy on its reset state; the
    action executed at s_k is epsilon-greedy on s_{k-1}.  With updates from the first step and
    epsilon decaying to 0 at once, every action from the third step on is greedy: on the
    previous state (faithful) or on the state itself (clean)."""

    class Trainable(FixedQ):  # FixedQ(2)'s greedy action, with a parameter the optimizer steps
        def __init__(self):
            super().__init__(2)
            self.zero = nn.Parameter(torch.zeros(2))

        def forward(self, x):
            return super().forward(x) + 0 * self.zero

    steps = []
    monkeypatch.setattr(dqn, "q_network", lambda *args: Trainable())
    monkeypatch.setattr(dqn, "make_env", lambda env_id: Steps(gym.make(env_id), steps))
    settings = DQNSettings(steps=300, replay=2, batch=4, epsilon_decay=0.0, epsilon_floor=0.0)
    train_dqn("CartPole-v1", mode, 0, settings, logging.getLogger("test"))
    assert len(steps) == 300
    greedy = [int(state[2] > 0) for state, _, _ in steps]
    lagged = 0
    for k in range(2, len(steps)):
        _, action, first = steps[k]
        if mode == "clean" or first:
            assert action == greedy[k]
        else:
            assert action == greedy[k - 1]
            lagged += greedy[k - 1] != greedy[k]
    assert mode == "clean" or lagged > 10  # the lag shows


def test_windows_cut_and_label():
    states = torch.arange(25.0).unsqueeze(1)
    labels = torch.arange(25)
    x, y = windows(states, labels, 10)
    assert x.shape == (2, 10, 1) and y.tolist() == [9, 19]
    assert x[1, 0, 0] == 10


def test_replay_ring_buffer():
    replay = Replay(3, 1)
    for i in range(5):
        replay.add([i], i % 2, float(i), [i + 1], i == 4)
    assert replay.size == 3 and sorted(replay.states[:, 0].tolist()) == [2.0, 3.0, 4.0]
    states, actions, rewards, nexts, terminal = replay.sample(64, torch.Generator().manual_seed(0))
    assert torch.equal(nexts[:, 0], states[:, 0] + 1) and torch.equal(rewards, states[:, 0])
    assert torch.equal(actions, states[:, 0].long() % 2)
    assert torch.equal(terminal, (states[:, 0] == 4).float())


TINY_TEACHER = dict(
    dqn=DQNSettings(steps=300, replay=200, batch=32), train_rollout=400, test_rollout=400
)
TINY_PREDICTOR = dict(epochs=1, steps_per_epoch=3, batch=16, test_batches=2, hidden=32)


def dataset(teacher_dir):
    """A predictor job's inputs: its teacher's dataset."""
    return {"dataset": teacher_dir / "dataset.pt"}


@pytest.fixture(scope="module")
def teacher_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("teacher")
    make_teacher(TeacherRun("CartPole-v1", "clean", 0, log_every=50, **TINY_TEACHER), out)
    return out


def test_teacher_files_and_label_distribution(teacher_dir):
    final = json.loads((teacher_dir / "final.json").read_text())
    metrics = final["metrics"]
    assert final["status"] == "ok" and metrics["train_windows"] == metrics["test_windows"] == 40
    assert sum(metrics["label_fractions_test"]) == pytest.approx(1.0)
    data = torch.load(teacher_dir / "dataset.pt")
    assert data["train_x"].shape == (40, 10, 4) and data["actions"] == 2
    expected = (data["test_y"] == torch.bincount(data["train_y"]).argmax()).double().mean() * 100
    assert metrics["majority_accuracy"] == pytest.approx(expected.item())
    rows = (teacher_dir / "metrics.csv").read_text()
    assert "train,episode_return" in rows and "rollout_train,episode_return" in rows


def test_make_run_builds_teachers_and_predictors():
    from attnmem.studies.teacher import make_run

    settings = {
        "dqn": {"steps": 300, "replay": 200, "gamma": 0.9, "log_every": 50},
        "rollout": {"train": 400, "test": 300, "window": 5},
        "predictor": {"epochs": 2, "hidden": 32},
    }
    teacher = make_run("train_teacher", settings, {"env": "CartPole-v1", "mode": "clean"}, 1)
    assert teacher.dqn == DQNSettings(steps=300, replay=200, gamma=0.9)
    assert (teacher.log_every, teacher.train_rollout, teacher.window) == (50, 400, 5)
    cell = {"env": "CartPole-v1", "mode": "faithful", "predictor": "lstm"}
    predictor = make_run("train_predictor", settings, cell, 2)
    assert (predictor.predictor, predictor.mode, predictor.epochs, predictor.seed) == (
        "lstm",
        "faithful",
        2,
        2,
    )


def test_a_predictor_without_its_dataset_fails_clearly(tmp_path):
    with pytest.raises(ValueError, match=r"inputs\['dataset'\]"):
        train_predictor(PredictorRun("CartPole-v1", "clean", "lstm", 0), tmp_path)


def test_teacher_is_deterministic(teacher_dir, tmp_path):
    make_teacher(TeacherRun("CartPole-v1", "clean", 0, log_every=50, **TINY_TEACHER), tmp_path)
    for name in ("metrics.csv", "final.json"):
        assert (tmp_path / name).read_bytes() == (teacher_dir / name).read_bytes()
    first, second = torch.load(teacher_dir / "dataset.pt"), torch.load(tmp_path / "dataset.pt")
    assert all(torch.equal(first[k], second[k]) for k in ("train_x", "train_y", "test_y"))


@pytest.mark.parametrize("predictor", ["attention_split", "lstm", "transformer"])
def test_predictor_run_files_and_determinism(teacher_dir, tmp_path, predictor):
    run = PredictorRun("CartPole-v1", "clean", predictor, 0, **TINY_PREDICTOR)
    final = train_predictor(run, tmp_path / "a", inputs=dataset(teacher_dir))
    assert final["status"] == "ok" and 0 <= final["metrics"]["test_accuracy"] <= 100
    assert final["metrics"]["train_steps"] == 3
    train_predictor(run, tmp_path / "b", inputs=dataset(teacher_dir))
    for name in ("metrics.csv", "final.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_predictors_of_a_seed_share_their_batches():
    def draws(run):
        train, test = batch_streams(run)
        return torch.randperm(100, generator=train), torch.randperm(100, generator=test)

    a = draws(PredictorRun("CartPole-v1", "clean", "lstm", 0))
    b = draws(PredictorRun("CartPole-v1", "clean", "attention_split", 0))
    c = draws(PredictorRun("CartPole-v1", "clean", "lstm", 1))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a[0], c[0])


def test_short_rollout_fails_clearly(teacher_dir, tmp_path):
    run = PredictorRun("CartPole-v1", "clean", "lstm", 0, **{**TINY_PREDICTOR, "batch": 32})
    with pytest.raises(ValueError, match="fewer than the batch of 32"):
        train_predictor(run, tmp_path, inputs=dataset(teacher_dir))


def test_aggregate_and_tables(teacher_dir, tmp_path):
    import pandas as pd
    import yaml

    from attnmem.stats.aggregate import write_table
    from attnmem.studies.teacher import STUDY, extra_table
    from attnmem.summaries import aggregate_study

    run_dirs = []
    for predictor in ("attention_split", "lstm"):
        for seed in (0, 1):
            out = tmp_path / "runs" / predictor / f"seed{seed}"
            run = PredictorRun("CartPole-v1", "clean", predictor, seed, **TINY_PREDICTOR)
            train_predictor(run, out, inputs=dataset(teacher_dir))
            run_dirs.append(out)
    out = {
        k: tmp_path / f"{k}.csv" for k in ("runs", "teachers", "summary", "curves", "comparisons")
    }
    specs = [{"axis": "predictor", "a": "attention_split", "b": "lstm"}]
    stats = {"confidence": 0.95, "n_resamples": 199, "random_state": 0}
    aggregate_study(STUDY, run_dirs, specs, stats, out)
    write_table(out["teachers"], extra_table("teachers", {"train_teacher": [teacher_dir]}))
    comparisons = pd.read_csv(out["comparisons"])
    assert comparisons.loc[0, "n_pairs"] == 2 and comparisons.loc[0, "env"] == "CartPole-v1"
    assert set(pd.read_csv(out["summary"]).metric) == {"test_accuracy", "train_steps"}
    published = yaml.safe_load((REPO / "config" / "claims.yaml").read_text())["published"]
    STUDY.write_table(STUDY.table_inputs(out, published, tmp_path / "t.md", tmp_path / "t.tex"))
    table = (tmp_path / "t.md").read_text()
    assert "95.07" in table and "majority class" in table


def test_test_batches_score_as_if_every_batch_were_predicted():
    """Predicting each test window once gives the numbers of scoring every drawn batch."""
    torch.manual_seed(0)
    model = build_predictor("lstm", 4, 3, hidden=16).eval()
    windows, labels = torch.randn(90, 10, 4), torch.randint(0, 3, (90,))
    draws = torch.Generator().manual_seed(1)
    ours = teacher.score_test_batches(model, windows, labels, 16, 25, draws)
    draws, direct = torch.Generator().manual_seed(1), []
    with torch.no_grad():
        for _ in range(25):
            idx = torch.randperm(90 - 16, generator=draws)[:16]
            direct.append(
                100.0 * (model(windows[idx]).argmax(1) == labels[idx]).double().mean().item()
            )
    assert ours == pytest.approx(direct, abs=1e-12) and len(set(ours)) > 1
