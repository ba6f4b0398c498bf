"""Statistics every study shares: per-cell summaries and configured comparisons."""

from attnmem.stats.compare import compare, holm, probability_of_improvement
from attnmem.stats.describe import describe, t_interval

__all__ = ["compare", "describe", "holm", "probability_of_improvement", "t_interval"]
