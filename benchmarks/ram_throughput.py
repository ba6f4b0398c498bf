"""Training images per second: the batched RAM engine vs a per-image loop of the same model.

Both train the paper-form RAM (attnmem.models.ram) on freshly composed canvases of the same
data set with the same hybrid loss (NLL + baseline MSE + λ·REINFORCE): the peer takes one
optimizer step per image, each image through its own forward and backward pass (the Blebot
repository's loop), the engine one step per batch of B images (attnmem.train.ram's loop:
canvases composed for the whole batch, every glimpse of the batch and all its scales read from
one summed-area table).  Random digits stand in for MNIST (the speed does not depend on them).
Prints images/s of each and the ratio engine / peer.

    python benchmarks/ram_throughput.py [--dataset mnist28] [--glimpses 6] [--batch 128]
"""

from __future__ import annotations

import argparse
import time

import torch

from attnmem.data.canvases import CANVASES, compose
from attnmem.models.ram import build_model
from attnmem.train.ram import hybrid_loss


def make(args):
    torch.manual_seed(0)
    spec = CANVASES[args.dataset]
    model = build_model("ram", spec.side, spec.patch, spec.scales, args.glimpses, 0.1)
    return model, torch.optim.Adam(model.parameters(), lr=1e-3), torch.Generator().manual_seed(0)


def train(model, optimizer, generator, digits, labels, dataset, images: int, batch: int) -> None:
    """``images`` training images in steps of ``batch`` (1 = the per-image peer)."""
    for _ in range(0, images, batch):
        index = torch.randint(0, len(labels), (batch,), generator=generator)
        canvases, _ = compose(digits, index, dataset, generator)
        x = canvases.float().div_(255.0)
        loss = hybrid_loss(model, x, labels[index], generator, 0.01)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def rate(run, images: int) -> float:
    start = time.perf_counter()
    run(images)
    return images / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist28", choices=sorted(CANVASES))
    parser.add_argument("--glimpses", type=int, default=6)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--images", type=int, default=256, help="per-image peer's images")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(1)
    digits = torch.randint(0, 256, (1000, 28, 28), generator=generator).to(torch.uint8)
    labels = torch.randint(0, 10, (1000,), generator=generator)

    model, optimizer, gen = make(args)
    train(model, optimizer, gen, digits, labels, args.dataset, 8, 1)  # warm-up
    peer = rate(
        lambda n: train(model, optimizer, gen, digits, labels, args.dataset, n, 1), args.images
    )
    model, optimizer, gen = make(args)
    train(model, optimizer, gen, digits, labels, args.dataset, args.batch, args.batch)
    engine = rate(
        lambda n: train(model, optimizer, gen, digits, labels, args.dataset, n, args.batch),
        args.batch * 20,
    )
    print(
        f"{args.dataset}, {args.glimpses} glimpses, {args.threads} thread(s): per-image loop "
        f"{peer:.0f} images/s, batched engine (B={args.batch}) {engine:.0f} images/s, "
        f"ratio {engine / peer:.1f}x"
    )


if __name__ == "__main__":
    main()
