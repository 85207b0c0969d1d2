"""The deformed cloth as a triangle mesh: positions on a grid of reference nodes, with the
engineering strain per vertex; written as OBJ (with texture coordinates ``(u, v)``) or PLY."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ...field import Field
from ...geometry.mesh import write_mesh
from .scenes import Scene
from .shell import flat_reference, fundamental_forms, principal_strains

__all__ = ["ClothMesh", "cloth_mesh", "write_cloth_mesh", "grid_faces"]


@dataclass
class ClothMesh:
    """A deformed cloth.

    Attributes:
        vertices: ``(V, 3)`` float64 positions, m.
        faces: ``(F, 3)`` int64 triangles, counter-clockwise in ``(u, v)``.
        uv: ``(V, 2)`` reference coordinates of the vertices.
        strain: ``(V,)`` the larger principal engineering strain at each vertex.
    """

    vertices: np.ndarray
    faces: np.ndarray
    uv: np.ndarray
    strain: np.ndarray


def grid_faces(n: int) -> np.ndarray:
    """``(2 n^2, 3)`` triangles of an ``(n + 1) x (n + 1)`` node grid (row-major in ``u``)."""
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    a = (i * (n + 1) + j).reshape(-1)
    b, c, d = a + (n + 1), a + 1, a + (n + 1) + 1
    return np.concatenate([np.stack([a, b, d], 1), np.stack([a, d, c], 1)]).astype(np.int64)


def cloth_mesh(field: Field, scene: Scene, n: int = 64) -> ClothMesh:
    """The field at ``(n + 1)^2`` reference nodes of the unit square, ``2 n^2`` triangles."""
    p = next(field.parameters())
    t = torch.linspace(0.0, 1.0, n + 1, dtype=torch.float64)
    uv = torch.stack(torch.meshgrid(t, t, indexing="ij"), -1).reshape(-1, 2)
    with torch.no_grad():
        jet = field.jet(uv.to(dtype=p.dtype, device=p.device), order=2, hessian=True)
        reference = flat_reference(scene.size, len(uv), p.dtype, p.device)
        strain = principal_strains(fundamental_forms(jet), reference)[:, 1]
    return ClothMesh(
        jet.value.double().cpu().numpy(),
        grid_faces(n),
        uv.numpy(),
        strain.double().cpu().numpy(),
    )


def write_cloth_mesh(path: str | os.PathLike, mesh: ClothMesh) -> None:
    """Write ``mesh``: ``.obj`` with ``vt`` texture coordinates ``(u, v)``, or ``.ply``
    (binary) with vertex properties ``u v strain``.

    Raises:
        ValueError: another suffix.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".ply":
        attributes = {"u": mesh.uv[:, 0], "v": mesh.uv[:, 1], "strain": mesh.strain}
        write_mesh(path, mesh.vertices, mesh.faces, attributes)
        return
    if suffix != ".obj":
        raise ValueError(f"a cloth mesh is written as .obj or .ply, got {path.name!r}")
    lines = ["# smoothgrid cloth: positions in metres, vt = reference (u, v)"]
    lines += [f"v {x:.9g} {y:.9g} {z:.9g}" for x, y, z in mesh.vertices]
    lines += [f"vt {u:.9g} {v:.9g}" for u, v in mesh.uv]
    lines += [f"f {a}/{a} {b}/{b} {c}/{c}" for a, b, c in mesh.faces + 1]
    path.write_text("\n".join(lines) + "\n")
