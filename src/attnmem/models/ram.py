"""The Recurrent Attention Model (Mnih et al. 2014) and the baselines of its error table.

Models (the study's ``model`` axis):

- ``ram``: the paper's form (spec C.1 / C.4): glimpse network in sum form
  g = ReLU(W(ReLU(W ρ)) + W(ReLU(W l))) with 128 / 128 / 256 units, a ReLU-RNN core of 256,
  a linear-tanh location mean on the *detached* core state with a fixed σ, a linear baseline
  on the detached state, a linear softmax action network on the last state.
- ``ram_faithful``: the Blebot repository as it ran (spec C.3): the glimpse network
  concatenates [h_g; h_l] before its last layer, and the location mean and the value read the
  core state without detaching it (209,421 parameters, as logged).
- ``ram_random``: the same network with locations drawn uniformly from [−1, 1]² at train and
  test time (the paper's random-glimpse ablation); trained on the cross-entropy alone.
- ``fc``: two fully connected hidden layers of 256 (the paper's "FC, 2 layers").
- ``conv``: two convolutional layers (16 5×5 and 32 5×5 filters, stride 2) and a hidden layer
  of 256; the paper does not give its conv net's shape in the text available to us.

The retina (``retina``) takes k square patches centred at l, the first ``patch`` wide and each
next one twice as wide, and average-pools each to ``patch`` × ``patch``.  It is computed for a
whole batch and all scales at once from a summed-area table: every output pixel is one box sum,
four gathered corners, so there is no loop over images or scales.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

MODELS = ("ram", "ram_faithful", "ram_random", "fc", "conv")
#: Models that take glimpses (their cells have glimpses >= 1; the others' is 0).
GLIMPSING = ("ram", "ram_faithful", "ram_random")
CLASSES = 10


def location_to_pixel(loc: Tensor, side: int) -> Tensor:
    """Pixel (row, column) of a location in [−1, 1]² ((−1, −1) = top-left): floor(½(l+1)·side),
    as kevinzakka's retina and Blebot's sensor (integer truncation) compute it.  The location is
    (x, y) = (column, row), so the result is flipped to (row, column)."""
    return torch.floor(0.5 * (loc + 1.0) * side).long().flip(-1)


def summed_area(images: Tensor) -> Tensor:
    """Summed-area table (B × (H+1) × (W+1), float64 so that box sums stay exact enough) of a
    batch of images; a retina reads every glimpse of an episode from the same table."""
    return F.pad(images.double().cumsum(-1).cumsum(-2), (1, 0, 1, 0))


def retina(
    images: Tensor, loc: Tensor, patch: int, scales: int, table: Tensor | None = None
) -> Tensor:
    """Glimpses (B × k × patch × patch) of ``images`` (B × H × W, square) at ``loc`` (B × 2).

    Scale i is the 2^i·patch square whose rows are [c − s/2, c + s/2) around the centre pixel c,
    average-pooled by 2^i; outside the image the value is 0 (the padding, equal to the
    background of the raw-pixel inputs).  Each output pixel is one box sum of the summed-area
    table: with the box's edges clamped to the image, it is the sum over the box's part inside
    the image, which is exactly zero padding.  ``table`` = ``summed_area(images)`` when given.
    """
    b, side, dev = images.shape[0], images.shape[-1], images.device
    if table is None:
        table = summed_area(images)
    centre = location_to_pixel(loc, side)  # B × 2
    factor = 2 ** torch.arange(scales, device=dev)  # pooling factor of each scale
    sides = patch * factor
    top = centre[:, None, :] - (sides // 2)[None, :, None]  # B × k × 2
    edges = (
        top[..., None]
        + (torch.arange(patch + 1, device=dev)[None, :] * factor[:, None])[None, :, None]
    )
    edges = edges.clamp(0, side)
    rows, cols = edges[:, :, 0], edges[:, :, 1]  # B × k × (patch + 1)
    width = table.shape[-1]
    index = rows[..., :, None] * width + cols[..., None, :]  # B × k × (p+1) × (p+1)
    corners = table.reshape(b, -1).gather(1, index.reshape(b, -1)).reshape(index.shape)
    sums = corners[..., 1:, 1:] - corners[..., :-1, 1:] - corners[..., 1:, :-1]
    sums = sums + corners[..., :-1, :-1]
    return (sums / (factor.double() ** 2)[None, :, None, None]).to(images.dtype)


@dataclass(frozen=True)
class RAMConfig:
    """One RAM's shape and policy."""

    side: int
    patch: int
    scales: int
    glimpses: int
    sigma: float
    concat: bool = False  # Blebot's glimpse network: [h_g; h_l] -> 256
    detach: bool = True  # the location and baseline heads read a detached core state
    random_locations: bool = False
    hidden: int = 256
    glimpse_hidden: int = 128
    location_hidden: int = 128


@dataclass
class Episode:
    """What one pass over a batch produced."""

    logits: Tensor  # B × 10, from the last core state
    log_pi: Tensor  # B × (T−1): log-density of each sampled location (0 columns when random)
    baseline: Tensor  # B × (T−1): the baseline at the state that chose each location
    locations: Tensor  # B × T × 2: where each glimpse looked


