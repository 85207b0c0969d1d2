"""Pressure projection on a staggered (MAC) grid in a closed box, by an exact DCT Poisson solve.

Velocities live on cell faces: component ``i`` has ``n + 1`` samples along axis ``i`` (the faces
``lo + k h``, ``k = 0..n``) and ``n`` along the others (cell centres). The discrete divergence of
a cell is the net flux through its faces, ``div_c = sum_i (u_i[c + e_i/2] - u_i[c - e_i/2]) / h``.

The walls are closed: the normal velocity on the box's faces is zero (free slip for the tangential
components). Projection finds the potential ``p`` of

    L p = div u*,   with zero normal derivative on the walls (Neumann),

where ``L = div grad`` is the 5-point (2D) / 7-point (3D) cell-centred Laplacian with mirrored
ghost cells, and sets ``u = u* - grad p`` on the interior faces. ``L`` is diagonalised by the
orthonormal DCT-II along each axis (eigenvalues ``-4 sin^2(pi k / 2n) / h^2``, summed over axes),
so the solve is direct and exact to round-off: no iterations, and the projected field's discrete
divergence is zero up to floating-point error (see ``tests/test_smoke_simulate.py``). The
constant mode (eigenvalue 0) is compatible because closed walls give ``sum div u* = 0``; ``p`` is
taken with zero mean.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["mac_divergence", "close_walls", "project", "dct_matrix", "solve_neumann_poisson"]


def dct_matrix(n: int, dtype: torch.dtype, device: torch.device | None = None) -> Tensor:
    """``(n, n)`` orthonormal DCT-II matrix ``C[k, i] = s_k cos(pi k (i + 1/2) / n)``.

    Its rows are the eigenvectors of the 1D Neumann Laplacian on ``n`` cell centres;
    ``C^T = C^{-1}``.
    """
    i = torch.arange(n, dtype=torch.float64)
    k = i[:, None]
    c = torch.cos(math.pi * k * (i[None, :] + 0.5) / n) * math.sqrt(2.0 / n)
    c[0] /= math.sqrt(2.0)
    return c.to(dtype=dtype, device=device)


def _along(t: Tensor, matrix: Tensor, axis: int) -> Tensor:
    """Apply ``matrix`` (n, n) along ``axis`` of ``t``."""
    moved = t.movedim(axis, -1)
    return (moved @ matrix.t()).movedim(-1, axis)


def solve_neumann_poisson(rhs: Tensor, spacing: float) -> Tensor:
    """Zero-mean ``p`` with ``L p = rhs - mean(rhs)`` on an ``n^d`` cell-centred grid.

    Args:
        rhs: ``(n_0, ..., n_{d-1})`` right-hand side (e.g. a divergence, 1/s).
        spacing: cell edge ``h`` (domain units; cells are cubes).

    Returns:
        ``p`` shaped like ``rhs`` (units of ``rhs`` times length squared).
    """
    d = rhs.dim()
    mats = [dct_matrix(n, rhs.dtype, rhs.device) for n in rhs.shape]
    coeff = rhs
    for a in range(d):
        coeff = _along(coeff, mats[a], a)
    eig = torch.zeros(rhs.shape, dtype=rhs.dtype, device=rhs.device)
    for a, n in enumerate(rhs.shape):
        k = torch.arange(n, dtype=rhs.dtype, device=rhs.device)
        lam = -4.0 * torch.sin(math.pi * k / (2 * n)) ** 2 / spacing**2
        shape = [1] * d
        shape[a] = n
        eig = eig + lam.reshape(shape)
    eig.view(-1)[0] = 1.0  # the constant mode: p gets zero mean
    coeff = coeff / eig
    coeff.view(-1)[0] = 0.0
    for a in range(d):
        coeff = _along(coeff, mats[a].t(), a)
    return coeff


def mac_divergence(faces: list[Tensor], spacing: float) -> Tensor:
    """``(n,)*d`` discrete divergence (1/s) of face velocities.

    Args:
        faces: ``d`` tensors; ``faces[i]`` has ``n + 1`` entries along axis ``i`` and ``n`` along
            the others (velocity component ``i`` on the faces normal to axis ``i``, length/s).
        spacing: cell edge ``h``.
    """
    div = None
    for i, u in enumerate(faces):
        n1 = u.shape[i]
        flux = (u.narrow(i, 1, n1 - 1) - u.narrow(i, 0, n1 - 1)) / spacing
        div = flux if div is None else div + flux
    return div


def close_walls(faces: list[Tensor]) -> list[Tensor]:
    """Zero the normal velocity on the box's walls (closed, free-slip boundaries)."""
    out = []
    for i, u in enumerate(faces):
        u = u.clone()
        u.select(i, 0).zero_()
        u.select(i, u.shape[i] - 1).zero_()
        out.append(u)
    return out


def project(faces: list[Tensor], spacing: float) -> tuple[list[Tensor], Tensor]:
    """The divergence-free part of face velocities in a closed box.

    Args:
        faces: face velocities (see :func:`mac_divergence`); their wall values are zeroed first.
        spacing: cell edge ``h``.

    Returns:
        ``(faces, p)``: projected face velocities, whose :func:`mac_divergence` is zero to
        round-off, and the zero-mean potential ``p`` (``u = u* - grad p``; the pressure times
        ``dt / density``).
    """
    faces = close_walls(faces)
    p = solve_neumann_poisson(mac_divergence(faces, spacing), spacing)
    out = []
    for i, u in enumerate(faces):
        n = p.shape[i]
        grad = (p.narrow(i, 1, n - 1) - p.narrow(i, 0, n - 1)) / spacing  # interior faces
        u = u.clone()
        u.narrow(i, 1, n - 1).sub_(grad)
        out.append(u)
    return out, p
