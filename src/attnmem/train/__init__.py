"""Training loops, one module per kind of run."""
