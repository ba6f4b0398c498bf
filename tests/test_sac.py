"""SAC (seed000 §3.3): n-step quirks, networks, both modes' updates, and a run's resume."""

import dataclasses
import json
import math

import pytest
import torch
from torch import nn

from attnmem.rl.sac import SAC, NStep, Replay, SACSettings, Stored, Transition
from attnmem.rl.sac_networks import StackedTwinCritic, TwinCritic, gram_schmidt_
from attnmem.train.sac import SACRun, reward_summary, train
from conftest import Killed, kill_at


def _step(reward, terminated=False, truncated=False, k=0):
    s = torch.full((2,), float(k))
    return Transition(s, None, torch.zeros(1), reward, s + 1, None, terminated, truncated)


def test_faithful_nstep_never_clears_and_bootstraps_with_gamma_one():
    nstep = NStep(SACSettings(mode="faithful", n_step=3, gamma=0.5))
    assert nstep.push(_step(1.0, k=0)) == [] and nstep.push(_step(2.0, k=1)) == []
    (first,) = nstep.push(_step(4.0, terminated=True, k=2))
    assert first.reward == 1 + 0.5 * 2 + 0.25 * 4 and first.discount == 0.0
    assert first.state[0] == 0 and first.next_state[0] == 3
    # the episode ended, but the window carries on into the next one: the sum stops at the
    # termination (the window's second step)...
    (second,) = nstep.push(_step(8.0, k=10))
    assert second.reward == 2 + 0.5 * 4 and second.discount == 0.0
    assert second.state[0] == 1 and second.next_state[0] == 3
    # ... and once it is the window's first step, its done is never read (the source's temp[0])
    (third,) = nstep.push(_step(16.0, k=11))
    assert third.reward == 4 + 0.5 * 8 + 0.25 * 16 and third.discount == 0.5  # γ¹, not γ³
    assert third.state[0] == 2 and third.next_state[0] == 12


def test_faithful_nstep_stops_at_the_first_termination_and_ignores_truncation():
    """store_transition sums up to and including the first terminated step after the window's
    first, stores that step's next state and masks the bootstrap; truncation is not done."""
    nstep = NStep(SACSettings(mode="faithful", n_step=3, gamma=0.5))
    nstep.push(_step(1.0, k=0))
    nstep.push(_step(2.0, terminated=True, k=1))
    (stored,) = nstep.push(_step(4.0, k=2))  # the next episode's first step
    assert stored.reward == 1 + 0.5 * 2 and stored.discount == 0.0
    assert stored.next_state[0] == 2  # the terminal observation, not the next episode's
    truncating = NStep(SACSettings(mode="faithful", n_step=3, gamma=0.5))
    truncating.push(_step(1.0, k=0))
    truncating.push(_step(2.0, truncated=True, k=1))
    (through,) = truncating.push(_step(4.0, truncated=True, k=2))
    assert through.reward == 1 + 0.5 * 2 + 0.25 * 4 and through.discount == 0.5
    # the attention agent's double count adds the newest reward even when the sum stopped early
    attention = NStep(SACSettings(mode="faithful", actor="attention_split", n_step=3, gamma=0.5))
    attention.push(_step(1.0, k=0))
    attention.push(_step(2.0, terminated=True, k=1))
    (doubled,) = attention.push(_step(4.0, k=2))
    assert doubled.reward == 1 + 0.5 * 2 + 4 and doubled.discount == 0.0


def test_faithful_attention_nstep_counts_the_newest_reward_twice():
    nstep = NStep(SACSettings(mode="faithful", actor="attention_split", n_step=2, gamma=0.5))
    nstep.push(_step(1.0))
    (stored,) = nstep.push(_step(2.0))
    assert stored.reward == 1 + 0.5 * 2 + 2


def test_clean_nstep_flushes_at_episode_ends():
    nstep = NStep(SACSettings(mode="clean", n_step=3, gamma=0.5))
    nstep.push(_step(1.0, k=0))
    nstep.push(_step(2.0, k=1))
    (full,) = nstep.push(_step(4.0, k=2))
    assert full.reward == 1 + 1 + 1 and full.discount == 0.125  # γ³
    flushed = nstep.push(_step(8.0, truncated=True, k=3))  # window: rewards 2, 4, 8
    assert [t.reward for t in flushed] == [2 + 2 + 2, 4 + 4, 8]
    assert [t.discount for t in flushed] == [0.125, 0.25, 0.5]  # truncation: bootstrap
    nstep.push(_step(1.0, k=4))
    (only,) = nstep.push(_step(1.0, terminated=True, k=5))[-1:]
    assert only.discount == 0.0 and nstep.push(_step(1.0, k=6)) == []


