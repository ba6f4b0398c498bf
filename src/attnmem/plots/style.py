"""Shared look of every figure, and saving without timestamps."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

# Colour-blind-safe (Okabe–Ito), fixed per name so a method has one colour in every figure.
PALETTE = {
    "adamw": "#0072B2",
    "adamp": "#E69F00",
    "adamp_official": "#F0E442",
    "orthadam": "#009E73",
    "orthadam_thesis": "#CC79A7",
    "attention_split": "#009E73",
    "lstm": "#0072B2",
    "transformer": "#E69F00",
    "mlp": "#0072B2",
}
FALLBACK = ("#56B4E9", "#D55E00", "#000000", "#999999")
PUBLISHED_MARKER = dict(marker="*", s=140, color="#D55E00", edgecolor="black", zorder=5)


def colour(name: str, index: int = 0) -> str:
    return PALETTE.get(name, FALLBACK[index % len(FALLBACK)])


def setup() -> None:
    plt.rcParams.update(
        {
            "figure.dpi": 110,
            "savefig.dpi": 150,
            "font.size": 10,
            "axes.titlesize": 11,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "legend.frameon": False,
        }
    )


def save(fig, png: str | Path) -> None:
    """Write ``png`` and the PDF beside it; no dates in the files, so reruns match."""
    png = Path(png)
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, metadata={"Software": None}, bbox_inches="tight")
    fig.savefig(png.with_suffix(".pdf"), metadata={"CreationDate": None}, bbox_inches="tight")
    plt.close(fig)
