"""Environment steps per second: this PPO engine vs Stable-Baselines3's PPO, same settings.

    PYTHONPATH=src .venv/bin/python benchmarks/ppo_throughput.py [--steps 100000]

Both train CartPole-v1 in one process, one after the other, on one torch thread, with identical
hyperparameters: 4 environments x 250 steps per rollout, 4 epochs of minibatches of 64, Adam
lr 3e-4, gamma 0.99, GAE lambda 0.95, clip 0.2, value coefficient 0.5, entropy 0.01, grad-norm
0.5, advantages standardised per minibatch, no value clipping, and the same network: a shared
Linear(4 -> 128) (SB3: its features extractor), then per head Linear(128 -> 256) -> ReLU ->
Linear(256 -> out) (SB3: net_arch pi=[256], vf=[256]); this engine's dropout is set to 0 here,
since SB3 has none.  This engine runs its clean loop (`mlp` policy); nothing is evaluated.
Prints steps/s for each and the ratio.  The two take turns (``--chunk`` steps each), so that
the machine's other load, which moves both numbers, falls on both alike; the ratio is also given
on process CPU time, which that load moves less.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch import nn

ENV = "CartPole-v1"
ENVS, PER_ENV, EPOCHS, MINIBATCH, LR = 4, 250, 4, 64, 3e-4


class Ours:
    """This engine's clean loop, advanced one chunk at a time."""

    def __init__(self, seed: int):
        from attnmem.rl.ppo import PPO, PPOSettings, VecEnv

        settings = PPOSettings(
            mode="clean", policy="mlp", rollout=ENVS * PER_ENV, envs=ENVS, epochs=EPOCHS,
            minibatch=MINIBATCH, lr=LR, dropout=0.0,
        )  # fmt: skip
        torch.manual_seed(seed)
        self.env = VecEnv(ENV, ENVS)
        self.agent = PPO(self.env.observations, self.env.actions, settings, seed)
        self.inputs = self.env.reset([seed + i for i in range(ENVS)])

    def learn(self, steps: int) -> None:
        from attnmem.rl.ppo import collect

        for _ in range(steps // (ENVS * PER_ENV)):
            out = collect(self.agent, self.env, self.inputs, PER_ENV)
            self.inputs = out["inputs"]
            self.agent.update(out["batch"])


class StableBaselines:
    """SB3's PPO with the same settings and network, advanced one chunk at a time."""

    def __init__(self, seed: int):
        from stable_baselines3 import PPO
        from stable_baselines3.common.env_util import make_vec_env
        from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

        class Embed(BaseFeaturesExtractor):
            """The shared Linear(obs -> 128) of this engine's MLP policy."""

            def __init__(self, space, features_dim: int = 128):
                super().__init__(space, features_dim)
                self.linear = nn.Linear(space.shape[0], features_dim)

            def forward(self, obs: torch.Tensor) -> torch.Tensor:
                return self.linear(obs)

        env = make_vec_env(ENV, n_envs=ENVS, seed=seed)
        self.model = PPO(
            "MlpPolicy", env, learning_rate=LR, n_steps=PER_ENV, batch_size=MINIBATCH,
            n_epochs=EPOCHS, gamma=0.99, gae_lambda=0.95, clip_range=0.2, clip_range_vf=None,
            normalize_advantage=True, ent_coef=0.01, vf_coef=0.5, max_grad_norm=0.5,
            policy_kwargs=dict(
                features_extractor_class=Embed, share_features_extractor=True,
                net_arch=dict(pi=[256], vf=[256]), activation_fn=nn.ReLU, ortho_init=False,
            ),
            device="cpu", seed=seed, verbose=0,
        )  # fmt: skip
        self.first = True

    def learn(self, steps: int) -> None:
        self.model.learn(total_timesteps=steps, reset_num_timesteps=self.first)
        self.first = False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=10_000, help="steps per turn")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    np.random.seed(args.seed)  # noqa: NPY002 - SB3 draws from the legacy global state
    sides = {"attnmem": Ours(args.seed), "sb3": StableBaselines(args.seed)}
    wall = dict.fromkeys(sides, 0.0)
    cpu = dict.fromkeys(sides, 0.0)
    # the two take turns, chunk by chunk, so that both see the machine's other load alike
    for _ in range(args.steps // args.chunk):
        for name, side in sides.items():
            w, c = time.perf_counter(), time.process_time()
            side.learn(args.chunk)
            wall[name] += time.perf_counter() - w
            cpu[name] += time.process_time() - c
    steps = args.steps // args.chunk * args.chunk
    print(f"CartPole-v1, {steps} steps each, 1 thread, identical PPO settings and network,")
    print(f"in alternating turns of {args.chunk} steps; env steps per second of wall / CPU time")
    for name, label in (("attnmem", "attnmem PPO (clean, mlp)"), ("sb3", "Stable-Baselines3 PPO")):
        print(f"{label:26s} {steps / wall[name]:8.0f} wall   {steps / cpu[name]:8.0f} CPU")
    ratio_wall = wall["sb3"] / wall["attnmem"]
    print(f"ratio: {ratio_wall:.2f}x (wall), {cpu['sb3'] / cpu['attnmem']:.2f}x (CPU)")


if __name__ == "__main__":
    main()
