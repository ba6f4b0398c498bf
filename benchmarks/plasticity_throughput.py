"""Faithful-protocol training speed: the population engine and the fast engine against the
per-sequence autograd loop.

The faithful protocol (spec seed003 §3) is one fresh sequence per Adam step.  All three sides run
exactly that step (draw the sequence, loss and gradients, Adam) on the same network, the same
initial weights and the same sequence stream, at R = 1 (T = 100 scenes = 400 frames), on one
thread, in one process, in alternating blocks.  Time is this process's CPU time
(time.process_time): on a shared machine wall time counts other people's work, CPU time does
not; on an idle core the two agree, so the rates read as sequences per second of one core.
``autograd`` is the torch reference (per-op autograd over 400 frames, torch's multi-tensor
Adam); ``fast`` is attnmem.models.plastic_fast (hand-derived BPTT with checkpointed plastic
matrices, compiled, float64; the sequence assembled and torch's Adam update run in compiled
code, same draws and same update); ``population`` is attnmem.models.plastic_pop, the engine a
plasticity job trains a cell's seeds on: ``--lanes`` networks (default 5, the seeds of a cell;
each its own weights, data stream and Adam state) advance together, one compiled call per layer
and step for all of them, in float64 (``pop64``: each lane's numbers the fast engine's) and in
float32 (``pop32``: the source's dtype, what the shipped configs run; tests/test_plastic_pop.py).

For each network (named with its plastic layer widths: "size" counts plastic neurons, so Memo
size 100 is Memo [50,50]) it prints sequences/s per core of the four, each compiled engine's
ratio to autograd, and the arithmetic floor: the engine's floating-point operations per sequence
divided by this core's measured matmul rate in the engine's dtype (what the arithmetic alone
would cost at dense-BLAS efficiency), with each engine's fraction of its own floor.  That floor
is out of reach for these kernels: every synapse's P is read and written every frame, with W and
E read beside it (~5 loads and 2 stores per 7-8 flops).  Measured here, a bare loop that only
streams those arrays takes about half the forward kernel's time (float64 0.26 ns per synapse,
float32 0.17, against 0.55 and 0.31); unrolling over inputs and 512-bit vectors gained <= 10%.
On a shared machine run several blocks and read the ratios (all sides are timed in the same
blocks).

    python benchmarks/plasticity_throughput.py [--blocks 3] [--seconds 12] [--lanes 5]
"""

from __future__ import annotations

import argparse
import time

import torch

from attnmem.data.familiarity import generate, train_length
from attnmem.models.plastic import Memo, NonlRO, Stack, build_network
from attnmem.models.plastic_pop import Population
from attnmem.train.curriculum import Curriculum, step

#: (network, size): "size" counts plastic neurons (spec §0), so Memo size 100 is Memo [50, 50]
#: and size 200 Memo [100, 100], the two the issue names; size 50 (Memo [25, 25]) and HebbFF
#: [50] are the study's default size.
NETWORKS = (("memo_MA", 50), ("memo_MA", 100), ("memo_MA", 200), ("hebbff", 50))


def layer_dims(model: torch.nn.Module) -> str:
    """The network's plastic layer widths as the report writes them, e.g. "[50,50]"."""
    if isinstance(model, Memo):
        widths = [layer.weight.shape[0] for layer in model.layers]
    elif isinstance(model, NonlRO):
        widths = [model.memory.weight.shape[0], *(s.out_features for s in model.static)]
    elif isinstance(model, Stack):
        widths = [branch.weight.shape[0] for branch in model.branches]
    else:
        widths = []
    return "[" + ",".join(map(str, widths)) + "]"


def flops_per_sequence(model: torch.nn.Module, frames: int) -> int:
    """Floating-point operations of one forward + backward pass of the fast engine.

    Per plastic synapse and frame: forward 7 (A: W + P, multiply-add, λP + η·h·u) or 8 (M:
    W·(1 + P)); backward 4 to rebuild P_t from its checkpoint, 16 (∂P recursion, ∂W, ∂η, ∂λ,
    the Hebbian term's ∂h), + 5 where the layer's input needs a gradient (every layer but the
    first), + 3 under M.  Static layers and the readout: 2 per weight forward, 4 backward."""
    plastic, dense = [], []
    if isinstance(model, Memo):
        plastic = [(layer, i > 0) for i, layer in enumerate(model.layers)]
    elif isinstance(model, NonlRO):
        plastic = [(model.memory, False)]
        dense = [layer.weight.numel() for layer in model.static]
    elif isinstance(model, Stack):
        plastic = [(branch, False) for branch in model.branches]
    per_frame = 0
    for layer, input_grad in plastic:
        m = layer.kind == "M"
        per_frame += layer.weight.numel() * (7 + m + 4 + 16 + 5 * input_grad + 3 * m)
    per_frame += 6 * (sum(dense) + model.readout.weight.numel())
    return per_frame * frames


