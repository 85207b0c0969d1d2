"""What an SDF is fitted to: an oriented point cloud in ``[-1, 1]^3``, with the ground truth
when there is one.

A source is one of

* a procedural shape name (``sphere``, ``torus``, ``ellipsoid``, ``box``, ``csg``, ``blob``; see
  :mod:`smoothgrid.geometry.shapes`): exact surface points and normals, exact curvature
  (``Solid.curvature``; away from the edges on ``csg``, none on ``box``), and the exact
  distance on ``sphere``, ``torus`` and ``box``;
* a watertight mesh file (``.obj``, ``.ply``, ``.off``, ``.stl``; needs ``smoothgrid[mesh]``):
  points uniform by area with their faces' normals, libigl's exact signed distance;
* a point cloud file with normals, ``(N, 6)`` rows ``x y z nx ny nz``: ``.xyz`` / ``.txt``
  (whitespace or commas) or ``.npy``. No ground truth beyond the points.

Meshes and point clouds are centred and scaled so their longest side spans ``fill`` of the box
(``fill = 0.8`` by default, ``smoothgrid sdf --fill``); the :class:`Frame` records that map, and
the outputs of a fit (mesh, slices, metrics) are mapped back to the input's coordinates.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from scipy.spatial import cKDTree
from torch import Tensor

from ...geometry import Solid, load_solid, make_shape, shape_names
from ...geometry.mesh import MESH_SUFFIXES, normalize

__all__ = [
    "Frame",
    "POINT_SUFFIXES",
    "SIGN_MARGIN",
    "SIGN_POINTS",
    "SdfTarget",
    "load_target",
    "load_points",
]

POINT_SUFFIXES = (".xyz", ".txt", ".npy")
"""Point cloud files :func:`load_points` reads."""

SIGN_MARGIN = 0.05
"""Distance to the points (domain units) within which :meth:`SdfTarget.sign` abstains."""

SIGN_POINTS = 20_000
"""Points (a fixed random subset) :meth:`SdfTarget.sign` searches: exact nearest neighbours of
points far from the surface cost ~20 us each among 1e5 points, ~5 us among 2e4, whose spacing
(~0.015 on the torus) is still well inside :data:`SIGN_MARGIN`."""


@dataclass(frozen=True)
class Frame:
    """The map from the input's coordinates to the box the field lives in:
    ``box = (x - centre) * scale``. Lengths in the box are ``scale`` times the input's.

    Attributes:
        centre: ``(3,)`` the input point that maps to the box's centre.
        scale: box units per input unit (``> 0``).
    """

    centre: tuple[float, float, float] = (0.0, 0.0, 0.0)
    scale: float = 1.0

    @classmethod
    def of(cls, centre, scale: float) -> Frame:
        """A frame from any ``(3,)`` centre."""
        return cls(tuple(float(c) for c in np.asarray(centre).reshape(3)), float(scale))

    def to_box(self, x: np.ndarray) -> np.ndarray:
        """``(N, 3)`` input coordinates -> box coordinates."""
        return (np.asarray(x) - np.asarray(self.centre)) * self.scale

    def to_input(self, y: np.ndarray) -> np.ndarray:
        """``(N, 3)`` box coordinates -> input coordinates."""
        return np.asarray(y) / self.scale + np.asarray(self.centre)

    def as_dict(self) -> dict:
        """``{"centre": [...], "scale": ...}`` (for ``config.yaml``)."""
        return {"centre": list(self.centre), "scale": self.scale}


@dataclass
class SdfTarget:
    """An oriented point cloud to fit, and its ground truth if known.

    Attributes:
        name: the shape name or file name.
        points: ``(N, 3)`` float64 surface points in ``[-1, 1]^3`` (the training pool).
        normals: ``(N, 3)`` float64 unit outward normals.
        solid: the surface as a :class:`~smoothgrid.geometry.Solid` (fresh samples, signed
            distance, curvature) for a shape or a mesh; ``None`` for a point cloud.
        frame: the map from the input's coordinates to the box (identity for a shape).
    """

    name: str
    points: Tensor
    normals: Tensor
    solid: Solid | None = None
    frame: Frame = Frame()
    _tree: tuple[cKDTree, Tensor] | None = field(default=None, init=False, repr=False)

    def sign(self, x: Tensor, margin: float = SIGN_MARGIN) -> Tensor:
        """Inside or outside by the nearest oriented point (Hoppe et al. 1992).

        ``+1`` where ``(x - p) . n > 0`` for the nearest point ``p`` with normal ``n`` (outside),
        ``-1`` inside, ``0`` within ``margin`` of the points, where a sampled surface's nearest
        normal is no reliable guide. Exact for a closed, densely sampled surface beyond the
        margin. The points searched are :data:`SIGN_POINTS` of the target's, drawn once.

        Args:
            x: ``(N, 3)`` points.
            margin: see above, in domain units.

        Returns:
            ``(N,)`` in ``x``'s dtype and device.
        """
        if self._tree is None:
            generator = torch.Generator().manual_seed(0)
            keep = torch.randperm(len(self.points), generator=generator)[:SIGN_POINTS]
            self._tree = (cKDTree(self.points[keep].double().numpy()), keep)
        tree, keep = self._tree
        query = x.detach().double().cpu()
        distance, nearest = tree.query(query.numpy())
        nearest = keep[torch.from_numpy(nearest)]
        side = ((query - self.points[nearest]) * self.normals[nearest]).sum(1).sign()
        side[torch.from_numpy(distance) <= margin] = 0.0
        return side.to(dtype=x.dtype, device=x.device)


def load_points(path: str | os.PathLike, fill: float = 0.8) -> tuple[Tensor, Tensor, Frame]:
    """An ``(N, 6)`` point cloud file with normals, normalised into ``[-1, 1]^3``.

    Returns:
        ``points (N, 3)`` in the box and unit ``normals (N, 3)``, float64, and the
        :class:`Frame` of the normalisation.

    Raises:
        FileNotFoundError, ValueError: no file, a bad shape, zero or non-finite normals.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"point cloud file {path} not found")
    if path.suffix.lower() == ".npy":
        rows = np.load(path, allow_pickle=False)
    else:
        text = path.read_text().replace(",", " ")
        rows = np.loadtxt(text.splitlines(), ndmin=2)
    rows = np.asarray(rows, dtype=np.float64)
    if rows.ndim != 2 or rows.shape[1] != 6 or len(rows) < 1:
        raise ValueError(
            f"a point cloud needs rows 'x y z nx ny nz' (N, 6), got shape {rows.shape} in {path}"
        )
    length = np.linalg.norm(rows[:, 3:], axis=1, keepdims=True)
    if not np.isfinite(rows).all() or (length == 0).any():
        raise ValueError(f"{path}: every point needs a finite position and a non-zero normal")
    points, centre, scale = normalize(rows[:, :3], fill=fill)
    frame = Frame.of(centre, scale)
    return torch.from_numpy(points), torch.from_numpy(rows[:, 3:] / length), frame


