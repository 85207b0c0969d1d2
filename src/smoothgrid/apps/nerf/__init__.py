"""Radiance fields with camera-pose refinement on smooth-gradient grids (Heo et al., ICML 2023).

A radiance field (density and view-dependent colour on any smoothgrid encoding) and the
training cameras' se(3) corrections are fitted jointly to views from noisy poses; the grid is
``linear`` (Instant-NGP), ``cosine`` or ``st`` (linear forward, straight-through smooth
gradient), optionally with BARF's coarse-to-fine level weights. Views come from procedural
scenes rendered by :mod:`smoothgrid.render` or from a Blender-format folder.

>>> from smoothgrid.apps import nerf
>>> result = nerf.fit_nerf("solids", method="st", pose_noise="5,0.1", steps=500)  # doctest: +SKIP
>>> result.metrics["rotation_error_deg"], result.metrics["psnr"]                 # doctest: +SKIP

Command line: ``smoothgrid nerf solids --methods linear,cosine,st --pose-noise 5,0.1 --steps 500``.
"""

from .data import (
    BLENDER_BOX,
    CAMERA_RADIUS,
    FOV_X,
    NerfViews,
    blender_views,
    load_views,
    noisy_poses,
    parse_pose_noise,
    procedural_views,
)
from .fit import CURRICULUM, NerfModel, NerfResult, fit_nerf, method_label
from .metrics import markdown_table, psnr, ssim
from .model import (
    METHODS,
    NERF_GRID,
    RadianceField,
    method_names,
    radiance_field,
    sh_basis,
    trunc_exp,
)
from .plots import frustum_lines, plot_cameras, plot_pose_history, plot_test_views
from .scenes import DEFAULT_SCENE, SCENE_BOX, Scene, make_scene, render_scene, scene_names

__all__ = [
    "fit_nerf",
    "NerfResult",
    "NerfModel",
    "CURRICULUM",
    "method_label",
    "NerfViews",
    "load_views",
    "procedural_views",
    "blender_views",
    "parse_pose_noise",
    "noisy_poses",
    "BLENDER_BOX",
    "CAMERA_RADIUS",
    "FOV_X",
    "RadianceField",
    "radiance_field",
    "METHODS",
    "NERF_GRID",
    "method_names",
    "sh_basis",
    "trunc_exp",
    "Scene",
    "make_scene",
    "scene_names",
    "render_scene",
    "DEFAULT_SCENE",
    "SCENE_BOX",
    "psnr",
    "ssim",
    "markdown_table",
    "plot_test_views",
    "plot_cameras",
    "plot_pose_history",
    "frustum_lines",
]
