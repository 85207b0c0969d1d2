"""Axis-aligned boxes: samplers, regular test grids and hard-constraint boundary factors.

Faces are numbered ``2 i`` (``x_i = lo_i``) and ``2 i + 1`` (``x_i = hi_i``) and named
``left right bottom top back front`` (up to 3D) or ``x0- x0+ x1- ...`` (see :mod:`.boundary`).

Points are ``(n, d)`` tensors in domain coordinates. Samplers draw in float64 on the generator's
device (or ``device`` without a generator) and then cast, so one seed gives the same points
(up to rounding) in every dtype.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from ..jet import Jet
from .boundary import Part, face_aliases, face_names, select_parts

__all__ = ["Box", "uniform_unit", "stratified_unit", "gauss_unit"]


def uniform_unit(
    n: int, d: int, generator: torch.Generator | None, device: str | torch.device
) -> Tensor:
    """``(n, d)`` float64 points uniform in ``[0, 1)^d``."""
    where = generator.device if generator is not None else device
    return torch.rand(n, d, generator=generator, dtype=torch.float64, device=where)


def stratified_unit(
    n: int, d: int, generator: torch.Generator | None, device: str | torch.device
) -> Tensor:
    """``(n, d)`` float64 points in ``[0, 1)^d``, one in each of the ``m^d`` equal cells.

    ``m`` is the largest integer with ``m^d <= n``; the remaining ``n - m^d`` points are uniform.
    """
    m = max(1, int(round(n ** (1.0 / d))))
    while m**d > n:
        m -= 1
    while (m + 1) ** d <= n:
        m += 1
    u = uniform_unit(n, d, generator, device)
    axes = [torch.arange(m, dtype=torch.float64, device=u.device)] * d
    cells = torch.stack(torch.meshgrid(*axes, indexing="ij"), -1).reshape(-1, d)
    u[: m**d] = (cells + u[: m**d]) / m
    return u


def gauss_unit(
    cells: int, nodes: int, d: int, device: str | torch.device = "cpu"
) -> tuple[Tensor, Tensor]:
    """The tensor-product Gauss-Legendre rule with ``nodes`` points per axis in each of the
    ``cells^d`` equal cells of ``[0, 1]^d``.

    Exact for polynomials of degree ``<= 2 nodes - 1`` per axis in every cell (a piecewise
    polynomial on that grid, e.g. the square of a Hermite field's residual on its finest
    level, is integrated to rounding when its degree allows).

    Returns:
        ``(x, w)``: float64 points ``x ((cells * nodes)^d, d)`` and weights ``w`` of mean 1,
        so that ``mean(w * f(x))`` is the rule's estimate of ``f``'s mean over the cube.
    """
    if cells < 1 or nodes < 1:
        raise ValueError(f"cells and nodes must be >= 1, got {cells}, {nodes}")
    t, w = np.polynomial.legendre.leggauss(nodes)
    t = torch.as_tensor((t + 1.0) / 2.0, dtype=torch.float64)
    w = torch.as_tensor(w / w.mean(), dtype=torch.float64)
    start = torch.arange(cells, dtype=torch.float64)
    axis = ((start[:, None] + t[None, :]) / cells).reshape(-1)
    axis_w = w.repeat(cells)
    x = torch.stack(torch.meshgrid(*[axis] * d, indexing="ij"), -1).reshape(-1, d)
    weights = torch.ones(len(x), dtype=torch.float64)
    for grid in torch.meshgrid(*[axis_w] * d, indexing="ij"):
        weights *= grid.reshape(-1)
    return x.to(device), weights.to(device)


def _as_float_list(v: Sequence[float] | float, name: str) -> list[float]:
    if isinstance(v, (int, float)):
        return [float(v)]
    try:
        return [float(a) for a in v]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or a sequence of numbers, got {v!r}") from None


def _per_axis(n: int | Sequence[int], d: int) -> list[int]:
    sizes = [int(n)] * d if isinstance(n, int) else [int(a) for a in n]
    if len(sizes) != d or any(s < 2 for s in sizes):
        raise ValueError(f"grid needs one size >= 2 per axis ({d} axes), got {n!r}")
    return sizes


class Box:
    """The box ``[lo_0, hi_0] x ... x [lo_{d-1}, hi_{d-1}]``.

    Args:
        lo, hi: ``d`` numbers each (a number for ``d = 1``), ``lo < hi``.

    Attributes:
        dim: ``d``.
        lo, hi: float64 tensors ``(d,)``.

    Example:
        >>> box = Box([-1, -1], [1, 1])
        >>> box.sample_interior(4, torch.Generator().manual_seed(0)).shape
        torch.Size([4, 2])
    """

    def __init__(self, lo: Sequence[float] | float, hi: Sequence[float] | float) -> None:
        lo_l, hi_l = _as_float_list(lo, "lo"), _as_float_list(hi, "hi")
        if len(lo_l) != len(hi_l) or not lo_l:
            raise ValueError(f"lo and hi need the same number (>= 1) of entries: {lo!r}, {hi!r}")
        if any(a >= b for a, b in zip(lo_l, hi_l)):
            raise ValueError(f"every lo must be below its hi, got lo={lo_l}, hi={hi_l}")
        self.dim = len(lo_l)
        self.lo = torch.tensor(lo_l, dtype=torch.float64)
        self.hi = torch.tensor(hi_l, dtype=torch.float64)

    def __repr__(self) -> str:
        return f"Box(lo={self.lo.tolist()}, hi={self.hi.tolist()})"

    @property
    def bounds(self) -> tuple[list[float], list[float]]:
        """``(lo, hi)`` as lists of ``d`` floats (what encodings' ``set_bounds`` takes)."""
        return self.lo.tolist(), self.hi.tolist()

    @property
    def extent(self) -> Tensor:
        """``(d,)`` float64 edge lengths ``hi - lo``."""
        return self.hi - self.lo

    def _scale(self, u: Tensor, dtype: torch.dtype, device) -> Tensor:
        lo, ext = self.lo.to(u.device), self.extent.to(u.device)
        return (lo + ext * u).to(dtype=dtype, device=device)

    def sample_interior(
        self,
        n: int,
        generator: torch.Generator | None = None,
        stratified: bool = False,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
    ) -> Tensor:
        """``(n, d)`` random points in the box, uniform or stratified (one per cell of an
        ``m^d`` partition, ``m = floor(n^(1/d))``, the rest uniform)."""
        draw = stratified_unit if stratified else uniform_unit
        return self._scale(draw(n, self.dim, generator, device), dtype, device)

    def quadrature_interior(
        self,
        cells: int,
        nodes: int,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
    ) -> tuple[Tensor, Tensor]:
        """Gauss-Legendre points of ``nodes`` per axis in each of ``cells^d`` equal cells
        (:func:`gauss_unit`): ``(x ((cells * nodes)^d, d), w (same,))``, weights of mean 1."""
        u, w = gauss_unit(cells, nodes, self.dim, device)
        return self._scale(u, dtype, device), w.to(dtype)

    def face_areas(self) -> Tensor:
        """``(2d,)`` float64 measures of the faces, ordered ``(lo_0, hi_0, lo_1, hi_1, ...)``."""
        ext = self.extent
        areas = torch.stack([ext[torch.arange(self.dim) != i].prod() for i in range(self.dim)])
        return areas.repeat_interleave(2)

    @property
    def boundary_names(self) -> tuple[str, ...]:
        """The faces' names in index order, e.g. ``("left", "right", "bottom", "top")`` in 2D."""
        return face_names(self.dim)

    def select_boundary(self, on: Part) -> tuple[int, ...]:
        """Sorted face indices chosen by ``on``: a face name (``"top"`` or ``"x1+"``), an index
        in ``0 .. 2d-1``, or a sequence of them; an unknown name raises ``ValueError`` with the
        nearest known one."""
        return select_parts(on, face_aliases(self.dim), 2 * self.dim, f"a {self.dim}-D box")

    def sample_boundary(
        self,
        n: int,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
        part: Part | None = None,
    ) -> tuple[Tensor, Tensor]:
        """``n`` random points on the faces, each face chosen in proportion to its area.

        Args:
            n: number of points.
            generator, dtype, device: the random stream and the points' type and place.
            part: only these faces (see :meth:`select_boundary`); ``None``: all of them.

        Returns:
            ``points (n, d)``, whose face coordinate is exactly ``lo_i`` or ``hi_i``, and the
            exact outward unit ``normals (n, d)``.
        """
        u = uniform_unit(n, self.dim, generator, device)
        areas = self.face_areas().to(u.device)
        if part is not None:
            keep = torch.zeros_like(areas, dtype=torch.bool)
            keep[list(self.select_boundary(part))] = True
            areas = torch.where(keep, areas, 0.0)
        if n == 0:
            return u.to(dtype=dtype, device=device), u.to(dtype=dtype, device=device)
        face = torch.multinomial(areas, n, replacement=True, generator=generator)
        axis, side = face // 2, (face % 2).to(torch.float64)
        rows = torch.arange(n, device=u.device)
        x = self.lo.to(u.device) + self.extent.to(u.device) * u
        # set the face coordinate itself: lo + (hi - lo) need not round to hi
        x[rows, axis] = torch.where(
            side > 0, self.hi.to(u.device)[axis], self.lo.to(u.device)[axis]
        )
        normals = torch.zeros_like(u)
        normals[rows, axis] = 2.0 * side - 1.0
        return x.to(dtype=dtype, device=device), normals.to(dtype=dtype, device=device)

    def grid(self, n: int | Sequence[int]) -> Tensor:
        """``(N, d)`` float64 regular grid with ``n`` (or ``n[i]``) points per axis, faces
        included; ``torch.meshgrid(indexing="ij")`` order, so the last axis varies fastest and
        ``values.reshape(*sizes)`` is indexed ``[i_0, ..., i_{d-1}]``."""
        sizes = _per_axis(n, self.dim)
        axes = [
            torch.linspace(float(a), float(b), s, dtype=torch.float64)
            for a, b, s in zip(self.lo, self.hi, sizes)
        ]
        return torch.stack(torch.meshgrid(*axes, indexing="ij"), -1).reshape(-1, self.dim)

    def contains(self, x: Tensor, tol: float = 1e-9) -> Tensor:
        """``(n,)`` bool: whether each point of ``x (n, d)`` lies in the box (``tol`` slack)."""
        lo, hi = self.lo.to(x), self.hi.to(x)
        return ((x >= lo - tol) & (x <= hi + tol)).all(-1)

    def boundary_factor(
        self, axes: Sequence[int] | None = None, on: Part | None = None
    ) -> Callable[[Jet], Jet]:
        """A jet function ``B(X)`` (``C = d`` coordinates -> ``C = 1``) that vanishes on the
        chosen faces only; works at any jet order.

        ``B`` is the product, over the axes with a chosen face, of ``(x_i - lo_i) / (ext_i/2)``
        (face ``lo_i`` chosen), ``(hi_i - x_i) / (ext_i/2)`` (face ``hi_i``) or
        ``(x_i - lo_i)(hi_i - x_i) / (ext_i/2)^2`` (both), ``ext = hi - lo``: ``B > 0`` inside
        and on the other faces (away from the chosen ones), and ``B = 1`` at the centre. The
        scale matters to training: with ``u = g + B N`` the network's ``N`` must reach
        ``(u - g) / B``.

        Args:
            axes: both faces of these axes.
            on: these faces (names or indices, see :meth:`select_boundary`).
            Neither: every face.

        Example:
            >>> B = Box([0, 0], [2, 1]).boundary_factor(on=("left", "right", "bottom"))
            >>> B(Jet.coordinates(torch.tensor([[1.0, 0.5], [0.0, 0.5]]), order=0)).value
            tensor([[1.],
                    [0.]])
        """
        if axes is not None and on is not None:
            raise ValueError("give the factor's faces by axes= or by on=, not both")
        if on is not None:
            faces = self.select_boundary(on)
        else:
            axes = tuple(range(self.dim)) if axes is None else tuple(int(a) for a in axes)
            if not axes or any(not 0 <= a < self.dim for a in axes):
                raise ValueError(
                    f"axes must be a non-empty subset of 0..{self.dim - 1}, got {axes}"
                )
            faces = tuple(2 * a + s for a in sorted(set(axes)) for s in (0, 1))
        lo, hi, ext = self.lo.tolist(), self.hi.tolist(), self.extent.tolist()
        sides = {i: tuple(s for s in (0, 1) if 2 * i + s in faces) for i in range(self.dim)}

        def factor(X: Jet) -> Jet:
            out = None
            for i, chosen in sides.items():
                if not chosen:
                    continue
                xi = X[..., i]
                if chosen == (0, 1):
                    term = (xi - lo[i]) * (hi[i] - xi) * (4.0 / ext[i] ** 2)
                elif chosen == (0,):
                    term = (xi - lo[i]) * (2.0 / ext[i])
                else:
                    term = (hi[i] - xi) * (2.0 / ext[i])
                out = term if out is None else out * term
            return out

        return factor