def matmul_rate(dtype: torch.dtype, size: int = 384, seconds: float = 1.0) -> float:
    """FLOP/s of a square matmul on this thread (per CPU second)."""
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    a @ b
    count, start = 0, time.process_time()
    while time.process_time() - start < seconds:
        a @ b
        count += 1
    return 2 * size**3 * count / (time.process_time() - start)


class _Lanes:
    """``lanes`` networks (seeds 0..lanes-1 of the cell's construction) as one population,
    each lane with its own sequence stream; ``step()`` trains every lane on one sequence."""

    def __init__(
        self, name: str, size: int, lanes: int, first: torch.nn.Module, dtype: str
    ) -> None:
        models = [first]
        for k in range(1, lanes):
            torch.manual_seed(k)
            models.append(build_network(name, size))
        self.population = Population(models, lr=Curriculum().lr, dtype=dtype)
        self.generators = [torch.Generator().manual_seed(k) for k in range(lanes)]

    def step(self) -> int:
        seqs = [generate(1, train_length(1), 1, g) for g in self.generators]
        self.population.step([s.frames.numpy() for s in seqs], [s.labels.numpy() for s in seqs], 4)
        return len(seqs)


def measure(name: str, size: int, blocks: int, seconds: float, lanes: int) -> dict:
    torch.manual_seed(0)
    model = build_network(name, size)
    sides = {}
    for engine in ("autograd", "fast"):
        torch.manual_seed(0)  # the same initial weights, optimizer and sequences on every side
        net = build_network(name, size)
        net.load_state_dict(model.state_dict())
        curriculum = Curriculum(mode="faithful", engine=engine)
        optimizer = torch.optim.Adam(net.parameters(), lr=curriculum.lr, foreach=True)
        generator = torch.Generator().manual_seed(0)

        def one(net=net, optimizer=optimizer, curriculum=curriculum, generator=generator):
            step(net, optimizer, curriculum, 1, generator)
            return 1

        one()  # warm-up (and numba's first call)
        sides[engine] = [one, 0, 0.0]
    for dtype in ("float64", "float32"):
        torch.manual_seed(0)
        first = build_network(name, size)
        first.load_state_dict(model.state_dict())
        population = _Lanes(name, size, lanes, first, dtype)
        population.step()
        sides[f"pop{dtype[-2:]}"] = [population.step, 0, 0.0]
    for _ in range(blocks):
        for side in sides.values():
            start = time.process_time()
            while time.process_time() - start < seconds / blocks / len(sides):
                side[1] += side[0]()
            side[2] += time.process_time() - start
    rates = {engine: side[1] / side[2] for engine, side in sides.items()}
    rates["flops"] = flops_per_sequence(model, 400)
    rates["dims"] = layer_dims(model)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=3, help="alternations per network")
    parser.add_argument("--seconds", type=float, default=12.0, help="per network, all sides")
    parser.add_argument("--lanes", type=int, default=5, help="networks in the population")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rate64, rate32 = matmul_rate(torch.float64), matmul_rate(torch.float32)
    print("faithful protocol (1 sequence per Adam step), R = 1: 400 frames, 1 thread")
    print(f"single-core matmul: {rate64 / 1e9:.1f} GFLOP/s float64, {rate32 / 1e9:.1f} float32")
    print(f"population: {args.lanes} lanes (seeds) per step; rates are sequences/s per core")
    print("floors: the engine's flops per sequence at the matmul rate of its dtype")
    header = (
        f"{'network':<14}{'dims':<10}{'autograd seq/s':>15}{'fast seq/s':>12}{'ratio':>8}"
        f"{'pop64 seq/s':>13}{'ratio':>8}{'pop32 seq/s':>13}{'ratio':>8}{'MFLOP/seq':>11}"
        f"{'floor64':>9}{'floor32':>9}{'fast/fl':>9}{'pop64/fl':>9}{'pop32/fl':>9}"
    )
    print(header)
    for name, size in NETWORKS:
        r = measure(name, size, args.blocks, args.seconds, args.lanes)
        floor64, floor32 = rate64 / r["flops"], rate32 / r["flops"]
        print(
            f"{f'{name} {size}':<14}{r['dims']:<10}{r['autograd']:>15.1f}{r['fast']:>12.1f}"
            f"{r['fast'] / r['autograd']:>7.1f}x{r['pop64']:>13.1f}"
            f"{r['pop64'] / r['autograd']:>7.1f}x{r['pop32']:>13.1f}"
            f"{r['pop32'] / r['autograd']:>7.1f}x{r['flops'] / 1e6:>11.1f}{floor64:>9.0f}"
            f"{floor32:>9.0f}{r['fast'] / floor64:>9.2f}{r['pop64'] / floor64:>9.2f}"
            f"{r['pop32'] / floor32:>9.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
