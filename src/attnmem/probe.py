"""Short runs of every cell of a config, to measure what its jobs cost (``make probe``).

A claim the default leaves undecided says what would decide it in CPU-hours, projected from
config/costs.yaml (``attnmem.claims.to_decide``).  The default measures only its own cells; a
paper-scale claim about cells it never ran had no cost ("CPU-h unknown").  The probe runs each
probed study's cells of a config (``config/paper.yaml``) once, with the run settings its study
declares (``Study.probe``: a few thousand steps or sequences instead of millions), and
``python -m attnmem.costs ... --fill`` adds those cells to the table; the claims scale them
linearly to the claim's budget.  That projection is a lower bound where a step grows dearer as
training goes on (the plasticity curriculum's sequences lengthen with R), and counts a fixed
cost (a warm-up, a final evaluation) as if it grew with the budget.

    python -m attnmem.probe config/paper.yaml results_probe   # writes results_probe/probe.yaml
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any


def _replace(block: MutableMapping[str, Any], dotted: str, value: Any) -> None:
    """Set ``dotted`` in a run block; a scalar replaces every entry of a per-value mapping."""
    *path, last = dotted.split(".")
    for part in path:
        block = block.setdefault(part, {})
    if isinstance(block.get(last), Mapping) and not isinstance(value, Mapping):
        for key in block[last]:
            _replace(block[last], key, value)
    else:
        block[last] = value


def probe_config(config: Mapping[str, Any], results: str) -> dict[str, Any]:
    """``config`` cut to its probed studies, each on its first seed and its probe settings,
    writing under ``results``."""
    from attnmem.studies import REGISTRY

    out = copy.deepcopy(dict(config))
    out["results"] = results
    out["download"] = False  # the probed studies read no dataset
    out["probe"] = True  # its runs decide nothing: the config check does not ask them to
    # the table and the claims count CPU-hours: a probe on a GPU machine still measures a core
    out["device"] = "cpu"
    out["figures"] = f"{results}/figures"
    studies = {}
    for name, block in config["studies"].items():
        probe = REGISTRY[name].probe
        if not probe:
            continue
        block = copy.deepcopy(dict(block))
        block["seeds"] = list(block["seeds"])[:1]
        # one seed on one thread: the table counts a job's wall seconds times its threads
        block["resources"] = {**block.get("resources", {}), "threads": 1, "gpu": 0}
        for key, value in probe:
            _replace(block["run"], key, value)
        studies[name] = block
    out["studies"] = studies
    return out


def main(argv: list[str]) -> None:
    """Write ``RESULTS/probe.yaml`` and print the files whose making runs every probed job."""
    import yaml

    config_path, results = argv
    config = probe_config(yaml.safe_load(Path(config_path).read_text()), results)
    Path(results).mkdir(parents=True, exist_ok=True)
    (Path(results) / "probe.yaml").write_text(
        f"# A short run of every cell of {config_path}: python -m attnmem.probe\n"
        + yaml.safe_dump(config, sort_keys=False, width=100)
    )
    print(" ".join(f"{results}/{name}/runs.csv" for name in config["studies"]))


if __name__ == "__main__":
    main(sys.argv[1:])
