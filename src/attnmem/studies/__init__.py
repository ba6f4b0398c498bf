"""Per-study glue between the config and the library: what the workflow scripts call.

Kept free of heavy imports so that light jobs (claims, tables) start fast.
"""

#: Each study's axes, in the order its run paths and published values nest.
AXES: dict[str, list[str]] = {
    "optim": ["dataset", "arch", "optimizer"],
    "plasticity": ["network", "size"],
}

#: The config keys of each study that change a training run's numbers.  Training rules get only
#: these as params, so adding a seed or a comparison never reruns the runs that exist.
RUN_KEYS: dict[str, tuple[str, ...]] = {
    "optim": (
        "epochs",
        "batch_size",
        "lr",
        "weight_decay",
        "milestones",
        "milestones_of",
        "train_limit",
    ),
    "plasticity": (
        "mode",
        "batch",
        "lr",
        "acc_threshold",
        "acc_num",
        "stage_cap",
        "total_cap",
        "max_r",
        "eta",
        "task",
        "test_r_max",
        "test_sequences",
        "test_min_scenes",
        "test_scenes_per_r",
        "log_every",
    ),
}


def run_settings(study: str, settings: dict) -> dict:
    """The part of a study's config section that a single run depends on."""
    return {key: settings[key] for key in RUN_KEYS[study] if key in settings}
