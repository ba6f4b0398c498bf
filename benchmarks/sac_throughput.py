"""SAC gradient updates per second: attnmem's SAC vs Stable-Baselines3's, same machine, one run.

Both use Stable-Baselines3's default network shape (actor and two critics of 256 x 256 ReLU),
batch 256, Adam, one gradient update per environment step, on HalfCheetah-v5, one CPU thread:

1. gradient updates alone: each agent's replay buffer is filled with the same number of
   environment steps, then ``--updates`` updates are timed (SB3: ``model.train``; attnmem:
   ``SAC.update`` on a sampled batch);
2. the whole training loop: ``--loop`` environment steps with one update each after a warm-up of
   ``--warmup`` steps (SB3: ``model.learn``; attnmem: ``attnmem.train.sac.train``).

Prints both rates and the ratios attnmem / SB3, and each side's matrix-multiply time per update
(from torch.profiler): the same arithmetic for both, so SB3's update time over attnmem's matmul
time bounds what any overhead cut can still win.

    python benchmarks/sac_throughput.py [--updates 300] [--loop 1500 (0: skip)] [--warmup 500]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import gymnasium as gym
import torch
from torch.profiler import profile

from attnmem.rl.sac import SAC, NStep, Replay, SACSettings, Transition
from attnmem.train.sac import SACRun, train

ENV = "HalfCheetah-v5"
SHAPE = {"hidden": (256, 256), "layer_norm": False, "activation": "relu"}
MATMULS = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm"}
PROFILED = 50


def matmul_ms(update, times: int = PROFILED) -> float:
    """Milliseconds per update spent inside matrix multiplies."""
    with profile() as prof:
        for _ in range(times):
            update()
    spent = sum(e.self_cpu_time_total for e in prof.key_averages() if e.key in MATMULS)
    return spent / 1e3 / times


def sb3_model(warmup: int):
    from stable_baselines3 import SAC as SB3SAC

    return SB3SAC(
        "MlpPolicy",
        gym.make(ENV),
        policy_kwargs={"net_arch": [256, 256]},
        batch_size=256,
        buffer_size=100_000,
        learning_starts=warmup,
        train_freq=1,
        gradient_steps=1,
        device="cpu",
        seed=0,
    )


def sb3_updates(fill: int, updates: int) -> tuple[float, float]:
    """-> (updates per second, matmul ms per update)."""
    model = sb3_model(fill + 1)  # no update while filling
    model.learn(total_timesteps=fill)
    start = time.perf_counter()
    model.train(gradient_steps=updates, batch_size=256)
    rate = updates / (time.perf_counter() - start)
    return rate, matmul_ms(lambda: model.train(gradient_steps=1, batch_size=256))


def attnmem_updates(fill: int, updates: int) -> tuple[float, float]:
    """-> (updates per second, matmul ms per update)."""
    env = gym.make(ENV)
    settings = SACSettings(mode="clean", actor="mlp", **SHAPE)
    agent = SAC(env.observation_space.shape[0], env.action_space.shape[0], settings)
    replay = Replay(fill, (env.observation_space.shape[0],), env.action_space.shape[0])
    nstep = NStep(settings)
    state = torch.as_tensor(env.reset(seed=0)[0], dtype=torch.float32)
    for _ in range(fill + settings.n_step):
        action = torch.rand(env.action_space.shape[0]) * 2 - 1
        observation, reward, terminated, truncated, _ = env.step(action.numpy())
        following = torch.as_tensor(observation, dtype=torch.float32)
        for stored in nstep.push(
            Transition(state, None, action, float(reward), following, None, terminated, truncated)
        ):
            replay.add(stored)
        state = following
    sampler = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for _ in range(updates):
        agent.update(replay.sample(256, sampler))
    rate = updates / (time.perf_counter() - start)
    return rate, matmul_ms(lambda: agent.update(replay.sample(256, sampler)))


def sb3_loop(steps: int, warmup: int) -> float:
    model = sb3_model(warmup)
    start = time.perf_counter()
    model.learn(total_timesteps=steps)
    return steps / (time.perf_counter() - start)


def attnmem_loop(steps: int, warmup: int) -> float:
    agent = SACSettings(mode="clean", actor="mlp", warmup=warmup, **SHAPE)
    run = SACRun(ENV, 0, agent, steps=steps, eval_every=10**9, log_every=10**9)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        train(run, out, checkpoint_every=10**9)
        return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--loop", type=int, default=1500)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{ENV}, actor and critics 256x256 ReLU, batch 256, {args.threads} thread(s)")
    (ours, ours_mm), (peer, peer_mm) = (
        attnmem_updates(args.warmup, args.updates),
        sb3_updates(args.warmup, args.updates),
    )
    print(f"gradient updates/s   attnmem {ours:7.1f}   SB3 {peer:7.1f}   ratio {ours / peer:.2f}x")
    print(
        f"ms per update        attnmem {1e3 / ours:7.2f}   SB3 {1e3 / peer:7.2f}   "
        f"(matmuls: attnmem {ours_mm:.2f}, SB3 {peer_mm:.2f}; ratio if attnmem did nothing but "
        f"its matmuls: {1e3 / peer / ours_mm:.2f}x)"
    )
    if args.loop:
        ours = attnmem_loop(args.loop, args.warmup)
        peer = sb3_loop(args.loop, args.warmup)
        print(
            f"loop steps/s ({args.loop} steps, updates after {args.warmup})   "
            f"attnmem {ours:7.1f}   SB3 {peer:7.1f}   ratio {ours / peer:.2f}x"
        )


if __name__ == "__main__":
    main()
