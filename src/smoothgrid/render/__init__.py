"""Volume rendering shared by the NeRF and smoke applications.

* :mod:`.cameras`: pinhole cameras, OpenGL camera-to-world poses, poses made by code.
* :mod:`.rays`: rays through pixels, ray / box intersection.
* :mod:`.samplers`: stratified and importance intervals along rays (padded ``(R, S)`` layout).
* :mod:`.compositing`: emission-absorption compositing.
* :mod:`.occupancy`: Instant-NGP occupancy grid for empty-space skipping.
* :mod:`.poses`: se(3) exponential map, pose corrections, noise, Sim(3) alignment, errors.
* :mod:`.blender`: the Blender / NeRF-synthetic folder format (read and write).
* :mod:`.renderer`: :func:`render_rays` / :func:`render_views` for a density / colour callable.
"""

from . import blender, cameras, compositing, occupancy, poses, rays, renderer, samplers
from .blender import BlenderSplit, read_blender, write_blender
from .cameras import Cameras, check_poses, look_at, ring_poses, sphere_poses
from .compositing import Composite, composite, render_weights, transmittance
from .occupancy import OccupancyGrid
from .poses import (
    PoseCorrection,
    Sim3,
    align_poses,
    perturb_poses,
    pose_errors,
    rotation_error_deg,
    se3_exp,
    se3_log,
    so3_exp,
    so3_log,
    umeyama,
)
from .rays import generate_rays, image_rays, random_pixels, ray_box
from .renderer import RenderOutput, render_rays, render_views
from .samplers import importance_intervals, pack, stratified_intervals

__all__ = [
    "cameras",
    "rays",
    "samplers",
    "compositing",
    "Cameras",
    "check_poses",
    "look_at",
    "ring_poses",
    "sphere_poses",
    "generate_rays",
    "image_rays",
    "random_pixels",
    "ray_box",
    "stratified_intervals",
    "importance_intervals",
    "pack",
    "Composite",
    "composite",
    "render_weights",
    "transmittance",
    "occupancy",
    "OccupancyGrid",
    "poses",
    "PoseCorrection",
    "Sim3",
    "se3_exp",
    "se3_log",
    "so3_exp",
    "so3_log",
    "perturb_poses",
    "umeyama",
    "align_poses",
    "rotation_error_deg",
    "pose_errors",
    "blender",
    "BlenderSplit",
    "read_blender",
    "write_blender",
    "renderer",
    "RenderOutput",
    "render_rays",
    "render_views",
]
