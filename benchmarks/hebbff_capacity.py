"""HebbFF against its paper: iterations at which the curriculum reaches each R, beside the anchors.

Trains the exact HebbFF control (attnmem.models.plastic.HebbFF: h = σ((W + A)x + b),
A <- λA + η h xᵀ, scalar η₀ = -5/d, raw λ₀ = 0.99 clamped, W ~ N(0, 1/d)) one sequence per Adam
step (lr 1e-3) with the fast engine, and prints the iteration at which R was first set to each
value beside HebbFF's own training history for the same d and N (../shared/specs/anchors.md §4c,
from the published checkpoints: d = 25, N = 16 reached R = 5 at 38,490 and R = 8 at 103,590).

Two set-ups:
  --task items  (default) HebbFF's own task and curriculum, to compare like with like: single
                ±1 items (frames = 1, no variants), T = max(200, 20R) items per sequence, and its
                convergence rule (accuracy logged every 10 iterations; R <- R + 1 when the last
                5 logged accuracies average >= 0.998, at least 50 iterations after the last
                increment).
  --task scenes the plasticity study's task and curriculum (4-frame scenes, 2 flips per variant,
                T = max(100, 20R) scenes; 5 consecutive sequences at >= 0.99).

    python benchmarks/hebbff_capacity.py [--d 25] [--n 16] [--iterations 400000] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from attnmem.data.familiarity import generate, train_length
from attnmem.models.plastic import HebbFF
from attnmem.models.plastic_fast import FastNetwork
from attnmem.seeding import derive_seed

#: anchors.md §4c: iteration at which HebbFF's own run first set R, per (d, N)
ANCHORS = {
    (25, 16): {
        2: 1310,
        3: 18430,
        4: 26260,
        5: 38490,
        6: 48430,
        7: 72310,
        8: 103590,
        9: 236840,
        10: 407430,
    },
    (25, 8): {2: 240, 3: 16220, 4: 42380, 5: 48030},
    (25, 4): {2: 1130, 3: 31770},
    (25, 2): {2: 680},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d", type=int, default=25)
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--task", choices=("items", "scenes"), default="items")
    parser.add_argument("--iterations", type=int, default=400_000, help="Adam steps in all")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--report_every", type=int, default=5000)
    parser.add_argument("--json", help="write the iterations-to-R table here too")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(derive_seed("hebbff_capacity", f"{args.d}/{args.n}", args.seed))
    model = HebbFF(args.d, args.n)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    data = torch.Generator().manual_seed(derive_seed("hebbff_capacity", "data", args.seed))
    engine = FastNetwork(model)
    items = args.task == "items"
    frames, var = (1, 0.0) if items else (4, 0.1)

    r, reached = 1, {1: 0}
    logged: list[float] = []  # items: accuracies logged every 10 iterations at the current R
    streak, since = 0, 0  # scenes: consecutive passes; iterations since the last increment
    start = time.perf_counter()
    print(f"HebbFF d={args.d} N={args.n}, task {args.task}, seed {args.seed}, lr {args.lr}")
    for it in range(1, args.iterations + 1):
        length = max(200, 20 * r) if items else train_length(r)
        seqs = generate(1, length, r, data, args.d, frames, var)
        optimizer.zero_grad(set_to_none=True)
        loss, outputs = engine.loss_and_grads(seqs.frames, seqs.scored_steps, seqs.labels)
        optimizer.step()
        accuracy = float(((outputs[0] >= 0.5) == seqs.labels[0].numpy().astype(bool)).mean())
        since += 1
        if items:
            if it % 10 == 0:
                logged.append(accuracy)
            done = since >= 50 and len(logged) >= 5 and sum(logged[-5:]) >= 4.99
        else:
            streak = streak + 1 if accuracy >= 0.99 else 0
            done = streak >= 5
        if done:
            r += 1
            reached[r] = it
            logged, streak, since = [], 0, 0
            print(f"  R={r} at iteration {it:,} ({time.perf_counter() - start:.0f} s)", flush=True)
        if it % args.report_every == 0:
            rate = it / (time.perf_counter() - start)
            print(f"  it {it:,}: R={r} loss {loss:.4f} acc {accuracy:.3f} ({rate:.0f} it/s)",
                  flush=True)  # fmt: skip

    anchors = ANCHORS.get((args.d, args.n), {})
    print(f"\nR  ours (iteration R first set)  HebbFF paper (d={args.d}, N={args.n})")
    for value in sorted(set(reached) | set(anchors)):
        if value == 1:
            continue
        ours = f"{reached[value]:,}" if value in reached else "-"
        theirs = f"{anchors[value]:,}" if value in anchors else "-"
        print(f"{value:<3}{ours:>12}{theirs:>32}")
    print(f"{args.iterations:,} iterations in {time.perf_counter() - start:.0f} s; final R {r}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "reached": reached, "anchors": anchors}, f, indent=1)


if __name__ == "__main__":
    main()
