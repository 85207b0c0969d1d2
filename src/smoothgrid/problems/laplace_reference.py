"""Finite-difference reference for Laplace's equation with Dirichlet data on curved boundaries.

The domain is the part of a box where every *wall* function ``phi_k`` is positive; on the zero
set of ``phi_k`` the solution is the constant ``c_k``, on the box faces ``box_value``. Unknowns
are the grid nodes inside the domain. The discretisation is the standard ``2d + 1``-point
Laplacian; where a neighbour lies across a wall, the wall's crossing is located on the grid edge
at ``theta h`` by linear interpolation of ``phi`` and the neighbour's value is extrapolated
linearly from the node and the wall (Gibou, Fedkiw, Cheng, Kang, *J. Comput. Phys.* 176, 2002):
``u_ghost = (c_k + (theta - 1) u_i) / theta``. The matrix stays symmetric positive definite, so
conjugate gradients with a Jacobi preconditioner solve it; the solution is second-order accurate
(``O(h^2)``, see ``tests/test_poisson_mesh.py``).

:class:`LaplaceReference` solves on its first call and interpolates the nodal values
(multilinear; a node outside the domain takes the value of the wall it is most inside).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

if TYPE_CHECKING:  # SciPy is imported when a reference is first solved, not with the zoo
    from scipy import sparse
    from scipy.interpolate import RegularGridInterpolator

__all__ = ["Wall", "solve_laplace", "LaplaceReference"]

Wall = tuple[Callable[[Tensor], Tensor], float]
"""``(phi, c)``: ``phi: (N, d) float64 -> (N,)``, positive in the domain, zero on this part of
its boundary (a signed distance is best: the crossing is then located to ``O(h^2)``), and the
value ``c`` there."""

THETA_MIN = 1e-6
"""Smallest fraction of a cell between a node and a wall (guards the division)."""


def _pcg(matrix: sparse.csr_matrix, rhs: np.ndarray, rtol: float, max_iter: int) -> np.ndarray:
    """Conjugate gradients with a Jacobi preconditioner, stopped at ``|r| <= rtol |b|``."""
    inverse = 1.0 / matrix.diagonal()
    x = np.zeros_like(rhs)
    r = rhs.copy()
    z = inverse * r
    p = z.copy()
    rz = r @ z
    target = rtol * np.linalg.norm(rhs)
    for _ in range(max_iter):
        if np.linalg.norm(r) <= target:
            return x
        ap = matrix @ p
        alpha = rz / (p @ ap)
        x += alpha * p
        r -= alpha * ap
        z = inverse * r
        rz, previous = r @ z, rz
        p = z + (rz / previous) * p
    raise RuntimeError(
        f"conjugate gradients did not reach a relative residual of {rtol:g} in {max_iter} "
        f"iterations (now {np.linalg.norm(r) / max(np.linalg.norm(rhs), 1e-300):.2e})"
    )


def solve_laplace(
    walls: Sequence[Wall],
    lo: Sequence[float],
    hi: Sequence[float],
    cells: int,
    box_value: float = 0.0,
    rtol: float = 1e-10,
) -> np.ndarray:
    """Solve ``lap u = 0`` with the walls' and the box's Dirichlet values on a regular grid.

    Args:
        walls: the curved boundary parts, see :data:`Wall`.
        lo, hi: the box (``d`` numbers each).
        cells: cells per axis (``cells + 1`` nodes, faces included).
        box_value: ``u`` on the box faces.
        rtol: relative residual at which conjugate gradients stop.

    Returns:
        ``(cells + 1,) * d`` float64 nodal values, indexed like ``Box.grid``'s nodes; a node
        outside the domain holds the value of the wall it is most inside (``box_value`` on the
        faces), so that interpolation is continuous.
    """
    d = len(lo)
    if cells < 2 or not walls:
        raise ValueError(f"need cells >= 2 and at least one wall, got {cells!r}, {len(walls)}")
    lo_, hi_ = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    h = (hi_ - lo_) / cells
    shape = (cells + 1,) * d
    axes = [torch.linspace(a, b, cells + 1, dtype=torch.float64) for a, b in zip(lo_, hi_)]
    nodes = torch.stack(torch.meshgrid(*axes, indexing="ij"), -1).reshape(-1, d)
    phi = np.stack([wall(nodes).detach().double().cpu().numpy().ravel() for wall, _ in walls])
    values = np.array([c for _, c in walls], dtype=np.float64)
    interior = np.zeros(shape, dtype=bool)
    interior[(slice(1, -1),) * d] = True
    interior = interior.ravel()
    unknown = interior & (phi > 0).all(0)
    ids = np.flatnonzero(unknown)
    index = np.full(unknown.size, -1)
    index[ids] = np.arange(len(ids))
    strides = [int(np.prod(shape[a + 1 :])) for a in range(d)]

    diagonal = np.zeros(len(ids))
    rhs = np.zeros(len(ids))
    rows, cols, coupling = [], [], []
    for axis in range(d):
        weight = 1.0 / h[axis] ** 2
        for step in (strides[axis], -strides[axis]):
            neighbour = ids + step
            theta = np.full(len(ids), np.inf)
            wall_value = np.zeros(len(ids))
            for k in range(len(walls)):
                here, there = phi[k, ids], phi[k, neighbour]
                crossing = there <= 0
                fraction = np.where(crossing, here / np.where(crossing, here - there, 1.0), np.inf)
                nearer = fraction < theta
                theta[nearer], wall_value[nearer] = fraction[nearer], values[k]
            face = ~interior[neighbour] & (theta > 1.0)
            theta[face], wall_value[face] = 1.0, box_value
            inside = unknown[neighbour]
            rows.append(index[ids[inside]])
            cols.append(index[neighbour[inside]])
            coupling.append(np.full(int(inside.sum()), -weight))
            theta = np.maximum(theta, THETA_MIN)
            diagonal += np.where(inside, weight, weight / theta)
            rhs += np.where(inside, 0.0, weight * wall_value / theta)
    n = len(ids)
    entries = np.concatenate([diagonal, *coupling])
    rows_ = np.concatenate([np.arange(n), *rows])
    cols_ = np.concatenate([np.arange(n), *cols])
    from scipy import sparse

    matrix = sparse.csr_matrix((entries, (rows_, cols_)), shape=(n, n))
    solution = _pcg(matrix, rhs, rtol, max_iter=20 * (cells + 1) * d + 1000)

    out = np.full(unknown.size, float(box_value))
    outside = phi.min(0) <= 0
    out[outside] = values[phi.argmin(0)[outside]]
    out[ids] = solution
    return out.reshape(shape)


class LaplaceReference:
    """``x (N, d) -> (N, 1)``: the solution of :func:`solve_laplace`, computed on the first call.

    Args:
        walls, lo, hi, cells, box_value: as :func:`solve_laplace`.

    Nodal values are exact at the grid's nodes; between them the interpolation is multilinear.
    """

    def __init__(
        self,
        walls: Sequence[Wall],
        lo: Sequence[float],
        hi: Sequence[float],
        cells: int,
        box_value: float = 0.0,
    ) -> None:
        self.walls = list(walls)
        self.lo, self.hi = [float(v) for v in lo], [float(v) for v in hi]
        self.cells, self.box_value = int(cells), float(box_value)
        self._interpolate: RegularGridInterpolator | None = None

    @property
    def values(self) -> np.ndarray:
        """``(cells + 1,) * d`` nodal solution (computed once)."""
        return self._interpolator().values

    def _interpolator(self) -> RegularGridInterpolator:
        if self._interpolate is None:
            u = solve_laplace(self.walls, self.lo, self.hi, self.cells, self.box_value)
            axes = [np.linspace(a, b, self.cells + 1) for a, b in zip(self.lo, self.hi)]
            from scipy.interpolate import RegularGridInterpolator

            self._interpolate = RegularGridInterpolator(axes, u, method="linear")
        return self._interpolate

    def __call__(self, x: Tensor) -> Tensor:
        """``(N, 1)`` reference at ``x (N, d)`` (in the box), in ``x``'s dtype and device."""
        points = x.detach().double().cpu().numpy()
        points = np.clip(points, self.lo, self.hi)  # round-off on the faces
        u = self._interpolator()(points)
        return torch.from_numpy(u).reshape(-1, 1).to(dtype=x.dtype, device=x.device)
