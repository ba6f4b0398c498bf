"""Ticks per second of one ātmán genetic cell: the compiled engine vs the numpy reference.

    PYTHONPATH=src .venv/bin/python benchmarks/atman_throughput.py [--layout basic3x5]
        [--rule faithful] [--attention on] [--seeds 20] [--ticks 1000] [--block 50]

Both sides run the same cell of attnmem.train.atman (the published genetic loop: 10 children
per seed, every seed of the cell as one population, 20 seeds = 200 networks), from the same
seeds, through the trainer's own tick (metrics, best-so-far, snapshots, generation changes
every 500 ticks; the parent is the best of 10 networks, so that every tick steps 200); they
differ only in the step: ``compiled`` is attnmem.models.atman_fast, ``numpy`` is
attnmem.models.atman.train_step, the implementation the study ran before.  One process; the
two take turns, ``--block`` ticks each, so that the machine's other load falls on both alike;
time is process CPU time (and wall time beside it).  Warm-up: one tick each before timing
(numba loads its cached kernels then).  At the end the two populations are compared: the
engines must hold the same bytes, else the benchmark says so and fails.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

import numpy as np

from attnmem.models import atman as model
from attnmem.train import atman as trainer


def make(args, engine: str):
    runs = [
        # parent_networks = 10: the parent's ticks train as many networks as a generation's
        trainer.AtmanRun(
            args.layout, args.attention, "genetic", args.rule, seed, parent_networks=10
        )
        for seed in range(args.seeds)
    ]
    wiring = model.build_wiring(args.layout)
    state = trainer._fresh_state(runs, wiring)
    step = trainer._stepper(engine, wiring, runs[0].settings)
    return runs[0], wiring, state, step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layout", default="basic3x5", choices=sorted(model.LAYOUTS))
    parser.add_argument("--rule", default="faithful", choices=model.RULES)
    parser.add_argument("--attention", default="on", choices=trainer.ATTENTION)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--ticks", type=int, default=1000, help="ticks per side")
    parser.add_argument("--block", type=int, default=50, help="ticks per turn")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    data = model.sine_data()
    sides = {name: make(args, name) for name in ("compiled", "numpy")}
    cpu = dict.fromkeys(sides, 0.0)
    wall = dict.fromkeys(sides, 0.0)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for name in sides:  # warm-up on a throwaway state
            run, wiring, _, step = sides[name]
            trainer._tick(make(args, name)[2], run, wiring, data, step)
        for _ in range(args.ticks // args.block):
            for name, (run, wiring, state, step) in sides.items():
                w, c = time.perf_counter(), time.process_time()
                for _ in range(args.block):
                    trainer._tick(state, run, wiring, data, step)
                wall[name] += time.perf_counter() - w
                cpu[name] += time.process_time() - c
    ticks = args.ticks // args.block * args.block
    lanes = args.seeds * run.width
    print(
        f"{args.layout}/{args.attention}/genetic/{args.rule}: {args.seeds} seeds x "
        f"{run.width} children = {lanes} networks, {ticks} ticks each side, "
        f"alternating blocks of {args.block}"
    )
    for name, label in (("compiled", "compiled (atman_fast)"), ("numpy", "numpy reference")):
        print(
            f"{label:24s} {ticks / cpu[name]:8.1f} ticks/s CPU  {ticks / wall[name]:8.1f} "
            f"ticks/s wall  ({cpu[name] / ticks * 1e3:.2f} ms CPU per tick)"
        )
    ratio_cpu, ratio_wall = cpu["numpy"] / cpu["compiled"], wall["numpy"] / wall["compiled"]
    print(f"ratio: {ratio_cpu:.2f}x (CPU), {ratio_wall:.2f}x (wall)")
    a, b = sides["compiled"][2]["pop"], sides["numpy"][2]["pop"]
    same = all(
        np.array_equal(x, y, equal_nan=True)
        for x, y in zip(a.state().values(), b.state().values(), strict=True)
    )
    print("populations equal to the byte:", same)
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