def _batch(settings: SACSettings, agent: SAC, size: int = 8) -> dict[str, torch.Tensor]:
    shape = (settings.frames, 4) if settings.recurrent else (4,)
    context = agent.actor.context_shape if settings.recurrent else None
    replay = Replay(size, shape, 2, context)
    for _ in range(size):
        replay.add(
            Stored(
                torch.randn(shape),
                torch.randn(context) if context else None,
                torch.rand(2) * 2 - 1,
                1.0,
                torch.randn(shape),
                torch.randn(context) if context else None,
                0.99,
            )
        )
    return replay.sample(size, torch.Generator().manual_seed(0))


@pytest.mark.parametrize("mode", ["faithful", "clean"])
def test_attention_update_reads_the_hidden_the_source_read(mode):
    """faithful: SAC_Attention.py evaluates the next states' policy (critic target and policy
    loss alike) with the hidden stored for the window's first state (temp[0]); clean: each
    state with its own hidden."""
    torch.manual_seed(0)
    settings = SACSettings(mode=mode, actor="attention_split", batch=8)
    agent = SAC(4, 2, settings)
    batch = _batch(settings, agent)
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []
    agent.actor.register_forward_pre_hook(lambda _, args: seen.append(args))
    agent.update(batch)
    if mode == "faithful":
        (only,) = seen  # one actor pass, on the next states, reused by the policy loss
        assert torch.equal(only[0], batch["next_state"]) and torch.equal(only[1], batch["hidden"])
    else:
        target, policy = seen
        assert torch.equal(target[0], batch["next_state"])
        assert torch.equal(target[1], batch["next_hidden"])
        assert torch.equal(policy[0], batch["state"]) and torch.equal(policy[1], batch["hidden"])


def test_faithful_attention_replay_keeps_no_next_hidden():
    assert not SACSettings(mode="faithful", actor="attention_split").reads_next_hidden
    assert SACSettings(mode="clean", actor="attention_split").reads_next_hidden
    replay = Replay(4, (5, 3), 2, (5, 4, 8), next_hidden=False)
    assert "hidden" in replay.fields and "next_hidden" not in replay.fields


def _columns_orthonormal(weight: torch.Tensor) -> None:
    """The source's Gram-Schmidt: unit-norm columns, the first min(in, out) orthonormal."""
    k = min(weight.shape)
    assert torch.allclose(weight.norm(dim=0), torch.ones(weight.shape[1]), atol=1e-5)
    assert torch.allclose(weight[:, :k].T @ weight[:, :k], torch.eye(k), atol=1e-5)


@pytest.mark.parametrize("actor", ["mlp", "attention_split"])
def test_faithful_init_is_the_sources_gram_schmidt(actor):
    """Actor fc1 and fc2 (the mean head) and every critic's fc1 Gram-Schmidt, every critic's
    fc2 N(0, √(2/256)), in both agents."""
    torch.manual_seed(0)
    agent = SAC(17, 6, SACSettings(mode="faithful", actor=actor))
    linears = [m for m in agent.actor.modules() if isinstance(m, nn.Linear)]
    first, head = (linears[0], linears[-1])
    assert (first.in_features, head.out_features) == (17, 6)
    _columns_orthonormal(first.weight.detach())
    _columns_orthonormal(head.weight.detach())
    for critic in (agent.critic.q1, agent.critic.q2, agent.target.q1, agent.target.q2):
        fc1, fc2 = (m for m in critic.net if isinstance(m, nn.Linear))
        _columns_orthonormal(fc1.weight.detach())
        assert abs(fc2.weight.std().item() / math.sqrt(2 / 256) - 1) < 0.2


def test_gram_schmidt_redraws_what_the_source_would_have_made_nan():
    """A 256 -> 2 head: the columns beyond the second are rounding residue, which now and then
    rounds to zero, and the source's division then gives NaN weights."""
    for seed in range(20):
        torch.manual_seed(seed)
        _columns_orthonormal(gram_schmidt_(torch.empty(2, 256)))


