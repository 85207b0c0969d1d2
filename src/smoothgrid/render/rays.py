"""Rays through pixels, and where they cross an axis-aligned box.

A ray is ``x(t) = o + t d`` with origin ``o`` (the camera centre, world units) and **unit**
direction ``d``, so ``t`` is a distance in world units. Pixel coordinates are ``(u, v)``: column
and row, pixel centres at half-integers (see :mod:`.cameras`). All functions are differentiable
with respect to the poses (for pose refinement).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from .cameras import Cameras

__all__ = [
    "pixel_centers",
    "camera_directions",
    "generate_rays",
    "image_rays",
    "random_pixels",
    "as_bounds",
    "ray_box",
]


def pixel_centers(width: int, height: int, device=None, dtype=None) -> Tensor:
    """``(H * W, 2)`` centres ``(u, v) = (i + 0.5, j + 0.5)`` of all pixels, row-major
    (row ``j`` outer, column ``i`` inner), so ``.view(H, W, 2)`` is the image layout."""
    v, u = torch.meshgrid(
        torch.arange(height, device=device, dtype=dtype),
        torch.arange(width, device=device, dtype=dtype),
        indexing="ij",
    )
    return torch.stack([u, v], -1).reshape(-1, 2) + 0.5


def camera_directions(pixels: Tensor, cameras: Cameras) -> Tensor:
    """``(R, 3)`` directions in the camera frame (not normalised, ``z = -1``) through
    ``pixels: (R, 2)`` (``(u, v)`` in pixels): ``((u - cx) / fx, -(v - cy) / fy, -1)``.

    Image rows grow downwards while the camera's y axis points up, hence the minus sign.
    """
    x = (pixels[:, 0] - cameras.cx) / cameras.fx
    y = -(pixels[:, 1] - cameras.cy) / cameras.fy
    return torch.stack([x, y, -torch.ones_like(x)], -1)


def generate_rays(cameras: Cameras, index: Tensor, pixels: Tensor) -> tuple[Tensor, Tensor]:
    """Rays of camera ``index[r]`` through pixel ``pixels[r]``.

    Args:
        cameras: ``N`` cameras.
        index: ``(R,)`` long, camera of each ray.
        pixels: ``(R, 2)`` pixel coordinates ``(u, v)``; integers ``(i, j)`` are taken as pixel
            indices and shifted to their centres ``(i + 0.5, j + 0.5)``.

    Returns:
        origins: ``(R, 3)`` camera centres, world units.
        directions: ``(R, 3)`` unit directions, world frame.
    """
    if index.shape != pixels.shape[:1] or pixels.shape[1:] != (2,):
        raise ValueError(
            f"index must be (R,) and pixels (R, 2), got {tuple(index.shape)}, {tuple(pixels.shape)}"
        )
    c2w = cameras.c2w[index]
    if not pixels.is_floating_point():
        pixels = pixels.to(c2w.dtype) + 0.5
    local = camera_directions(pixels.to(c2w.dtype), cameras)
    dirs = (c2w[:, :3, :3] @ local[:, :, None])[:, :, 0]
    return c2w[:, :3, 3], dirs / dirs.norm(dim=-1, keepdim=True)


def image_rays(cameras: Cameras, i: int) -> tuple[Tensor, Tensor]:
    """``(H * W, 3)`` origins and unit directions of every pixel of camera ``i``, row-major."""
    pix = pixel_centers(cameras.width, cameras.height, cameras.c2w.device, cameras.c2w.dtype)
    index = torch.full((len(pix),), i, dtype=torch.long, device=pix.device)
    return generate_rays(cameras, index, pix)


def random_pixels(
    cameras: Cameras, n: int, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """``n`` random (camera, pixel) pairs, uniform over all pixels of all cameras.

    Returns ``index: (n,)`` long camera indices and ``pixels: (n, 2)`` long ``(i, j)`` = (column,
    row), so ``image[index, pixels[:, 1], pixels[:, 0]]`` is the target colour.
    """
    device = generator.device if generator is not None else cameras.c2w.device
    flat = torch.randint(
        len(cameras) * cameras.width * cameras.height, (n,), generator=generator, device=device
    )
    per = cameras.width * cameras.height
    rest = flat % per
    pix = torch.stack([rest % cameras.width, rest // cameras.width], -1)
    return (flat // per).to(cameras.c2w.device), pix.to(cameras.c2w.device)


def as_bounds(box, like: Tensor) -> tuple[Tensor, Tensor]:
    """``(lo, hi)`` as ``(3,)`` tensors like ``like`` from a ``geometry.Box`` (anything with
    ``lo`` / ``hi``) or a pair ``(lo, hi)`` of numbers or 3-sequences."""
    lo, hi = (box.lo, box.hi) if hasattr(box, "lo") else box
    lo = torch.as_tensor(lo, dtype=like.dtype, device=like.device).expand(3)
    hi = torch.as_tensor(hi, dtype=like.dtype, device=like.device).expand(3)
    if not (lo < hi).all():
        raise ValueError(f"box needs lo < hi on every axis, got lo={lo.tolist()}, hi={hi.tolist()}")
    return lo, hi


def ray_box(
    origins: Tensor,
    directions: Tensor,
    box: tuple[Sequence[float] | float, Sequence[float] | float] | object,
    near: float = 0.0,
    far: float = float("inf"),
) -> tuple[Tensor, Tensor, Tensor]:
    """Where rays cross the axis-aligned box ``[lo, hi]`` (the slab method).

    Args:
        origins, directions: ``(R, 3)``; directions need not be unit (``t`` is then in units of
            ``|d|``).
        box: ``(lo, hi)`` or a ``geometry.Box``.
        near, far: the ray segment considered, ``near <= t <= far``.

    Returns:
        t_near, t_far: ``(R,)`` entry and exit distances clipped to ``[near, far]``; for a ray
            that misses, both equal ``near``.
        hit: ``(R,)`` bool, the clipped segment has positive length.
    """
    lo, hi = as_bounds(box, origins)
    tiny = torch.finfo(directions.dtype).tiny
    d = torch.where(directions.abs() < tiny, torch.full_like(directions, tiny), directions)
    t0, t1 = (lo - origins) / d, (hi - origins) / d
    t_enter = torch.minimum(t0, t1).amax(-1).clamp_min(near)
    t_exit = torch.maximum(t0, t1).amin(-1).clamp_max(far)
    hit = t_exit > t_enter
    t_enter = torch.where(hit, t_enter, torch.full_like(t_enter, near))
    t_exit = torch.where(hit, t_exit, t_enter)
    return t_enter, t_exit, hit
