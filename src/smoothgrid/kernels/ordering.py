"""Orders of points that make a kernel's blocks coherent (pure PyTorch, no Triton).

The table-gradient kernel (:func:`smoothgrid.kernels.tensor_product.backward_kernel`) adds one
atomic per run of consecutive points on one table row when a block of points has few runs, and
one per point otherwise. Points in random order make runs of one point; points sorted by cell
along a Morton (Z-order) curve make long runs on the coarse levels, so there the kernel adds
few atomics. Sorting changes no sum a loss takes over the points, only the order of the
floating-point additions.
"""

from __future__ import annotations

import operator

import torch
from torch import Tensor

__all__ = ["morton_codes", "cell_order"]

_MAX_BITS = 62
"""Bits a Morton code may use (int64, sign bit left clear)."""


def morton_codes(unit: Tensor, resolution: int) -> Tensor:
    """Morton (Z-order) codes of the cells of points on a ``resolution^d`` grid.

    The cell of ``u`` on axis ``i`` is ``floor(u_i * resolution)`` clamped to
    ``[0, resolution - 1]``; the code interleaves the cells' bits, bit ``b`` of axis ``i``
    becoming bit ``b * d + i`` of the code (axis 0 the fastest).

    Args:
        unit: ``(B, d)`` points in ``[0, 1]^d`` (outside points are clamped to the border
            cells), ``d`` in 1..4.
        resolution: cells per axis, ``>= 1``.

    Returns:
        ``(B,)`` int64 codes on ``unit``'s device.
    """
    if unit.dim() != 2 or not 1 <= unit.shape[1] <= 4:
        raise ValueError(f"unit must be (B, d) with d in 1..4, got shape {tuple(unit.shape)}")
    integral = not isinstance(resolution, bool) and hasattr(type(resolution), "__index__")
    if not integral or operator.index(resolution) < 1:
        raise ValueError(f"resolution must be an integer >= 1, got {resolution!r}")
    resolution = operator.index(resolution)
    dim = unit.shape[1]
    bits = max(1, (resolution - 1).bit_length())
    if bits * dim > _MAX_BITS:
        raise ValueError(f"a {resolution}^{dim} grid needs more than {_MAX_BITS} code bits")
    cells = (unit.detach() * resolution).floor().clamp(0, resolution - 1).to(torch.int64)
    # Where bit 0 of each axis lands: axis i at bit i; bit b lands b * dim higher.
    lanes = torch.arange(dim, device=unit.device, dtype=torch.int64)
    codes = torch.zeros(unit.shape[0], dtype=torch.int64, device=unit.device)
    for b in range(bits):
        bit = (cells >> b) & 1  # (B, d)
        codes |= (bit << (lanes + b * dim)).sum(dim=1)  # distinct bits: the sum is an OR
    return codes


def cell_order(unit: Tensor, resolution: int) -> Tensor:
    """The permutation that sorts points by the Morton code of their cell.

    Args:
        unit: ``(B, d)`` points in ``[0, 1]^d``, ``d`` in 1..4.
        resolution: cells per axis of the grid whose cells are ordered, ``>= 1``.

    Returns:
        ``(B,)`` int64 indices: ``unit[cell_order(unit, n)]`` visits the cells along the
        Z-order curve, the points of one cell contiguous and in their original order (a stable
        sort).
    """
    return torch.argsort(morton_codes(unit, resolution), stable=True)
