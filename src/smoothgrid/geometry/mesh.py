"""Triangle meshes: files, watertightness, signed distance, marching cubes and surface samples.

A mesh is a pair of numpy arrays, ``vertices: (V, 3)`` float64 and ``faces: (F, 3)`` int64
vertex indices, each face counter-clockwise seen from outside (its normal points out). Signed
distances are negative inside.

Loading, the watertightness check and writing formats other than PLY use trimesh; signed distance
to a mesh uses libigl (``igl.signed_distance``: exact, fast on the CPU). Both are the ``mesh``
extra (``pip install smoothgrid[mesh]``) and are imported only when needed. Marching cubes
(scikit-image), surface samples and PLY output need neither.

>>> import torch
>>> sdf = lambda x: x.norm(dim=1) - 0.5
>>> vertices, faces = implicit_mesh(sdf, resolution=32)
>>> points, normals = sample_surface(vertices, faces, 1000, torch.Generator().manual_seed(0))
>>> points.shape, normals.shape
(torch.Size([1000, 3]), torch.Size([1000, 3]))
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "MESH_SUFFIXES",
    "load_mesh",
    "normalize",
    "boundary_edges",
    "check_watertight",
    "signed_distance",
    "marching_cubes",
    "implicit_mesh",
    "face_areas",
    "sample_surface",
    "write_mesh",
]

MESH_SUFFIXES = (".obj", ".ply", ".off", ".stl")
"""File types :func:`load_mesh` reads."""

_EXTRA = "pip install smoothgrid[mesh]"


def _trimesh() -> ModuleType:
    try:
        import trimesh
    except ImportError:
        raise ImportError(f"reading and checking meshes needs trimesh: {_EXTRA}") from None
    return trimesh


def _igl() -> ModuleType:
    try:
        import igl
    except ImportError:
        raise ImportError(f"signed distance to a mesh needs libigl: {_EXTRA}") from None
    return igl


def _check_mesh(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v = np.ascontiguousarray(vertices, dtype=np.float64)
    f = np.ascontiguousarray(faces, dtype=np.int64)
    if v.ndim != 2 or v.shape[1] != 3 or f.ndim != 2 or f.shape[1] != 3:
        raise ValueError(
            f"a mesh needs vertices (V, 3) and triangle faces (F, 3), got {v.shape} and {f.shape}"
        )
    if len(f) and (f.min() < 0 or f.max() >= len(v)):
        raise ValueError(f"face indices must lie in 0..{len(v) - 1}")
    return v, f


def load_mesh(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read a triangle mesh (``.obj``, ``.ply``, ``.off``, ``.stl``) with trimesh.

    Duplicate vertices are merged (an STL file stores each triangle's own corners), so that a
    closed surface is also closed as a graph.

    Args:
        path: the file.

    Returns:
        ``vertices (V, 3)`` float64 and ``faces (F, 3)`` int64, in the file's units.

    Raises:
        FileNotFoundError: no such file. ValueError: another suffix, or no triangles in it.
        ImportError: trimesh is not installed.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"mesh file {path} not found")
    if path.suffix.lower() not in MESH_SUFFIXES:
        raise ValueError(
            f"cannot read {path.name}: mesh files are {', '.join(MESH_SUFFIXES)}, "
            f"got {path.suffix or 'no suffix'!r}"
        )
    trimesh = _trimesh()
    try:
        mesh = trimesh.load(path, force="mesh", process=True)
    except Exception as error:  # trimesh raises many kinds on a malformed file
        raise ValueError(f"cannot read mesh file {path}: {error}") from None
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise ValueError(f"mesh file {path} holds no triangles")
    return _check_mesh(mesh.vertices, mesh.faces)


def normalize(
    vertices: np.ndarray, lo: float = -1.0, hi: float = 1.0, fill: float = 0.8
) -> tuple[np.ndarray, np.ndarray, float]:
    """Centre and scale vertices into the cube ``[lo, hi]^3``, keeping the aspect ratio.

    Args:
        vertices: ``(V, 3)``.
        lo, hi: the cube.
        fill: the longest side of the vertices' bounding box becomes ``fill * (hi - lo)``.

    Returns:
        ``(normalized (V, 3), centre (3,), scale)`` with ``normalized = (vertices - centre) *
        scale + (lo + hi) / 2``.
    """
    if not 0.0 < fill <= 1.0:
        raise ValueError(f"fill must be in (0, 1], got {fill!r}")
    v = np.asarray(vertices, dtype=np.float64)
    low, high = v.min(0), v.max(0)
    side = float((high - low).max())
    if side <= 0.0:
        raise ValueError("the mesh has no extent: all its vertices coincide")
    centre = 0.5 * (low + high)
    scale = fill * (hi - lo) / side
    return (v - centre) * scale + 0.5 * (lo + hi), centre, scale


def boundary_edges(faces: np.ndarray) -> int:
    """Number of edges that belong to exactly one face (0 for a closed surface)."""
    f = np.asarray(faces, dtype=np.int64)
    edges = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    return int((counts == 1).sum())


def check_watertight(vertices: np.ndarray, faces: np.ndarray, source: str = "the mesh") -> None:
    """Raise ``ValueError`` unless the mesh is a closed, consistently oriented surface.

    Only such a mesh has an inside, hence a signed distance. The message names ``source``,
    counts the open edges and suggests a repair.

    Raises:
        ValueError: holes, edges shared by more than two faces, or inconsistent winding.
        ImportError: trimesh is not installed.
    """
    v, f = _check_mesh(vertices, faces)
    mesh = _trimesh().Trimesh(v, f, process=False)
    if mesh.is_watertight and mesh.is_winding_consistent:
        return
    open_edges = boundary_edges(f)
    problem = (
        f"has {open_edges} open (boundary) edges" if open_edges else "is not a closed manifold"
    )
    if mesh.is_watertight:
        problem = "has inconsistently oriented faces"
    raise ValueError(
        f"{source} is not watertight: it {problem}, so its inside and signed distance are "
        "undefined. Close it first: trimesh.repair.fill_holes(mesh) (then "
        "trimesh.repair.fix_normals) closes small holes; a broken mesh needs a watertight "
        "remesh (e.g. ManifoldPlus, or pymeshfix), or use a point cloud with normals instead."
    )


def signed_distance(vertices: np.ndarray, faces: np.ndarray, points: Tensor) -> Tensor:
    """Exact signed distance from ``points`` to a closed mesh (libigl), negative inside.

    Args:
        vertices, faces: a watertight mesh (see :func:`check_watertight`).
        points: ``(N, 3)``.

    Returns:
        ``(N,)`` float64 on ``points``' device, in the mesh's units.
    """
    v, f = _check_mesh(vertices, faces)
    p = np.ascontiguousarray(points.detach().cpu().numpy(), dtype=np.float64)
    distance = _igl().signed_distance(p, v, f)[0]
    return torch.from_numpy(np.asarray(distance, dtype=np.float64)).to(points.device)


def marching_cubes(
    values: np.ndarray, lo: np.ndarray, hi: np.ndarray, level: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """The ``level`` set of values on a regular grid, as a mesh (scikit-image).

    Args:
        values: ``(n0, n1, n2)`` at the nodes of a grid from ``lo`` to ``hi`` (faces included,
            axis ``i`` along coordinate ``x_i``; :meth:`~smoothgrid.geometry.Box.grid`'s order).
        lo, hi: ``(3,)`` corners of the grid.
        level: the iso-value.

    Returns:
        ``vertices (V, 3)`` float64, ``faces (F, 3)`` int64 with normals towards larger values
        (outward for a signed distance); empty arrays if the level is not crossed.
    """
    from skimage.measure import marching_cubes as skimage_marching_cubes

    values = np.asarray(values, dtype=np.float64)
    lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    if not values.min() < level < values.max():
        return np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64)
    spacing = (hi - lo) / (np.asarray(values.shape) - 1)
    vertices, faces, _, _ = skimage_marching_cubes(
        values, level, spacing=tuple(spacing), gradient_direction="descent"
    )
    return vertices.astype(np.float64) + lo, faces.astype(np.int64)


def implicit_mesh(
    f: Callable[[Tensor], Tensor],
    lo: float = -1.0,
    hi: float = 1.0,
    resolution: int = 128,
    chunk: int = 262144,
) -> tuple[np.ndarray, np.ndarray]:
    """Mesh of the zero set of ``f`` by marching cubes on ``resolution^3`` nodes of ``[lo, hi]^3``.

    Args:
        f: ``(B, 3)`` float64 points -> ``(B,)`` or ``(B, 1)`` values, negative inside.
        lo, hi: the cube.
        resolution: grid nodes per axis.
        chunk: points per call of ``f``.
    """
    if resolution < 2:
        raise ValueError(f"resolution must be >= 2 nodes per axis, got {resolution!r}")
    axis = torch.linspace(lo, hi, resolution, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"), -1).reshape(-1, 3)
    with torch.no_grad():
        values = torch.cat([f(grid[i : i + chunk]).reshape(-1) for i in range(0, len(grid), chunk)])
    cube = values.double().cpu().numpy().reshape(resolution, resolution, resolution)
    return marching_cubes(cube, np.full(3, lo), np.full(3, hi))


def face_areas(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """``(F,)`` triangle areas."""
    v, f = _check_mesh(vertices, faces)
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    return 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)


def sample_surface(
    vertices: np.ndarray,
    faces: np.ndarray,
    n: int,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """``n`` points uniform on the surface (faces drawn by area) with their faces' normals.

    Args:
        vertices, faces: the mesh.
        n: number of points.
        generator: for reproducible draws; the points are drawn on its device (else the CPU).

    Returns:
        ``points (n, 3)`` and unit outward ``normals (n, 3)``, float64.
    """
    v, f = _check_mesh(vertices, faces)
    if len(f) == 0:
        raise ValueError("cannot sample the surface of a mesh without faces")
    where = generator.device if generator is not None else torch.device("cpu")
    corners = torch.from_numpy(v[f]).to(where)  # (F, 3 corners, 3)
    cross = torch.linalg.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    area = cross.norm(dim=1)
    face = torch.multinomial(area, n, replacement=True, generator=generator)
    r1, r2 = torch.rand(2, n, 1, generator=generator, dtype=torch.float64, device=where)
    s = r1.sqrt()  # (1 - s, s (1 - r2), s r2) is uniform on a triangle
    tri = corners[face]
    points = (1 - s) * tri[:, 0] + s * (1 - r2) * tri[:, 1] + s * r2 * tri[:, 2]
    normals = cross[face] / area[face, None].clamp_min(1e-300)
    return points, normals


def _write_ply(
    path: Path, vertices: np.ndarray, faces: np.ndarray, attributes: Mapping[str, np.ndarray]
) -> None:
    """Binary little-endian PLY: float32 ``x y z`` and one float32 property per attribute."""
    columns = [("x", "<f4"), ("y", "<f4"), ("z", "<f4")]
    columns += [(name, "<f4") for name in attributes]
    rows = np.empty(len(vertices), dtype=columns)
    for k, axis in enumerate("xyz"):
        rows[axis] = vertices[:, k]
    for name, values in attributes.items():
        rows[name] = values
    triangles = np.empty(len(faces), dtype=[("n", "u1"), ("i", "<i4", (3,))])
    triangles["n"] = 3
    triangles["i"] = faces
    header = ["ply", "format binary_little_endian 1.0", f"element vertex {len(vertices)}"]
    header += [f"property float {name}" for name, _ in columns]
    header += [f"element face {len(faces)}", "property list uchar int vertex_indices"]
    header += ["end_header", ""]
    with path.open("wb") as file:
        file.write("\n".join(header).encode("ascii"))
        file.write(rows.tobytes())
        file.write(triangles.tobytes())


def write_mesh(
    path: str | os.PathLike,
    vertices: np.ndarray,
    faces: np.ndarray,
    vertex_attributes: Mapping[str, np.ndarray] | None = None,
) -> None:
    """Write a mesh; the format follows the suffix.

    ``.ply`` is written here (binary, float32), with one vertex property per entry of
    ``vertex_attributes`` (e.g. ``{"mean_curvature": (V,)}``); ``.obj``, ``.off`` and ``.stl``
    go through trimesh and carry no attributes.

    Args:
        path: the file.
        vertices, faces: the mesh.
        vertex_attributes: name -> ``(V,)`` values (PLY only).
    """
    path = Path(path)
    v, f = _check_mesh(vertices, faces)
    attributes = {str(k): np.asarray(a).reshape(-1) for k, a in (vertex_attributes or {}).items()}
    for name, values in attributes.items():
        if len(values) != len(v) or not name.isidentifier() or name in ("x", "y", "z"):
            raise ValueError(
                f"vertex attribute {name!r} must be a name other than x, y, z with one value per "
                f"vertex ({len(v)}), got {len(values)}"
            )
    suffix = path.suffix.lower()
    if suffix == ".ply":
        _write_ply(path, v, f, attributes)
        return
    if suffix not in MESH_SUFFIXES:
        raise ValueError(f"mesh files are {', '.join(MESH_SUFFIXES)}, got {path.name!r}")
    if attributes:
        raise ValueError(f"vertex attributes need a .ply file, got {path.name!r}")
    _trimesh().Trimesh(v, f, process=False).export(path)
