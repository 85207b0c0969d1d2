"""Pinhole cameras in the Blender / NeRF (OpenGL) convention, and poses made by code.

Conventions:

* A pose is a ``(4, 4)`` **camera-to-world** matrix ``[[R, c], [0, 0, 0, 1]]``: the columns of
  ``R`` are the camera's x (right), y (up) and z (backwards) axes in world coordinates and ``c`` is
  the camera centre in world units. The camera looks down its **-z** axis (OpenGL, as in the
  Blender/NeRF-synthetic ``transform_matrix``; OpenCV cameras look down +z with y down).
* Pixel ``(u, v)`` counts columns ``u`` left to right and rows ``v`` top to bottom; pixel
  ``(i, j)`` covers ``[i, i + 1] x [j, j + 1]`` and its centre is ``(i + 0.5, j + 0.5)``.
  The principal point ``(cx, cy)`` defaults to the image centre ``(W / 2, H / 2)``.
* One batch of cameras shares its intrinsics (one image size and focal length, as in a Blender
  folder); each camera has its own pose and, optionally, its own time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = [
    "Cameras",
    "focal_from_fov",
    "fov_from_focal",
    "check_poses",
    "look_at",
    "ring_poses",
    "sphere_poses",
]

RIGID_TOL = 1e-3
"""Largest ``|R^T R - I|``, ``|det R - 1|`` and ``|last row - (0, 0, 0, 1)|`` accepted as rigid."""


def focal_from_fov(width: int, fov_x: float) -> float:
    """Focal length in pixels of a camera ``width`` pixels wide with horizontal field of view
    ``fov_x`` (radians; Blender's ``camera_angle_x``): ``0.5 W / tan(fov_x / 2)``."""
    if not 0.0 < fov_x < math.pi:
        raise ValueError(f"camera_angle_x must be in (0, pi) radians, got {fov_x!r}")
    return 0.5 * width / math.tan(0.5 * fov_x)


def fov_from_focal(width: int, focal: float) -> float:
    """Horizontal field of view in radians of a focal length ``focal`` in pixels."""
    return 2.0 * math.atan(0.5 * width / focal)


def check_poses(c2w: Tensor, names: Sequence[str] | None = None, tol: float = RIGID_TOL) -> None:
    """Raise ``ValueError`` unless every ``c2w: (N, 4, 4)`` is rigid.

    Rigid: finite, ``R^T R = I`` and ``det R = +1`` within ``tol``, last row ``(0, 0, 0, 1)``.
    The error names the first bad frame (``names[i]`` when given, else its index) and says what
    was wrong.
    """
    if c2w.ndim != 3 or c2w.shape[1:] != (4, 4):
        raise ValueError(f"camera-to-world poses must be (N, 4, 4), got {tuple(c2w.shape)}")
    m = c2w.detach().to(torch.float64)
    finite = torch.isfinite(m).flatten(1).all(1)
    m = torch.where(finite[:, None, None], m, torch.zeros_like(m))
    rot = m[:, :3, :3]
    eye = torch.eye(3, dtype=torch.float64, device=m.device)
    ortho = (rot.transpose(1, 2) @ rot - eye).abs().amax((1, 2)) if len(m) else m.new_zeros(0)
    det = torch.linalg.det(rot) if len(m) else m.new_zeros(0)
    bottom = (m[:, 3] - m.new_tensor([0.0, 0.0, 0.0, 1.0])).abs().amax(1)
    bad = ~finite | (bottom > tol) | (ortho > tol) | ((det - 1).abs() > tol)
    if not bad.any():
        return
    i = int(torch.nonzero(bad)[0])
    name = names[i] if names is not None else f"camera {i}"
    if not finite[i]:
        raise ValueError(f"{name}: pose has non-finite entries")
    if bottom[i] > tol:
        raise ValueError(f"{name}: last row of the pose is {m[i, 3].tolist()}, not [0, 0, 0, 1]")
    if ortho[i] > tol:
        raise ValueError(
            f"{name}: rotation is not orthonormal (max |R^T R - I| = {ortho[i]:.3g} > {tol:g});"
            " the pose must be rigid (no scale or shear)"
        )
    raise ValueError(f"{name}: rotation has det {det[i]:.4g}, expected +1 (a reflection?)")


@dataclass
class Cameras:
    """A batch of ``N`` pinhole cameras sharing intrinsics.

    Attributes:
        c2w: ``(N, 4, 4)`` camera-to-world poses (OpenGL: looks down -z, y up), world units.
            May require grad (refined poses): rays built from it are differentiable.
        width, height: image size in pixels.
        fx, fy: focal lengths in pixels.
        cx, cy: principal point in pixels (``None`` -> image centre).
        times: ``(N,)`` time of each frame, or ``None`` for a static scene.

    Poses are checked on construction (see :func:`check_poses`).

    Example:
        >>> cams = Cameras.from_fov(ring_poses(4, radius=3.0), 32, 24, fov_x=0.7)
        >>> len(cams), cams.centers.shape
        (4, torch.Size([4, 3]))
    """

    c2w: Tensor
    width: int
    height: int
    fx: float
    fy: float
    cx: float | None = None
    cy: float | None = None
    times: Tensor | None = None

    def __post_init__(self) -> None:
        if self.width < 1 or self.height < 1:
            raise ValueError(f"image size must be positive, got {self.width} x {self.height}")
        if not (self.fx > 0 and self.fy > 0):
            raise ValueError(f"focal lengths must be positive, got fx={self.fx}, fy={self.fy}")
        self.cx = self.width / 2 if self.cx is None else float(self.cx)
        self.cy = self.height / 2 if self.cy is None else float(self.cy)
        if self.c2w.ndim == 2:
            self.c2w = self.c2w[None]
        check_poses(self.c2w)
        if self.times is not None:
            self.times = torch.as_tensor(self.times, dtype=self.c2w.dtype, device=self.c2w.device)
            if self.times.shape != (len(self.c2w),):
                raise ValueError(
                    f"times must be ({len(self.c2w)},), one per camera, "
                    f"got {tuple(self.times.shape)}"
                )

    @classmethod
    def from_fov(
        cls, c2w: Tensor, width: int, height: int, fov_x: float, times: Tensor | None = None
    ) -> Cameras:
        """Cameras with square pixels and horizontal field of view ``fov_x`` (radians)."""
        f = focal_from_fov(width, fov_x)
        return cls(c2w, width, height, f, f, times=times)

    def __len__(self) -> int:
        return len(self.c2w)

    def __getitem__(self, index: int | slice | Tensor) -> Cameras:
        """The cameras at ``index`` (an int keeps a batch of one)."""
        if isinstance(index, int):
            index = slice(index, index + 1 if index != -1 else None)
        times = None if self.times is None else self.times[index]
        return Cameras(
            self.c2w[index], self.width, self.height, self.fx, self.fy, self.cx, self.cy, times
        )

    @property
    def fov_x(self) -> float:
        """Horizontal field of view in radians (Blender's ``camera_angle_x``)."""
        return fov_from_focal(self.width, self.fx)

    @property
    def centers(self) -> Tensor:
        """``(N, 3)`` camera centres in world units."""
        return self.c2w[:, :3, 3]

    def with_poses(self, c2w: Tensor) -> Cameras:
        """The same intrinsics and times with new poses ``c2w: (N, 4, 4)`` (e.g. refined ones)."""
        return Cameras(c2w, self.width, self.height, self.fx, self.fy, self.cx, self.cy, self.times)

    def to(self, device: str | torch.device | None = None, dtype: torch.dtype | None = None):
        """A copy on ``device`` / in ``dtype``."""
        times = None if self.times is None else self.times.to(device, dtype)
        return Cameras(
            self.c2w.to(device, dtype), self.width, self.height, self.fx, self.fy, self.cx,
            self.cy, times,
        )  # fmt: skip


def _vec(v: Sequence[float] | Tensor, like: Tensor | None = None) -> Tensor:
    dtype = like.dtype if like is not None else torch.get_default_dtype()
    device = like.device if like is not None else None
    return torch.as_tensor(v, dtype=dtype, device=device)


def look_at(
    eye: Tensor | Sequence[float],
    target: Tensor | Sequence[float] = (0.0, 0.0, 0.0),
    up: Tensor | Sequence[float] = (0.0, 0.0, 1.0),
) -> Tensor:
    """Camera-to-world poses of cameras at ``eye: (..., 3)`` looking at ``target: (3,)``.

    The camera's -z axis points at the target, its x axis is ``up x z`` (horizontal) and its y
    axis completes a right-handed frame, so ``up`` appears upwards in the image.
    Returns ``(..., 4, 4)``. Raises ``ValueError`` if ``up`` is parallel to the viewing direction
    or ``eye`` coincides with ``target``.
    """
    eye = _vec(eye, eye if isinstance(eye, Tensor) else None)
    target, up = _vec(target, eye), _vec(up, eye)
    back = eye - target
    dist = back.norm(dim=-1, keepdim=True)
    if (dist <= 1e-12).any():
        raise ValueError("look_at: eye coincides with target")
    z = back / dist
    x = torch.linalg.cross(up.expand_as(z), z)
    xn = x.norm(dim=-1, keepdim=True)
    if (xn <= 1e-9).any():
        raise ValueError(f"look_at: up {up.tolist()} is parallel to the viewing direction")
    x = x / xn
    y = torch.linalg.cross(z, x)
    c2w = torch.zeros(*eye.shape[:-1], 4, 4, dtype=eye.dtype, device=eye.device)
    c2w[..., :3, 0], c2w[..., :3, 1], c2w[..., :3, 2], c2w[..., :3, 3] = x, y, z, eye
    c2w[..., 3, 3] = 1.0
    return c2w


def _frame(up: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """An orthonormal frame ``(a, b, u)`` with ``u`` along ``up``."""
    u = up / up.norm()
    helper = torch.zeros_like(u)
    helper[int(u.abs().argmin())] = 1.0
    a = torch.linalg.cross(helper, u)
    a = a / a.norm()
    return a, torch.linalg.cross(u, a), u


def ring_poses(
    n: int,
    radius: float,
    center: Sequence[float] = (0.0, 0.0, 0.0),
    elevation_deg: float = 0.0,
    up: Sequence[float] = (0.0, 0.0, 1.0),
    start_deg: float = 0.0,
) -> Tensor:
    """``(n, 4, 4)`` poses of ``n`` cameras evenly spaced in azimuth on a ring around ``center``.

    Each is ``radius`` world units from ``center`` at ``elevation_deg`` above the plane
    perpendicular to ``up`` and looks at ``center``; the first is at azimuth ``start_deg``.
    """
    if n < 1 or radius <= 0:
        raise ValueError(f"ring_poses needs n >= 1 and radius > 0, got n={n}, radius={radius}")
    c, upv = _vec(center), _vec(up)
    a, b, u = _frame(upv)
    az = torch.deg2rad(start_deg + 360.0 * torch.arange(n, dtype=c.dtype) / n)
    el = math.radians(elevation_deg)
    dirs = math.cos(el) * (torch.cos(az)[:, None] * a + torch.sin(az)[:, None] * b)
    eyes = c + radius * (dirs + math.sin(el) * u)
    return look_at(eyes, c, upv)


def sphere_poses(
    n: int,
    radius: float,
    center: Sequence[float] = (0.0, 0.0, 0.0),
    up: Sequence[float] = (0.0, 0.0, 1.0),
    hemisphere: bool = True,
    min_elevation_deg: float = 5.0,
) -> Tensor:
    """``(n, 4, 4)`` poses of ``n`` cameras spread evenly over a sphere around ``center``.

    Cameras sit on a Fibonacci spiral (deterministic, near-uniform) at distance ``radius`` and look
    at ``center``. With ``hemisphere`` (the NeRF-synthetic setup) they cover the elevations from
    ``min_elevation_deg`` to just below the pole on the ``up`` side; otherwise the whole sphere
    minus caps of ``min_elevation_deg`` around both poles (where ``up`` is along the view).
    """
    if n < 1 or radius <= 0:
        raise ValueError(f"sphere_poses needs n >= 1 and radius > 0, got n={n}, radius={radius}")
    c, upv = _vec(center), _vec(up)
    a, b, u = _frame(upv)
    hi = math.cos(math.radians(min_elevation_deg))
    lo = math.sin(math.radians(min_elevation_deg)) if hemisphere else -hi
    k = torch.arange(n, dtype=c.dtype) + 0.5
    s = hi - (hi - lo) * k / n
    az = k * math.pi * (3.0 - math.sqrt(5.0))
    r = torch.sqrt((1 - s * s).clamp_min(0))
    dirs = (r * torch.cos(az))[:, None] * a + (r * torch.sin(az))[:, None] * b + s[:, None] * u
    return look_at(c + radius * dirs, c, upv)
