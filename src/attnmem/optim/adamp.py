"""AdamP (Heo et al., ICLR 2021): project scale-invariant updates, shrink their decay."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch.nn.functional as F
from torch import Tensor

from attnmem.optim.adam_core import DecoupledAdam


def channel_view(x: Tensor) -> Tensor:
    """Each output channel is one row."""
    return x.reshape(x.size(0), -1)


def layer_view(x: Tensor) -> Tensor:
    """The whole tensor is one row."""
    return x.reshape(1, -1)


def project_rows(weight: Tensor, update: Tensor, view: Callable[[Tensor], Tensor], eps: float):
    """Remove from each row of ``update`` its component along the matching row of ``weight``."""
    shape = [-1] + [1] * (weight.dim() - 1)
    unit = weight / view(weight).norm(dim=1).view(shape).add_(eps)
    return update - unit * view(unit * update).sum(dim=1).view(shape)


class AdamP(DecoupledAdam):
    """AdamP.  ``amsgrad=True`` is the copy the thesis ran (it forced AMSGrad); False is official.

    Only tensors with more than one dimension are candidates.  The channel view is tried first,
    then the layer view; a view whose largest |cos(grad, w)| is below ``delta / sqrt(row length)``
    is taken as scale-invariant: the update is projected and weight decay scaled by ``wd_ratio``.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        delta: float = 0.1,
        wd_ratio: float = 0.1,
        nesterov: bool = False,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            nesterov=nesterov,
            delta=delta,
            wd_ratio=wd_ratio,
        )

    def _project(self, weight, grad, update, group):
        if weight.dim() <= 1:
            return update, 1.0
        for view in (channel_view, layer_view):
            cosine = F.cosine_similarity(view(grad), view(weight), dim=1, eps=group["eps"]).abs()
            if cosine.max() < group["delta"] / math.sqrt(view(weight).size(1)):
                return project_rows(weight, update, view, group["eps"]), group["wd_ratio"]
        return update, 1.0
