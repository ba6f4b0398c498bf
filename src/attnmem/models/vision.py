"""Image classifiers of the optim study: torchvision models, randomly initialised.

The thesis kept the ImageNet stem (7x7 stride-2 conv and max-pool) on 32x32 inputs; so do we.
``shufflenet_v2_x0_5`` is not in the thesis: it is the default config's small model, ~5x cheaper
per step than ResNet18 on a CPU, so five seeds of every optimizer fit the laptop budget.
"""

from __future__ import annotations

import torchvision
from torch import nn

ARCHITECTURES: tuple[str, ...] = (
    "resnet18",
    "densenet121",
    "resnext50_32x4d",
    "shufflenet_v2_x0_5",
)


def build_classifier(arch: str, num_classes: int) -> nn.Module:
    """A randomly initialised torchvision ``arch`` with ``num_classes`` outputs."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; allowed: {list(ARCHITECTURES)}")
    return getattr(torchvision.models, arch)(weights=None, num_classes=num_classes)
