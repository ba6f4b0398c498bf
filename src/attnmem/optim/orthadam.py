"""OrthAdam (seed000 §2): the thesis's AdamP variant, in the form that ran and the form it states.

``mode="code"`` (primary; it produced every published number):
  every tensor, biases and scalars included, is tested with c = |cos(vec(w), vec(u))| against
  the *Adam update* u.  Below the fixed threshold 0.1 the update loses its component along w and
  the decay ratio becomes the elementwise tensor w / ||w||, so decay acts as w - lr*wd*w*w/||w||.
``mode="thesis"`` (ablation; Alg. 8): eps inside the square root, threshold delta / sqrt(n),
  plain decoupled decay (r = 1).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from attnmem.optim.adam_core import DecoupledAdam

# The code divides by (<w,w> + 1e-18) and (||w|| + 1e-18); kept so zero tensors stay finite.
_TINY = 1e-18
CODE_THRESHOLD = 0.1


def remove_component(update: Tensor, weight: Tensor) -> Tensor:
    """u - (<u,w> / (<w,w> + tiny)) w."""
    return update - (torch.sum(update * weight) / (torch.sum(weight * weight) + _TINY)) * weight


class OrthAdam(DecoupledAdam):
    """OrthAdam; see the module docstring for the two modes."""

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-4,
        amsgrad: bool = False,
        mode: Literal["code", "thesis"] = "code",
        delta: float = 0.1,
    ) -> None:
        if mode not in ("code", "thesis"):
            raise ValueError(f"OrthAdam mode must be 'code' or 'thesis', got {mode!r}")
        super().__init__(
            params,
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            mode=mode,
            delta=delta,
        )

    def _denominator(self, second_moment, bias_correction2, group):
        if group["mode"] == "thesis":
            return (second_moment / bias_correction2).add_(group["eps"]).sqrt_()
        return super()._denominator(second_moment, bias_correction2, group)

    def _project(self, weight, grad, update, group):
        flat_w, flat_u = weight.reshape(1, -1), update.reshape(1, -1)
        cosine = F.cosine_similarity(flat_w, flat_u, dim=1).abs().item()
        if group["mode"] == "thesis":
            if cosine < group["delta"] / math.sqrt(weight.numel()):
                return remove_component(update, weight), 1.0
            return update, 1.0
        if cosine < CODE_THRESHOLD:
            return remove_component(update, weight), weight / (weight.norm() + _TINY)
        return update, 1.0
