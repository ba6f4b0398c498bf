"""Training sequences per second: the batched curriculum engine vs a per-sequence loop.

Both train the same network on the same fresh sequences at R = 1 (T = 100 scenes, 400 frames)
with Adam: the peer runs each sequence through its own forward and backward pass (the source's
loop, one sequence at a time), the engine runs B sequences through one batched pass
(attnmem.train.curriculum.step).  Prints sequences/s of each and the ratio engine / peer.

    python benchmarks/plasticity_throughput.py [--network memo_MA] [--size 100] [--batch 32]
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from attnmem.data.familiarity import generate, train_length
from attnmem.models.plastic import build_network
from attnmem.train.curriculum import Curriculum, step


def per_sequence(model, optimizer, sequences: int, generator: torch.Generator) -> None:
    """The peer: one sequence, one forward, one backward, one Adam step."""
    for _ in range(sequences):
        seqs = generate(1, train_length(1), 1, generator)
        outputs = model(seqs.frames)[:, seqs.scored_steps]
        loss = F.binary_cross_entropy(outputs, seqs.labels.float())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def rate(train, sequences: int) -> float:
    start = time.perf_counter()
    train(sequences)
    return sequences / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", default="memo_MA")
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--sequences", type=int, default=256, help="per measurement")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    def fresh():
        torch.manual_seed(0)
        model = build_network(args.network, args.size)
        return model, torch.optim.Adam(model.parameters(), lr=1e-3), torch.Generator()

    model, optimizer, generator = fresh()
    per_sequence(model, optimizer, 2, generator)  # warm-up
    peer = rate(lambda n: per_sequence(model, optimizer, n, generator), args.sequences // 8)

    model, optimizer, generator = fresh()
    curriculum = Curriculum(mode="batched", batch=args.batch)
    step(model, optimizer, curriculum, 1, generator)  # warm-up

    def batched(n: int) -> None:
        for _ in range(n // args.batch):
            step(model, optimizer, curriculum, 1, generator)

    engine = rate(batched, args.sequences)
    print(f"{args.network} size {args.size}, R = 1 (400 frames), {args.threads} thread(s)")
    print(f"per-sequence loop (peer): {peer:8.1f} sequences/s")
    print(f"batched engine, B = {args.batch:3d}: {engine:8.1f} sequences/s")
    print(f"ratio engine / peer: {engine / peer:.1f}x")


if __name__ == "__main__":
    main()
