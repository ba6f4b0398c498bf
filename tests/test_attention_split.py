"""AttentionSplit (seed000 §1) and the teacher study's three predictors."""

import math

import pytest
import torch
import torch.nn.functional as F

from attnmem.models.attention_split import AttentionSplit, _OneChannelConv
from attnmem.models.predictors import PREDICTORS, build_predictor


def _layer_norm(values):
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / len(values)
    return [(v - mean) / math.sqrt(var + 1e-5) for v in values]


def _gelu(v):
    return 0.5 * v * (1 + math.erf(v / math.sqrt(2)))


def _selu(v):
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    return scale * (v if v > 0 else alpha * (math.exp(v) - 1))


def test_hand_computed_tiny_case():
    torch.manual_seed(0)
    layer = AttentionSplit(inputs=4, hidden_size=6, n_heads=2).eval().double()
    with torch.no_grad():  # non-trivial norms, so a mixed-up norm would show
        for norm in (layer.norm_in, layer.norm_cell, layer.norm_hidden):
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.uniform_(-0.3, 0.3)
    x = torch.randn(1, 3, 4, dtype=torch.double)
    hidden = torch.randn(1, 3, 2, 3, dtype=torch.double)
    out, context = layer(x, hidden)
    expected_out, expected_context = _by_hand(layer, x[0].tolist(), hidden[0].tolist())
    assert torch.allclose(out[0], torch.tensor(expected_out, dtype=torch.double), atol=1e-10)
    assert torch.allclose(
        context[0], torch.tensor(expected_context, dtype=torch.double), atol=1e-10
    )


