"""The attention-PPO study (seed 001): the degenerate attention, GAE, acting, runs, resume."""

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from attnmem.rl.ppo import PPO, PPOSettings, VecEnv, evaluate, gae, successors
from attnmem.rl.ppo_policies import (
    POLICIES,
    NumpyActor,
    PolicySettings,
    PPOPolicy,
    SelfAttentionLayer,
)
from attnmem.train.ppo_attn import PPORun, curve_metrics, train
from conftest import Killed, kill_at


@pytest.fixture
def full_attention(monkeypatch):
    """Compute Q and K even over one token (the published code path, no shortcut)."""
    monkeypatch.setattr(SelfAttentionLayer, "full", True)


def test_published_attention_weights_are_identically_one(full_attention):
    torch.manual_seed(0)
    policy = PPOPolicy(4, 2, PolicySettings("attn_faithful"))
    obs = torch.randn(256, 4) * 5
    for training in (False, True):  # with dropout too: the weights are 1 before dropout
        policy.train(training)
        _, maps = policy.features(obs)
        assert len(maps) == 3  # two self-attention layers and the pooling
        assert [tuple(m.shape) for m in maps] == [(256, 8, 1, 1), (256, 8, 1, 1), (256, 1)]
        for weights in maps:
            assert torch.equal(weights, torch.ones_like(weights))


def test_published_attention_is_an_mlp_with_residual_layernorm_blocks(full_attention):
    """x0 = W_in o + b; x <- LN(x + W_o (W_v x + b_v) + b_o) twice; pooled = x; heads."""
    torch.manual_seed(1)
    policy = PPOPolicy(6, 3, PolicySettings("attn_faithful")).eval()
    obs = torch.randn(64, 6)
    x = policy.embed(obs)
    for layer in policy.layers:
        x = F.layer_norm(
            x + layer.o(layer.v(x)), (128,), layer.norm.weight, layer.norm.bias, layer.norm.eps
        )
    logits, value = policy(obs)
    assert torch.allclose(logits, policy.policy_head(x), atol=1e-5)
    assert torch.allclose(value, policy.value_head(x).squeeze(-1), atol=1e-5)
    # Q and K never reach the output: their gradients are exactly zero
    (logits.sum() + value.sum()).backward()
    for layer in policy.layers:
        for linear in (layer.q, layer.k):
            assert torch.equal(linear.weight.grad, torch.zeros_like(linear.weight))
            assert torch.equal(linear.bias.grad, torch.zeros_like(linear.bias))


def test_the_lean_single_token_path_is_the_same_function(monkeypatch):
    """Skipping Q, K and the pooling scores over one token changes no output and no gradient:
    the skipped tensors' gradients are exactly zero on the full path."""
    outputs, grads = [], []
    for full in (True, False):
        monkeypatch.setattr(SelfAttentionLayer, "full", full)
        torch.manual_seed(2)
        policy = PPOPolicy(4, 2, PolicySettings("attn_faithful"))  # train mode: dropout on
        torch.manual_seed(3)  # the same dropout masks
        logits, value = policy(torch.randn(32, 4))
        (logits.pow(2).sum() + value.sum()).backward()
        outputs.append((logits.detach(), value.detach()))
        grads.append({n: p.grad for n, p in policy.named_parameters()})
    assert torch.equal(outputs[0][0], outputs[1][0]) and torch.equal(outputs[0][1], outputs[1][1])
    skipped = {n for n, g in grads[1].items() if g is None}
    assert skipped == {
        *(f"layers.{i}.{m}.{p}" for i in (0, 1) for m in "qk" for p in ("weight", "bias")),
        "pool.query",
    }
    for name, grad in grads[0].items():
        if name in skipped:
            assert torch.equal(grad, torch.zeros_like(grad)), name
        else:
            assert torch.allclose(grad, grads[1][name], atol=1e-7, rtol=1e-6), name


