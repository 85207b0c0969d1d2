"""Signed distance fields from meshes, oriented point clouds and procedural shapes.

A field is fitted with the SIREN loss (surface value, off-surface ``exp(-alpha |f|)``, normal
alignment, eikonal ``|grad f| = 1``), a sign term from the oriented points and, on smoothgrid's
grids, a penalty on the Hessian's jump across cell faces (:mod:`.jumps`); its zero set is
meshed by marching cubes with the mean and Gaussian curvature of the field's level sets per
vertex, from the analytic Hessian of smoothgrid's grids (finite differences for ``ingp_fd``),
and scored against the ground truth: Chamfer distance, normal angle, eikonal error and, on the
procedural shapes with exact curvature, curvature errors and roughness.

>>> from smoothgrid.apps import sdf
>>> result = sdf.fit_sdf("torus", time_budget=60, out="runs/torus")      # doctest: +SKIP
>>> result.metrics["chamfer"], result.metrics["mean_curvature_rel_error"]  # doctest: +SKIP

Command line: ``smoothgrid sdf torus --methods hermite,ingp_fd --time 60 --out runs/torus``.
"""

from .curvature import (
    adjugate,
    field_curvature,
    gaussian_curvature,
    implicit_curvature,
    mean_curvature,
)
from .data import POINT_SUFFIXES, SIGN_MARGIN, Frame, SdfTarget, load_points, load_target
from .export import SurfaceMesh, extract_mesh, write_ply
from .fit import (
    INIT_RADIUS,
    SDF_GRID,
    SdfResult,
    SpherePrior,
    fit_sdf,
    restore_field,
    sdf_field,
)
from .jumps import face_jump, hessian_jump, snap_to_faces
from .losses import ALPHA, SDF_WEIGHTS, sdf_terms, total_loss
from .metrics import (
    chamfer_distance,
    curvature_roughness,
    markdown_table,
    mesh_edges,
    normal_angle,
    sdf_metrics,
)
from .plots import plot_curvature, plot_slices

__all__ = [
    "fit_sdf",
    "restore_field",
    "Frame",
    "SdfResult",
    "sdf_field",
    "SDF_GRID",
    "INIT_RADIUS",
    "SpherePrior",
    "SdfTarget",
    "load_target",
    "load_points",
    "POINT_SUFFIXES",
    "SIGN_MARGIN",
    "mean_curvature",
    "gaussian_curvature",
    "adjugate",
    "field_curvature",
    "implicit_curvature",
    "sdf_terms",
    "face_jump",
    "hessian_jump",
    "snap_to_faces",
    "total_loss",
    "SDF_WEIGHTS",
    "ALPHA",
    "SurfaceMesh",
    "extract_mesh",
    "write_ply",
    "sdf_metrics",
    "chamfer_distance",
    "normal_angle",
    "curvature_roughness",
    "mesh_edges",
    "markdown_table",
    "plot_slices",
    "plot_curvature",
]
