"""The optim study (OrthAdam vs AdamW vs AdamP, seed000 §3.1): config -> runs -> results."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from attnmem.columns import Diverged, Estimate, Published, Table
from attnmem.studies.base import Figure, Job, Metric, Study

if TYPE_CHECKING:
    pass

# Torch, pandas and matplotlib are imported inside the functions that need them: the DAG imports
# this module while it parses, and a job that only tabulates starts in a fraction of the time.

TABLE = Table(
    caption=(
        "optim study: test accuracy (%) replicated over seeds vs the thesis's single run "
        "(– where the thesis published none)"
    ),
    columns=(
        Estimate("max_acc", "max_acc replicated"),
        Published("max_acc", "max_acc published"),
        Estimate("final_acc", "final_acc replicated"),
        Published("final_acc", "final_acc published"),
        Diverged(),
    ),
    order=(("dataset", "text"), ("arch", "text"), ("optimizer", "text")),
)

STUDY = Study(
    name="optim",
    source="seed 000 thesis §9.1: OrthAdam vs AdamW vs AdamP",
    axes=("dataset", "arch", "optimizer"),
    published=("max_acc", "final_acc"),
    metrics=(
        Metric("max_acc", "maximum test accuracy (%) over epochs, the thesis's metric"),
        Metric("final_acc", "test accuracy (%) after the last epoch"),
        Metric(
            "train_fraction",
            "training images the run saw per epoch, as a fraction of the dataset's training split",
            compared=False,
        ),
    ),
    budget_metric="train_fraction",
    jobs=(
        Job(
            "train_optim",
            "runs",
            ("dataset", "arch", "optimizer"),
            "attnmem.train.image_classification:train",
        ),
    ),
    figures=(
        Figure(
            "attnmem.plots.optim:draw_curves",
            "curves_{dataset}_{arch}",
            ("curves",),
            "Test accuracy per epoch on {dataset} with {arch}, one line per optimizer: the mean "
            "across seeds with its 95% t-band.  Right: the second half of training, zoomed.  The "
            "learning rate drops ×0.1 at 81/186 and 122/186 of the epochs (thesis §9.1).",
        ),
        Figure(
            "attnmem.plots.optim:draw_max_accuracy",
            "max_acc_{dataset}",
            ("runs", "summary"),
            "Maximal test accuracy (max over epochs, the thesis's metric) on {dataset}: each seed "
            "as a dot, the mean with its 95% t-interval in black, and the thesis's single-run "
            "value as a star where it published one for this dataset.",
        ),
    ),
    choices=(
        ("dataset", "attnmem.data.catalog:VARIANTS"),
        ("arch", "attnmem.models.vision:ARCHITECTURES"),
        ("optimizer", "attnmem.optim:OPTIMIZERS"),
    ),
    slurm_bundle=5,
    # the probe trains one epoch on random images of each dataset's shape and classes, 1/20 of
    # its splits (no dataset on disk needed: images.shape_twin); the claims scale the cost by
    # epochs x train_fraction to 186 epochs of the whole training split
    probe=(("shape_probe", 0.05), ("epochs", 1)),
    cost_products=(("train_fraction", "epochs"),),
    table=TABLE,
)
AXES = STUDY.axes
METRICS = STUDY.metric_names


def make_run(job: str, settings: Mapping[str, Any], cell: Mapping[str, str], seed: int):
    """The OptimRun of one cell and seed under the study's ``run:`` settings."""
    from attnmem.train.image_classification import OptimRun

    return OptimRun(
        dataset=cell["dataset"],
        arch=cell["arch"],
        optimizer=cell["optimizer"],
        seed=int(seed),
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        lr=settings["lr"],
        weight_decay=settings["weight_decay"],
        milestones_at=tuple(settings["milestones"]),
        milestones_of=settings["milestones_of"],
        train_limit=settings.get("train_limit"),
        shape_probe=settings.get("shape_probe"),
    )


def data_sources(settings: Mapping[str, Any]) -> dict[str, str]:
    """The torchvision files each configured dataset is built from (none for a cost probe on
    random images of their shapes)."""
    from attnmem.data.catalog import VARIANTS

    if settings["run"].get("shape_probe") is not None:
        return {}
    return {dataset: VARIANTS[dataset].source for dataset in settings["axes"]["dataset"]}
