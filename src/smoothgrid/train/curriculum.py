"""Level curricula: which grid levels are switched on at a point of training.

A curriculum is a pure function of the training progress ``p in [0, 1]`` (the fraction of the
step or time budget spent) returning ``L`` booleans for
:meth:`~smoothgrid.encodings.base.GridEncoding.set_level_mask`; level 0 is the coarsest and is
always on, and the active levels are always a prefix ``0 .. n-1``.

* ``coarse_to_fine``: the levels switch on one after another over the first ``ramp`` fraction of
  training, then all stay on.
* ``vcycle``: multigrid-style sweeps, coarse -> fine -> coarse -> fine ...: the number of active
  levels follows a triangle wave with ``cycles`` ascents, ending on the finest level, and all
  levels stay on for the last ``hold`` fraction.

A masked level outputs zeros, so its table gets no gradient; Adam's momentum still moves it for a
few steps after it is switched off (the level's contribution is invisible while it is off).

Soft curricula weigh levels instead of switching them
(:meth:`~smoothgrid.encodings.base.GridEncoding.set_level_weights`): :func:`barf_level_weights`
is BARF's (Lin et al. 2021) coarse-to-fine schedule, as Heo et al. use it on grids.
"""

from __future__ import annotations

import math

__all__ = [
    "CURRICULA",
    "active_count",
    "coarse_to_fine",
    "vcycle",
    "level_mask",
    "barf_level_weights",
]

CURRICULA = ("coarse_to_fine", "vcycle")
"""Names accepted by :func:`level_mask` (besides ``None``: all levels on)."""


def _check(levels: int, progress: float) -> None:
    if not isinstance(levels, int) or levels < 1:
        raise ValueError(f"levels must be an integer >= 1, got {levels!r}")
    if not 0.0 <= progress <= 1.0 or math.isnan(progress):
        raise ValueError(f"progress must lie in [0, 1], got {progress!r}")


def active_count(levels: int, fraction: float) -> int:
    """Levels switched on at a fraction ``0..1`` of the way from coarsest-only to all levels.

    ``0 -> 1`` level, ``1 -> levels``; in between, each level gets an equal share of the range.
    """
    return min(levels, 1 + int(fraction * levels))


def coarse_to_fine(levels: int, progress: float, ramp: float = 0.5) -> list[bool]:
    """Switch levels on one by one over the first ``ramp`` fraction of training.

    Args:
        levels: ``L``.
        progress: fraction of training done, in ``[0, 1]``.
        ramp: fraction of training after which every level is on, in ``(0, 1]``.

    Returns:
        ``L`` booleans, a prefix of them true.
    """
    _check(levels, progress)
    if not 0.0 < ramp <= 1.0:
        raise ValueError(f"ramp must lie in (0, 1], got {ramp!r}")
    n = active_count(levels, min(progress / ramp, 1.0))
    return [i < n for i in range(levels)]


def vcycle(levels: int, progress: float, cycles: int = 2, hold: float = 0.25) -> list[bool]:
    """Multigrid V-cycle sweeps: coarse -> fine -> coarse -> ... -> fine, then all levels.

    The first ``1 - hold`` of training is split into ``2 * cycles - 1`` equal legs that
    alternately add levels (coarse to fine) and remove them (fine to coarse); the last ``hold``
    fraction keeps every level on.

    Args:
        levels: ``L``.
        progress: fraction of training done, in ``[0, 1]``.
        cycles: number of coarse -> fine ascents (>= 1); ``cycles=1`` is ``coarse_to_fine``
            with ``ramp = 1 - hold``.
        hold: final fraction with all levels on, in ``[0, 1)``.

    Returns:
        ``L`` booleans, a prefix of them true.
    """
    _check(levels, progress)
    if not isinstance(cycles, int) or cycles < 1:
        raise ValueError(f"cycles must be an integer >= 1, got {cycles!r}")
    if not 0.0 <= hold < 1.0:
        raise ValueError(f"hold must lie in [0, 1), got {hold!r}")
    sweep = progress / (1.0 - hold)
    if sweep >= 1.0:
        return [True] * levels
    legs = 2 * cycles - 1
    position = sweep * legs
    leg = int(position)
    within = position - leg
    fraction = within if leg % 2 == 0 else 1.0 - within
    n = active_count(levels, fraction)
    return [i < n for i in range(levels)]


def level_mask(name: str | None, levels: int, progress: float) -> list[bool]:
    """The mask of curriculum ``name`` (``None``: all levels) at ``progress`` in ``[0, 1]``."""
    if name is None:
        _check(levels, progress)
        return [True] * levels
    if name == "coarse_to_fine":
        return coarse_to_fine(levels, progress)
    if name == "vcycle":
        return vcycle(levels, progress)
    raise ValueError(f"unknown curriculum {name!r}; known: None, {', '.join(CURRICULA)}")


def barf_level_weights(progress_alpha: float, levels: int) -> list[float]:
    """BARF's soft coarse-to-fine weights: ``w_l = (1 - cos(pi clamp(alpha - l, 0, 1))) / 2``.

    Level ``l`` fades in smoothly while ``alpha`` runs from ``l`` to ``l + 1``; BARF moves
    ``alpha`` linearly from 0 to ``L`` over a chosen stretch of training, e.g.
    ``alpha = L * clamp((progress - start) / (end - start), 0, 1)`` (BARF: start 0.1, end 0.5
    of training), and all levels have weight 1 from ``alpha = L`` on.

    Args:
        progress_alpha: ``alpha >= 0``, in levels.
        levels: ``L``.

    Returns:
        ``L`` weights in ``[0, 1]``, non-increasing from coarse to fine, for
        :meth:`~smoothgrid.encodings.base.GridEncoding.set_level_weights`.

    Example:
        >>> [round(w, 6) for w in barf_level_weights(1.5, 3)]
        [1.0, 0.5, 0.0]
    """
    if not isinstance(levels, int) or levels < 1:
        raise ValueError(f"levels must be an integer >= 1, got {levels!r}")
    if not progress_alpha >= 0.0:
        raise ValueError(f"progress_alpha must be >= 0, got {progress_alpha!r}")
    weights = []
    for level in range(levels):
        ramp = min(max(progress_alpha - level, 0.0), 1.0)
        weights.append(0.5 * (1.0 - math.cos(math.pi * ramp)))
    return weights
