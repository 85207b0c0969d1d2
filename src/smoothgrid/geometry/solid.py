"""Closed solids in 3D: a signed distance (or an implicit function) and surface samples.

A :class:`Solid` is either analytic (the procedural shapes of :mod:`.shapes`, whose surface
samples are projected onto the exact zero set, with exact normals) or a watertight triangle mesh
(:func:`load_solid`; signed distance by libigl, normals of the faces). Points are ``(N, 3)`` in
domain coordinates; signed distances are negative inside.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .mesh import (
    check_watertight,
    face_areas,
    implicit_mesh,
    load_mesh,
    normalize,
    sample_surface,
    signed_distance,
)

__all__ = ["Solid", "SurfaceCurvature", "load_solid", "project_to_surface"]

SurfaceCurvature = Callable[[Tensor], tuple[Tensor, Tensor, Tensor]]
"""Exact curvature of a surface: points ``(N, 3)`` on it (float64) -> mean curvature ``H (N,)``,
Gaussian curvature ``K (N,)`` (inverse and inverse square domain units; ``H > 0`` where the
solid is convex) and ``defined (N,)`` booleans (``False`` near a sharp edge, where neither
exists)."""

MESH_RESOLUTION = 128
"""Marching-cubes nodes per axis of ``[-1, 1]^3`` for the mesh of an analytic solid."""


def project_to_surface(
    f: Callable[[Tensor], Tensor], x: Tensor, steps: int = 4
) -> tuple[Tensor, Tensor]:
    """Move points onto the zero set of ``f`` by Newton steps along its gradient.

    ``x <- x - f(x) grad f / |grad f|^2``: quadratic convergence from a point near a smooth
    surface (a marching-cubes vertex is within a cell of it).

    Args:
        f: ``(N, 3) -> (N,)``, differentiable (autograd).
        x: ``(N, 3)``; float64 for points on the surface to round-off.
        steps: Newton steps.

    Returns:
        ``points (N, 3)`` and unit ``normals (N, 3)`` (``grad f / |grad f|`` there).
    """
    x = x.detach()
    for step in range(steps + 1):
        p = x.requires_grad_(True)
        with torch.enable_grad():
            value = f(p)
            (grad,) = torch.autograd.grad(value.sum(), p)
        x = x.detach()
        if step == steps:
            return x, grad / grad.norm(dim=1, keepdim=True).clamp_min(1e-300)
        square = grad.square().sum(1).clamp_min(1e-300)
        x = x - (value.detach() / square)[:, None] * grad


class Solid:
    """A closed surface and the solid inside it.

    Args:
        name: what it is (a shape name, a file name).
        sdf: ``(N, 3) -> (N,)``, negative inside, zero on the surface, in ``x``'s dtype.
        exact: ``sdf`` is the exact signed distance (else only an implicit function with the
            right zero set and sign, e.g. a CSG bound).
        smooth: the surface is C2, so its curvature is defined everywhere on it.
        mesh: ``(vertices (V, 3), faces (F, 3))`` of the surface; ``None``: marching cubes of
            ``sdf`` on ``[-1, 1]^3`` (:data:`MESH_RESOLUTION` nodes per axis) when first needed.
        project: project mesh samples onto the zero set of ``sdf`` (an analytic, differentiable
            ``sdf``: exact points and normals) instead of keeping the mesh's.
        curvature: the exact curvature of the surface (a :data:`SurfaceCurvature`), or ``None``
            where none is known (meshes).

    Example:
        >>> ball = Solid("ball", lambda x: x.norm(dim=1) - 0.5, exact=True, smooth=True)
        >>> points, normals = ball.sample_surface(100, torch.Generator().manual_seed(0))
        >>> bool((points.norm(dim=1) - 0.5).abs().max() < 1e-12)
        True
    """

    def __init__(
        self,
        name: str,
        sdf: Callable[[Tensor], Tensor],
        exact: bool,
        smooth: bool,
        mesh: tuple[np.ndarray, np.ndarray] | None = None,
        project: bool = True,
        curvature: SurfaceCurvature | None = None,
    ) -> None:
        self.name = name
        self.curvature = curvature
        self._sdf = sdf
        self.exact = bool(exact)
        self.smooth = bool(smooth)
        self._mesh = mesh
        self.project = bool(project)
        self.normalization: tuple[np.ndarray, float] | None = None
        """``(centre (3,), scale)`` of a solid normalised from a file (box coordinates are
        ``(x - centre) * scale``), ``None`` for one made in box coordinates."""

    def __repr__(self) -> str:
        return f"Solid({self.name!r}, exact={self.exact}, smooth={self.smooth})"

    def sdf(self, x: Tensor) -> Tensor:
        """``(N,)`` signed distance (or implicit value) at ``x (N, 3)``, negative inside."""
        if x.dim() != 2 or x.shape[1] != 3:
            raise ValueError(f"a solid takes points of shape (N, 3), got {tuple(x.shape)}")
        return self._sdf(x).reshape(-1)

    @property
    def mesh(self) -> tuple[np.ndarray, np.ndarray]:
        """``(vertices (V, 3), faces (F, 3))`` of the surface."""
        if self._mesh is None:
            self._mesh = implicit_mesh(self.sdf, resolution=MESH_RESOLUTION)
            if len(self._mesh[1]) == 0:
                raise ValueError(f"solid {self.name!r} has no surface inside [-1, 1]^3")
        return self._mesh

    def sample_surface(
        self,
        n: int,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float64,
        device: str | torch.device = "cpu",
    ) -> tuple[Tensor, Tensor]:
        """``n`` points on the surface, uniform by area, with unit outward normals.

        Args:
            n: number of points.
            generator: for reproducible draws (the points are drawn on its device).
            dtype, device: of the returned tensors.

        Returns:
            ``points (n, 3)`` and ``normals (n, 3)``.
        """
        points, normals = sample_surface(*self.mesh, n, generator)
        if self.project:
            points, normals = project_to_surface(self.sdf, points)
        return points.to(dtype=dtype, device=device), normals.to(dtype=dtype, device=device)

    @property
    def area(self) -> float:
        """Surface area (of the mesh)."""
        return float(face_areas(*self.mesh).sum())


def load_solid(path: str | os.PathLike, fill: float = 0.8) -> Solid:
    """A watertight mesh file as a :class:`Solid` in ``[-1, 1]^3``.

    The mesh is read (:func:`~.mesh.load_mesh`), centred and scaled so its longest side is
    ``2 * fill`` (the solid's ``normalization`` is ``(centre (3,), scale)``: box coordinates
    ``(x - centre) * scale``), checked (:func:`~.mesh.check_watertight`) and turned outward if
    it is inside out; its signed distance is libigl's.

    Args:
        path: an ``.obj``, ``.ply``, ``.off`` or ``.stl`` file.
        fill: the fraction of the box the mesh spans.

    Raises:
        FileNotFoundError, ValueError: no file, a bad file, an open mesh (with a repair hint).
        ImportError: trimesh or libigl is missing (``pip install smoothgrid[mesh]``).
    """
    vertices, faces = load_mesh(path)
    vertices, centre, scale = normalize(vertices, fill=fill)
    check_watertight(vertices, faces, source=f"mesh {Path(path).name}")
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    if np.einsum("ij,ij->i", a, np.cross(b, c)).sum() < 0:  # 6 x signed volume
        faces = faces[:, ::-1].copy()
    solid = Solid(
        Path(path).name,
        lambda x: signed_distance(vertices, faces, x).to(x.dtype),
        exact=True,
        smooth=False,
        mesh=(vertices, faces),
        project=False,
    )
    solid.normalization = (centre, scale)
    return solid
