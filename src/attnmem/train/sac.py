"""One run of the SAC study (seed000 §3.3): an agent on a MuJoCo task, logged as the thesis did.

Every ``reward_every`` environment steps the run records the mean *per-step* training reward of
those steps (the thesis's metric: it kept every 5th value of a 1,000-step mean, one point per
5,000 steps); every ``eval_every`` steps it records the return of ``eval_episodes`` deterministic
episodes (tanh of the mean action) on a separate environment, which the thesis never did.

Checkpoints are taken at the first episode end after every ``checkpoint_every`` steps: agent,
optimizers, replay buffer, n-step window, environment state (MuJoCo qpos/qvel and its random
generator), torch and sampler RNG states, counters and metric rows.  A killed run resumes from
there and ends with the same bytes as one that was never interrupted.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from attnmem.files import write_torch
from attnmem.rl.sac import SAC, FrameStack, NStep, Replay, SACSettings, Transition
from attnmem.run import Progress, RunRecorder, file_logger
from attnmem.seeding import derive_seed, make_deterministic

STUDY = "sac"
ENVS = ("HalfCheetah-v5", "Walker2d-v5")


class Diverged(Exception):
    """A loss stopped being finite."""


@dataclass(frozen=True)
class SACRun:
    env: str
    mode: str
    actor: str
    seed: int
    steps: int = 1_000_000
    warmup: int | None = None
    gamma: float = 0.99
    tau: float = 0.005
    batch: int = 256
    replay: int = 100_000
    n_step: int = 5
    lr: float = 3e-4
    weight_decay: float = 1e-4
    alpha: float = 0.2
    frames: int = 5
    reward_every: int = 1000
    eval_every: int = 5000
    eval_episodes: int = 1
    final_points: int = 10  # final_reward / final_eval: mean of the last this-many points
    log_every: int = 5000
    max_episode_steps: int | None = None  # None: the environment's own limit (1000)
    # network shape: the spec's by default; the benchmark matches Stable-Baselines3's with these
    hidden: tuple[int, ...] = (256,)
    layer_norm: bool = True
    activation: str = "gelu"

    @property
    def cell(self) -> str:
        return f"{self.env}/{self.mode}/{self.actor}"

    def settings(self) -> SACSettings:
        names = {f.name for f in fields(SACSettings)}
        return SACSettings(**{k: v for k, v in asdict(self).items() if k in names})  # type: ignore[arg-type]


def make_env(env_id: str, max_episode_steps: int | None = None) -> gym.Env:
    if env_id not in ENVS:
        raise ValueError(f"unknown SAC env {env_id!r}; allowed: {list(ENVS)}")
    if max_episode_steps is None:
        return gym.make(env_id)
    return gym.make(env_id, max_episode_steps=max_episode_steps)


class Episode:
    """The acting side: environment, frame stack and the actor's recurrent context."""

    def __init__(self, agent: SAC, env: gym.Env, settings: SACSettings):
        self.agent, self.env, self.settings = agent, env, settings
        self.stack = FrameStack(settings.frames) if settings.recurrent else None
        self.context_shape = getattr(agent.actor, "context_shape", None)

    def observe(self, observation: np.ndarray, first: bool) -> torch.Tensor:
        if self.stack is None:
            return torch.as_tensor(observation, dtype=torch.float32)
        return self.stack.reset(observation) if first else self.stack.push(observation)

    def zero_context(self) -> torch.Tensor | None:
        return torch.zeros(self.context_shape) if self.context_shape else None


