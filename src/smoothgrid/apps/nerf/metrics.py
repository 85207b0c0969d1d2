"""Scores of a NeRF run: PSNR and SSIM of test views, and the Markdown table of several runs."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["psnr", "ssim", "markdown_table"]


def psnr(prediction: np.ndarray, truth: np.ndarray) -> float:
    """``10 log10(1 / mean((prediction - truth)^2))`` in dB of images in ``[0, 1]``
    (``inf`` if equal)."""
    mse = float(np.mean((np.asarray(prediction, np.float64) - truth) ** 2))
    return math.inf if mse == 0.0 else -10.0 * math.log10(mse)


def ssim(prediction: np.ndarray, truth: np.ndarray) -> float:
    """Structural similarity of ``(H, W, 3)`` images in ``[0, 1]`` (scikit-image's, 7 x 7
    window or the largest odd one that fits a smaller image, mean over the channels)."""
    from skimage.metrics import structural_similarity

    side = min(np.shape(truth)[:2])
    window = min(7, side if side % 2 else side - 1)
    if window < 3:
        return math.nan
    return float(structural_similarity(np.asarray(prediction, np.float64),
                                       np.asarray(truth, np.float64), data_range=1.0,
                                       channel_axis=-1, win_size=window))  # fmt: skip


def markdown_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """One Markdown row per run: method, pose noise, rotation / translation error (initial ->
    final), test PSNR and SSIM, steps, wall time, ms/step.

    Args:
        rows: the ``metrics`` of :class:`~smoothgrid.apps.nerf.NerfResult` s.
    """
    lines = [
        "| method | pose noise (deg, units) | rotation error (deg) | translation error | "
        "PSNR (dB) | SSIM | steps | wall time (s) | ms/step |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for m in rows:
        noise = ", ".join(f"{v:g}" for v in m["pose_noise"])
        refined = "" if m["refine"] else " (not refined)"
        lines.append(
            f"| {m['label']} | {noise}{refined} | {m['initial_rotation_error_deg']:.2f} -> "
            f"{m['rotation_error_deg']:.2f} | {m['initial_translation_error']:.3f} -> "
            f"{m['translation_error']:.3f} | {m['psnr']:.2f} | {m['ssim']:.3f} | {m['steps']} | "
            f"{m['wall_time']:.1f} | {m['ms_per_step']:.1f} |"
        )
    return "\n".join(lines)
