"""Snakemake entry point: one image source as a whole-tensor file."""

from pathlib import Path

from attnmem.data.images import load_source, shape_twin
from attnmem.files import write_torch
from attnmem.run import logged_job

smk = snakemake  # noqa: F821 - injected by Snakemake's script: directive

with logged_job(smk.log[0]) as log:
    source = smk.wildcards.source
    fraction = smk.wildcards.get("fraction")
    if fraction is None:
        data = load_source(source, smk.params.data_root, smk.params.download)
    else:  # a cost probe's random images of the source's shape (rule prepare_shape_twin)
        data = shape_twin(source, float(fraction))
    log.info(
        "%s: %d train, %d test images of shape %s",
        source,
        len(data["y_train"]),
        len(data["y_test"]),
        tuple(data["x_train"].shape[1:]),
    )
    write_torch(Path(smk.output[0]), data)