def evaluate(
    agent: SAC, env_id: str, episodes: int, seed: int, max_episode_steps: int | None = None
) -> float:
    """Mean return of deterministic episodes (actor in eval mode: no dropout)."""
    env = make_env(env_id, max_episode_steps)
    runner = Episode(agent, env, agent.settings)
    agent.actor.eval()
    total = 0.0
    for k in range(episodes):
        observation, _ = env.reset(seed=seed + k)
        state, hidden, done = runner.observe(observation, True), runner.zero_context(), False
        while not done:
            action, hidden = agent.act(state, hidden, deterministic=True)
            observation, reward, terminated, truncated, _ = env.step(action.numpy())
            total += float(reward)
            state, done = runner.observe(observation, False), terminated or truncated
    agent.actor.train()
    env.close()
    return total / episodes


def train(
    run: SACRun,
    out_dir: str | Path,
    threads: int = 1,
    log: logging.Logger | None = None,
    stop_after: int | None = None,
    checkpoint_every: int = 50_000,
) -> dict[str, Any] | None:
    """Train (resuming from checkpoint.pt when it is this run's); write the run files.

    ``checkpoint_every`` (steps; the checkpoint is taken at the next episode end) is not part of
    the run's identity: it changes when work is saved, never the numbers.

    ``stop_after`` ends the process-side loop after that many steps without finishing the run
    (tests use it to simulate a kill right after a checkpoint); it then returns None.
    """
    log = log or file_logger(None)
    out_dir = Path(out_dir)
    settings = run.settings()
    make_deterministic(threads, derive_seed(STUDY, run.cell, run.seed))
    env = make_env(run.env, run.max_episode_steps)
    observations, actions = env.observation_space.shape[0], env.action_space.shape[0]
    low, high = env.action_space.low, env.action_space.high
    agent = SAC(observations, actions, settings)
    runner = Episode(agent, env, settings)
    state_shape = (run.frames, observations) if settings.recurrent else (observations,)
    replay = Replay(min(run.replay, run.steps), state_shape, actions, runner.context_shape)
    nstep = NStep(settings)
    sampler = torch.Generator().manual_seed(derive_seed(STUDY, f"{run.cell}/sampler", run.seed))
    explore = torch.Generator().manual_seed(derive_seed(STUDY, f"{run.cell}/warmup", run.seed))
    recorder = RunRecorder(out_dir, asdict(run), threads)
    counters = {"step": 0, "episodes": 0, "window_reward": 0.0, "episode_return": 0.0}
    eval_seed = derive_seed(STUDY, f"{run.env}/eval", run.seed)
    observation, _ = env.reset(seed=derive_seed(STUDY, f"{run.env}/env", run.seed))
    state, hidden = runner.observe(observation, True), runner.zero_context()

    def save_checkpoint() -> None:
        mujoco = env.unwrapped
        recorder.save_checkpoint(
            {
                "agent": agent.checkpoint(),
                "replay": replay.state_dict(),
                "nstep": nstep.state_dict(),
                "env": {
                    "qpos": mujoco.data.qpos.copy(),
                    "qvel": mujoco.data.qvel.copy(),
                    "rng": mujoco.np_random.bit_generator.state,
                    "observation": observation,
                },
                "frames": list(runner.stack.frames) if runner.stack else None,
                "hidden": hidden,
                "torch_rng": torch.get_rng_state(),
                "sampler": sampler.get_state(),
                "explore": explore.get_state(),
                "counters": dict(counters),
            }
        )

    saved = recorder.load_checkpoint(log)
    if saved is not None:
        agent.restore(saved["agent"])
        replay.load_state_dict(saved["replay"])
        nstep.load_state_dict(saved["nstep"])
        env.unwrapped.set_state(saved["env"]["qpos"], saved["env"]["qvel"])
        env.unwrapped.np_random.bit_generator.state = saved["env"]["rng"]
        observation = saved["env"]["observation"]
        if runner.stack is not None:
            runner.stack.frames.clear()
            runner.stack.frames.extend(saved["frames"])
            state = torch.stack(list(runner.stack.frames))
        else:
            state = torch.as_tensor(observation, dtype=torch.float32)
        hidden = saved["hidden"]
        torch.set_rng_state(saved["torch_rng"])
        sampler.set_state(saved["sampler"])
        explore.set_state(saved["explore"])
        counters = saved["counters"]
        log.info("resuming %s seed %d at step %d", run.cell, run.seed, counters["step"])
    else:
        log.info(
            "SAC %s seed %d: %d steps, updates after %d transitions, %s actor, %s mode",
            *(run.cell, run.seed, run.steps, settings.warmup_transitions, run.actor, run.mode),
        )

    progress = Progress(log, run.steps, counters["step"], unit="step")
    clean_warmup = run.mode == "clean"
    last_checkpoint = counters["step"]
    losses: dict[str, torch.Tensor] = {}
    status = "ok"
    try:
        while counters["step"] < run.steps:
            step = counters["step"] = counters["step"] + 1
            action, next_hidden = agent.act(state, hidden)
            if clean_warmup and step <= settings.warmup_transitions:
                action = torch.rand(actions, generator=explore) * 2 - 1
            scaled = low + (action.numpy() + 1.0) * 0.5 * (high - low)
            observation, reward, terminated, truncated, _ = env.step(scaled)
            next_state = runner.observe(observation, False)
            for stored in nstep.push(
                Transition(
                    state, hidden, action, float(reward), next_state, next_hidden,
                    terminated, truncated,
                )
            ):  # fmt: skip
                replay.add(stored)
            state, hidden = next_state, next_hidden
            counters["window_reward"] += float(reward)
            counters["episode_return"] += float(reward)
            if replay.size > settings.warmup_transitions:
                losses = agent.update(replay.sample(run.batch, sampler))
                if not math.isfinite(float(losses["critic_loss"] + losses["actor_loss"])):
                    raise Diverged
            if step % run.reward_every == 0:
                recorder.add(step, "train", "reward", counters["window_reward"] / run.reward_every)
                counters["window_reward"] = 0.0
            if step % run.eval_every == 0:
                score = evaluate(
                    agent, run.env, run.eval_episodes, eval_seed, run.max_episode_steps
                )
                recorder.add(step, "eval", "return", score)
            if step % run.log_every == 0:
                for name, value in losses.items():
                    recorder.add(step, "train", name, float(value))
                latest = next((r[3] for r in reversed(recorder.rows) if r[2] == "reward"), math.nan)
                progress.update(
                    step,
                    f"reward/step {latest:.3f} "
                    f"episodes {counters['episodes']} "
                    + " ".join(f"{k} {float(v):.3g}" for k, v in losses.items()),
                )
            if terminated or truncated:
                counters["episodes"] += 1
                recorder.add(step, "train", "episode_return", counters["episode_return"])
                counters["episode_return"] = 0.0
                observation, _ = env.reset()
                state, hidden = runner.observe(observation, True), runner.zero_context()
                if step - last_checkpoint >= checkpoint_every:
                    save_checkpoint()
                    last_checkpoint = step
                    if stop_after is not None and step >= stop_after:
                        return None
    except Diverged:
        status = "diverged"
        log.warning("loss is not finite at step %d; the run ends as 'diverged'", counters["step"])
    env.close()
    rewards = [r[3] for r in recorder.rows if r[1:3] == ("train", "reward")]
    returns = [r[3] for r in recorder.rows if r[1:3] == ("eval", "return")]
    tail = run.final_points
    final_metrics = {
        "final_reward": sum(rewards[-tail:]) / len(rewards[-tail:]) if rewards else None,
        "max_reward": max(rewards) if rewards else None,
        "final_eval": sum(returns[-tail:]) / len(returns[-tail:]) if returns else None,
        "episodes": counters["episodes"],
        "steps": counters["step"],
    }
    write_torch(out_dir / "actor.pt", agent.actor.state_dict())
    log.info(
        "done: final reward/step %s, final evaluation return %s",
        final_metrics["final_reward"],
        final_metrics["final_eval"],
    )
    return recorder.finish(status, final_metrics, "cpu")
