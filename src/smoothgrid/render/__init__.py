"""Volume rendering shared by the NeRF and smoke applications.

* :mod:`.cameras`: pinhole cameras, OpenGL camera-to-world poses, poses made by code.
* :mod:`.rays`: rays through pixels, ray / box intersection.
* :mod:`.samplers`: stratified and importance intervals along rays (padded ``(R, S)`` layout).
* :mod:`.compositing`: emission-absorption compositing.
"""

from . import cameras, compositing, rays, samplers
from .cameras import Cameras, check_poses, look_at, ring_poses, sphere_poses
from .compositing import Composite, composite, render_weights, transmittance
from .rays import generate_rays, image_rays, random_pixels, ray_box
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
]
