"""The book's figures, in one consistent style."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from . import config

STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 120,
    "savefig.bbox": "tight",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "font.size": 11,
    "axes.titlesize": 11,
}


def use_style() -> None:
    """Apply the book's matplotlib style."""
    plt.rcParams.update(STYLE)


def as_displayable(image: np.ndarray) -> np.ndarray:
    """0-255 float pixels -> uint8, so imshow shows them as a photo."""
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def image_grid(images: Sequence[np.ndarray], titles: Sequence[str] = (),
               ncols: int = 4, size: float = 2.6) -> plt.Figure:
    """Show images (0-255 RGB) in a grid, each with an optional title."""
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, title in zip(axes.flat, images, list(titles) + [""] * n):
        ax.imshow(as_displayable(image))
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def savefig(fig: plt.Figure, name: str) -> Path:
    """Save a figure as build/figures/NAME.png and return the path."""
    path = config.build_dir() / "figures" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


use_style()
