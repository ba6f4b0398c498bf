"""attnmem: seeded, confidence-interval replications of attention-and-memory papers."""

__version__ = "0.1.0"
