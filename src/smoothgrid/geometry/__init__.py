"""Domains and shapes: boxes, space-time cylinders, closed solids (procedural shapes and
watertight meshes) and the box outside a solid; samplers (by boundary part or predicate, see
:mod:`.boundary`), test grids and constraint factors.

Mesh files and signed distance to meshes need the ``mesh`` extra (trimesh, libigl), imported
only when used; see :mod:`.mesh`.
"""

from . import boundary, curvature, mesh
from .boundary import face_names, sample_boundary
from .box import Box
from .exterior import BOUNDARY_PARTS, ExteriorDomain
from .shapes import (
    EDGE_MARGIN,
    blob,
    box,
    csg,
    describe_shapes,
    difference,
    ellipsoid,
    intersection,
    make_shape,
    shape_names,
    sphere,
    torus,
    union,
)
from .solid import Solid, SurfaceCurvature, load_solid, project_to_surface
from .spacetime import SpaceTime

__all__ = [
    "Box",
    "SpaceTime",
    "ExteriorDomain",
    "BOUNDARY_PARTS",
    "boundary",
    "face_names",
    "sample_boundary",
    "Solid",
    "SurfaceCurvature",
    "curvature",
    "load_solid",
    "project_to_surface",
    "mesh",
    "make_shape",
    "shape_names",
    "describe_shapes",
    "sphere",
    "torus",
    "ellipsoid",
    "EDGE_MARGIN",
    "box",
    "csg",
    "blob",
    "union",
    "intersection",
    "difference",
]
