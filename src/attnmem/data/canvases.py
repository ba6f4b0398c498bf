"""The ram study's four data sets, built from a digit source (spec C.1 / C.4, paper §4.1).

- ``mnist28``: the 28×28 digit itself.
- ``translated60``: the digit pasted into a blank 60×60 canvas with its top-left corner
  uniform in {0..32}².
- ``cluttered60``: translated60 plus 4 pieces of clutter: each an 8×8 window at a uniform
  position of another digit of the same split (never the target's own image), pasted at a
  uniform position and max-combined with the canvas (values stay in [0, 255]).
- ``cluttered100``: the same on 100×100 (corner in {0..72}²) with 8 pieces.

Everything is a whole-batch tensor operation (no per-image loop), drawn from one
``torch.Generator`` in a fixed order, so a canvas depends only on the generator's state.
Training canvases are composed afresh for every batch (the paper generates them on the fly);
validation and test canvases are composed once from a seed that depends only on the data set
and the split, so every run of a data set sees the same evaluation images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

DIGIT = 28  # side of an MNIST digit
PIECE = 8  # side of a clutter piece


@dataclass(frozen=True)
class Canvas:
    """One data set: canvas side, clutter pieces, and the paper's retina for it."""

    name: str
    side: int
    clutter: int
    patch: int  # the paper's glimpse side g for this task
    scales: int  # the paper's number of scales k


CANVASES: dict[str, Canvas] = {
    "mnist28": Canvas("mnist28", 28, 0, 8, 1),
    "translated60": Canvas("translated60", 60, 0, 12, 3),
    "cluttered60": Canvas("cluttered60", 60, 4, 12, 3),
    "cluttered100": Canvas("cluttered100", 100, 8, 12, 4),
}


def split_digits(data: dict[str, Tensor], validation: float) -> dict[str, tuple[Tensor, Tensor]]:
    """Train / validation / test digits (uint8 N × 28 × 28, int64 labels) of a prepared source.

    The validation digits are a fixed stratified ``validation`` fraction of the training digits
    (per class, a fixed permutation of its digits (NumPy seed 0), the first round(fraction ×
    count) held out): 54,000 / 6,000 of MNIST's 60,000 at 0.1, as kevinzakka and the spec.
    """
    x, y = data["x_train"].reshape(-1, DIGIT, DIGIT), data["y_train"]
    labels = y.numpy()
    rng = np.random.default_rng(0)
    held = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        held.append(rng.permutation(members)[: round(validation * len(members))])
    is_val = np.zeros(len(labels), dtype=bool)
    is_val[np.concatenate(held)] = True
    idx_train = torch.from_numpy(np.flatnonzero(~is_val))
    idx_val = torch.from_numpy(np.flatnonzero(is_val))
    return {
        "train": (x[idx_train].contiguous(), y[idx_train].contiguous()),
        "val": (x[idx_val].contiguous(), y[idx_val].contiguous()),
        "test": (data["x_test"].reshape(-1, DIGIT, DIGIT).contiguous(), data["y_test"]),
    }


def _paste(canvas: Tensor, rows: Tensor, cols: Tensor, pieces: Tensor, combine: bool) -> None:
    """Write square ``pieces`` (n × s × s) into ``canvas`` (n × S × S) at top-left (rows, cols)."""
    n, s = pieces.shape[0], pieces.shape[-1]
    offset = torch.arange(s)
    b = torch.arange(n)[:, None, None]
    r = rows[:, None, None] + offset[None, :, None]
    c = cols[:, None, None] + offset[None, None, :]
    canvas[b, r, c] = torch.maximum(canvas[b, r, c], pieces) if combine else pieces


def compose(
    digits: Tensor, index: Tensor, dataset: str, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """Canvases (uint8 n × side × side) of the digits ``index`` of ``digits`` (N × 28 × 28)
    and the top-left corner of each target digit (n × 2, row and column).

    Clutter comes from the other digits of ``digits``: a piece's source index is drawn from the
    N − 1 indices other than the target's.
    """
    spec = CANVASES[dataset]
    n, pool = len(index), len(digits)
    if spec.side == DIGIT:
        return digits[index].clone(), torch.zeros(n, 2, dtype=torch.long)
    canvas = torch.zeros(n, spec.side, spec.side, dtype=torch.uint8)
    corner = torch.randint(0, spec.side - DIGIT + 1, (n, 2), generator=generator)
    _paste(canvas, corner[:, 0], corner[:, 1], digits[index], combine=False)
    if spec.clutter and pool < 2:
        raise ValueError(f"{dataset} needs at least two digits to draw clutter from")
    for _ in range(spec.clutter):
        other = torch.randint(0, pool - 1, (n,), generator=generator)
        other = other + (other >= index).long()  # skip the target's own image
        crop = torch.randint(0, DIGIT - PIECE + 1, (n, 2), generator=generator)
        at = torch.randint(0, spec.side - PIECE + 1, (n, 2), generator=generator)
        offset = torch.arange(PIECE)
        pieces = digits[
            other[:, None, None],
            crop[:, 0, None, None] + offset[None, :, None],
            crop[:, 1, None, None] + offset[None, None, :],
        ]
        _paste(canvas, at[:, 0], at[:, 1], pieces, combine=True)
    return canvas, corner


def compose_all(
    digits: Tensor, dataset: str, seed: int, chunk: int = 4096
) -> tuple[Tensor, Tensor]:
    """Every digit of a split as a canvas, from one seed (validation and test sets)."""
    generator = torch.Generator().manual_seed(seed)
    parts = [
        compose(digits, torch.arange(i, min(i + chunk, len(digits))), dataset, generator)
        for i in range(0, len(digits), chunk)
    ]
    return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
