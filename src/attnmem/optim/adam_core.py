"""The Adam core that AdamW, AdamP and OrthAdam share (spec seed000 §2).

Every variant computes the same moments and bias-corrected update ``u``; they differ only in how
``u`` is projected and how strongly weight decay acts (the ratio ``r``).  Subclasses override
:meth:`DecoupledAdam._project` (and, for the thesis form of OrthAdam, :meth:`_denominator`).
The final step is always decoupled: ``w <- w * (1 - lr * wd * r)`` then ``w <- w - s * u'``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor


class DecoupledAdam(torch.optim.Optimizer):
    """Adam with decoupled weight decay; the base of every optimizer in the study."""

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        nesterov: bool = False,
        **extra: Any,
    ) -> None:
        if lr < 0.0:
            raise ValueError(f"lr must be >= 0, got {lr}")
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"betas must lie in [0, 1), got {betas}")
        if eps < 0.0 or weight_decay < 0.0:
            raise ValueError(f"eps and weight_decay must be >= 0, got {eps}, {weight_decay}")
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            nesterov=nesterov,
            **extra,
        )
        super().__init__(params, defaults)

    def _denominator(self, second_moment: Tensor, bias_correction2: float, group: dict) -> Tensor:
        """sqrt(v_hat) + eps, in the operation order of the reference implementations."""
        return (second_moment.sqrt() / math.sqrt(bias_correction2)).add_(group["eps"])

    def _project(
        self, weight: Tensor, grad: Tensor, update: Tensor, group: dict
    ) -> tuple[Tensor, float | Tensor]:
        """Return the update to apply and the weight-decay ratio; plain AdamW changes nothing."""
        return update, 1.0

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                if grad.is_sparse:
                    raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    if group["amsgrad"]:
                        state["max_exp_avg_sq"] = torch.zeros_like(p)
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                state["step"] += 1
                bias_correction1 = 1 - beta1 ** state["step"]
                bias_correction2 = 1 - beta2 ** state["step"]

                exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                second = exp_avg_sq
                if group["amsgrad"]:
                    torch.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
                    second = state["max_exp_avg_sq"]
                denom = self._denominator(second, bias_correction2, group)
                if group["nesterov"]:
                    update = (beta1 * exp_avg + (1 - beta1) * grad) / denom
                else:
                    update = exp_avg / denom

                update, ratio = self._project(p, grad, update, group)

                if group["weight_decay"] > 0:
                    p.mul_(1 - group["lr"] * group["weight_decay"] * ratio)
                p.add_(update, alpha=-group["lr"] / bias_correction1)
        return loss


class AdamW(DecoupledAdam):
    """AdamW as the thesis code implemented it: the Adam core, r = 1, no projection."""
