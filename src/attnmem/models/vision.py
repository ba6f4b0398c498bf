"""Image classifiers of the optim study: torchvision models, randomly initialised.

The thesis kept the ImageNet stem (7x7 stride-2 conv and max-pool) on 32x32 inputs; so do we.
``shufflenet_v2_x0_5`` is not in the thesis: it is the default config's small model, ~5x cheaper
per step than ResNet18 on a CPU, so five seeds of every optimizer fit the laptop budget.
"""

from __future__ import annotations

from collections.abc import Callable

import torchvision
from torch import nn

from attnmem.components import pick

#: name -> torchvision constructor
ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "resnet18": torchvision.models.resnet18,
    "densenet121": torchvision.models.densenet121,
    "resnext50_32x4d": torchvision.models.resnext50_32x4d,
    "shufflenet_v2_x0_5": torchvision.models.shufflenet_v2_x0_5,
}


def build_classifier(arch: str, num_classes: int) -> nn.Module:
    """A randomly initialised torchvision ``arch`` with ``num_classes`` outputs."""
    return pick(ARCHITECTURES, arch, "architecture")(weights=None, num_classes=num_classes)