@pytest.mark.parametrize("actor", ["mlp", "attention_split"])
def test_faithful_initial_action_means_are_large(actor):
    """Unit-norm mean-head columns: the source's first actions are saturated (its MLP agent's
    initial action means have an SD near 5, against about 0.4 with PyTorch's default head)."""
    spread = {}
    for mode in ("faithful", "clean"):
        torch.manual_seed(0)
        settings = SACSettings(mode=mode, actor=actor)  # type: ignore[arg-type]
        agent = SAC(17, 6, settings)
        shape = (512, settings.frames, 17) if settings.recurrent else (512, 17)
        states = torch.randn(shape)
        with torch.no_grad():
            spread[mode] = agent.actor.eval()(states)[0].std().item()
    assert spread["faithful"] > 3 * spread["clean"]  # an order of magnitude in both agents
    if actor == "mlp":
        assert spread["faithful"] > 2 and spread["clean"] < 1


@pytest.mark.parametrize("mode", ["faithful", "clean"])
def test_acting_is_without_dropout(mode):
    """The attention actor acts in eval mode (the source's `self.actor.eval()` around each
    action; standard practice in clean): the contexts it hands on are deterministic, and the
    actor is back in train mode for the updates."""
    torch.manual_seed(0)
    agent = SAC(4, 2, SACSettings(mode=mode, actor="attention_split"))
    agent.actor.train()
    state, hidden = torch.randn(5, 4), torch.randn(agent.actor.context_shape)
    contexts = [agent.act(state, hidden)[1] for _ in range(3)]
    assert all(torch.equal(c, contexts[0]) for c in contexts)
    assert agent.actor.training


def test_twin_critic_equals_two_separate_critics():
    torch.manual_seed(0)
    twin = TwinCritic(5)
    state, action = torch.randn(7, 3), torch.randn(7, 2)
    x = torch.cat([state, action], dim=1)
    both = twin(state, action)
    assert torch.allclose(both[0], twin.q1.net(x)[:, 0], atol=1e-6)
    assert torch.allclose(both[1], twin.q2.net(x)[:, 0], atol=1e-6)
    action.requires_grad_(True)
    twin(state, action, frozen=True).sum().backward()
    assert action.grad is not None and all(p.grad is None for p in twin.parameters())


def test_stacked_twin_critic_is_the_same_two_critics():
    """Same seed, same initial weights, values and weight gradients as the separate critics."""
    state, action = torch.randn(7, 3), torch.randn(7, 2)
    torch.manual_seed(0)
    twin = TwinCritic(5, hidden=(8, 8))
    torch.manual_seed(0)
    stacked = StackedTwinCritic(5, hidden=(8, 8))  # weights: linear, norm, linear, norm, linear
    assert torch.equal(stacked.weights[2][0], twin.q1.net[3].weight.T)
    assert torch.equal(stacked.weights[2][1], twin.q2.net[3].weight.T)
    assert torch.allclose(stacked(state, action), twin(state, action), atol=1e-6)
    twin(state, action).sum().backward()
    stacked(state, action).sum().backward()
    assert torch.allclose(stacked.weights[0].grad[1], twin.q2.net[0].weight.grad.T, atol=1e-5)
    assert torch.allclose(stacked.biases[4].grad[0, 0], twin.q1.net[-1].bias.grad, atol=1e-5)
    action.requires_grad_(True)
    stacked.zero_grad()
    stacked(state, action, frozen=True).sum().backward()
    assert action.grad is not None and all(p.grad is None for p in stacked.parameters())


def _networks(state: dict) -> dict[str, list]:
    """Each network's tensors; a stacked twin critic's split into its two critics."""
    parts: dict[str, list] = {}
    for key, value in state.items():
        net, _, rest = key.partition(".")
        sub = rest.split(".")[0]
        if net not in ("critic", "target"):
            parts.setdefault(net, []).append(value)
        elif sub in ("q1", "q2"):
            parts.setdefault(f"{net}.{sub}", []).append(value)
        else:  # stacked: (2, ...) per layer
            parts.setdefault(f"{net}.q1", []).append(value[0])
            parts.setdefault(f"{net}.q2", []).append(value[1])
    return parts


