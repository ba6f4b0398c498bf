"""The plasticity curriculum: streaks, caps, determinism and resume."""

from __future__ import annotations

import copy
from dataclasses import asdict

import torch

from attnmem.models.plastic import HebbFF
from attnmem.train.curriculum import (
    Curriculum,
    CurriculumState,
    advance,
    r_converged,
    r_reached,
    r_stalled,
    run,
)

SMALL = Curriculum(mode="batched", batch=4, stage_cap=8, total_cap=24, d=10)


def test_streak_of_acc_num_sequences_converges_a_stage():
    c = Curriculum(acc_num=3, stage_cap=100)
    p = CurriculumState()
    assert not advance(p, [1.0, 1.0, 0.5, 1.0, 1.0], c)  # the 0.5 resets the streak
    assert p.streak == 2 and p.stage_sequences == 5
    assert advance(p, [0.995, 0.2], c)  # converges on the first; the second is not counted
    assert p.stages == [{"r": 1, "sequences": 6, "converged": True}]
    assert (p.r, p.streak, p.stage_sequences, p.total_sequences) == (2, 0, 0, 6)


def test_stage_cap_ends_a_stage_unconverged():
    c = Curriculum(acc_num=5, stage_cap=4)
    p = CurriculumState()
    assert advance(p, [1.0, 1.0, 1.0, 1.0], c)
    assert p.stages[-1] == {"r": 1, "sequences": 4, "converged": False}
    assert r_converged(p) == 0 and r_reached(p) == 1


def test_r_reached_counts_a_started_stage():
    p = CurriculumState(
        r=3,
        stage_sequences=2,
        stages=[
            {"r": 1, "sequences": 5, "converged": True},
            {"r": 2, "sequences": 9, "converged": False},
        ],
    )
    assert r_reached(p) == 3 and r_converged(p) == 1
    # HebbFF's R_max is where training first stalled, not the later stage it went on to
    assert r_stalled(p) == (2, 9)
    p.stages[1]["converged"] = True
    assert r_stalled(p) == (3, 2)  # nothing stalled yet: the stage still running, so far


def train(steps_cap: int, seed: int = 0):
    torch.manual_seed(seed)
    model = HebbFF(10, 8)
    progress = run(
        model,
        Curriculum(**{**asdict(SMALL), "total_cap": steps_cap}),
        torch.Generator().manual_seed(seed),
    )
    return model, progress


def test_run_is_deterministic_and_counts_sequences():
    (m1, p1), (m2, p2) = train(24), train(24)
    assert p1 == p2 and p1.total_sequences == 24
    for a, b in zip(m1.parameters(), m2.parameters(), strict=True):
        assert torch.equal(a, b)
    assert p1.r >= 3  # stage cap 8 sequences: at least two stages ended


def test_resume_mid_run_matches_an_uninterrupted_run():
    straight_model, straight = train(24)

    torch.manual_seed(0)
    model = HebbFF(10, 8)
    generator = torch.Generator().manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=SMALL.lr)
    half = run(
        model, Curriculum(**{**asdict(SMALL), "total_cap": 12}), generator, optimizer=optimizer
    )
    saved = copy.deepcopy(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "generator": generator.get_state(),
            "progress": half.state_dict(),
        }
    )

    resumed_model = HebbFF(10, 8)
    resumed_model.load_state_dict(saved["model"])
    resumed_optimizer = torch.optim.Adam(resumed_model.parameters(), lr=SMALL.lr)
    resumed_optimizer.load_state_dict(saved["optimizer"])
    resumed_generator = torch.Generator()
    resumed_generator.set_state(saved["generator"])
    progress = CurriculumState()
    progress.load_state_dict(saved["progress"])
    resumed = run(resumed_model, SMALL, resumed_generator, progress, resumed_optimizer)
    assert resumed == straight
    for a, b in zip(straight_model.parameters(), resumed_model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_faithful_mode_trains_one_sequence_per_step():
    seen = []
    run(
        HebbFF(10, 8),
        Curriculum(mode="faithful", stage_cap=3, total_cap=5, d=10),
        torch.Generator().manual_seed(1),
        on_step=lambda p, loss, accs: seen.append(len(accs)),
    )
    assert seen == [1] * 5


def test_max_r_stops_after_that_stage():
    progress = run(
        HebbFF(10, 8),
        Curriculum(batch=2, stage_cap=2, max_r=2, d=10),
        torch.Generator().manual_seed(2),
    )
    assert [s["r"] for s in progress.stages] == [1, 2] and r_reached(progress) == 2


def test_r_at_reads_the_step_plot_at_a_budget():
    from attnmem.train.curriculum import r_at

    state = CurriculumState(
        r=4,
        stage_sequences=7,
        total_sequences=37,
        stages=[
            {"r": 1, "sequences": 10, "converged": True},
            {"r": 2, "sequences": 10, "converged": True},
            {"r": 3, "sequences": 10, "converged": False},
        ],
    )
    assert [r_at(state, n) for n in (0, 9, 10, 19, 20, 29, 30, 10**6)] == [1, 1, 2, 2, 3, 3, 4, 4]


def test_hebbffs_rule_averages_five_accuracies_logged_every_ten_sequences():
    from attnmem.train.curriculum import advance

    curriculum = Curriculum(convergence="hebbff")
    state = CurriculumState()
    # a streak of 5 perfect sequences is not enough: HebbFF logs every 10th
    assert not advance(state, [1.0] * 5, curriculum)
    assert not advance(state, [1.0] * 44, curriculum)  # 4 logged values so far
    assert advance(state, [1.0], curriculum)  # the 5th, at sequence 50
    assert state.stages[-1] == {"r": 1, "sequences": 50, "converged": True}
    assert state.logged == []
    # one logged 0.98 keeps the mean of its windows at 0.996 until it drops out
    assert not advance(state, [1.0] * 39 + [0.98], curriculum)
    assert not advance(state, [1.0] * 49, curriculum)  # windows up to 0.98, 1, 1, 1, 1
    assert advance(state, [1.0], curriculum)  # sequence 90: 1, 1, 1, 1, 1
    assert state.stages[-1]["sequences"] == 90
