"""Volume rendering shared by the NeRF and smoke applications.

* :mod:`.cameras`: pinhole cameras, OpenGL camera-to-world poses, poses made by code.
* :mod:`.rays`: rays through pixels, ray / box intersection.
"""

from . import cameras, rays
from .cameras import Cameras, check_poses, look_at, ring_poses, sphere_poses
from .rays import generate_rays, image_rays, random_pixels, ray_box

__all__ = [
    "cameras",
    "rays",
    "Cameras",
    "check_poses",
    "look_at",
    "ring_poses",
    "sphere_poses",
    "generate_rays",
    "image_rays",
    "random_pixels",
    "ray_box",
]