class RAM(nn.Module):
    """Recurrent Attention Model: T glimpses, a ReLU-RNN core, a Gaussian location policy."""

    def __init__(self, config: RAMConfig):
        super().__init__()
        c = self.config = config
        self.glimpse_net = nn.Linear(c.scales * c.patch * c.patch, c.glimpse_hidden)
        self.location_net = nn.Linear(2, c.location_hidden)
        if c.concat:
            self.merge = nn.Linear(c.glimpse_hidden + c.location_hidden, c.hidden)
        else:
            self.from_glimpse = nn.Linear(c.glimpse_hidden, c.hidden)
            self.from_location = nn.Linear(c.location_hidden, c.hidden)
        self.core_input = nn.Linear(c.hidden, c.hidden)
        self.core_state = nn.Linear(c.hidden, c.hidden)
        self.location_mean = nn.Linear(c.hidden, 2)
        self.baseline = nn.Linear(c.hidden, 1)
        self.action = nn.Linear(c.hidden, CLASSES)

    def glimpse(self, images: Tensor, loc: Tensor, table: Tensor | None = None) -> Tensor:
        c = self.config
        rho = retina(images, loc, c.patch, c.scales, table).flatten(1)
        h_g = F.relu(self.glimpse_net(rho))
        h_l = F.relu(self.location_net(loc))
        if c.concat:
            return F.relu(self.merge(torch.cat([h_g, h_l], 1)))
        return F.relu(self.from_glimpse(h_g) + self.from_location(h_l))

    def forward(self, images: Tensor, generator: torch.Generator, policy: str) -> Episode:
        """One episode over a batch of images (B × H × W).

        ``policy``: ``sample`` (training and Monte Carlo evaluation: first location uniform in
        [−1, 1]², then l ~ N(μ, σ²), clamped to [−1, 1] after the log-density is taken) or
        ``greedy`` (first location the centre, then l = μ).  Random-glimpse models draw every
        location uniformly under both.
        """
        c = self.config
        b, dev = images.shape[0], images.device

        def uniform() -> Tensor:
            return (torch.rand(b, 2, generator=generator) * 2 - 1).to(dev)

        loc = uniform() if policy == "sample" or c.random_locations else images.new_zeros(b, 2)
        h = images.new_zeros(b, c.hidden)
        table = summed_area(images)  # one table serves every glimpse of the episode
        log_pi, baselines, locations = [], [], []
        for t in range(c.glimpses):
            locations.append(loc)
            h = F.relu(self.core_input(self.glimpse(images, loc, table)) + self.core_state(h))
            if t == c.glimpses - 1:
                break  # the last state classifies; no location follows it
            if c.random_locations:
                loc = uniform()
                continue
            state = h.detach() if c.detach else h
            mean = torch.tanh(self.location_mean(state))
            baselines.append(self.baseline(state).squeeze(1))
            if policy == "sample":
                noise = torch.randn(b, 2, generator=generator).to(dev)
                sample = (mean + c.sigma * noise).detach()
                # the log-density of the unclamped sample, then clamp (kevinzakka, Blebot)
                log_pi.append(torch.distributions.Normal(mean, c.sigma).log_prob(sample).sum(1))
                loc = sample.clamp(-1.0, 1.0)
            else:
                log_pi.append(mean.new_zeros(b))
                loc = mean.detach()
        empty = images.new_zeros(b, 0)
        return Episode(
            logits=self.action(h),
            log_pi=torch.stack(log_pi, 1) if log_pi else empty,
            baseline=torch.stack(baselines, 1) if baselines else empty,
            locations=torch.stack(locations, 1),
        )


class FC(nn.Module):
    """Two fully connected hidden layers of 256 on the whole image."""

    def __init__(self, side: int, hidden: int = 256):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(side * side, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, CLASSES),
        )

    def forward(self, images: Tensor) -> Tensor:
        return self.net(images)


class Conv(nn.Module):
    """Two convolutional layers (16 and 32 filters, 5×5, stride 2), a hidden layer of 256."""

    def __init__(self, side: int, hidden: int = 256):
        super().__init__()
        after = ((side - 5) // 2 + 1 - 5) // 2 + 1
        self.net = nn.Sequential(
            nn.Conv2d(1, 16, 5, stride=2),
            nn.ReLU(),
            nn.Conv2d(16, 32, 5, stride=2),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(32 * after * after, hidden),
            nn.ReLU(),
            nn.Linear(hidden, CLASSES),
        )

    def forward(self, images: Tensor) -> Tensor:
        return self.net(images.unsqueeze(1))


def build_model(
    model: str, side: int, patch: int, scales: int, glimpses: int, sigma: float
) -> nn.Module:
    """One of MODELS for images of ``side`` × ``side``."""
    if model == "fc":
        return FC(side)
    if model == "conv":
        return Conv(side)
    if model not in GLIMPSING:
        raise ValueError(f"unknown model {model!r}; allowed: {list(MODELS)}")
    faithful = model == "ram_faithful"
    return RAM(
        RAMConfig(
            side=side,
            patch=patch,
            scales=scales,
            glimpses=glimpses,
            sigma=sigma,
            concat=faithful,
            detach=not faithful,
            random_locations=model == "ram_random",
        )
    )
