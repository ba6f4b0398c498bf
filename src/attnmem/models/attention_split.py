"""AttentionSplit (seed000 §1): the thesis's recurrent "split attention" layer, as the code ran.

With f input features, d hidden units and h heads (k = d / h per head):

1. input encoding: x_t is cut into f/h groups of h features, each mapped by one shared W_in
   (h -> h·d/f); the concatenation (d values) is read as h heads × k and P_t = GELU(LN_in(·));
2. hidden encoding (when a hidden H is handed in): vec(H_t) cut into groups of h, each mapped by
   U (h -> h), then Ĥ_t = LN_hid(GELU(·)) (the code applies GELU before the norm);
3. recurrence over t with memory C (zero at t = 0):
   M = drop(C + Ĥ_t);  G = drop(GELU(a ⊙_head M)) with one scalar gain a_h = Σ_j A[h, j] per head;
   S = P_t + G;  Y_t = GELU(LN_cell(S));  C = SELU(S) (taken before the norm, as in the code);
   Z_t = C is the hidden handed to the next layer or the next environment step;
4. output stage: ``linear`` (default, thesis Alg. 7, the SAC runs): O_t = GELU(W_f vec(Y_t) + b_f);
   ``conv`` (the code that produced Table 4): Y as a 1-channel T×d image, Conv2d(1 -> h,
   (h-1)×(h-1)), GELU, then ch_i <- SELU(ch_i - ch_{i-1}) for i = 1..h-1 in order, and
   O = GELU(LN_d(ch_{h-1})).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

OutputStage = Literal["linear", "conv"]


def check_sizes(inputs: int, hidden: int, heads: int) -> None:
    """Raise ValueError unless f % h == 0, d % h == 0 and d·h / f is an integer."""
    problems = []
    if heads < 1:
        problems.append("n_heads must be >= 1")
    else:
        if inputs % heads:
            problems.append(f"inputs ({inputs}) must be divisible by n_heads ({heads})")
        if hidden % heads:
            problems.append(f"hidden_size ({hidden}) must be divisible by n_heads ({heads})")
        if (hidden * heads) % inputs:
            problems.append(
                f"hidden_size * n_heads / inputs ({hidden} * {heads} / {inputs}) must be an integer"
            )
    if problems:
        raise ValueError(
            f"AttentionSplit(inputs={inputs}, hidden_size={hidden}, n_heads={heads}): "
            + "; ".join(problems)
        )


class _OneChannelConv(torch.autograd.Function):
    """``F.conv2d`` of a one-channel image with a (c, 1, k, k) kernel and same padding, with a
    backward written as two plain convolutions.

    PyTorch's convolution_backward for one input channel took half of a width-256
    AttentionSplit training step on the CPU (oneDNN's path for it is slow).  Here the input's
    gradient is a c -> 1 correlation with the flipped kernel (fastest without oneDNN) and the
    weight's a correlation of the padded images with the output gradient, batch as channels
    (fastest with it).  Same values up to rounding; tests/test_attention_split.py checks both
    against autograd's.
    """

    @staticmethod
    def forward(ctx, image: Tensor, weight: Tensor, bias: Tensor, padding: int) -> Tensor:
        ctx.save_for_backward(image, weight)
        ctx.padding = padding
        return F.conv2d(image, weight, bias, padding=padding)

    @staticmethod
    def backward(ctx, grad: Tensor):
        image, weight = ctx.saved_tensors
        p = ctx.padding
        grad_image = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            onednn = torch.backends.mkldnn.enabled
            torch.backends.mkldnn.enabled = False  # not .flags(): that also resets TF32 and warns
            try:
                grad_image = F.conv2d(grad, weight.transpose(0, 1).flip(2, 3), padding=p)
            finally:
                torch.backends.mkldnn.enabled = onednn
        if ctx.needs_input_grad[1]:
            padded = F.pad(image, (p, p, p, p)).transpose(0, 1)  # (1, B, T + 2p, d + 2p)
            grad_weight = F.conv2d(padded, grad.transpose(0, 1)).transpose(0, 1)
        if ctx.needs_input_grad[2]:
            grad_bias = grad.sum(dim=(0, 2, 3))
        return grad_image, grad_weight, grad_bias, None


class AttentionSplit(nn.Module):
    """One AttentionSplit layer: ``forward(x, hidden) -> (outputs, context)``.

    ``x`` is (B, T, f) or (B, f) (read as T = 1).  ``hidden`` is None or any tensor with
    (B, T, d) elements per step (the previous layer's context, (B, T, h', d/h')).  Returns
    outputs (B, T, d) and context (B, T, h, k); with a 2-D input the T axis is dropped from both.
    """

    def __init__(
        self,
        inputs: int,
        hidden_size: int,
        n_heads: int,
        output_stage: OutputStage = "linear",
        dropout: float = 0.1,
    ):
        super().__init__()
        check_sizes(inputs, hidden_size, n_heads)
        if output_stage not in ("linear", "conv"):
            raise ValueError(f"output_stage must be 'linear' or 'conv', not {output_stage!r}")
        if output_stage == "conv" and (n_heads < 2 or n_heads % 2):
            # kernel (h-1)x(h-1) with padding (h-1)//2 keeps the T x d size only for odd h-1
            raise ValueError(f"the conv output stage needs an even n_heads >= 2, not {n_heads}")
        f, d, h = inputs, hidden_size, n_heads
        self.inputs, self.hidden_size, self.heads, self.width = f, d, h, d // h
        self.output_stage = output_stage
        group_out = h * d // f
        std_in = math.sqrt(2 / (h * h * d / f))
        self.head_weight = nn.Parameter(torch.randn(h, group_out) * std_in)  # W_in
        self.cell_attention = nn.Parameter(torch.randn(h, h) * std_in)  # U
        self.cells = nn.Parameter(torch.randn(h, self.width) * math.sqrt(2 / d))  # A
        self.norm_in = nn.LayerNorm(self.width)
        self.norm_cell = nn.LayerNorm(self.width)
        self.norm_hidden = nn.LayerNorm(self.width)
        self.dropout = nn.Dropout(dropout)
        if output_stage == "linear":
            self.last = nn.Linear(d, d)
            nn.init.normal_(self.last.weight, std=math.sqrt(2) / d)
        else:
            self.conv = nn.Conv2d(1, h, kernel_size=h - 1, padding=(h - 1) // 2)
            nn.init.normal_(self.conv.weight, std=math.sqrt(2 / (h - 1)))
            self.norm_out = nn.LayerNorm(d)

    def _heads(self, x: Tensor) -> Tensor:
        """(B, T, f) -> grouped W_in -> (B, T, h, k)."""
        b, t, _ = x.shape
        grouped = x.reshape(b, t, self.inputs // self.heads, self.heads) @ self.head_weight
        return grouped.reshape(b, t, self.heads, self.width)

    def _hidden(self, hidden: Tensor, b: int, t: int) -> Tensor:
        """vec(H_t) in groups of h through U -> LN_hid(GELU(.)), (B, T, h, k)."""
        if hidden.numel() != b * t * self.hidden_size:
            raise ValueError(
                f"hidden must hold {self.hidden_size} values per sample and step "
                f"(batch {b}, steps {t}); got shape {tuple(hidden.shape)}"
            )
        grouped = hidden.reshape(b, t, self.hidden_size // self.heads, self.heads)
        mixed = (grouped @ self.cell_attention).reshape(b, t, self.heads, self.width)
        return self.norm_hidden(F.gelu(mixed))

    def forward(self, x: Tensor, hidden: Tensor | None = None) -> tuple[Tensor, Tensor]:
        flat = x.dim() == 2
        if flat:
            x = x.unsqueeze(1)
            hidden = hidden.unsqueeze(1) if hidden is not None else None
        if x.dim() != 3 or x.shape[-1] != self.inputs:
            raise ValueError(
                f"input must be (B, T, {self.inputs}) or (B, {self.inputs}); got {tuple(x.shape)}"
            )
        b, t, _ = x.shape
        encoded = F.gelu(self.norm_in(self._heads(x)))
        context_in = self._hidden(hidden, b, t) if hidden is not None else None
        gain = self.cells.sum(dim=1).unsqueeze(-1)  # one scalar per head, (h, 1)
        masks = self._dropout_masks(x, t, b)
        memory = x.new_zeros(b, self.heads, self.width)
        steps, contexts = [], []
        for i in range(t):
            mixed = memory if context_in is None else memory + context_in[:, i]
            if masks is None:
                gated = F.gelu(gain * mixed)
            else:
                gated = F.gelu(gain * (mixed * masks[i, 0])) * masks[i, 1]
            summed = encoded[:, i] + gated
            steps.append(F.gelu(self.norm_cell(summed)))
            memory = F.selu(summed)
            contexts.append(memory)
        y = torch.stack(steps, dim=1).reshape(b, t, self.hidden_size)
        context = torch.stack(contexts, dim=1)
        out = self._linear_stage(y) if self.output_stage == "linear" else self._conv_stage(y)
        if flat:
            return out.squeeze(1), context.squeeze(1)
        return out, context

    def _dropout_masks(self, x: Tensor, t: int, b: int) -> Tensor | None:
        """Both dropouts of every step, drawn at once: (T, 2, B, h, k) of 0 or 1/(1-p).

        Same distribution as two nn.Dropout calls per step, but one draw of uniforms instead of
        2T Bernoulli calls (several times faster on the CPU, where dropout dominated the layer).
        """
        p = self.dropout.p
        if not self.training or p == 0:
            return None
        keep = torch.rand(t, 2, b, self.heads, self.width, device=x.device, dtype=x.dtype) >= p
        return keep.to(x.dtype).mul_(1 / (1 - p))

    def _linear_stage(self, y: Tensor) -> Tensor:
        return F.gelu(self.last(y))

    def _conv_stage(self, y: Tensor) -> Tensor:
        # unbind, not channels[:, i]: each indexing's backward writes a zero-filled gradient of
        # the whole (B, h, T, d) tensor, which took a quarter of a width-256 training step
        conv = self.conv
        channels = _OneChannelConv.apply(y.unsqueeze(1), conv.weight, conv.bias, conv.padding[0])
        first, *rest = F.gelu(channels).unbind(1)  # h x (B, T, d)
        current = first
        for channel in rest:
            current = F.selu(channel - current)
        return F.gelu(self.norm_out(current))
