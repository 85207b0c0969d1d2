"""Finite-difference references for problems without a closed-form solution.

:class:`DiffusionReference` solves ``u_t = a lap phi(u)`` on a rectangle x ``[t0, t1]`` with
``u = 0`` on the boundary, ``phi(u) = u`` (linear heat) or ``phi(u) = u^2 / 2`` (then
``lap phi(u) = |grad u|^2 + u lap u``: the SPINN nonlinear heat equation), by the 5-point
Laplacian of ``phi(u)`` on a regular grid of nodes and Heun's method (explicit RK2) in time with
a step inside the explicit stability bound ``dt <= 1 / (2 a max phi' (1/hx^2 + 1/hy^2))``.
The error is ``O(h^2)``; with ``richardson=True`` a second solve on half the cells removes the
``h^2`` term (``u + (u - u_coarse) / 3``, the correction interpolated bilinearly), leaving
``O(h^4)``. Snapshots are stored at equally spaced times and queried by trilinear interpolation
(exact at grid nodes and snapshot times).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["DiffusionReference", "solve_diffusion"]


def _rate(u: np.ndarray, a: float, nonlinear: bool, h2: tuple[float, float]) -> np.ndarray:
    """``a lap phi(u)`` at interior nodes, 0 on the boundary."""
    w = 0.5 * u * u if nonlinear else u
    out = np.zeros_like(u)
    c = w[1:-1, 1:-1]
    out[1:-1, 1:-1] = a * (
        (w[2:, 1:-1] - 2.0 * c + w[:-2, 1:-1]) / h2[0]
        + (w[1:-1, 2:] - 2.0 * c + w[1:-1, :-2]) / h2[1]
    )
    return out


def solve_diffusion(
    u0: np.ndarray,
    spacing: Sequence[float],
    times: Sequence[float],
    a: float,
    nonlinear: bool,
    safety: float = 0.8,
) -> np.ndarray:
    """Evolve nodal values by ``u_t = a lap phi(u)`` with ``u = 0`` on the boundary nodes.

    Args:
        u0: ``(nx + 1, ny + 1)`` initial nodal values (boundary nodes included).
        spacing: ``(hx, hy)`` node spacing.
        times: increasing snapshot times, the first the initial time.
        a: diffusion coefficient.
        nonlinear: ``phi(u) = u^2 / 2`` instead of ``u``.
        safety: fraction of the explicit stability bound used as the largest step.

    Returns:
        ``(len(times), nx + 1, ny + 1)`` snapshots; the first is ``u0`` itself.
    """
    h2 = (float(spacing[0]) ** 2, float(spacing[1]) ** 2)
    diffusivity = a * (float(np.abs(u0).max()) if nonlinear else 1.0)
    dt_max = safety / (2.0 * max(diffusivity, 1e-300) * (1.0 / h2[0] + 1.0 / h2[1]))
    u = u0.astype(np.float64).copy()
    u[0], u[-1], u[:, 0], u[:, -1] = 0.0, 0.0, 0.0, 0.0
    out = [u0.astype(np.float64)]
    for t_prev, t_next in zip(times[:-1], times[1:]):
        steps = max(1, math.ceil((t_next - t_prev) / dt_max))
        dt = (t_next - t_prev) / steps
        for _ in range(steps):
            k1 = _rate(u, a, nonlinear, h2)
            k2 = _rate(u + dt * k1, a, nonlinear, h2)
            u = u + 0.5 * dt * (k1 + k2)
        out.append(u.copy())
    return np.stack(out)


def _refine(c: np.ndarray) -> np.ndarray:
    """Bilinear interpolation of ``(T, m + 1, n + 1)`` node values to ``(T, 2m + 1, 2n + 1)``."""
    T, m, n = c.shape
    f = np.empty((T, 2 * m - 1, 2 * n - 1))
    f[:, ::2, ::2] = c
    f[:, 1::2, ::2] = 0.5 * (c[:, 1:] + c[:, :-1])
    f[:, :, 1::2] = 0.5 * (f[:, :, 2::2] + f[:, :, :-2:2])
    return f


class DiffusionReference:
    """``x (N, 3) -> (N, 1)``: the finite-difference solution, computed on the first call.

    Args:
        initial: ``p (M, 2) -> (M,)`` or ``(M, 1)`` initial values at float64 spatial points.
        lo, hi: the spatial rectangle ``[lo_0, hi_0] x [lo_1, hi_1]``.
        t0, t1: the time interval.
        a: diffusion coefficient; ``nonlinear``: ``phi(u) = u^2 / 2`` (see the module docstring).
        cells: cells per spatial axis (even with ``richardson``).
        snapshots: stored time levels, equally spaced from ``t0`` to ``t1``.
        richardson: extrapolate with a solve on ``cells / 2``.
    """

    def __init__(
        self,
        initial: Callable[[Tensor], Tensor],
        lo: Sequence[float],
        hi: Sequence[float],
        t0: float,
        t1: float,
        a: float,
        nonlinear: bool,
        cells: int = 256,
        snapshots: int = 51,
        richardson: bool = True,
    ) -> None:
        if cells < 2 or (richardson and cells % 2) or snapshots < 2:
            raise ValueError(
                f"need cells >= 2 (even with richardson) and snapshots >= 2, got {cells}, "
                f"{snapshots}"
            )
        self.initial, self.a, self.nonlinear = initial, float(a), bool(nonlinear)
        self.lo, self.hi = [float(v) for v in lo], [float(v) for v in hi]
        self.t0, self.t1 = float(t0), float(t1)
        self.cells, self.snapshots, self.richardson = int(cells), int(snapshots), bool(richardson)
        self._values: Tensor | None = None

    def _solve(self, cells: int) -> np.ndarray:
        axes = [
            torch.linspace(a, b, cells + 1, dtype=torch.float64) for a, b in zip(self.lo, self.hi)
        ]
        p = torch.stack(torch.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 2)
        u0 = torch.as_tensor(self.initial(p)).reshape(cells + 1, cells + 1).double().numpy()
        spacing = [(b - a) / cells for a, b in zip(self.lo, self.hi)]
        times = np.linspace(self.t0, self.t1, self.snapshots)
        return solve_diffusion(u0, spacing, times, self.a, self.nonlinear)

    @property
    def values(self) -> Tensor:
        """``(snapshots, cells + 1, cells + 1)`` float64 nodal solution (computed once)."""
        if self._values is None:
            u = self._solve(self.cells)
            if self.richardson:
                coarse = self._solve(self.cells // 2)
                u = u + _refine(u[:, ::2, ::2] - coarse) / 3.0
            self._values = torch.from_numpy(u)
        return self._values

    def __call__(self, x: Tensor) -> Tensor:
        """``(N, 1)`` reference at ``x (N, 3)`` = ``(x, y, t)``, trilinear between nodes."""
        lo = torch.tensor(self.lo + [self.t0], dtype=torch.float64)
        hi = torch.tensor(self.hi + [self.t1], dtype=torch.float64)
        unit = 2.0 * (x.detach().double().cpu() - lo) / (hi - lo) - 1.0
        grid = unit[:, [1, 0, 2]].reshape(1, -1, 1, 1, 3)  # grid_sample order: (W, H, D)
        volume = self.values[None, None]  # (1, 1, T, nx + 1, ny + 1)
        out = F.grid_sample(volume, grid, mode="bilinear", align_corners=True)
        return out.reshape(-1, 1).to(dtype=x.dtype, device=x.device)
