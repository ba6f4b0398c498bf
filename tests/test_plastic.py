"""Plastic networks (spec seed003 §2): hand-written steps, the M rule, Dyn_RO's memory."""

from __future__ import annotations

import pytest
import torch

from attnmem.models.plastic import HebbFF, Memo, NonlRO, PlasticLayer, Stack, dyn_ro

D = 6


def frames(batch=3, length=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2, (batch, length, D), generator=g).float() * 2 - 1


def test_one_layer_memo_a_is_a_hand_written_hebbff_step():
    torch.manual_seed(0)
    net = Memo(D, [4], ["A"])
    layer, out = net.layers[0], net.readout
    x = frames(batch=1, length=3)[0]
    W, b, eta = layer.weight.detach(), layer.bias.detach()[:, 0], layer.eta.detach()
    lam = torch.sigmoid(layer.decay_logit.detach())
    P, expected = torch.zeros(4, D), []
    for t in range(3):
        h = torch.sigmoid((W + P) @ x[t] + b)
        expected.append(torch.sigmoid(out.weight.detach()[0] @ h + out.bias.detach()[0]))
        P = lam * P + eta * torch.outer(h, x[t])
    torch.testing.assert_close(net(x[None])[0].detach(), torch.stack(expected))


def test_m_uses_w_times_one_plus_p():
    torch.manual_seed(1)
    layer = PlasticLayer(D, 4, "M")
    P = torch.randn(2, 4, D)
    u = torch.randn(2, D)
    expected = torch.einsum("boi,bi->bo", layer.weight * (1 + P), u) + layer.bias[:, 0]
    torch.testing.assert_close(layer.preactivation(u, P), expected)
    # the same as (W ⊙ P) u + W u + b
    split = torch.einsum("boi,bi->bo", layer.weight * P, u) + u @ layer.weight.T + layer.bias[:, 0]
    torch.testing.assert_close(layer.preactivation(u, P), split)


def test_dyn_ro_second_layer_term_is_rebuilt_from_the_previous_frame_only():
    torch.manual_seed(2)
    net = dyn_ro(D, [4, 3], ["M", "A"])
    first, second = net.layers
    x = frames(batch=1, length=3)[0]
    with torch.no_grad():
        P1, P2, expected = torch.zeros(4, D), torch.zeros(3, 4), []
        for t in range(3):
            h1 = torch.tanh((first.weight * (1 + P1)) @ x[t] + first.bias[:, 0])
            h2 = torch.sigmoid((second.weight + P2) @ h1 + second.bias[:, 0])
            expected.append(torch.sigmoid(net.readout.weight[0] @ h2 + net.readout.bias[0]))
            P1 = first.decay() * P1 + first.eta * torch.outer(h1, x[t])
            P2 = second.eta * torch.outer(h2, h1)  # no decay, no memory beyond one frame
        torch.testing.assert_close(net(x[None])[0], torch.stack(expected))
        # the second layer's decay exists but is never used
        before = net(x[None])
        second.decay_logit.fill_(-20.0)
        torch.testing.assert_close(net(x[None]), before)


def test_memo_second_layer_keeps_memory():
    torch.manual_seed(2)
    net = Memo(D, [4, 3], ["M", "A"])
    with torch.no_grad():
        net.layers[0].eta.zero_()
    x = frames(batch=2, length=4)
    changed = x.clone()
    changed[:, 0] *= -1
    assert not torch.allclose(net(x)[:, 3], net(changed)[:, 3])


def test_batch_sequences_are_independent():
    torch.manual_seed(3)
    for net in (
        Memo(D, [4, 4], ["M", "A"]),
        dyn_ro(D, [4, 4], ["M", "M"]),
        NonlRO(D, [5, 5], "M"),
        Stack(D, [3, 3], ["M", "A"]),
        HebbFF(D, 8),
    ):
        x = frames(batch=3)
        together = net(x)
        alone = torch.cat([net(x[i : i + 1]) for i in range(3)])
        torch.testing.assert_close(together, alone)
        assert together.shape == (3, 5) and ((together > 0) & (together < 1)).all()


def test_gradients_reach_every_parameter_through_the_whole_sequence():
    torch.manual_seed(4)
    for net in (
        Memo(D, [4, 4], ["M", "A"], eta="neuron"),
        NonlRO(D, [5, 5], "A"),
        Stack(D, [3, 3], ["M", "A"], eta="scalar"),
    ):
        net(frames()).sum().backward()
        for name, p in net.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_hebbff_initialisation():
    net = HebbFF(25, 50)
    layer = net.layers[0]
    assert layer.eta.item() == pytest.approx(-5 / 25) and layer.decay().item() == pytest.approx(
        0.99
    )
    with torch.no_grad():
        layer.decay_logit.fill_(1.7)
    assert layer.decay().item() == 1.0  # clamped
