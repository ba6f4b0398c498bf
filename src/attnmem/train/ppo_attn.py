"""One run of the attention-PPO study (seed 001): a PPO agent on a classic-control task.

Evaluation (spec A.7.4, not the source's): at step 0 and every ``eval_every`` steps (and at the
end), ``eval_episodes`` greedy episodes on their own environments, episode k seeded
``eval_seed + k`` (the source evaluated on its training environment, unseeded).  Faithful
evaluation keeps dropout on, as the source's did; clean evaluates in eval mode.

Final metrics: ``final_return`` (the last evaluation), ``last3_return`` (mean of the last three),
``steps_to_threshold`` (the first evaluation step whose mean return reaches the env's
threshold, right-censored at the budget when none does), ``reached`` (1 when one did: its mean
over seeds is the fraction that reached it), ``auc`` (trapezoid area under the evaluation
curve with returns scaled to [0, 1] by the env's return range, divided by the steps).

Checkpoints are taken after an update, every ``checkpoint_every`` steps: network, optimizer,
acting and shuffling generators, torch's RNG, the environments (pickled whole, with their
random generators), counters and metric rows.  A killed run resumes there and ends with the
same bytes as one that was never interrupted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Unpack

import numpy as np
import torch

from attnmem.jobs import JobOptions, JobSetup
from attnmem.rl.ppo import (
    PPO,
    RETURN_RANGE,
    THRESHOLDS,
    PPOSettings,
    VecEnv,
    attention_profile,
    collect,
    evaluate,
)
from attnmem.run import Diverged, Progress, RunRecorder, flat_config
from attnmem.seeding import derive_seed, make_deterministic

STUDY = "ppo_attn"


@dataclass(frozen=True)
class PPORun:
    """Everything that determines one run's numbers."""

    env: str
    seed: int
    ppo: PPOSettings
    steps: int = 100_000
    eval_every: int = 10_000
    eval_episodes: int = 10
    log_every: int = 10_000

    @property
    def cell(self) -> str:
        s = self.ppo
        return f"{self.env}/{s.policy}/{s.mode}/{s.optimizer}"


def curve_metrics(
    env: str, steps: Sequence[int], returns: Sequence[float], budget: int
) -> dict[str, float | None]:
    """final / last-3 return, censored steps to the threshold, reached, normalised AUC."""
    if not returns:
        return dict.fromkeys(
            ("final_return", "last3_return", "steps_to_threshold", "reached", "auc")
        )
    threshold = THRESHOLDS[env]
    hit = next((s for s, r in zip(steps, returns, strict=True) if r >= threshold), None)
    low, high = RETURN_RANGE[env]
    scaled = [(r - low) / (high - low) for r in returns]
    area = sum(
        (steps[i + 1] - steps[i]) * (scaled[i] + scaled[i + 1]) / 2 for i in range(len(steps) - 1)
    )
    span = steps[-1] - steps[0]
    tail = returns[-3:]
    return {
        "final_return": float(returns[-1]),
        "last3_return": float(sum(tail) / len(tail)),
        "steps_to_threshold": float(budget if hit is None else hit),
        "reached": float(hit is not None),
        "auc": float(area / span) if span > 0 else float(scaled[0]),
    }


@dataclass
class PPOLoop:
    """What a PPO job checkpoints beside the recorder's rows: the agent (networks, optimizer,
    generators), the envs, the observations the next rollout starts from, torch's generator
    and the counters; ``RunRecorder.resume`` loads it."""

    agent: PPO
    env: VecEnv
    inputs: Any
    counters: dict[str, Any] = field(default_factory=lambda: {"step": 0, "episodes": 0})

    def state_dict(self) -> dict[str, Any]:
        return {
            "agent": self.agent.state_dict(),
            "env": self.env.state_dict(),
            "inputs": self.inputs,
            "torch_rng": torch.get_rng_state(),
            "counters": dict(self.counters),
        }

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        self.agent.load_state_dict(saved["agent"])
        self.env.load_state_dict(saved["env"])
        self.inputs = saved["inputs"]
        torch.set_rng_state(saved["torch_rng"])
        self.counters.update(saved["counters"])


