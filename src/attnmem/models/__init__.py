"""Models of every study."""
