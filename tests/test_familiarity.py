"""The continual scene-familiarity generator (spec seed003 §1)."""

from __future__ import annotations

import torch

from attnmem.data.familiarity import (
    UNSCORED,
    generalisation_length,
    generate,
    novel_scenes,
    train_length,
)

D, F = 25, 4


def sample(batch=4, scenes=600, r=5, seed=0):
    return generate(batch, scenes, r, torch.Generator().manual_seed(seed))


def test_familiar_fraction_is_one_third_on_long_sequences():
    seqs = generate(16, 3000, 7, torch.Generator().manual_seed(1))
    fraction = seqs.labels[:, 7:].float().mean().item()
    assert abs(fraction - 1 / 3) < 0.01


def test_first_scenes_are_novel_and_there_are_no_double_repeats():
    seqs = sample(r=5)
    assert not seqs.labels[:, :5].any()
    assert not (seqs.labels[:, 5:] & seqs.labels[:, :-5]).bool().any()


def test_repeats_are_shuffled_copies_of_the_scene_r_earlier():
    r = 6
    seqs = sample(r=r)
    video = seqs.frames.reshape(4, -1, F, D)
    shuffled = 0
    for b, i in seqs.labels.nonzero().tolist():
        now, then = video[b, i], video[b, i - r]
        as_rows = lambda x: sorted(map(tuple, x.tolist()))  # noqa: E731
        assert as_rows(now) == as_rows(then)
        shuffled += not torch.equal(now, then)
    assert shuffled > 0.8 * seqs.labels.sum().item()  # 1 - 1/4! of shuffles move something


def test_variant_frames_flip_exactly_floor_d_var_components():
    scenes = novel_scenes(3, 50, D, F, 0.1, torch.Generator().manual_seed(2))
    flips = (scenes[:, :, 1:] != scenes[:, :, :1]).sum(-1)
    assert (flips == 2).all()
    assert set(scenes.unique().tolist()) == {-1.0, 1.0}
    assert (novel_scenes(1, 5, 40, 3, 0.25, torch.Generator())[:, :, 1:] != 0).all()


def test_novel_scenes_have_their_own_frames():
    seqs = sample(r=5)
    video = seqs.frames.reshape(4, -1, F, D)
    novel = (seqs.labels == 0).nonzero().tolist()[:50]
    bases = {tuple(video[b, i, 0].tolist()) for b, i in novel}
    assert len(bases) == len(novel)


def test_same_seed_same_sequences_and_targets():
    a, b = sample(seed=3), sample(seed=3)
    assert torch.equal(a.frames, b.frames) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.frames, sample(seed=4).frames)
    target = a.total_target
    assert target.shape == (4, 600 * F)
    assert (target[:, : F - 1] == UNSCORED).all()
    assert torch.equal(target[:, a.scored_steps], a.labels)


def test_sequence_lengths():
    assert train_length(1) == 100 and train_length(10) == 200
    assert generalisation_length(2) == 1000 and generalisation_length(10) == 2000


def _draws(seed, batch, scenes, d, frames, levels):
    """The generator's four draws, quantised to ``levels`` values so that ties are common."""
    g = torch.Generator().manual_seed(seed)
    base = torch.randint(0, 2, (batch, scenes, 1, d), generator=g)
    noise = torch.randint(0, levels, (batch, scenes, frames - 1, d), generator=g) / levels
    coins = torch.rand(batch, scenes, generator=g)
    shuffles = torch.randint(0, levels, (batch, scenes, frames), generator=g) / levels
    return base, noise, coins, shuffles


def test_compiled_assembly_equals_the_torch_construction_and_gives_way_on_ties():
    """generate() builds a batch from its draws in compiled code, and hands the batch to the
    torch construction when two tied draws would let torch's (unstable) argsort decide."""
    import numpy as np

    from attnmem.data.familiarity import _assemble, _generate_torch

    batch, scenes, d, frames, r, flips = 2, 30, 9, 4, 3, 2
    outcomes = set()
    for seed in range(40):
        for levels in (7, 1000, 2**24):  # many ties, a few, (almost) none
            base, noise, coins, shuffles = _draws(seed, batch, scenes, d, frames, levels)
            video = np.empty((batch, scenes, frames, d), dtype=np.float32)
            labels = np.zeros((batch, scenes), dtype=np.int64)
            args = (coins.numpy(), shuffles.numpy(), r, flips, 0.5, video, labels)
            ok = _assemble(base.numpy(), noise.numpy(), *args)
            outcomes.add(ok)
            if ok:
                ref = _generate_torch(base, noise, coins, shuffles, r, flips, 0.5, d, frames)
                assert np.array_equal(video.reshape(batch, -1, d), ref.frames.numpy())
                assert np.array_equal(labels, ref.labels.numpy())
    assert outcomes == {True, False}  # both paths were taken