def train(
    run: PPORun,
    out_dir: str | Path,
    **options: Unpack[JobOptions],
) -> dict[str, Any]:
    """Train (resuming from checkpoint.pt when it is this run's); write the run files.

    Reads no ``inputs`` and runs on the CPU whatever ``device`` says: networks of 0.2 M
    parameters acting one step at a time gain nothing from a GPU.  ``checkpoint_every`` (steps,
    default 20,000; taken after the next update) changes when work is saved, never the numbers.
    ``on_step(step)`` runs after every checkpoint (tests raise from it to simulate a kill).
    """
    job = JobSetup(**options)
    every = job.every(20_000)
    log = job.logger
    out_dir = Path(out_dir)
    s = run.ppo
    make_deterministic(job.threads, derive_seed(STUDY, run.cell, run.seed))
    env = VecEnv(run.env, s.n_envs, s.history if s.policy == "attn_history" else 1)
    agent = PPO(env.observations, env.actions, s, derive_seed(STUDY, f"{run.cell}/agent", run.seed))
    recorder = RunRecorder(out_dir, flat_config(run), job.threads)
    env_seed = derive_seed(STUDY, f"{run.env}/env", run.seed)
    eval_seed = derive_seed(STUDY, f"{run.env}/eval", run.seed)
    loop = PPOLoop(agent, env, env.reset([env_seed + i for i in range(s.n_envs)]))
    counters = loop.counters

    def run_eval(step: int, visited: list[np.ndarray] | None = None) -> None:
        # faithful evaluation draws its dropout from a stream of its own, seeded by the step,
        # so that evaluating never moves the training run's generators
        rng = (
            np.random.Generator(np.random.PCG64(eval_seed + step)) if agent.acting_dropout else None
        )
        scores = evaluate(agent, run.env, run.eval_episodes, eval_seed, rng, visited)
        recorder.add(step, "eval", "return", sum(scores) / len(scores))

    if recorder.resume(loop, log):
        log.info("resuming %s seed %d at step %d", run.cell, run.seed, counters["step"])
    else:
        log.info(
            "PPO %s seed %d: %d steps, %d env(s), rollouts of %d, %s mode",
            run.cell, run.seed, run.steps, s.n_envs, s.rollout, s.mode,
        )  # fmt: skip
        run_eval(0)

    progress = Progress(log, run.steps, counters["step"], unit="step")
    last_checkpoint = counters["step"]
    status = "ok"
    visited: list[np.ndarray] = []
    try:
        while counters["step"] < run.steps:
            per_env = min(s.rollout, run.steps - counters["step"]) // s.n_envs
            if per_env == 0:
                break
            if s.mode == "faithful":
                loop.inputs = env.reset()  # the source reset its env at every rollout's start
            out = collect(agent, env, loop.inputs, per_env)
            loop.inputs = out["inputs"]
            losses = agent.update(out["batch"])
            step = counters["step"] = counters["step"] + per_env * s.n_envs
            if out["episodes"]:
                counters["episodes"] += len(out["episodes"])
                mean = sum(r for r, _ in out["episodes"]) / len(out["episodes"])
                recorder.add(step, "train", "episode_return", mean)
            final = step >= run.steps
            if step % run.eval_every == 0 or final:
                run_eval(step, visited if final else None)
            if step % run.log_every == 0 or final:
                for name, value in losses.items():
                    recorder.add(step, "train", name, value)
                latest = next(r[3] for r in reversed(recorder.rows) if r[1] == "eval")
                progress.update(
                    step,
                    f"eval return {latest:.1f} episodes {counters['episodes']} "
                    + " ".join(f"{k} {v:.3g}" for k, v in losses.items()),
                )
            if step - last_checkpoint >= every and not final:
                recorder.save_checkpoint(loop.state_dict())
                last_checkpoint = step
                job.step_done(step)
    except Diverged:
        status = "diverged"
        log.warning("loss is not finite at step %d; the run ends as 'diverged'", counters["step"])
    env.close()
    evals = [(r[0], r[3]) for r in recorder.rows if r[1:3] == ("eval", "return")]
    metrics: dict[str, Any] = curve_metrics(
        run.env, [e[0] for e in evals], [e[1] for e in evals], run.steps
    )
    metrics["steps"] = counters["step"]
    metrics["episodes"] = counters["episodes"]
    # what the policy attends to over the final evaluation's states (eval mode)
    metrics["attention"] = attention_profile(
        agent, np.concatenate(visited) if visited else np.zeros((0, 1), dtype=np.float32)
    )
    log.info(
        "done: final return %s, last-3 mean %s, steps to threshold %s",
        metrics["final_return"], metrics["last3_return"], metrics["steps_to_threshold"],
    )  # fmt: skip
    return recorder.finish(status, metrics, "cpu")
