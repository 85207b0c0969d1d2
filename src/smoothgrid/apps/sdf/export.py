"""The zero set of a fitted SDF as a mesh with per-vertex normals and curvature.

Marching cubes (scikit-image) on the field's values at ``resolution^3`` nodes of ``[-1, 1]^3``
gives the mesh; the field's jet at the vertices (order 2, full Hessian; analytic for the grids,
the method's own derivatives otherwise) gives the unit normal ``grad f / |grad f|`` and the mean and
Gaussian curvature (:mod:`.curvature`). :func:`write_ply` stores them as vertex properties
``nx ny nz mean_curvature gaussian_curvature`` of a binary PLY (readable by trimesh, MeshLab,
ParaView, Blender).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

from ...field import Field
from ...geometry.mesh import implicit_mesh, write_mesh
from ...train.metrics import predict
from .curvature import field_curvature
from .data import Frame

__all__ = ["SurfaceMesh", "extract_mesh", "write_ply", "mesh_in_frame"]


@dataclass
class SurfaceMesh:
    """A field's zero set.

    Attributes:
        vertices: ``(V, 3)`` float64 in domain coordinates.
        faces: ``(F, 3)`` int64, outward (towards ``f > 0``).
        normals: ``(V, 3)`` unit ``grad f / |grad f|`` at the vertices.
        mean_curvature: ``(V,)`` ``H`` (inverse domain units).
        gaussian_curvature: ``(V,)`` ``K`` (inverse square domain units).
    """

    vertices: np.ndarray
    faces: np.ndarray
    normals: np.ndarray
    mean_curvature: np.ndarray
    gaussian_curvature: np.ndarray


def extract_mesh(field: Field, resolution: int = 96, derivatives: str | None = None) -> SurfaceMesh:
    """Mesh the zero set of a 3D field on ``[-1, 1]^3`` and evaluate its curvature.

    Args:
        field: a one-channel field ``f`` (negative inside).
        resolution: marching-cubes nodes per axis.
        derivatives: derivative method for the normals and curvature (``None``: the field's).

    Returns:
        A :class:`SurfaceMesh` (empty arrays if ``f`` has no zero in the box).
    """
    vertices, faces = implicit_mesh(lambda x: predict(field, x, chunk=8192), resolution=resolution)
    if len(vertices) == 0:
        empty = np.zeros(0)
        return SurfaceMesh(vertices, faces, np.zeros((0, 3)), empty, empty)
    mean, gauss, grad = (
        t.double().cpu().numpy()
        for t in field_curvature(field, torch.from_numpy(vertices), derivatives)
    )
    normals = grad / np.maximum(np.linalg.norm(grad, axis=1, keepdims=True), 1e-300)
    return SurfaceMesh(vertices, faces, normals, mean, gauss)


def mesh_in_frame(mesh: SurfaceMesh, frame: Frame) -> SurfaceMesh:
    """``mesh`` (box coordinates) in the input's coordinates: vertices mapped back, curvatures
    in inverse input units (``H`` times ``scale``, ``K`` times ``scale**2``; the map is a
    uniform scaling, so normals stay)."""
    return SurfaceMesh(
        frame.to_input(mesh.vertices) if len(mesh.vertices) else mesh.vertices,
        mesh.faces,
        mesh.normals,
        mesh.mean_curvature * frame.scale,
        mesh.gaussian_curvature * frame.scale**2,
    )


def write_ply(path: str | os.PathLike, mesh: SurfaceMesh) -> None:
    """Write ``mesh`` as a binary PLY with normals and curvatures as vertex properties."""
    attributes = {f"n{axis}": mesh.normals[:, k] for k, axis in enumerate("xyz")}
    attributes["mean_curvature"] = mesh.mean_curvature
    attributes["gaussian_curvature"] = mesh.gaussian_curvature
    write_mesh(path, mesh.vertices, mesh.faces, attributes)
