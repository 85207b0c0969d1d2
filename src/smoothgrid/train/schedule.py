"""Schedules of the optimiser: learning-rate decay and the per-level step scale."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["DECAYS", "LEVEL_SCALES", "lr_factor", "level_scales", "scale_levels"]

DECAYS = ("exp", "cosine")
"""Learning-rate decays accepted by :func:`lr_factor` (besides ``None``: constant)."""

LEVEL_SCALES = ("none", "inverse", "inverse_square")
"""Named per-level scales accepted by :func:`level_scales` (or a list of numbers)."""


def lr_factor(decay: str | None, progress: float, final: float = 0.1) -> float:
    """Multiplier of the base learning rate at a fraction ``progress`` of training.

    Args:
        decay: ``None`` (constant 1), ``"exp"`` (``final ** progress``, geometric) or
            ``"cosine"`` (``final + (1 - final) (1 + cos(pi progress)) / 2``).
        progress: fraction of the step or time budget spent, in ``[0, 1]``.
        final: the factor reached at ``progress = 1``, ``> 0``.
    """
    if final <= 0.0:
        raise ValueError(f"final_lr_factor must be > 0, got {final!r}")
    p = min(max(float(progress), 0.0), 1.0)
    if decay is None:
        return 1.0
    if decay == "exp":
        return final**p
    if decay == "cosine":
        return final + (1.0 - final) * 0.5 * (1.0 + math.cos(math.pi * p))
    raise ValueError(f"unknown decay {decay!r}; known: None, {', '.join(DECAYS)}")


def level_scales(mode: str | Sequence[float], resolutions: Sequence[int]) -> list[float]:
    """Per-level feature scales (see :meth:`GridEncoding.set_level_scale`).

    With Adam, scaling level ``l``'s features by ``s_l`` scales its step by ``s_l``. The
    Laplacian of level ``l`` grows like ``N_l**2``, so fine levels stepping as much as coarse
    ones inject noise; ``"inverse"`` (``N_0 / N_l``) is the measured fix (BENCHMARKS.md).

    Args:
        mode: ``"none"`` (all 1), ``"inverse"`` (``N_0 / N_l``), ``"inverse_square"``
            (``(N_0 / N_l)**2``) or ``L`` positive numbers.
        resolutions: ``N_l``, cells per axis of each level.

    Returns:
        ``L`` positive floats.
    """
    n0 = resolutions[0]
    if isinstance(mode, str):
        if mode == "none":
            return [1.0] * len(resolutions)
        if mode == "inverse":
            return [n0 / n for n in resolutions]
        if mode == "inverse_square":
            return [(n0 / n) ** 2 for n in resolutions]
        raise ValueError(
            f"unknown level_scale {mode!r}; known: {', '.join(LEVEL_SCALES)} or a list of numbers"
        )
    scales = [float(s) for s in mode]
    if len(scales) != len(resolutions) or not all(s > 0 for s in scales):
        raise ValueError(
            f"level_scale needs {len(resolutions)} positive numbers (one per level), got {mode!r}"
        )
    return scales


def scale_levels(field, mode: str | Sequence[float]) -> None:
    """Give a grid field's encoding the per-level scales :func:`level_scales` of ``mode``; a
    field without a grid (no levels) is left as it is."""
    encoding = field.encoding
    if encoding.levels:
        encoding.set_level_scale(level_scales(mode, encoding.resolutions))
