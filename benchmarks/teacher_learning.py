"""Does the DQN teacher of Table 4 learn?  The teacher at the thesis's budget (40k steps, replay
10k, batch 128, γ 0.95, OrthAdam, no target network), faithful and clean, on CartPole-v1 (or any
teacher env), one process per run; prints each teacher's greedy return and label distribution.

Anchor (``../shared/specs/anchors.md``): a tuned DQN (SB3 zoo: target network, γ 0.99) reaches
the maximum return of 500 on CartPole-v1 by 50k steps.  A teacher far below it, or one that
labels nearly every window with one action, makes Table 4's accuracies label frequencies.

    python benchmarks/teacher_learning.py [--env CartPole-v1] [--seeds 0 1] [--jobs 2]
"""

from __future__ import annotations

import argparse
import tempfile
from concurrent.futures import ProcessPoolExecutor


def teacher(env: str, mode: str, seed: int) -> dict:
    """One teacher at the thesis's budget: its final.json metrics."""
    import torch

    from attnmem.train.teacher import TeacherRun, make_teacher

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as out:
        return make_teacher(TeacherRun(env, mode, seed), out)["metrics"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--jobs", type=int, default=2, help="processes (one thread each)")
    args = parser.parse_args()
    runs = [(mode, seed) for mode in ("faithful", "clean") for seed in args.seeds]
    with ProcessPoolExecutor(args.jobs) as pool:
        results = list(pool.map(teacher, *zip(*[(args.env, m, s) for m, s in runs], strict=True)))
    print(f"{args.env}: DQN teacher at the thesis's budget (40k steps, γ 0.95, no target network)")
    print(f"{'mode':<9}{'seed':>5}{'greedy return':>15}{'episodes':>10}  test labels (fractions)"
          f"  majority")  # fmt: skip
    for (mode, seed), m in zip(runs, results, strict=True):
        labels = " ".join(f"{f:.2f}" for f in m["label_fractions_test"])
        print(f"{mode:<9}{seed:>5}{m['rollout_return']:>15.1f}{m['episodes']:>10}  {labels:<24}"
              f"{m['majority_accuracy']:>8.1f}%")  # fmt: skip
    print("anchor: a tuned DQN (SB3 zoo) reaches 500 on CartPole-v1 by 50k steps")


if __name__ == "__main__":
    main()