@pytest.mark.parametrize("kind", POLICIES)
def test_numpy_actor_is_the_module_in_eval_mode(kind):
    torch.manual_seed(4)
    policy = PPOPolicy(4, 2, PolicySettings(kind)).eval()
    obs = torch.randn(16, policy.inputs)
    logits, value = policy(obs)
    np_logits, np_value = NumpyActor(policy).forward(obs.numpy())
    assert np.allclose(np_logits, logits.detach().numpy(), atol=1e-5)
    assert np.allclose(np_value, value.detach().numpy(), atol=1e-5)


def test_faithful_acting_drops_the_pooled_token_one_pass_in_ten():
    """Dropout on the single pooling weight: in ~10% of passes the heads see a zero vector, so
    the logits no longer depend on the observation (spec A.2) — the acting path does the same.
    Two unrelated observation sets under the same masks agree exactly in those passes."""
    torch.manual_seed(5)
    actor = NumpyActor(PPOPolicy(4, 2, PolicySettings("attn_faithful")))
    draw = np.random.default_rng(0)
    a, b = (draw.normal(size=(4000, 4)).astype(np.float32) * 3 for _ in range(2))
    logits_a, _ = actor.forward(a, np.random.default_rng(1))
    logits_b, _ = actor.forward(b, np.random.default_rng(1))
    blind = np.all(logits_a == logits_b, axis=1).mean()
    assert 0.08 < blind < 0.12
    assert not np.all(actor.forward(a)[0] == actor.forward(b)[0], axis=1).any()  # eval mode


def test_gae_hand_checked_faithful_bootstrap_and_truncation():
    """T = 4 steps of reward 1, V = 0.5, 0.4, 0.3, 0.2, gamma 0.9, lambda 0.8; step 1 ends its
    episode by truncation (time limit)."""
    rewards = np.ones((4, 1))
    values = np.array([[0.5], [0.4], [0.3], [0.2]])
    terminated = np.zeros((4, 1), dtype=bool)
    truncated = np.array([[False], [True], [False], [False]])
    # faithful: truncation is terminal, the last step bootstraps from its own stored value 0.2
    nxt, terminal, done = successors("faithful", values, None, terminated, truncated, None)
    faithful = gae(rewards, values, nxt, terminal, done, 0.9, 0.8)[:, 0]
    # delta3 = 1 + .9*.2 - .2 = .98; delta2 = 1 + .9*.2 - .3 = .88, A2 = .88 + .72*.98;
    # delta1 = 1 - .4 = .6 (terminal); delta0 = 1 + .9*.4 - .5 = .86, A0 = .86 + .72*.6
    assert np.allclose(faithful, [1.292, 0.6, 1.5856, 0.98])
    # clean: the truncated step bootstraps from its final observation's value (0.7), the last
    # step from V(o_4) = 0.1; the recursion still stops at the episode boundary
    final_values = np.array([[0.0], [0.7], [0.0], [0.0]])
    nxt, terminal, done = successors(
        "clean", values, np.array([0.1]), terminated, truncated, final_values
    )
    clean = gae(rewards, values, nxt, terminal, done, 0.9, 0.8)[:, 0]
    # delta3 = 1 + .09 - .2 = .89; delta2 = .88, A2 = .88 + .72*.89; delta1 = 1 + .63 - .4
    assert np.allclose(clean, [0.86 + 0.72 * 1.23, 1.23, 0.88 + 0.72 * 0.89, 0.89])
    # a termination is terminal in both modes: no bootstrap at all
    nxt, terminal, done = successors(
        "clean", values, np.array([0.1]), truncated, terminated, final_values
    )
    assert np.allclose(gae(rewards, values, nxt, terminal, done, 0.9, 0.8)[1, 0], 0.6)


def test_curve_metrics_censor_and_normalise():
    steps = [0, 10, 20, 30]
    m = curve_metrics("CartPole-v1", steps, [10.0, 200.0, 480.0, 500.0], 30)
    assert m["final_return"] == 500.0 and m["last3_return"] == pytest.approx(1180 / 3)
    assert m["steps_to_threshold"] == 20.0 and m["reached"] == 1.0
    scaled = [0.02, 0.4, 0.96, 1.0]
    area = sum(10 * (a + b) / 2 for a, b in itertools.pairwise(scaled))
    assert m["auc"] == pytest.approx(area / 30)
    never = curve_metrics("MountainCar-v0", steps, [-200.0] * 4, 100_000)
    assert never["steps_to_threshold"] == 100_000 and never["reached"] == 0.0
    assert never["auc"] == 0.0


