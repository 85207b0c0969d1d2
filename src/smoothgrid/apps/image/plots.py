"""PNG pictures of a fitted image: prediction, truth and error side by side, and the prediction
alone. Drawn with matplotlib's Agg canvas directly (no pyplot, no global backend change)."""

from __future__ import annotations

import os

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["plot_comparison", "save_image"]


def plot_comparison(
    prediction: np.ndarray, truth: np.ndarray, path: str | os.PathLike, title: str = ""
) -> None:
    """Prediction, truth (both on ``[-1, 1]``, grey) and ``|prediction - truth|`` in one PNG.

    Args:
        prediction, truth: ``(H, W)`` in ``[-1, 1]``, row 0 at the top.
        path: the PNG to write.
        title: the figure's title (e.g. the method and the PSNR).
    """
    fig = Figure(figsize=(13, 4.4))
    FigureCanvasAgg(fig)
    error = np.abs(prediction - truth)
    panels = (
        ("prediction", prediction, dict(cmap="gray", vmin=-1, vmax=1)),
        ("truth", truth, dict(cmap="gray", vmin=-1, vmax=1)),
        ("|error|", error, dict(cmap="magma", vmin=0)),
    )
    for i, (name, data, style) in enumerate(panels):
        ax = fig.add_subplot(1, 3, i + 1)
        shown = ax.imshow(data, interpolation="nearest", **style)
        ax.set_title(name)
        ax.set_axis_off()
        fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def save_image(image: np.ndarray, path: str | os.PathLike) -> None:
    """``image: (H, W)`` in ``[-1, 1]`` (clipped) as an 8-bit greyscale PNG, one pixel each."""
    from PIL import Image

    pixels = np.round((np.clip(image, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)
    Image.fromarray(pixels).save(path)
