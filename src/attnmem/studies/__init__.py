"""Per-study glue between the config and the library: what the workflow scripts call.

Kept free of heavy imports so that light jobs (claims, tables) start fast.
"""

#: Each study's axes, in the order its run paths and published values nest.
AXES: dict[str, list[str]] = {"optim": ["dataset", "arch", "optimizer"]}
