"""Does attnmem's SAC learn?  Clean SAC with an MLP actor beside Stable-Baselines3's SAC, same
settings and seeds, on HalfCheetah-v5, in one run; prints both agents' deterministic evaluation
returns every ``--eval-every`` steps and the published anchors.

Both agents: actor and twin critics of 256 x 256 ReLU, Adam 3e-4, batch 256, one update per
environment step after ``--warmup`` uniformly random steps, 1-step TD targets (attnmem's
``n_step=1``; SB3 has no n-step returns), automatic entropy temperature from 0.2 with target −|A|,
replay of 1e6, γ 0.99, τ 0.005.  Evaluation: ``--eval-episodes`` deterministic episodes (mean
action) on a separately seeded environment.

Anchors (``../shared/specs/anchors.md``): a correct SAC reaches ≈ 3,000 (SB3 zoo, one seed) to
≈ 4,700 (Tianshou, 10 seeds) evaluation return after 50k steps on HalfCheetah, ≈ 5,000–6,500
after 100k.

    python benchmarks/sac_learning.py [--steps 50000] [--seeds 0 1] [--jobs 2]
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ENV = "HalfCheetah-v5"
SHAPE = {"hidden": (256, 256), "layer_norm": False, "activation": "relu"}
ANCHORS = "anchors: ≈ 3,000 (SB3 zoo) to ≈ 4,700 (Tianshou, 10 seeds) at 50k steps"


def attnmem_curve(seed: int, args: argparse.Namespace) -> dict[int, float]:
    """Evaluation return per step of attnmem's clean SAC (read from its metrics.csv)."""
    import torch

    from attnmem.rl.sac import SACSettings
    from attnmem.train.sac import SACRun, train

    torch.set_num_threads(1)
    settings = SACSettings(
        mode="clean",
        actor="mlp",
        n_step=1,
        batch=256,
        replay=1_000_000,
        warmup=args.warmup,
        **SHAPE,
    )
    run = SACRun(
        ENV,
        seed,
        settings,
        steps=args.steps,
        reward_every=1000,
        eval_every=args.eval_every,
        eval_episodes=args.eval_episodes,
        final_points=1,
        log_every=args.eval_every,
    )
    with tempfile.TemporaryDirectory() as out:
        train(run, out, checkpoint_every=10**9)
        rows = list(csv.DictReader(open(Path(out) / "metrics.csv")))
    return {int(r["step"]): float(r["value"]) for r in rows if r["metric"] == "return"}


def sb3_curve(seed: int, args: argparse.Namespace) -> dict[int, float]:
    """Evaluation return per step of Stable-Baselines3's SAC with the same settings."""
    import gymnasium as gym
    import torch
    from stable_baselines3 import SAC
    from stable_baselines3.common.callbacks import BaseCallback

    torch.set_num_threads(1)
    curve: dict[int, float] = {}

    class Evaluate(BaseCallback):
        def _on_step(self) -> bool:
            if self.num_timesteps % args.eval_every == 0:
                env, total = gym.make(ENV), 0.0
                for k in range(args.eval_episodes):
                    observation, _ = env.reset(seed=10_000 + seed * 100 + k)
                    done = False
                    while not done:
                        action, _ = self.model.predict(observation, deterministic=True)
                        observation, reward, terminated, truncated, _ = env.step(action)
                        total += float(reward)
                        done = terminated or truncated
                curve[self.num_timesteps] = total / args.eval_episodes
            return True

    model = SAC(
        "MlpPolicy",
        gym.make(ENV),
        policy_kwargs={"net_arch": [256, 256]},
        learning_rate=3e-4,
        buffer_size=1_000_000,
        learning_starts=args.warmup,
        batch_size=256,
        tau=0.005,
        gamma=0.99,
        train_freq=1,
        gradient_steps=1,
        ent_coef="auto_0.2",  # attnmem's α starts at 0.2; SB3's "auto" would start at 1
        device="cpu",
        seed=seed,
    )
    model.learn(total_timesteps=args.steps, callback=Evaluate())
    return curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--warmup", type=int, default=5000)
    parser.add_argument("--eval-every", type=int, default=5000)
    parser.add_argument("--eval-episodes", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2, help="processes (one thread each)")
    args = parser.parse_args()
    with ProcessPoolExecutor(args.jobs) as pool:
        ours = {s: pool.submit(attnmem_curve, s, args) for s in args.seeds}
        peer = {s: pool.submit(sb3_curve, s, args) for s in args.seeds}
        ours = {s: f.result() for s, f in ours.items()}
        peer = {s: f.result() for s, f in peer.items()}
    seeds = " ".join(f"seed {s:<5}" for s in args.seeds)
    print(f"{ENV}: deterministic evaluation return ({args.eval_episodes} episodes)")
    print(f"{'step':>7}  attnmem {seeds} | SB3 {seeds}")
    for step in sorted(set().union(*ours.values(), *peer.values())):
        mine = " ".join(f"{ours[s].get(step, float('nan')):10.0f}" for s in args.seeds)
        theirs = " ".join(f"{peer[s].get(step, float('nan')):10.0f}" for s in args.seeds)
        print(f"{step:>7}  {mine} | {theirs}")
    print(ANCHORS)


if __name__ == "__main__":
    main()
