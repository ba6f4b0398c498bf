"""One run of the SAC study (seed000 §3.3): an agent on a MuJoCo task, logged as the thesis did.

Every ``reward_every`` environment steps the run records the mean *per-step* training reward of
those steps (the thesis's metric) as the curve; ``final_reward`` and ``max_reward`` are computed,
as the thesis's, over every ``keep_every``-th point only (it kept every 5th 1,000-step mean, one
point per 5,000 steps).  Every ``eval_every`` steps it records the return of ``eval_episodes``
deterministic episodes (tanh of the mean action) on a separate environment, which the thesis
never did.

Checkpoints are taken at the first episode end after every ``checkpoint_every`` steps: agent,
optimizers, replay buffer, n-step window, environment state (MuJoCo qpos/qvel and its random
generator), torch and sampler RNG states, counters and metric rows.  A killed run resumes from
there and ends with the same bytes as one that was never interrupted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Unpack

import gymnasium as gym
import numpy as np
import torch

from attnmem.files import write_torch
from attnmem.jobs import JobOptions, JobSetup
from attnmem.rl.sac import SAC, FrameStack, NStep, Replay, SACSettings, Transition
from attnmem.run import Diverged, Progress, RunRecorder, flat_config
from attnmem.seeding import derive_seed, make_deterministic

STUDY = "sac"
ENVS = ("HalfCheetah-v5", "Walker2d-v5")


@dataclass(frozen=True)
class SACRun:
    """Everything that determines one run's numbers: the agent's settings and the loop's.

    ``reward_every``: steps per point of the reward curve (the mean per-step training reward of
    those steps; the thesis's 1,000).  ``keep_every``: ``final_reward`` (the mean of the last
    ``final_points`` kept points) and ``max_reward`` (the largest kept point) read every
    ``keep_every``-th reward point only, the points the thesis kept (its run.py saved every 5th
    1,000-step mean: steps 5,000, 10,000, ...), so they average and maximise over what the
    published numbers did; the curve keeps every point.  ``final_eval`` is the mean of the last
    ``final_points`` evaluations.
    """

    env: str
    seed: int
    sac: SACSettings  # the agent, its mode and its actor
    steps: int = 1_000_000
    reward_every: int = 1000
    keep_every: int = 5  # final_reward / max_reward read every keep_every-th reward point
    eval_every: int = 5000
    eval_episodes: int = 1
    final_points: int = 10  # final_reward / final_eval: mean of the last this-many (kept) points
    log_every: int = 5000
    max_episode_steps: int | None = None  # None: the environment's own limit (1000)

    @property
    def mode(self) -> str:
        return self.sac.mode

    @property
    def actor(self) -> str:
        return self.sac.actor

    @property
    def cell(self) -> str:
        return f"{self.env}/{self.mode}/{self.actor}"


def reward_summary(
    rewards: list[float], keep_every: int, final_points: int
) -> dict[str, float | None]:
    """``final_reward`` and ``max_reward`` of a run's reward points (one per ``reward_every``
    steps) as the thesis computed them: over every ``keep_every``-th point (the 5th, 10th, ...;
    none before the first), whatever step the run stopped at."""
    kept = rewards[keep_every - 1 :: keep_every]
    tail = kept[-final_points:]
    return {
        "final_reward": sum(tail) / len(tail) if tail else None,
        "max_reward": max(kept) if kept else None,
    }


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


class SACState:
    """Everything a SAC run changes as it trains: what its checkpoint holds.  Saving and
    restoring live side by side here so that the two cannot drift apart.

    The acting position (``observation``, the actor's input ``state`` and its context
    ``hidden``) lives here too: the loop reads and writes it through this object.
    """

    def __init__(
        self,
        agent: SAC,
        runner: Episode,
        replay: Replay,
        nstep: NStep,
        sampler: torch.Generator,
        explore: torch.Generator,
    ):
        self.agent, self.runner, self.env = agent, runner, runner.env
        self.replay, self.nstep = replay, nstep
        self.sampler, self.explore = sampler, explore  # replay batches; clean warm-up actions
        self.counters: dict[str, Any] = {
            "step": 0,
            "episodes": 0,
            "window_reward": 0.0,
            "episode_return": 0.0,
        }
        self.observation: np.ndarray | None = None
        self.state: torch.Tensor | None = None
        self.hidden: torch.Tensor | None = None

    def new_episode(self, observation: np.ndarray) -> None:
        self.observation = observation
        self.state = self.runner.observe(observation, True)
        self.hidden = self.runner.zero_context()

    def state_dict(self) -> dict[str, Any]:
        mujoco = self.env.unwrapped
        stack = self.runner.stack
        return {
            "agent": self.agent.checkpoint(),
            "replay": self.replay.state_dict(),
            "nstep": self.nstep.state_dict(),
            "env": {
                "qpos": mujoco.data.qpos.copy(),
                "qvel": mujoco.data.qvel.copy(),
                "rng": mujoco.np_random.bit_generator.state,
                "observation": self.observation,
            },
            "frames": list(stack.frames) if stack else None,
            "hidden": self.hidden,
            "torch_rng": torch.get_rng_state(),
            "sampler": self.sampler.get_state(),
            "explore": self.explore.get_state(),
            "counters": dict(self.counters),
        }

    def load_state_dict(self, saved: Mapping[str, Any]) -> None:
        self.agent.restore(saved["agent"])
        self.replay.load_state_dict(saved["replay"])
        self.nstep.load_state_dict(saved["nstep"])
        mujoco = self.env.unwrapped
        mujoco.set_state(saved["env"]["qpos"], saved["env"]["qvel"])
        mujoco.np_random.bit_generator.state = saved["env"]["rng"]
        self.observation = saved["env"]["observation"]
        stack = self.runner.stack
        if stack is not None:
            stack.frames.clear()
            stack.frames.extend(saved["frames"])
            self.state = torch.stack(list(stack.frames))
        else:
            self.state = torch.as_tensor(self.observation, dtype=torch.float32)
        self.hidden = saved["hidden"]
        torch.set_rng_state(saved["torch_rng"])
        self.sampler.set_state(saved["sampler"])
        self.explore.set_state(saved["explore"])
        # in place: the loop holds this dict under a shorter name
        self.counters.clear()
        self.counters.update(saved["counters"])


def train(
    run: SACRun,
    out_dir: str | Path,
    **options: Unpack[JobOptions],
) -> dict[str, Any]:
    """Train (resuming from checkpoint.pt when it is this run's); write the run files.

    The run reads no ``inputs``, and runs on the CPU whatever ``device`` says: one environment
    step per update on small networks, where a GPU would only add transfers.
    ``checkpoint_every`` (steps, default 50,000; the checkpoint is taken at the next episode end)
    is not part of the run's identity: it changes when work is saved, never the numbers.

    ``on_step(step)`` runs after every checkpoint (tests raise from it: a kill right after a
    checkpoint).
    """
    job = JobSetup(**options)
    every = job.every(50_000)
    log = job.logger
    out_dir = Path(out_dir)
    settings = run.sac
    make_deterministic(job.threads, derive_seed(STUDY, run.cell, run.seed))
    env = make_env(run.env, run.max_episode_steps)
    observations, actions = env.observation_space.shape[0], env.action_space.shape[0]
    low, high = env.action_space.low, env.action_space.high
    agent = SAC(observations, actions, settings)
    runner = Episode(agent, env, settings)
    state_shape = (settings.frames, observations) if settings.recurrent else (observations,)
    loop = SACState(
        agent,
        runner,
        Replay(
            min(settings.replay, run.steps),
            state_shape,
            actions,
            runner.context_shape,
            next_hidden=settings.reads_next_hidden,
        ),
        NStep(settings),
        torch.Generator().manual_seed(derive_seed(STUDY, f"{run.cell}/sampler", run.seed)),
        torch.Generator().manual_seed(derive_seed(STUDY, f"{run.cell}/warmup", run.seed)),
    )
    replay, nstep, counters = loop.replay, loop.nstep, loop.counters
    recorder = RunRecorder(out_dir, flat_config(run), job.threads)
    eval_seed = derive_seed(STUDY, f"{run.env}/eval", run.seed)
    loop.new_episode(env.reset(seed=derive_seed(STUDY, f"{run.env}/env", run.seed))[0])

    if recorder.resume(loop, log):
        log.info("resuming %s seed %d at step %d", run.cell, run.seed, counters["step"])
    else:
        log.info(
            "SAC %s seed %d: %d steps, updates after %d transitions, %s actor, %s mode",
            *(run.cell, run.seed, run.steps, settings.warmup_transitions, run.actor, run.mode),
        )

    progress = Progress(log, run.steps, counters["step"], unit="step")
    random_warmup = run.mode != "faithful"
    last_checkpoint = counters["step"]
    losses: dict[str, torch.Tensor] = {}
    status = "ok"
    try:
        while counters["step"] < run.steps:
            step = counters["step"] = counters["step"] + 1
            action, next_hidden = agent.act(loop.state, loop.hidden)
            if random_warmup and step <= settings.warmup_transitions:
                action = torch.rand(actions, generator=loop.explore) * 2 - 1
            scaled = low + (action.numpy() + 1.0) * 0.5 * (high - low)
            loop.observation, reward, terminated, truncated, _ = env.step(scaled)
            next_state = runner.observe(loop.observation, False)
            for stored in nstep.push(
                Transition(
                    loop.state, loop.hidden, action, float(reward), next_state, next_hidden,
                    terminated, truncated,
                )
            ):  # fmt: skip
                replay.add(stored)
            loop.state, loop.hidden = next_state, next_hidden
            counters["window_reward"] += float(reward)
            counters["episode_return"] += float(reward)
            if replay.size > settings.warmup_transitions:
                losses = agent.update(replay.sample(settings.batch, loop.sampler))
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
                loop.new_episode(env.reset()[0])
                if step - last_checkpoint >= every:
                    recorder.save_checkpoint(loop.state_dict())
                    last_checkpoint = step
                    job.step_done(step)
    except Diverged:
        status = "diverged"
        log.warning("loss is not finite at step %d; the run ends as 'diverged'", counters["step"])
    env.close()
    rewards = [r[3] for r in recorder.rows if r[1:3] == ("train", "reward")]
    returns = [r[3] for r in recorder.rows if r[1:3] == ("eval", "return")]
    tail = run.final_points
    final_metrics = {
        **reward_summary(rewards, run.keep_every, tail),
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