@pytest.mark.parametrize("mode", ["faithful", "clean"])
@pytest.mark.parametrize("actor", ["mlp", "attention_split"])
def test_update_moves_every_network(mode, actor):
    torch.manual_seed(0)
    settings = SACSettings(mode=mode, actor=actor, batch=8)
    agent = SAC(4, 2, settings)
    batch = _batch(settings, agent)
    before = _networks({k: v.clone() for k, v in agent.state_dict().items()})
    losses = agent.update(batch)
    assert all(torch.isfinite(v) for v in losses.values())
    after = _networks(agent.state_dict())
    alpha = "alpha" if mode == "faithful" else "log_alpha"
    for net in ("actor", "critic.q1", "critic.q2", "target.q1", "target.q2", alpha):
        moved = [a for a, b in zip(after[net], before[net], strict=True) if not torch.equal(a, b)]
        assert moved, f"{net} did not change"


def test_reference_agent_is_textbook_sac():
    """Tianshou's MuJoCo SAC: 256x256 ReLU, state-dependent log σ, Adam 1e-3, α fixed at 0.2,
    1-step targets; the thesis's LayerNorm, GELU and free log σ are gone."""
    torch.manual_seed(0)
    settings = SACSettings.reference()
    assert (settings.n_step, settings.batch, settings.replay, settings.warmup_transitions) == (
        1,
        256,
        1_000_000,
        10_000,
    )
    agent = SAC(4, 2, dataclasses.replace(settings, batch=8))
    linears = [m for m in agent.actor.mean if isinstance(m, nn.Linear)]
    assert [m.out_features for m in linears] == [256, 256, 4]  # mean and log σ heads
    assert not any(isinstance(m, (nn.LayerNorm, nn.GELU)) for m in agent.modules())
    assert not hasattr(agent.actor, "log_std")
    _, log_std, _ = agent.actor(torch.randn(5, 4))
    assert log_std.std(0).min() > 0  # it depends on the state
    assert all(g["lr"] == 1e-3 for opt in agent.optimizers.values() for g in opt.param_groups)
    before = {k: v.clone() for k, v in agent.state_dict().items()}
    for _ in range(3):
        losses = agent.update(_batch(agent.settings, agent))
    assert math.isclose(float(losses["alpha"]), 0.2, rel_tol=1e-6)
    after = agent.state_dict()
    moved = {k for k in after if not torch.equal(after[k], before[k])}
    assert "log_alpha" not in moved
    assert {k.split(".")[0] for k in moved} == {"actor", "critic", "target"}


def test_make_run_gives_the_reference_its_own_settings():
    from attnmem.studies.sac import make_run

    settings = {
        "steps": {"HalfCheetah-v5": 100},
        "warmup": {"faithful": {"mlp": 256, "attention_split": 800}, "clean": 500},
        "replay": 1000,
        "batch": 64,
    }
    cell = {"env": "HalfCheetah-v5", "mode": "reference", "actor": "mlp"}
    run = make_run("train_sac", settings, cell, 0)
    assert run.sac == SACSettings.reference("mlp")
    assert run.mode == "reference" and run.cell == "HalfCheetah-v5/reference/mlp"


def test_faithful_mlp_target_starts_uncopied():
    torch.manual_seed(0)
    faithful = SAC(4, 2, SACSettings(mode="faithful"))
    assert not torch.equal(faithful.target.q1.net[0].weight, faithful.critic.q1.net[0].weight)
    assert torch.equal(faithful.target.q2.net[0].weight, faithful.critic.q2.net[0].weight)
    clean = SAC(4, 2, SACSettings(mode="clean"))
    assert torch.equal(clean.target.weights[0], clean.critic.weights[0])
    assert faithful.settings.warmup_transitions == 256
    assert SACSettings(mode="faithful", actor="attention_split").warmup_transitions == 10_000


TINY = dict(
    steps=120,
    max_episode_steps=30,
    reward_every=20,
    eval_every=60,
    final_points=2,
    log_every=20,
)


