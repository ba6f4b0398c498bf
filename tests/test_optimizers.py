"""AdamW, AdamP and OrthAdam: references, hand-computed steps and state_dict round trips."""

from __future__ import annotations

import adamp as adamp_reference
import numpy as np
import pytest
import torch
from torch import nn

from attnmem.optim import OPTIMIZERS, AdamP, AdamW, OrthAdam, adamp, build_optimizer


def small_net() -> nn.Module:
    """Conv + BatchNorm (scale-invariant, so AdamP projects), linear layers with biases."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(8 * 6 * 6, 16),
        nn.ReLU(),
        nn.Linear(16, 4),
    )


def run_steps(model: nn.Module, optimizer, steps: int, seed: int = 1) -> None:
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x = torch.randn(16, 3, 8, 8, generator=g)
        y = torch.randint(0, 4, (16,), generator=g)
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("weight_decay", [0.0, 1e-2])
def test_adamp_official_matches_reference_package(nesterov, weight_decay, monkeypatch):
    projections = []
    original = adamp.project_rows
    monkeypatch.setattr(adamp, "project_rows", lambda *a: projections.append(1) or original(*a))
    ours, ref = small_net(), small_net()
    opt_ours = AdamP(ours.parameters(), lr=1e-2, weight_decay=weight_decay, nesterov=nesterov)
    opt_ref = adamp_reference.AdamP(
        ref.parameters(), lr=1e-2, weight_decay=weight_decay, nesterov=nesterov
    )
    g = torch.Generator().manual_seed(3)
    for _ in range(20):
        x, y = torch.randn(16, 3, 8, 8, generator=g), torch.randint(0, 4, (16,), generator=g)
        for model, opt in ((ours, opt_ours), (ref, opt_ref)):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        for p_ours, p_ref in zip(ours.parameters(), ref.parameters(), strict=True):
            torch.testing.assert_close(p_ours, p_ref, atol=1e-6, rtol=0)
    assert projections, "the conv weight before BatchNorm should have been projected"


def test_adamp_as_ran_uses_the_running_max_of_v():
    w = nn.Parameter(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    opt = AdamP([w], lr=0.1, amsgrad=True)
    for grad in (torch.full((2, 2), 10.0), torch.full((2, 2), 0.1)):
        w.grad = grad
        opt.step()
    state = opt.state[w]
    assert torch.equal(
        state["max_exp_avg_sq"], torch.maximum(state["max_exp_avg_sq"], state["exp_avg_sq"])
    )
    assert (state["max_exp_avg_sq"] > state["exp_avg_sq"]).all()


def test_adamw_matches_torch_adamw():
    ours, ref = small_net(), small_net()
    run_steps(ours, AdamW(ours.parameters(), lr=1e-2, weight_decay=1e-2), 15)
    run_steps(ref, torch.optim.AdamW(ref.parameters(), lr=1e-2, weight_decay=1e-2), 15)
    for a, b in zip(ours.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


LR, WD = 0.01, 0.5


def first_step(w0, g, mode="code"):
    w = nn.Parameter(torch.tensor(w0, dtype=torch.float64))
    w.grad = torch.tensor(g, dtype=torch.float64)
    OrthAdam([w], lr=LR, weight_decay=WD, mode=mode).step()
    return w.detach().numpy()


def adam_first_update(g):
    """Step 1 of Adam: m = 0.1 g, v = 0.001 g^2, so u = 0.1 g / (|g| + eps), s = 10 lr."""
    g = np.asarray(g)
    return 0.1 * g / (np.abs(g) + 1e-8), LR / 0.1


def test_orthadam_code_projects_below_fixed_threshold():
    w, g = np.array([1.0, 1.0, 2.05]), [1.0, 1.0, -1.0]  # |cos(w, u)| = 0.0116 < 0.1
    u, s = adam_first_update(g)
    projected = u - (u @ w) / (w @ w + 1e-18) * w
    ratio = w / (np.linalg.norm(w) + 1e-18)  # elementwise, as the code ran
    expected = w * (1 - LR * WD * ratio) - s * projected
    np.testing.assert_allclose(first_step(w.tolist(), g), expected, rtol=0, atol=1e-12)
    assert abs(projected @ w) < 1e-12


def test_orthadam_code_leaves_update_alone_above_threshold():
    w, g = np.array([1.0, 2.0, 2.0]), [1.0, 1.0, -1.0]  # |cos| = 0.19 > 0.1
    u, s = adam_first_update(g)
    expected = w * (1 - LR * WD) - s * u
    np.testing.assert_allclose(first_step(w.tolist(), g), expected, rtol=0, atol=1e-12)


def test_orthadam_thesis_threshold_scales_with_size():
    # |cos| = 0.074: the code's fixed 0.1 projects, the thesis's 0.1/sqrt(3) = 0.058 does not.
    w, g = np.array([1.0, 1.0, 2.35]), [1.0, 1.0, -1.0]
    u, s = adam_first_update(g)
    code = first_step(w.tolist(), g, "code")
    thesis = first_step(w.tolist(), g, "thesis")
    # Thesis form: eps inside the square root, plain decay, no projection here.
    u_thesis = 0.1 * np.asarray(g) / np.sqrt(np.asarray(g) ** 2 + 1e-8)
    np.testing.assert_allclose(thesis, w * (1 - LR * WD) - s * u_thesis, rtol=0, atol=1e-12)
    assert not np.allclose(code, w * (1 - LR * WD) - s * u)


def test_orthadam_thesis_projects_with_plain_decay():
    w, g = np.array([1.0, 1.0, 2.05]), [1.0, 1.0, -1.0]  # 0.0116 < 0.058
    u = 0.1 * np.asarray(g) / np.sqrt(np.asarray(g) ** 2 + 1e-8)
    projected = u - (u @ w) / (w @ w + 1e-18) * w
    expected = w * (1 - LR * WD) - (LR / 0.1) * projected
    np.testing.assert_allclose(first_step(w.tolist(), g, "thesis"), expected, atol=1e-12)


def test_orthadam_handles_scalars_and_zero_tensors():
    scalar = nn.Parameter(torch.tensor(2.0))
    zeros = nn.Parameter(torch.zeros(5))
    opt = OrthAdam([scalar, zeros], lr=0.1, weight_decay=0.1)
    scalar.grad, zeros.grad = torch.tensor(1.0), torch.ones(5)
    opt.step()
    assert torch.isfinite(scalar) and torch.isfinite(zeros).all()
    # A scalar is parallel to its own update (|cos| = 1): plain Adam step with plain decay.
    assert scalar.item() == pytest.approx(2.0 * (1 - 0.01) - 0.1 * 1.0 / (1.0 + 1e-8))


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_state_dict_round_trip_continues_identically(name):
    straight = small_net()
    opt = build_optimizer(name, straight.parameters(), 1e-2, 1e-3)
    run_steps(straight, opt, 6)

    first = small_net()
    opt_first = build_optimizer(name, first.parameters(), 1e-2, 1e-3)
    run_steps(first, opt_first, 3)
    saved_model, saved_opt = first.state_dict(), opt_first.state_dict()
    resumed = small_net()
    resumed.load_state_dict(saved_model)
    opt_resumed = build_optimizer(name, resumed.parameters(), 1e-2, 1e-3)
    opt_resumed.load_state_dict(saved_opt)
    g = torch.Generator().manual_seed(1)
    for _ in range(3):  # replay the first three batches' draws so the next three match
        torch.randn(16, 3, 8, 8, generator=g), torch.randint(0, 4, (16,), generator=g)
    for _ in range(3):
        x, y = torch.randn(16, 3, 8, 8, generator=g), torch.randint(0, 4, (16,), generator=g)
        opt_resumed.zero_grad()
        nn.functional.cross_entropy(resumed(x), y).backward()
        opt_resumed.step()
    for a, b in zip(straight.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(a, b)


def test_unknown_optimizer_names_the_allowed_ones():
    with pytest.raises(ValueError, match=r"allowed: .*orthadam"):
        build_optimizer("sgd", [nn.Parameter(torch.zeros(1))], 0.1, 0.0)
