"""Time one optimizer step on ResNet18's parameters: ours vs the reference implementations.

Peers on the same machine in one run: torch.optim.AdamW (single-tensor loop, the form ours
mirrors) and the `adamp` package (the official AdamP).  Prints ms per step and the ratio
ours / peer (lower is better; 1.0 means no overhead).

    python benchmarks/optimizer_step.py [--repeats 30] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import adamp as adamp_reference
import torch
import torchvision

from attnmem.optim import AdamP, AdamW, OrthAdam


def time_steps(make_optimizer, repeats: int) -> float:
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10)
    params = list(model.parameters())
    for p in params:
        p.grad = torch.randn_like(p) * 1e-3
    optimizer = make_optimizer(params)
    for _ in range(3):  # state allocation and warm-up
        optimizer.step()
    start = time.perf_counter()
    for _ in range(repeats):
        optimizer.step()
    return (time.perf_counter() - start) / repeats * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    lr, wd = 3e-3, 3e-4
    pairs = [
        ("AdamW", lambda p: AdamW(p, lr=lr, weight_decay=wd),
         "torch.optim.AdamW(foreach=False)",
         lambda p: torch.optim.AdamW(p, lr=lr, weight_decay=wd, foreach=False)),
        ("AdamP official", lambda p: AdamP(p, lr=lr, weight_decay=wd),
         "adamp.AdamP", lambda p: adamp_reference.AdamP(p, lr=lr, weight_decay=wd)),
        ("AdamP as ran (AMSGrad)", lambda p: AdamP(p, lr=lr, weight_decay=wd, amsgrad=True),
         "adamp.AdamP", lambda p: adamp_reference.AdamP(p, lr=lr, weight_decay=wd)),
        ("OrthAdam (code)", lambda p: OrthAdam(p, lr=lr, weight_decay=wd),
         "adamp.AdamP", lambda p: adamp_reference.AdamP(p, lr=lr, weight_decay=wd)),
    ]  # fmt: skip
    print(f"ResNet18 (11.2 M parameters, 62 tensors), {args.threads} thread(s), "
          f"{args.repeats} steps each")  # fmt: skip
    print(f"{'ours':<24}{'ms/step':>9}   {'peer':<34}{'ms/step':>9}{'ratio':>8}")
    for name, ours, peer_name, peer in pairs:
        t_ours, t_peer = time_steps(ours, args.repeats), time_steps(peer, args.repeats)
        print(f"{name:<24}{t_ours:>9.1f}   {peer_name:<34}{t_peer:>9.1f}{t_ours / t_peer:>8.2f}")


if __name__ == "__main__":
    main()