def tiny(mode: str, actor: str, env: str = "HalfCheetah-v5", **changes) -> SACRun:
    small = {"warmup": 20, "replay": 200, "batch": 16}
    if mode == "reference":
        agent = dataclasses.replace(SACSettings.reference(actor), **small)
    else:
        agent = SACSettings(mode=mode, actor=actor, **small)  # type: ignore[arg-type]
    return SACRun(env, 0, agent, **{**TINY, **changes})


@pytest.mark.parametrize(
    ("mode", "actor"),
    [
        ("faithful", "mlp"),
        ("faithful", "attention_split"),
        ("clean", "attention_split"),
        ("reference", "mlp"),
    ],
)
def test_run_resumes_to_the_same_bytes(tmp_path, mode, actor):
    run = tiny(mode, actor)
    final = train(run, tmp_path / "straight", checkpoint_every=30)
    assert final["status"] == "ok" and final["metrics"]["steps"] == 120
    assert final["metrics"]["episodes"] == 4 and final["metrics"]["final_eval"] is not None
    # killed right after the checkpoint at step 60 (replay, RNGs, env state, frame stack...)
    with pytest.raises(Killed):
        train(run, tmp_path / "killed", on_step=kill_at(60), checkpoint_every=30)
    assert (tmp_path / "killed" / "checkpoint.pt").exists()
    assert not (tmp_path / "killed" / "final.json").exists()
    resumed = train(run, tmp_path / "killed", checkpoint_every=30)
    assert resumed == final
    for name in ("metrics.csv", "final.json"):
        assert (tmp_path / "killed" / name).read_bytes() == (
            tmp_path / "straight" / name
        ).read_bytes()
    rows = (tmp_path / "straight" / "metrics.csv").read_text().splitlines()
    assert sum(",train,reward," in r for r in rows) == 6
    assert sum(",eval,return," in r for r in rows) == 2
    config = final["config"]  # flat, as before the run composed its agent's settings
    assert (config["mode"], config["actor"], config["warmup"], config["steps"]) == (
        mode,
        actor,
        20,
        120,
    )


def test_final_and_max_reward_read_the_points_the_thesis_kept():
    """The thesis kept every 5th 1,000-step mean (steps 5,000, 10,000, ...): final_reward is the
    mean of the last final_points kept points, max_reward the largest kept point."""
    points = [float(k) for k in range(1, 13)]  # steps 1,000 ... 12,000
    points[10] = 100.0  # step 11,000: never kept
    assert reward_summary(points, 5, 10) == {"final_reward": 7.5, "max_reward": 10.0}
    assert reward_summary(points, 5, 1) == {"final_reward": 10.0, "max_reward": 10.0}
    assert reward_summary(points[:4], 5, 10) == {"final_reward": None, "max_reward": None}
    assert reward_summary(points, 1, 2) == {"final_reward": 56.0, "max_reward": 100.0}
    assert SACRun("HalfCheetah-v5", 0, SACSettings()).keep_every == 5


def test_a_run_summarises_the_kept_reward_points(tmp_path):
    final = train(tiny("clean", "mlp", keep_every=2), tmp_path)  # points at steps 20, ..., 120
    rows = (tmp_path / "metrics.csv").read_text().splitlines()
    curve = {int(r.split(",")[0]): float(r.split(",")[-1]) for r in rows if ",train,reward," in r}
    assert sorted(curve) == [20, 40, 60, 80, 100, 120]  # the curve keeps every point
    assert final["metrics"]["final_reward"] == pytest.approx((curve[80] + curve[120]) / 2)
    assert final["metrics"]["max_reward"] == max(curve[40], curve[80], curve[120])
    assert final["config"]["keep_every"] == 2