def test_vec_env_keeps_history_and_hands_back_final_observations():
    env = VecEnv("CartPole-v1", 2, frames=3)
    first = env.reset([0, 1])
    assert first.shape == (2, 12) and np.all(first[:, :8] == 0)  # zero-padded history
    ended = None
    for _ in range(200):
        out = env.step(np.zeros(2, dtype=np.int64))  # always push left: episodes end fast
        if out["episodes"]:
            ended = out
            break
    assert ended is not None
    i = next(k for k, f in enumerate(ended["final"]) if f is not None)
    assert np.all(ended["inputs"][i, :8] == 0)  # the next episode starts a fresh history
    assert np.any(ended["final"][i][:8] != 0)


def tiny(mode="faithful", policy="attn_faithful", **loop):
    settings = PPOSettings(mode=mode, policy=policy, rollout=200, epochs=2, minibatch=64)
    return PPORun(
        env="CartPole-v1", seed=0, ppo=settings,
        **{"steps": 800, "eval_every": 400, "eval_episodes": 2, "log_every": 400} | loop,
    )  # fmt: skip


@pytest.mark.parametrize("mode", ["faithful", "clean"])
def test_run_is_deterministic_and_resumes_to_the_same_bytes(tmp_path, mode):
    run = tiny(mode, "attn_history" if mode == "clean" else "attn_faithful")
    final = train(run, tmp_path / "straight", checkpoint_every=200)
    again = train(run, tmp_path / "again", checkpoint_every=200)
    assert final == again and final["status"] == "ok" and final["metrics"]["steps"] == 800
    with pytest.raises(Killed):
        train(run, tmp_path / "killed", on_step=kill_at(400), checkpoint_every=200)
    assert (tmp_path / "killed" / "checkpoint.pt").exists()
    assert not (tmp_path / "killed" / "final.json").exists()
    assert train(run, tmp_path / "killed", checkpoint_every=200) == final
    for name in ("metrics.csv", "final.json"):
        expected = (tmp_path / "straight" / name).read_bytes()
        assert (tmp_path / "again" / name).read_bytes() == expected
        assert (tmp_path / "killed" / name).read_bytes() == expected
    rows = (tmp_path / "straight" / "metrics.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows if ",eval,return," in r] == ["0", "400", "800"]
    assert not (tmp_path / "straight" / "checkpoint.pt").exists()


KILLED = """
import sys
from attnmem.rl.ppo import PPOSettings
from attnmem.train.ppo_attn import PPORun, train
run = PPORun(env="CartPole-v1", seed=3, ppo=PPOSettings(mode="faithful", policy="mlp",
             rollout=200, epochs=2), steps=6000, eval_every=1000, eval_episodes=2)
train(run, sys.argv[1], checkpoint_every=200)
"""


def test_a_killed_process_resumes_to_the_same_bytes(tmp_path):
    """SIGKILL a training process once it has checkpointed; the rerun ends as a straight run."""
    run = PPORun(
        env="CartPole-v1", seed=3, ppo=PPOSettings(mode="faithful", policy="mlp", rollout=200,
        epochs=2), steps=6000, eval_every=1000, eval_episodes=2,
    )  # fmt: skip
    killed = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    process = subprocess.Popen([sys.executable, "-c", KILLED, str(killed)], env=env)
    deadline = time.time() + 120
    while not (killed / "checkpoint.pt").exists() and process.poll() is None:
        assert time.time() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (killed / "final.json").exists(), "the run finished before it could be killed"
    resumed = train(run, killed, checkpoint_every=200)
    final = train(run, tmp_path / "straight", checkpoint_every=200)
    assert resumed == final
    for name in ("metrics.csv", "final.json"):
        assert (killed / name).read_bytes() == (tmp_path / "straight" / name).read_bytes()


def test_feature_token_runs_record_attention_per_feature(tmp_path):
    final = train(tiny("clean", "attn_feature_tokens", steps=400), tmp_path)
    profile = final["metrics"]["attention"]
    assert set(profile) == {"layer1", "layer2", "pool"}
    for weights in profile.values():
        assert len(weights) == 4 and sum(weights) == pytest.approx(1.0, abs=1e-5)
    assert json.loads((tmp_path / "final.json").read_text())["metrics"]["attention"] == profile


def test_faithful_evaluation_keeps_dropout_and_clean_does_not():
    agent = PPO(4, 2, PPOSettings(mode="faithful", policy="attn_faithful"), 0)
    greedy = [evaluate(agent, "CartPole-v1", 3, 7, None) for _ in range(2)]
    assert greedy[0] == greedy[1]  # eval mode: a deterministic function of the seeds
    noisy = [evaluate(agent, "CartPole-v1", 3, 7, np.random.default_rng(k)) for k in range(4)]
    assert len({tuple(r) for r in noisy}) > 1


def test_attention_heatmap_names_the_features(tmp_path):
    """The heatmap draws feature-token runs per env and mode (features named), and falls back to
    the published design's single token when no feature-token run is there."""
    import pandas as pd

    from attnmem.plots import ppo_attn as plots
    from attnmem.studies.ppo_attn import FEATURES

    rows = [
        {"env": "CartPole-v1", "policy": policy, "mode": "clean", "optimizer": "adam",
         "seed": seed, "where": where, "token": token, "weight": weight}
        for policy, tokens in (("attn_feature_tokens", 4), ("attn_faithful", 1))
        for seed in (0, 1)
        for where in ("layer1", "layer2", "pool")
        for token, weight in enumerate(np.full(tokens, 1 / tokens))
    ]  # fmt: skip
    table = pd.DataFrame(rows)
    plots.attention(table, FEATURES, tmp_path / "features.png")
    plots.attention(table[table.policy == "attn_faithful"], FEATURES, tmp_path / "one.png")
    plots.attention(table.iloc[:0], FEATURES, tmp_path / "none.png")
    for name in ("features", "one", "none"):
        assert (tmp_path / f"{name}.png").stat().st_size > 5_000
        assert (tmp_path / f"{name}.pdf").exists()


def test_flat_parameters_step_as_torch_steps_each_tensor():
    """One flat Adam step with one-norm clipping = torch's per-tensor Adam + clip_grad_norm_."""
    import copy

    from attnmem.rl.ppo import FlatParameters

    torch.manual_seed(6)
    flat_net = PPOPolicy(4, 2, PolicySettings("mlp", dropout=0.0))
    ref_net = copy.deepcopy(flat_net)
    flat = FlatParameters(flat_net)
    flat_opt = torch.optim.Adam([flat.weights], lr=1e-2)
    ref_opt = torch.optim.Adam(ref_net.parameters(), lr=1e-2)
    for step in range(3):
        obs = torch.randn(16, 4) * (step + 1)
        flat.zero_grad()
        ref_opt.zero_grad()
        for net in (flat_net, ref_net):
            logits, value = net(obs)
            (logits.pow(2).sum() + value.pow(2).sum()).backward()
        flat.clip(0.5)
        torch.nn.utils.clip_grad_norm_(ref_net.parameters(), 0.5)
        flat_opt.step()
        ref_opt.step()
    for (name, a), b in zip(flat_net.named_parameters(), ref_net.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6), name


@pytest.mark.parametrize("optimizer", ["adamw", "orthadam", "adamp"])
def test_any_library_optimizer_updates_the_policy(optimizer):
    agent = PPO(4, 2, PPOSettings(policy="attn_faithful", optimizer=optimizer), 0)
    before = [p.detach().clone() for p in agent.policy.parameters()]
    rng = np.random.default_rng(0)
    losses = agent.update(
        {
            "inputs": rng.normal(size=(128, 4)).astype(np.float32),
            "actions": rng.integers(0, 2, 128),
            "logp": np.full(128, np.log(0.5)),
            "advantages": rng.normal(size=128),
            "returns": rng.normal(size=128),
        }
    )
    assert all(np.isfinite(v) for v in losses.values())
    changed = [
        not torch.equal(a, b) for a, b in zip(before, agent.policy.parameters(), strict=True)
    ]
    assert sum(changed) >= 10
