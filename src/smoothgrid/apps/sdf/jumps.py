"""Jumps of a field's Hessian across the cell faces of its grid, and a loss term on them.

A C1 grid (Hermite, smoothstep, cosine) has a continuous gradient but a Hessian that jumps at
every cell face of every level; the curvature of an SDF, a function of the Hessian, jumps with
it, and a curvature picture shows the cells as blocks. At a point ``x`` on a face of level
``l`` normal to axis ``k``,

    jump(x) = || Hess f(x + delta e_k) - Hess f(x - delta e_k) ||_F

with ``delta`` a small fraction (:data:`JUMP_DELTA`) of the finest active level's cell (a
Hermite cell's Hessian is linear in the position, with a slope of ~2 times its size per cell,
so the step must be small on the finest level, not only on the face's): the part of the change
that does not shrink with ``delta``. It is 0 for a C2 field up to ``O(delta)`` (a single
quadratic: exactly), and two order-2 jets per point, so cheap with smoothgrid's analytic jets.
:func:`face_jump` is the mean over points snapped to faces of random levels (along the axis
that moves each point least, :func:`nearest_axis`, so it stays near the surface): the
``face_jump`` term of the SDF loss (weight 10 by default on smoothgrid's grids, see
:data:`~.losses.SDF_WEIGHTS`; ``fit_sdf(weights={"face_jump": w})``, ``smoothgrid sdf
--face-jump W``, 0 turns it off).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ...encodings import GridEncoding
from ...field import Field
from ...jet import Jet

__all__ = [
    "JUMP_DELTA",
    "snap_to_faces",
    "nearest_axis",
    "across_face",
    "hessian_jump",
    "face_jump",
]

JUMP_DELTA = 1e-3
"""Half the step across a face, in cells of the finest active level."""


def snap_to_faces(encoding: GridEncoding, x: Tensor, level: Tensor, axis: Tensor) -> Tensor:
    """Move each point along one axis onto the nearest interior cell face of one level.

    Level ``l``'s faces normal to axis ``k`` sit where ``u_k N_l + offset_l`` is an integer
    (``u`` the point in the unit box, ``N_l`` the level's cells per axis, ``offset_l`` its shift
    in cells; :mod:`smoothgrid.encodings.base`); the box's own faces are left out.

    Args:
        encoding: the grid whose faces are meant.
        x: ``(N, d)`` points in domain coordinates.
        level: ``(N,)`` int64 level indices.
        axis: ``(N,)`` int64 axes.

    Returns:
        ``(N, d)`` the points on the faces, in ``x``'s dtype (computed in float64).
    """
    lo, hi = (b.to(device=x.device, dtype=torch.float64) for b in encoding.bounds)
    rows = torch.arange(len(x), device=x.device)
    res = torch.tensor(encoding.resolutions, dtype=torch.float64, device=x.device)[level]
    shift = torch.tensor(encoding.offsets, dtype=torch.float64, device=x.device)[level]
    lo_k, extent = lo[axis], (hi - lo)[axis]
    pos = (x[rows, axis].double() - lo_k) / extent * res + shift
    face = pos.round().clamp(torch.ones_like(res), torch.ceil(res + shift) - 1.0)
    out = x.clone()
    out[rows, axis] = (lo_k + (face - shift) / res * extent).to(x.dtype)
    return out


def nearest_axis(encoding: GridEncoding, x: Tensor, level: Tensor) -> Tensor:
    """``(N,)`` int64: for each point, the axis along which :func:`snap_to_faces` moves it least
    onto a face of its ``level (N,)``."""
    moves = [
        (snap_to_faces(encoding, x, level, torch.full_like(level, k)) - x).abs().sum(1)
        for k in range(encoding.dim)
    ]
    return torch.stack(moves, 1).argmin(1)


def across_face(encoding: GridEncoding, axis: Tensor, delta: float = JUMP_DELTA) -> Tensor:
    """``(N, d)`` steps of ``delta`` finest active cells along each point's ``axis (N,)``, in
    domain units and float64."""
    cell = encoding.cell_size().to(device=axis.device, dtype=torch.float64)
    step = torch.zeros(len(axis), encoding.dim, dtype=torch.float64, device=axis.device)
    step[torch.arange(len(axis), device=axis.device), axis] = delta * cell[axis]
    return step


def hessian_jump(jet: Callable[[Tensor], Jet], x: Tensor, step: Tensor) -> Tensor:
    """``(N,)`` Frobenius norm of ``Hess u(x + step) - Hess u(x - step)`` (channel 0).

    Args:
        jet: ``(M, d)`` points -> an order-2 :class:`~smoothgrid.jet.Jet` with the full Hessian.
        x: ``(N, d)`` points (on faces).
        step: ``(N, d)`` half steps across (:func:`across_face`).
    """
    step = step.to(x.dtype)
    hess = jet(torch.cat([x + step, x - step])).hess[:, 0]
    plus, minus = hess.chunk(2)
    return torch.linalg.vector_norm((plus - minus).flatten(1), dim=1)


def face_jump(
    field: Field,
    x: Tensor,
    level: Tensor,
    axis: Tensor | None = None,
    delta: float = JUMP_DELTA,
) -> Tensor:
    """Mean Hessian jump of ``field`` at ``x`` snapped to the faces of the given levels and axes
    (a scalar with a graph; see the module docstring). The field's own derivative method.

    Args:
        field: a one-channel field on a grid encoding.
        x: ``(N, d)`` points (e.g. surface samples).
        level: ``(N,)`` int64, one face level per point.
        axis: ``(N,)`` int64, the faces' normal axis per point; ``None``: :func:`nearest_axis`.
        delta: the half step across, in finest active cells.
    """
    encoding = field.encoding
    if axis is None:
        axis = nearest_axis(encoding, x, level)
    on_faces = snap_to_faces(encoding, x, level, axis)
    step = across_face(encoding, axis, delta)
    jump = hessian_jump(lambda p: field.jet(p, order=2, hessian=True), on_faces, step)
    return jump.mean()