def test_a_checkpoint_restores_what_it_saved(tmp_path):
    """SACState's save and restore are one pair: restoring a saved state into a fresh loop and
    saving again gives the same checkpoint."""
    run = tiny("clean", "attention_split")
    with pytest.raises(Killed):
        train(run, tmp_path, on_step=kill_at(30), checkpoint_every=30)
    saved = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert saved["counters"]["step"] == 30 and saved["frames"] is not None

    from attnmem.rl.sac import SAC
    from attnmem.train.sac import Episode, SACState, make_env

    env = make_env(run.env, run.max_episode_steps)
    agent = SAC(env.observation_space.shape[0], env.action_space.shape[0], run.sac)
    runner = Episode(agent, env, run.sac)
    shape = (run.sac.frames, env.observation_space.shape[0])
    capacity = min(run.sac.replay, run.steps)
    replay = Replay(capacity, shape, env.action_space.shape[0], runner.context_shape)
    generators = torch.Generator(), torch.Generator()
    loop = SACState(agent, runner, replay, NStep(run.sac), *generators)
    env.reset(seed=0)
    loop.load_state_dict(saved)
    again = loop.state_dict()
    assert again.keys() == {k for k in saved if k not in ("config_hash", "rows")}
    assert torch.equal(loop.state, torch.stack(saved["frames"]))
    assert again["counters"] == saved["counters"]
    assert torch.equal(again["sampler"], saved["sampler"])
    assert (again["env"]["qpos"] == saved["env"]["qpos"]).all()
    assert torch.equal(again["replay"]["fields"]["state"], saved["replay"]["fields"]["state"])
    env.close()


def test_checkpoint_of_other_settings_is_ignored(tmp_path):
    run = tiny("clean", "mlp")
    with pytest.raises(Killed):
        train(run, tmp_path, on_step=kill_at(30), checkpoint_every=30)
    final = train(tiny("clean", "mlp", steps=60), tmp_path)
    assert final["metrics"]["steps"] == 60
    assert json.loads((tmp_path / "final.json").read_text())["config"]["steps"] == 60


def test_unknown_env_fails_clearly(tmp_path):
    with pytest.raises(ValueError, match="allowed: \\['HalfCheetah-v5', 'Walker2d-v5'\\]"):
        train(tiny("clean", "mlp", env="Hopper-v5"), tmp_path)


def test_make_run_splits_the_config_between_agent_and_loop():
    from attnmem.studies.sac import make_run

    settings = {
        "steps": {"HalfCheetah-v5": 100},
        "warmup": {"faithful": {"mlp": 256, "attention_split": 800}, "clean": 500},
        "replay": 1000,
        "batch": 64,
        "eval_every": 50,
    }
    cell = {"env": "HalfCheetah-v5", "mode": "faithful", "actor": "attention_split"}
    run = make_run("train_sac", settings, cell, 3)
    assert (run.mode, run.actor, run.seed, run.steps, run.eval_every) == (
        "faithful",
        "attention_split",
        3,
        100,
        50,
    )
    assert (run.sac.warmup, run.sac.replay, run.sac.batch) == (800, 1000, 64)
    assert run.cell == "HalfCheetah-v5/faithful/attention_split"


@pytest.mark.parametrize("mode", ["faithful", "clean"])
def test_alpha_in_the_actor_optimizer_steps_as_its_own_would(mode):
    """α shares the actor's optimizer; per-tensor optimizers make that bit-identical."""
    from attnmem.optim import OrthAdam

    def make(params):
        if mode == "faithful":
            return OrthAdam(params, lr=3e-4, weight_decay=1e-4, amsgrad=True)
        return torch.optim.Adam(params, lr=3e-4, fused=True)

    torch.manual_seed(0)
    separate = [torch.nn.Parameter(torch.randn(4, 3)), torch.nn.Parameter(torch.tensor(0.2))]
    shared = [torch.nn.Parameter(p.detach().clone()) for p in separate]
    optimizers = [make([separate[0]]), make([separate[1]]), make(shared)]
    for _ in range(20):
        grads = [torch.randn_like(p) for p in separate]
        for p, q, g in zip(separate, shared, grads, strict=True):
            p.grad, q.grad = g.clone(), g.clone()
        for opt in optimizers:
            opt.step()
    assert all(torch.equal(p, q) for p, q in zip(separate, shared, strict=True))


def test_faithful_tanh_correction_uses_the_sources_epsilon():
    """The source: log(1 - a² + 1e-8); a saturated action gets +18.4 per dimension there."""
    from attnmem.rl.sac import squashed_sample

    mean, log_std = torch.full((1, 1), 30.0), torch.full((1, 1), -20.0)
    torch.manual_seed(0)
    _, faithful = squashed_sample(mean, log_std, faithful=True)
    torch.manual_seed(0)
    _, clean = squashed_sample(mean, log_std)
    # faithful actions start saturated (tanh(30) is 1 in float32): the guard decides the value
    assert float(faithful - clean) == pytest.approx(math.log(1e-6) - math.log(1e-8), rel=1e-2)