def _by_hand(layer, x, hidden):
    """Spec §1 written out element by element in plain Python (eval mode: no dropout)."""
    norms = {
        "in": (layer.norm_in.weight.tolist(), layer.norm_in.bias.tolist()),
        "cell": (layer.norm_cell.weight.tolist(), layer.norm_cell.bias.tolist()),
        "hid": (layer.norm_hidden.weight.tolist(), layer.norm_hidden.bias.tolist()),
    }

    def affine(name, values):
        gamma, beta = norms[name]
        return [g * v + b for g, v, b in zip(gamma, _layer_norm(values), beta, strict=True)]

    f, d, h = layer.inputs, layer.hidden_size, layer.heads
    k = d // h
    w_in, u = layer.head_weight.tolist(), layer.cell_attention.tolist()
    gains = [sum(row) for row in layer.cells.tolist()]
    w_f, b_f = layer.last.weight.tolist(), layer.last.bias.tolist()

    def grouped(vector, matrix):
        out = []
        for g in range(len(vector) // h):
            group = vector[g * h : (g + 1) * h]
            out += [sum(group[i] * matrix[i][j] for i in range(h)) for j in range(len(matrix[0]))]
        return [out[i * k : (i + 1) * k] for i in range(h)]

    outputs, contexts = [], []
    memory = [[0.0] * k for _ in range(h)]
    for t in range(len(x)):
        encoded = [[_gelu(v) for v in affine("in", head)] for head in grouped(x[t], w_in)]
        flat_hidden = [v for head in hidden[t] for v in head]
        context_in = [affine("hid", [_gelu(v) for v in head]) for head in grouped(flat_hidden, u)]
        summed = [
            [encoded[i][j] + _gelu(gains[i] * (memory[i][j] + context_in[i][j])) for j in range(k)]
            for i in range(h)
        ]
        y = [v for head in summed for v in (_gelu(z) for z in affine("cell", head))]
        memory = [[_selu(v) for v in head] for head in summed]
        contexts.append(memory)
        outputs.append([_gelu(sum(w_f[o][i] * y[i] for i in range(d)) + b_f[o]) for o in range(d)])
    assert f == len(x[0])
    return outputs, contexts


@pytest.mark.parametrize("stage", ["linear", "conv"])
def test_shapes_2d_and_3d(stage):
    layer = AttentionSplit(8, 16, 4, output_stage=stage)
    out, context = layer(torch.randn(3, 5, 8))
    assert out.shape == (3, 5, 16) and context.shape == (3, 5, 4, 4)
    out, context = layer(torch.randn(3, 8))
    assert out.shape == (3, 16) and context.shape == (3, 4, 4)
    # a second layer with other heads takes the first's context as its hidden
    second = AttentionSplit(16, 16, 8, output_stage=stage)
    out2, context2 = second(*layer(torch.randn(3, 5, 8)))
    assert out2.shape == (3, 5, 16) and context2.shape == (3, 5, 8, 2)


@pytest.mark.parametrize("stage", ["linear", "conv"])
def test_gradient_reaches_every_parameter(stage):
    torch.manual_seed(0)
    layer = AttentionSplit(8, 16, 4, output_stage=stage)
    out, context = layer(torch.randn(3, 5, 8), torch.randn(3, 5, 16))
    (out.square().mean() + context.square().mean()).backward()
    for name, parameter in layer.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_hidden_round_trip_between_steps():
    """The context of one call is the hidden of the next (the SAC actor across env steps)."""
    torch.manual_seed(0)
    layer = AttentionSplit(8, 16, 4).eval()
    frames = torch.randn(2, 5, 8)
    _, context = layer(frames)
    with_memory, next_context = layer(frames, context)
    without, _ = layer(frames)
    assert next_context.shape == context.shape
    assert not torch.allclose(with_memory, without)
    # flat hidden (B, T, d) is the same hidden as (B, T, h, k)
    assert torch.equal(layer(frames, context.reshape(2, 5, 16))[0], with_memory)
    with pytest.raises(ValueError, match="hidden must hold 16 values"):
        layer(frames, context[:, :3])


def test_conv_stage_as_spec():
    torch.manual_seed(0)
    layer = AttentionSplit(8, 16, 4, output_stage="conv").eval()
    y = torch.randn(2, 5, 16)
    channels = F.gelu(layer.conv(y.unsqueeze(1)))
    c1 = F.selu(channels[:, 1] - channels[:, 0])
    c2 = F.selu(channels[:, 2] - c1)
    c3 = F.selu(channels[:, 3] - c2)
    assert torch.allclose(layer._conv_stage(y), F.gelu(layer.norm_out(c3)))


@pytest.mark.parametrize(
    ("f", "d", "h", "message"),
    [
        (10, 16, 4, "inputs \\(10\\) must be divisible"),
        (8, 18, 4, "hidden_size \\(18\\) must be divisible"),
        (24, 16, 4, "must be an integer"),
        (8, 16, 0, "n_heads must be >= 1"),
    ],
)
def test_incompatible_sizes_fail_clearly(f, d, h, message):
    with pytest.raises(ValueError, match=message):
        AttentionSplit(f, d, h)


def test_conv_stage_needs_even_heads():
    with pytest.raises(ValueError, match="even n_heads"):
        AttentionSplit(9, 9, 3, output_stage="conv")


def test_init_scales():
    torch.manual_seed(0)
    layer = AttentionSplit(256, 256, 4)
    assert layer.cells.std().item() == pytest.approx(math.sqrt(2 / 256), rel=0.1)
    std_in = math.sqrt(2 / (4 * 4 * 256 / 256))  # sqrt(2 / (h * h * d / f))
    assert layer.head_weight.std().item() == pytest.approx(std_in, rel=0.1)
    assert layer.last.weight.std().item() == pytest.approx(math.sqrt(2) / 256, rel=0.05)


@pytest.mark.parametrize("name", PREDICTORS)
def test_predictors_shapes_and_gradients(name):
    torch.manual_seed(0)
    model = build_predictor(name, 6, 3, hidden=32, transformer_fixed=True)
    logits = model(torch.randn(4, 10, 6))
    assert logits.shape == (4, 3)
    logits.sum().backward()
    # the first AttentionSplit layer gets no hidden: its U and LN_hid are unused (as in the source)
    unused = ("layer1.cell_attention", "layer1.norm_hidden")
    for pname, parameter in model.named_parameters():
        assert (parameter.grad is None) == pname.startswith(unused), pname


def test_transformer_bug_leaves_layer_one_dead():
    torch.manual_seed(0)
    model = build_predictor("transformer", 6, 3, hidden=32).eval()
    x = torch.randn(4, 10, 6)
    before = model(x)
    model(x).sum().backward()
    assert all(p.grad is None for p in model.layer1.parameters())
    with torch.no_grad():
        for p in model.layer1.parameters():
            p.add_(1.0)
    assert torch.equal(model(x), before)
    fixed = build_predictor("transformer", 6, 3, hidden=32, transformer_fixed=True).eval()
    fixed.load_state_dict(model.state_dict())
    assert not torch.allclose(fixed(x), before)


def test_unknown_predictor():
    with pytest.raises(ValueError, match="allowed: \\['attention_split', 'lstm', 'transformer'\\]"):
        build_predictor("gru", 4, 2)


@pytest.mark.parametrize("heads", [4, 8])
def test_one_channel_conv_gradients_equal_autograds(heads):
    """The conv stage's hand-written backward gives the gradients autograd's conv2d gives."""
    k = heads - 1
    torch.manual_seed(heads)
    image = torch.randn(3, 1, 5, 16, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(heads, 1, k, k, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(heads, dtype=torch.float64, requires_grad=True)
    grad = torch.randn(3, heads, 5, 16, dtype=torch.float64)
    ours = torch.autograd.grad(
        _OneChannelConv.apply(image, weight, bias, k // 2), (image, weight, bias), grad
    )
    theirs = torch.autograd.grad(
        F.conv2d(image, weight, bias, padding=k // 2), (image, weight, bias), grad
    )
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    assert torch.backends.mkldnn.enabled  # the backward puts the flag back
