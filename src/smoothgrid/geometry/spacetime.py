"""Space-time cylinders ``box x [t0, t1]``; time is the last coordinate."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from ..jet import Jet
from .boundary import Part
from .box import Box, uniform_unit

__all__ = ["SpaceTime"]


class SpaceTime:
    """The cylinder ``box x [t0, t1]`` with points ``(x_0, ..., x_{d-1}, t)``.

    Args:
        box: the spatial :class:`Box` (``d`` axes).
        t0, t1: the time interval, ``t0 < t1``.

    Attributes:
        box: the spatial box; ``dim = box.dim + 1``; ``lo``, ``hi``: float64 ``(dim,)`` tensors
            with the time bounds last.

    Example:
        >>> st = SpaceTime(Box([0.0], [1.0]), 0.0, 2.0)
        >>> st.sample_initial(3, torch.Generator().manual_seed(0))[:, -1]
        tensor([0., 0., 0.])
    """

    def __init__(self, box: Box, t0: float, t1: float) -> None:
        if not isinstance(box, Box):
            raise TypeError(f"box must be a smoothgrid.geometry.Box, got {type(box).__name__}")
        self.box = box
        self.t0, self.t1 = float(t0), float(t1)
        lo, hi = box.bounds
        self._full = Box(lo + [self.t0], hi + [self.t1])  # also checks t0 < t1
        self.dim = self._full.dim
        self.lo, self.hi = self._full.lo, self._full.hi

    def __repr__(self) -> str:
        return f"SpaceTime({self.box!r}, t0={self.t0}, t1={self.t1})"

    @property
    def bounds(self) -> tuple[list[float], list[float]]:
        """``(lo, hi)`` lists of ``dim`` floats, time last."""
        return self._full.bounds

    @property
    def extent(self) -> Tensor:
        """``(dim,)`` float64 edge lengths, time last."""
        return self._full.extent

    def sample_interior(
        self,
        n: int,
        generator: torch.Generator | None = None,
        stratified: bool = False,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
    ) -> Tensor:
        """``(n, dim)`` random points of the cylinder (see :meth:`Box.sample_interior`)."""
        return self._full.sample_interior(n, generator, stratified, dtype, device)

    def quadrature_interior(
        self,
        cells: int,
        nodes: int,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
    ) -> tuple[Tensor, Tensor]:
        """The space-time box's Gauss rule (:meth:`Box.quadrature_interior`): ``cells`` equal
        cells per axis, time included, ``nodes`` per axis in each; weights of mean 1."""
        return self._full.quadrature_interior(cells, nodes, dtype, device)

    def sample_initial(
        self,
        n: int,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
    ) -> Tensor:
        """``(n, dim)`` random points of the initial slice ``t = t0``."""
        x = self.box.sample_interior(n, generator, dtype=dtype, device=device)
        return torch.cat([x, x.new_full((n, 1), self.t0)], 1)

    @property
    def boundary_names(self) -> tuple[str, ...]:
        """The lateral faces' names in index order: those of the spatial box (see
        :attr:`Box.boundary_names`), each face times ``[t0, t1]``."""
        return self.box.boundary_names

    def select_boundary(self, on: Part) -> tuple[int, ...]:
        """Sorted lateral face indices chosen by ``on`` (see :meth:`Box.select_boundary`)."""
        return self.box.select_boundary(on)

    def sample_boundary(
        self,
        n: int,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
        part: Part | None = None,
    ) -> tuple[Tensor, Tensor]:
        """``n`` random points of the lateral boundary (spatial faces x random time).

        Args:
            n: number of points.
            generator, dtype, device: as :meth:`Box.sample_boundary`.
            part: only these spatial faces (names or indices); ``None``: all of them.

        Returns:
            ``points (n, dim)`` and outward spatial unit ``normals (n, dim)`` (time component 0).
        """
        x, normals = self.box.sample_boundary(n, generator, dtype=dtype, device=device, part=part)
        u = uniform_unit(n, 1, generator, device).to(dtype=dtype, device=device)
        t = self.t0 + (self.t1 - self.t0) * u
        return torch.cat([x, t], 1), torch.cat([normals, torch.zeros_like(t)], 1)

    def grid(self, n: int | Sequence[int]) -> Tensor:
        """``(N, dim)`` float64 regular grid, faces and both time ends included (see
        :meth:`Box.grid`: the last axis, time, varies fastest)."""
        return self._full.grid(n)

    def contains(self, x: Tensor, tol: float = 1e-9) -> Tensor:
        """``(n,)`` bool: whether each point of ``x (n, dim)`` lies in the cylinder."""
        return self._full.contains(x, tol)

    def initial_factor(self) -> Callable[[Jet], Jet]:
        """``X -> (t - t0) / (t1 - t0)``: a jet function (``C = dim -> 1``) vanishing at ``t0``."""
        t0, span = self.t0, self.t1 - self.t0

        def factor(X: Jet) -> Jet:
            return (X[..., self.dim - 1] - t0) * (1.0 / span)

        return factor

    def boundary_factor(
        self, axes: Sequence[int] | None = None, on: Part | None = None
    ) -> Callable[[Jet], Jet]:
        """A jet function vanishing on the spatial faces of ``axes``, or on the spatial faces
        ``on`` (all spatial faces by default); see :meth:`Box.boundary_factor`. It does not
        depend on time."""
        if on is not None:
            if axes is not None:
                raise ValueError("give the factor's faces by axes= or by on=, not both")
            return self._full.boundary_factor(on=self.select_boundary(on))
        axes = tuple(range(self.box.dim)) if axes is None else tuple(int(a) for a in axes)
        if any(not 0 <= a < self.box.dim for a in axes):
            raise ValueError(f"axes must be spatial axes in 0..{self.box.dim - 1}, got {axes}")
        return self._full.boundary_factor(axes)
