"""Multi-resolution grid geometry: level resolutions, vertex indexing and spatial hashing.

Pure integer bookkeeping shared by every encoding: which resolution each level has, whether a
level is stored densely or hashed, where its rows start in the table, and how integer vertex
coordinates become table rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = [
    "HASH_PRIMES",
    "level_resolutions",
    "level_offsets",
    "hash_index",
    "dense_index",
    "LevelLayout",
    "layout_levels",
]

HASH_PRIMES: tuple[int, ...] = (1, 2654435761, 805459861, 3674653429)
"""tcnn's primes pi_i of the spatial hash XOR_i (c_i * pi_i) mod T (one per dimension, d <= 4)."""

_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


def level_resolutions(min_res: int, max_res: int, levels: int) -> list[int]:
    """Cells per axis of each level: ``N_l = floor(N_min b**l)``, ``b = (N_max/N_min)**(1/(L-1))``.

    Args:
        min_res: ``N_min`` >= 1, the coarsest level's cells per axis.
        max_res: ``N_max`` >= ``min_res``, the finest level's.
        levels: ``L`` >= 1.

    Returns:
        ``L`` integers, non-decreasing, the first ``N_min`` and (for ``L > 1``) the last ``N_max``.
    """
    if levels < 1:
        raise ValueError(f"levels must be >= 1, got {levels}")
    if min_res < 1 or max_res < min_res:
        raise ValueError(f"need 1 <= min_res <= max_res, got min_res={min_res}, max_res={max_res}")
    if levels == 1:
        return [int(min_res)]
    growth = math.exp((math.log(max_res) - math.log(min_res)) / (levels - 1))
    # The small epsilon keeps floor() from dropping an exact power (e.g. 4 * 2**3) to one below.
    return [int(math.floor(min_res * growth**level * (1.0 + 1e-12))) for level in range(levels)]


def level_offsets(levels: int, enabled: bool) -> list[float]:
    """Per-level grid shifts in cells, in ``[0, 1)``.

    With ``enabled``, level ``l`` is shifted by ``frac((l + 1) * 0.618...)`` cells so the cell
    faces of different levels (and the domain boundary) do not coincide, as tcnn's half-cell
    shift and PIXEL's per-level offsets do. Otherwise every shift is 0.
    """
    if not enabled:
        return [0.0] * levels
    return [((level + 1) * _GOLDEN) % 1.0 for level in range(levels)]


def hash_index(coords: Tensor, table_size: int) -> Tensor:
    """tcnn's spatial hash of integer vertex coordinates.

    Args:
        coords: ``(..., d)`` int64 non-negative vertex coordinates, ``d <= 4``.
        table_size: ``T``, the number of rows the hash maps into.

    Returns:
        ``(...,)`` int64 rows in ``[0, T)``: ``(XOR_i (c_i * pi_i mod 2**32)) mod T``, the
        products wrapping at 32 bits as tcnn's ``uint32`` arithmetic does.
    """
    d = coords.shape[-1]
    if d > len(HASH_PRIMES):
        raise ValueError(f"spatial hashing supports up to {len(HASH_PRIMES)} dimensions, got {d}")
    result = torch.zeros_like(coords[..., 0])
    for i in range(d):
        result = result ^ ((coords[..., i] * HASH_PRIMES[i]) & 0xFFFFFFFF)
    return result % table_size


def dense_index(coords: Tensor, vertices_per_axis: Tensor) -> Tensor:
    """Row-major (axis 0 fastest) index of vertex coordinates in a dense grid.

    Args:
        coords: ``(..., d)`` int64 coordinates, ``0 <= c_i < n_i``.
        vertices_per_axis: ``(..., d)`` int64 ``n_i``, broadcastable to ``coords`` (one row per
            level, say).

    Returns:
        ``(...,)`` int64 ``sum_i c_i * prod_{k<i} n_k``.
    """
    n = torch.as_tensor(vertices_per_axis, device=coords.device)
    strides = torch.cumprod(torch.cat([torch.ones_like(n[..., :1]), n[..., :-1]], -1), -1)
    return (coords * strides).sum(-1)


@dataclass(frozen=True)
class LevelLayout:
    """Where the levels of one table live.

    Attributes:
        resolution: ``N_l`` cells per axis, per level.
        offset: the level's shift in cells (see :func:`level_offsets`).
        vertices: per level, the distinct vertices on each axis: ``N_l + 1`` (``N_l + 2`` when
            shifted), or ``N_l`` on a periodic axis, where vertex ``N_l`` is vertex 0.
        rows: rows of the table the level uses: ``prod(vertices)`` if dense, else ``T``.
        dense: whether the level is stored densely (collision-free) or hashed.
        start: first row of the level in the concatenated table.
        table_size: ``T``, the rows a hashed level uses.
    """

    resolution: tuple[int, ...]
    offset: tuple[float, ...]
    vertices: tuple[tuple[int, ...], ...]
    rows: tuple[int, ...]
    dense: tuple[bool, ...]
    start: tuple[int, ...]
    table_size: int

    @property
    def total_rows(self) -> int:
        """Rows of all levels together."""
        return self.start[-1] + self.rows[-1]


def layout_levels(
    dim: int,
    resolutions: list[int],
    offsets: list[float],
    table_size: int,
    periodic: tuple[int, ...] = (),
) -> LevelLayout:
    """Lay out levels in one table of at most ``table_size`` rows per level.

    A level whose vertices fit in ``table_size`` rows is dense, otherwise hashed into
    ``table_size`` rows (tcnn's rule). Axes in ``periodic`` wrap around.
    """
    vertices = [
        tuple(n if axis in periodic else n + 1 + (o > 0.0) for axis in range(dim))
        for n, o in zip(resolutions, offsets)
    ]
    counts = [math.prod(v) for v in vertices]
    dense = [c <= table_size for c in counts]
    rows = [c if is_dense else table_size for c, is_dense in zip(counts, dense)]
    start = [0]
    for r in rows[:-1]:
        start.append(start[-1] + r)
    return LevelLayout(
        tuple(resolutions),
        tuple(offsets),
        tuple(vertices),
        tuple(rows),
        tuple(dense),
        tuple(start),
        table_size,
    )
