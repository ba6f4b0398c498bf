"""Optimizers of the optim study, and the names the config uses for them."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from attnmem.components import pick
from attnmem.optim.adam_core import AdamW, DecoupledAdam
from attnmem.optim.adamp import AdamP
from attnmem.optim.orthadam import OrthAdam

__all__ = ["OPTIMIZERS", "AdamP", "AdamW", "DecoupledAdam", "OrthAdam", "build_optimizer"]

Factory = Callable[[Iterable[torch.Tensor], float, float], torch.optim.Optimizer]

#: Config name -> factory(params, lr, weight_decay).  Settings not named here are the source's
#: defaults (betas, eps; AdamP delta 0.1, wd_ratio 0.1, nesterov off).
OPTIMIZERS: dict[str, Factory] = {
    "adamw": lambda params, lr, wd: AdamW(params, lr=lr, weight_decay=wd),
    # The copy of AdamP the thesis ran forced AMSGrad on; that is the one its numbers come from.
    "adamp": lambda params, lr, wd: AdamP(params, lr=lr, weight_decay=wd, amsgrad=True),
    "adamp_official": lambda params, lr, wd: AdamP(params, lr=lr, weight_decay=wd),
    "orthadam": lambda params, lr, wd: OrthAdam(params, lr=lr, weight_decay=wd, mode="code"),
    "orthadam_thesis": lambda params, lr, wd: OrthAdam(
        params, lr=lr, weight_decay=wd, mode="thesis", delta=0.1
    ),
}


def build_optimizer(
    name: str, params: Iterable[torch.Tensor], lr: float, weight_decay: float
) -> torch.optim.Optimizer:
    """Build the optimizer the config calls ``name``."""
    return pick(OPTIMIZERS, name, "optimizer")(params, lr, weight_decay)
