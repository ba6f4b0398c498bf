"""How a plasticity job's threads pay: the population engine on 1 thread against N threads.

A plasticity job trains the seeds of one cell as one population (attnmem.models.plastic_pop);
with ``resources.threads`` > 1 its lanes run in groups side by side, one compiled call per group
(nogil kernels on Python threads).  The rest of a step (drawing each lane's sequence, the
readout, A layers' matmuls, Adam, the curriculum's bookkeeping) runs on one thread.  This
script trains the same 5 lanes (float32, as the shipped configs run) for a fixed wall time on 1
and on N threads, at R = 1 (100 scenes) and R = 10 (200 scenes, where a paper-scale run spends
most of its time), and prints sequences per wall second, the speed-up, the cores kept busy and
the efficiency (speed-up per core held).  A cluster bills the cores a job holds: where the
efficiency is well below 1, fewer threads per job cost fewer CPU-hours (config/README.md).

    python benchmarks/plasticity_threads.py [--threads 2] [--seconds 8]
"""

from __future__ import annotations

import argparse
import time

import torch

from attnmem.data.familiarity import generate, train_length
from attnmem.models.plastic import build_network
from attnmem.models.plastic_pop import Population

NETWORKS = (("memo_MA", 100), ("memo_MA", 50), ("hebbff", 50))
LANES = 5


def rate(name: str, size: int, threads: int, r: int, seconds: float) -> tuple[float, float]:
    """(sequences per wall second, cores busy) of a 5-lane population on ``threads``."""
    models = []
    for k in range(LANES):
        torch.manual_seed(k)
        models.append(build_network(name, size))
    population = Population(models, dtype="float32", threads=threads)
    streams = [torch.Generator().manual_seed(k) for k in range(LANES)]

    def step() -> None:  # as plasticity.train_cell steps: every lane's draw, then one step
        seqs = [generate(1, train_length(r), r, g) for g in streams]
        population.step([s.frames.numpy() for s in seqs], [s.labels.numpy() for s in seqs], 4)

    step()  # numba's compilation
    count, wall, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - wall < seconds:
        step()
        count += LANES
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return count / wall, cpu / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="threads to compare with 1")
    parser.add_argument("--seconds", type=float, default=8.0, help="per network, R and side")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"population of {LANES} lanes, float32; 1 thread against {args.threads}")
    print(
        f"{'network':<14}{'R':>3}{'1 thread seq/s':>16}{f'{args.threads} threads seq/s':>18}"
        f"{'speed-up':>10}{'cores busy':>12}{'efficiency':>12}"
    )
    for name, size in NETWORKS:
        for r in (1, 10):
            one, _ = rate(name, size, 1, r, args.seconds)
            many, busy = rate(name, size, args.threads, r, args.seconds)
            print(
                f"{f'{name} {size}':<14}{r:>3}{one:>16.0f}{many:>18.0f}{many / one:>9.2f}x"
                f"{busy:>12.2f}{many / one / args.threads:>12.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
