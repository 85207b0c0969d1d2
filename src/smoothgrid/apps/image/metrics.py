"""Scores of a reconstructed image: PSNR and SSIM after fixing what the supervision leaves free.

Gradients determine an image up to a constant; a Laplacian up to a harmonic function, of which
the affine part ``c + a x_0 + b x_1`` is the share these scores remove (SIREN and ∂∞-Grid fix
only the constant; the higher harmonics stay in the error, which is why PSNR from a Laplacian
is low). :func:`fix_free_part` adds to the prediction the least-squares fit of ``truth -
prediction`` by the free part: the mean of the difference for gradients, the affine fit for
the Laplacian, nothing for values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ...train.settings import SettingsError
from .data import check_image, pixel_coordinates

__all__ = [
    "SUPERVISION",
    "check_supervision",
    "fix_free_part",
    "psnr",
    "ssim",
    "image_metrics",
    "markdown_table",
]

SUPERVISION = ("value", "gradient", "laplacian")
"""What an image can be fitted from."""

DATA_RANGE = 2.0
"""Peak-to-peak range of images in ``[-1, 1]``, the PSNR's and SSIM's data range."""


def check_supervision(supervise: str) -> None:
    """Raise ``ValueError`` unless ``supervise`` is one of :data:`SUPERVISION`."""
    if supervise not in SUPERVISION:
        raise SettingsError(f"unknown supervision {supervise!r}; known: {', '.join(SUPERVISION)}")


def fix_free_part(prediction: np.ndarray, truth: np.ndarray, supervise: str) -> np.ndarray:
    """``prediction`` plus the least-squares best share of the function space it is free in.

    Args:
        prediction, truth: ``(H, W)`` on the pixel grid of :mod:`.data`.
        supervise: ``"value"`` (returned unchanged), ``"gradient"`` (constant: the mean of
            ``truth - prediction`` is added) or ``"laplacian"`` (affine ``c + a x_0 + b x_1``
            in pixel coordinates on ``[-1, 1]^2``, fitted to ``truth - prediction``).

    Returns:
        ``(H, W)`` float64.
    """
    check_supervision(supervise)
    prediction, truth = check_image(prediction), check_image(truth)
    if prediction.shape != truth.shape:
        raise ValueError(f"prediction {prediction.shape} and truth {truth.shape} differ in shape")
    difference = (truth - prediction).ravel()
    if supervise == "value":
        return prediction
    if supervise == "gradient":
        return prediction + difference.mean()
    x = pixel_coordinates(truth.shape, torch.float64).numpy()
    basis = np.column_stack([np.ones(len(x)), x])
    coefficients, *_ = np.linalg.lstsq(basis, difference, rcond=None)
    return prediction + (basis @ coefficients).reshape(truth.shape)


def psnr(prediction: np.ndarray, truth: np.ndarray, data_range: float = DATA_RANGE) -> float:
    """``10 log10(data_range^2 / mean((prediction - truth)^2))`` in dB (``inf`` if equal)."""
    mse = float(np.mean((np.asarray(prediction) - np.asarray(truth)) ** 2))
    return math.inf if mse == 0.0 else 10.0 * math.log10(data_range**2 / mse)


def ssim(prediction: np.ndarray, truth: np.ndarray, data_range: float = DATA_RANGE) -> float:
    """Structural similarity (scikit-image's, 7 x 7 window), in ``[-1, 1]``."""
    from skimage.metrics import structural_similarity

    return float(structural_similarity(prediction, truth, data_range=data_range))


def image_metrics(prediction: np.ndarray, truth: np.ndarray, supervise: str) -> dict[str, float]:
    """``psnr`` and ``ssim`` after :func:`fix_free_part`, and ``psnr_raw`` before it.

    Args:
        prediction, truth: ``(H, W)`` in ``[-1, 1]``.
        supervise: see :func:`fix_free_part`.
    """
    fixed = fix_free_part(prediction, truth, supervise)
    return {
        "psnr": psnr(fixed, truth),
        "ssim": ssim(fixed, truth),
        "psnr_raw": psnr(prediction, truth),
    }


def markdown_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """One Markdown row per run: method, supervision, PSNR, SSIM, steps, wall time, ms/step.

    Args:
        rows: the ``metrics`` of :class:`~smoothgrid.apps.image.ImageResult` s.
    """
    lines = [
        "| method | supervision | size | PSNR (dB) | SSIM | steps | wall time (s) | ms/step |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in rows:
        lines.append(
            f"| {m['method']} | {m['supervise']} | {m['height']}x{m['width']} | "
            f"{m['psnr']:.2f} | {m['ssim']:.3f} | {m['steps']} | {m['wall_time']:.1f} | "
            f"{m['ms_per_step']:.1f} |"
        )
    return "\n".join(lines)
