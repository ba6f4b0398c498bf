"""Continual scene familiarity (spec seed003 §1): is this scene one seen R scenes ago?

A *scene* is F frames of length d with entries ±1: a random base frame, then F-1 copies of it
with exactly floor(d·VAR) components sign-flipped.  After the first R scenes, each scene is, with
probability 1/2 and only if the scene R earlier was not itself a repeat (no double repeats),
a *familiar* scene: the frames of scene i-R in a shuffled order (label 1); otherwise a new novel
scene (label 0).  In steady state a third of the scenes are familiar.  Only the output at the last
frame of a scene is scored.  B sequences are generated at once, all from one torch.Generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import torch
from torch import Tensor

#: ``total_target`` on frames that are not scored (every frame but a scene's last).
UNSCORED = 2


@dataclass(frozen=True)
class Sequences:
    """B sequences of T scenes of F frames."""

    frames: Tensor  # (B, T*F, d), float, ±1
    labels: Tensor  # (B, T), int64: 1 familiar, 0 novel
    frames_per_scene: int

    @property
    def total_target(self) -> Tensor:
        """(B, T*F): UNSCORED on frames 1..F-1 of each scene, the scene's label on its last."""
        b, t = self.labels.shape
        target = torch.full((b, t, self.frames_per_scene), UNSCORED, dtype=torch.int64)
        target[:, :, -1] = self.labels
        return target.reshape(b, t * self.frames_per_scene)

    @property
    def scored_steps(self) -> Tensor:
        """Indices of the frames whose output is scored (each scene's last frame)."""
        f = self.frames_per_scene
        return torch.arange(f - 1, self.labels.shape[1] * f, f)


def train_length(repeat_interval: int) -> int:
    """Scenes per training sequence: T = max(100, 20 R)."""
    return max(100, 20 * repeat_interval)


def generalisation_length(repeat_interval: int) -> int:
    """Scenes per generalisation-test sequence: T = max(1000, 200 R)."""
    return max(1000, 200 * repeat_interval)


def novel_scenes(
    batch: int, scenes: int, d: int, frames: int, var: float, generator: torch.Generator
) -> Tensor:
    """(batch, scenes, frames, d): a base frame, then frames-1 copies with floor(d·var) flips."""
    base = torch.randint(0, 2, (batch, scenes, 1, d), generator=generator).float() * 2 - 1
    out = base.expand(-1, -1, frames, -1).clone()
    flips = int(d * var)
    if flips and frames > 1:
        # floor(d·var) distinct positions per variant frame: the first k of a random permutation
        order = torch.rand(batch, scenes, frames - 1, d, generator=generator).argsort(dim=-1)
        sign = torch.ones(batch, scenes, frames - 1, d)
        sign.scatter_(-1, order[..., :flips], -1.0)
        out[:, :, 1:] *= sign
    return out


def generate(
    batch: int,
    scenes: int,
    repeat_interval: int,
    generator: torch.Generator,
    d: int = 25,
    frames: int = 4,
    var: float = 0.1,
    p_repeat: float = 0.5,
) -> Sequences:
    """``batch`` independent sequences of ``scenes`` scenes with repeats at ``repeat_interval``."""
    if repeat_interval < 1 or scenes < 1:
        raise ValueError(
            f"need repeat_interval >= 1 and scenes >= 1, got {repeat_interval}, {scenes}"
        )
    r = repeat_interval
    # The four draws, in the order (and shapes) the scene-by-scene definition makes them; what
    # is built from them is compiled (a few dozen small torch ops and two argsorts cost more
    # than a training step of a small network).
    base = torch.randint(0, 2, (batch, scenes, 1, d), generator=generator)
    flips = int(d * var)
    noise = None
    if flips and frames > 1:
        noise = torch.rand(batch, scenes, frames - 1, d, generator=generator)
    coins = torch.rand(batch, scenes, generator=generator)
    shuffles = torch.rand(batch, scenes, frames, generator=generator)
    video = np.empty((batch, scenes, frames, d), dtype=np.float32)
    labels = np.zeros((batch, scenes), dtype=np.int64)
    noise_np = noise.numpy() if noise is not None else np.zeros((batch, scenes, 0, d), np.float32)
    if _assemble(base.numpy(), noise_np, coins.numpy(), shuffles.numpy(), r, flips,
                 p_repeat, video, labels):  # fmt: skip
        return Sequences(torch.from_numpy(video).reshape(batch, scenes * frames, d),
                         torch.from_numpy(labels), frames)  # fmt: skip
    # Tied draws (rare: two equal float32 values where their order decides something): torch's
    # argsort breaks ties its own way, so it builds this batch.
    return _generate_torch(base, noise, coins, shuffles, r, flips, p_repeat, d, frames)


