"""Multilinear interpolation of values stored on a regular lattice of nodes.

One function serves the simulator (bilinear / trilinear sampling of cell-centred densities and
face-centred velocities at back-traced points) and the saved frames (linear in time as well):
the lattice is any ``k``-dimensional grid of nodes ``origin + index * spacing``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import Tensor
from torch.nn import functional

__all__ = ["interpolate", "node_coordinates"]


def interpolate(
    values: Tensor,
    origin: Sequence[float] | Tensor,
    spacing: Sequence[float] | Tensor,
    points: Tensor,
) -> Tensor:
    """Multilinear interpolation of node values at arbitrary points, clamped to the lattice.

    Args:
        values: ``(C, n_0, ..., n_{k-1})`` values at the nodes ``origin + i * spacing``.
        origin: ``(k,)`` position of node ``(0, ..., 0)`` (domain units).
        spacing: ``(k,)`` node spacing per axis (domain units, > 0).
        points: ``(N, k)`` query points (domain units). Points beyond the outermost nodes take
            the value on the lattice's boundary (constant extension, as ``grid_sample``'s
            ``padding_mode="border"``).

    Returns:
        ``(N, C)`` in the points' dtype: bilinear (``k = 2``), trilinear (``k = 3``), ...
        interpolation (``grid_sample`` for ``k = 2, 3``, a gather of the ``2^k`` corners
        otherwise). Differentiable in ``values`` and in ``points`` (piecewise linear in each
        coordinate).

    Example:
        >>> v = torch.arange(4.0).reshape(1, 2, 2)           # v[i, j] = 2 i + j on a unit lattice
        >>> interpolate(v, (0.0, 0.0), (1.0, 1.0), torch.tensor([[0.5, 0.5]]))
        tensor([[1.5000]])
    """
    k = points.shape[-1]
    sizes = values.shape[1:]
    if len(sizes) != k:
        raise ValueError(
            f"values have {len(sizes)} lattice axes (shape {tuple(values.shape)}) but the "
            f"points have {k} coordinates"
        )
    values = values.to(points.dtype)
    origin_t = torch.as_tensor(origin, dtype=points.dtype, device=points.device)
    scale = 1.0 / torch.as_tensor(spacing, dtype=points.dtype, device=points.device)
    if k in (2, 3) and min(sizes) > 1:
        # grid_sample's unit coordinates: node 0 at -1, the last node at +1, axes as (x, y, z)
        upper = torch.tensor([n - 1 for n in sizes], dtype=points.dtype, device=points.device)
        scale = 2.0 * scale / upper
        unit = torch.addcmul(-1.0 - origin_t * scale, points, scale)
        return _grid_sample(values, unit)
    return _gather(values, (points - origin_t) * scale)


def _gather(values: Tensor, pos: Tensor) -> Tensor:
    """Multilinear interpolation by gathering the ``2^k`` corners; ``pos``: ``(N, k)`` in node
    units. Any ``k`` (the space-time lattice of 3D frames has ``k = 4``)."""
    k = pos.shape[1]
    sizes = values.shape[1:]
    upper = torch.tensor([n - 1 for n in sizes], dtype=pos.dtype, device=pos.device)
    pos = pos.clamp(min=torch.zeros_like(upper), max=upper)
    base = torch.minimum(pos.detach().floor(), (upper - 1).clamp_min(0))
    frac = pos - base  # (N, k), in [0, 1]
    base = base.long()
    strides = [1] * k
    for a in range(k - 2, -1, -1):
        strides[a] = strides[a + 1] * sizes[a + 1]
    flat = values.reshape(values.shape[0], -1)  # (C, prod n)
    out = pos.new_zeros(pos.shape[0], values.shape[0])
    for corner in itertools.product((0, 1), repeat=k):
        index = torch.zeros(pos.shape[0], dtype=torch.long, device=pos.device)
        weight = torch.ones_like(frac[:, 0])
        for a, c in enumerate(corner):
            size = sizes[a]
            index = index + (base[:, a] + c).clamp(max=size - 1) * strides[a]
            weight = weight * (frac[:, a] if c else 1.0 - frac[:, a])
        out = out + flat[:, index].t() * weight[:, None]
    return out


def _grid_sample(values: Tensor, unit: Tensor) -> Tensor:
    """``grid_sample``'s bilinear / trilinear path; ``unit``: ``(N, k)`` in ``[-1, 1]`` per axis
    (node 0 at -1, the last node at +1), axis order as ``values``' lattice axes."""
    k = unit.shape[1]
    grid = unit.flip(-1).reshape((1, -1) + (1,) * (k - 1) + (k,))  # grid_sample wants x last
    out = functional.grid_sample(
        values[None], grid, mode="bilinear", padding_mode="border", align_corners=True
    )
    return out.reshape(values.shape[0], -1).t()


def node_coordinates(
    sizes: Sequence[int], origin: Sequence[float], spacing: Sequence[float], like: Tensor
) -> Tensor:
    """``(prod sizes, k)`` positions of every node of a lattice, in C order (last axis fastest).

    Args:
        sizes: ``(n_0, ..., n_{k-1})`` nodes per axis.
        origin, spacing: as in :func:`interpolate`.
        like: a tensor whose dtype and device the result takes.
    """
    axes = [
        o + s * torch.arange(n, dtype=like.dtype, device=like.device)
        for n, o, s in zip(sizes, origin, spacing)
    ]
    return torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, len(sizes))
