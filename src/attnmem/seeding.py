"""Seeds and determinism.

Every run's seed derives from (study, cell, seed) so that no two runs share a random stream and
any run can be recomputed alone:  ``derive_seed`` hashes "<study>/<cell>/<seed>" with SHA-256
and keeps the first 8 bytes modulo 2**31 (``cell`` is the run's path below ``runs/``).
"""

from __future__ import annotations

import hashlib
import os
import random
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

# torch is imported inside the functions that use it: a numpy-only engine (the atman study)
# derives its seeds here without paying a second for importing torch.


def derive_seed(study: str, cell: str, seed: int) -> int:
    """The documented seed of one run: SHA-256 of "study/cell/seed", first 8 bytes mod 2**31."""
    digest = hashlib.sha256(f"{study}/{cell}/{seed}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 2**31


def make_deterministic(threads: int, seed: int) -> None:
    """Fix threads, turn on deterministic kernels and seed torch, NumPy and ``random``."""
    import torch

    # cuBLAS needs this set before CUDA starts to be deterministic; harmless on the CPU.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.set_num_threads(max(1, int(threads)))
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False
    torch.manual_seed(seed)
    # Legacy global NumPy state: some libraries (gymnasium spaces, sklearn) still draw from it.
    np.random.seed(seed % 2**32)  # noqa: NPY002
    random.seed(seed)


def pick_device(requested: str = "auto") -> torch.device:
    """``auto`` takes a GPU when one is visible (a cluster job), else the CPU."""
    import torch

    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)