def load_target(
    source: str | os.PathLike,
    points: int = 100_000,
    seed: int = 0,
    fill: float = 0.8,
) -> SdfTarget:
    """The :class:`SdfTarget` of a shape name, a mesh file or a point cloud file.

    Args:
        source: see the module docstring.
        points: surface points drawn from a shape or a mesh (a point cloud keeps its own).
        seed: seeds those draws.
        fill: the fraction of the box a mesh or point cloud spans (its longest side), in
            ``(0, 1]``.

    Raises:
        FileNotFoundError: a file name that does not exist.
        ValueError: an unknown shape or file type, a bad file, an open mesh.
        ImportError: a mesh without the ``mesh`` extra.

    Example:
        >>> target = load_target("torus", points=1000)
        >>> target.points.shape, target.solid.exact
        (torch.Size([1000, 3]), True)
    """
    name = str(source)
    suffix = Path(name).suffix.lower()
    if name in shape_names():
        solid = make_shape(name)
    elif suffix in MESH_SUFFIXES:
        solid = load_solid(source, fill=fill)
    elif suffix in POINT_SUFFIXES:
        xyz, normals, frame = load_points(source, fill=fill)
        return SdfTarget(Path(name).name, xyz, normals, frame=frame)
    else:
        near = difflib.get_close_matches(name, shape_names(), n=1)
        hint = f" Did you mean {near[0]!r}?" if near and not suffix else ""
        raise ValueError(
            f"cannot fit an SDF to {name!r}: give a shape ({', '.join(shape_names())}), a mesh "
            f"file ({', '.join(MESH_SUFFIXES)}) or a point cloud with normals "
            f"({', '.join(POINT_SUFFIXES)}).{hint}"
        )
    if not isinstance(points, int) or points < 1:
        raise ValueError(f"points must be an integer >= 1, got {points!r}")
    xyz, normals = solid.sample_surface(points, torch.Generator().manual_seed(seed))
    frame = Frame() if solid.normalization is None else Frame.of(*solid.normalization)
    return SdfTarget(solid.name, xyz, normals, solid, frame)