@numba.njit(cache=True)
def _assemble(base, noise, coins, shuffles, r, flips, p_repeat, video, labels):  # pragma: no cover
    """Build video (B, S, F, d) and labels (B, S) from the draws, as _generate_torch does;
    False (and the arrays half-built) where a tie would make torch's argsort decide."""
    batch, scenes, frames, d = video.shape
    threshold = np.float32(p_repeat)  # torch compares the float32 draws with a float32 p
    picked = np.zeros(d, dtype=np.bool_)
    order = np.empty(frames, dtype=np.int64)
    for b in range(batch):
        for s in range(scenes):
            for k in range(d):
                video[b, s, 0, k] = np.float32(base[b, s, 0, k] * 2 - 1)
            for f in range(1, frames):
                for k in range(d):
                    video[b, s, f, k] = video[b, s, 0, k]
                if flips == 0:
                    continue
                # the positions of the `flips` smallest draws (argsort(...)[:flips])
                picked[:] = False
                last = -1.0
                for _ in range(flips):
                    best = -1
                    for k in range(d):
                        if not picked[k] and (
                            best < 0 or noise[b, s, f - 1, k] < noise[b, s, f - 1, best]
                        ):
                            best = k
                    picked[best] = True
                    last = noise[b, s, f - 1, best]
                    video[b, s, f, best] = -video[b, s, f, best]
                for k in range(d):  # the next smallest must differ from the last one taken
                    if not picked[k] and noise[b, s, f - 1, k] == last:
                        return False
        for i in range(r, scenes):
            if coins[b, i] < threshold and labels[b, i - r] == 0:
                labels[b, i] = 1
        for i in range(r, scenes):
            if labels[b, i] == 0:
                continue
            # the frames of scene i-R (never itself a repeat) in argsort order of the draws
            for f in range(frames):
                for g in range(f + 1, frames):
                    if shuffles[b, i, f] == shuffles[b, i, g]:
                        return False
            for f in range(frames):
                rank = 0
                for g in range(frames):
                    if shuffles[b, i, g] < shuffles[b, i, f]:
                        rank += 1
                order[rank] = f
            for f in range(frames):
                for k in range(d):
                    video[b, i, f, k] = video[b, i - r, order[f], k]
    return True


def _generate_torch(base, noise, coins, shuffles, r, flips, p_repeat, d, frames) -> Sequences:
    """The same construction in torch ops (ties broken by torch's argsort)."""
    batch, scenes = coins.shape
    video = (base.float() * 2 - 1).expand(-1, -1, frames, -1).clone()
    if noise is not None:
        # floor(d·var) distinct positions per variant frame: the first k of a random permutation
        order = noise.argsort(dim=-1)
        sign = torch.ones(batch, scenes, frames - 1, d)
        sign.scatter_(-1, order[..., :flips], -1.0)
        video[:, :, 1:] *= sign
    coin = coins < p_repeat
    shuffle = shuffles.argsort(dim=-1)
    # Which scenes repeat is a sequential rule (no repeat of a repeat), cheap on Python bools.
    labels = []
    for row in coin.tolist():
        seq = [False] * scenes
        for i in range(r, scenes):
            seq[i] = row[i] and not seq[i - r]
        labels.append(seq)
    labels_t = torch.tensor(labels, dtype=torch.bool).reshape(batch, scenes)
    # A repeat's source scene i-R is never itself a repeat, so every repeat can be copied from
    # the novel video at once: the same frames, in the drawn order, as a scene-by-scene loop.
    b, i = labels_t.nonzero(as_tuple=True)
    if b.numel():
        order = shuffle[b, i][:, :, None].expand(-1, -1, d)
        video[b, i] = video[b, i - r].gather(1, order)
    return Sequences(video.reshape(batch, scenes * frames, d), labels_t.long(), frames)
