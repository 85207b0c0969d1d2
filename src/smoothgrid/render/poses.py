"""Camera poses: the se(3) exponential map, per-camera corrections, noise, alignment and errors.

**se(3) convention** (BARF's order): a twist ``xi = (omega, v)`` in ``R^6``, rotation first.
With ``theta = |omega|``, ``W = [omega]_x`` (the cross-product matrix), ``A = sin(theta) / theta``,
``B = (1 - cos(theta)) / theta^2`` and ``C = (theta - sin(theta)) / theta^3``:

* ``exp(xi) = [[R, V v], [0, 1]]`` with ``R = I + A W + B W^2`` (Rodrigues) and
  ``V = I + B W + C W^2`` (the left Jacobian of SO(3));
* ``log`` inverts it for ``theta < pi``: ``omega`` from ``R`` (stable near 0 and pi) and
  ``v = V^-1 t``.

Near ``theta = 0`` the coefficients come from their Taylor series (``B = 2 sin^2(theta/2) /
theta^2`` is used elsewhere, which has no cancellation), so values and gradients are finite and
accurate at ``xi = 0``.

**Corrections** (:class:`PoseCorrection`) act on the world side of a camera-to-world pose:
``c2w' = exp(xi) @ c2w``. BARF composes its correction on the world side of its world-to-camera
pose, ``w2c' = w2c @ exp(xi_BARF)``, i.e. ``c2w' = exp(-xi_BARF) @ c2w``: the same
parametrisation with the sign of ``xi`` flipped, so that ``xi`` reads as a motion of the camera
in world coordinates. ``frame="camera"`` gives the camera-side alternative ``c2w @ exp(xi)``
(nerfstudio's), which rotates each camera about its own centre.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

__all__ = [
    "hat",
    "so3_exp",
    "so3_log",
    "se3_exp",
    "se3_log",
    "PoseCorrection",
    "perturb_poses",
    "Sim3",
    "umeyama",
    "align_poses",
    "rotation_error_deg",
    "pose_errors",
]

SMALL_ANGLE = 0.05
"""Below this angle (radians) the coefficients use their Taylor series (error < 1e-16)."""


def hat(w: Tensor) -> Tensor:
    """``(..., 3, 3)`` cross-product matrices ``[w]_x`` of ``w: (..., 3)`` (``[w]_x u = w x u``)."""
    zero = torch.zeros_like(w[..., 0])
    x, y, z = w.unbind(-1)
    rows = [
        torch.stack([zero, -z, y], -1),
        torch.stack([z, zero, -x], -1),
        torch.stack([-y, x, zero], -1),
    ]
    return torch.stack(rows, -2)


def _vee(m: Tensor) -> Tensor:
    """``(..., 3)`` vector of the antisymmetric part of ``m: (..., 3, 3)`` (inverts :func:`hat`)."""
    return 0.5 * torch.stack(
        [m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]], -1
    )


def _coefficients(theta2: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``A, B, C`` (see the module docstring) of ``theta^2``, Taylor series near 0.

    The exact branch sees a safe angle where it is not used, so no NaN leaks into the gradient.
    """
    small = theta2 < SMALL_ANGLE**2
    t2 = torch.where(small, torch.ones_like(theta2), theta2)
    t = torch.sqrt(t2)
    s = torch.sin(t)
    a_exact = s / t
    b_exact = 2 * torch.sin(0.5 * t) ** 2 / t2
    c_exact = (t - s) / (t2 * t)
    x = theta2
    a_series = 1 - x / 6 * (1 - x / 20 * (1 - x / 42))
    b_series = 0.5 - x / 24 * (1 - x / 30 * (1 - x / 56))
    c_series = 1 / 6 - x / 120 * (1 - x / 42 * (1 - x / 72))
    return (
        torch.where(small, a_series, a_exact),
        torch.where(small, b_series, b_exact),
        torch.where(small, c_series, c_exact),
    )


def so3_exp(omega: Tensor) -> Tensor:
    """``(..., 3, 3)`` rotation ``exp([omega]_x)`` of axis-angle vectors ``omega: (..., 3)``."""
    a, b, _ = _coefficients((omega * omega).sum(-1))
    w = hat(omega)
    eye = torch.eye(3, dtype=omega.dtype, device=omega.device)
    return eye + a[..., None, None] * w + b[..., None, None] * (w @ w)


def se3_exp(xi: Tensor) -> Tensor:
    """``(..., 4, 4)`` rigid transforms ``exp(xi)`` of twists ``xi = (omega, v): (..., 6)``.

    Example:
        >>> se3_exp(torch.zeros(6)).equal(torch.eye(4))
        True
    """
    if xi.shape[-1] != 6:
        raise ValueError(f"se(3) twists are (..., 6) = (omega, v), got {tuple(xi.shape)}")
    omega, v = xi[..., :3], xi[..., 3:]
    a, b, c = _coefficients((omega * omega).sum(-1))
    w = hat(omega)
    w2 = w @ w
    eye = torch.eye(3, dtype=xi.dtype, device=xi.device)
    rot = eye + a[..., None, None] * w + b[..., None, None] * w2
    jac = eye + b[..., None, None] * w + c[..., None, None] * w2
    out = torch.zeros(*xi.shape[:-1], 4, 4, dtype=xi.dtype, device=xi.device)
    out[..., :3, :3] = rot
    out[..., :3, 3] = (jac @ v[..., None])[..., 0]
    out[..., 3, 3] = 1.0
    return out


def so3_log(rot: Tensor) -> Tensor:
    """``(..., 3)`` axis-angle vector (angle in ``[0, pi]``) of rotations ``rot: (..., 3, 3)``.

    The angle is ``atan2(|vee(R - R^T)| / 2, (tr R - 1) / 2)`` (accurate at every angle); near
    ``pi``, where ``R - R^T`` vanishes, the axis comes from the symmetric part
    ``(R + R^T) / 2 = cos(theta) I + (1 - cos(theta)) n n^T``.
    """
    axis_sin = _vee(rot)  # sin(theta) n
    sin = axis_sin.norm(dim=-1)
    cos = 0.5 * (rot.diagonal(dim1=-2, dim2=-1).sum(-1) - 1)
    theta = torch.atan2(sin, cos)
    # theta / sin(theta) has no cancellation; only sin = 0 itself needs the series.
    tiny = sin < 1e-8
    safe_sin = torch.where(tiny, torch.ones_like(sin), sin)
    scale = torch.where(tiny, 1 + theta * theta / 6, theta / safe_sin)
    omega = scale[..., None] * axis_sin
    near_pi = cos < -0.99
    if near_pi.any():
        sym = 0.5 * (rot + rot.transpose(-1, -2))
        eye = torch.eye(3, dtype=rot.dtype, device=rot.device)
        nn_t = (sym - cos[..., None, None] * eye) / (1 - cos)[..., None, None]
        col = nn_t.diagonal(dim1=-2, dim2=-1).argmax(-1)
        n = nn_t.gather(-1, col[..., None, None].expand(*col.shape, 3, 1))[..., 0]
        n = n / n.norm(dim=-1, keepdim=True)
        sign = torch.where((n * axis_sin).sum(-1) < 0, -1.0, 1.0).to(rot.dtype)
        omega = torch.where(near_pi[..., None], (sign * theta)[..., None] * n, omega)
    return omega


def se3_log(m: Tensor) -> Tensor:
    """``(..., 6)`` twist ``(omega, v)`` of rigid transforms ``m: (..., 4, 4)`` (inverse of
    :func:`se3_exp` for rotation angles below ``pi``)."""
    omega = so3_log(m[..., :3, :3])
    theta2 = (omega * omega).sum(-1)
    a, b, _ = _coefficients(theta2)
    # V^-1 = I - W / 2 + D W^2 with D = (1 - A / (2 B)) / theta^2 -> 1/12 as theta -> 0.
    small = theta2 < SMALL_ANGLE**2
    safe2 = torch.where(small, torch.ones_like(theta2), theta2)
    d = torch.where(
        small, 1 / 12 + theta2 / 720 + theta2 * theta2 / 30240, (1 - a / (2 * b)) / safe2
    )
    w = hat(omega)
    eye = torch.eye(3, dtype=m.dtype, device=m.device)
    inv = eye - 0.5 * w + d[..., None, None] * (w @ w)
    v = (inv @ m[..., :3, 3:])[..., 0]
    return torch.cat([omega, v], -1)


class PoseCorrection(nn.Module):
    """Learnable se(3) corrections of ``N`` camera poses, initialised at zero (identity).

    Args:
        n: number of cameras.
        frame: ``"world"`` (BARF: ``c2w' = exp(xi) @ c2w``) or ``"camera"``
            (``c2w' = c2w @ exp(xi)``).

    Attributes:
        xi: ``(N, 6)`` parameter ``(omega, v)``: give it its own optimiser group.

    Example:
        >>> fix = PoseCorrection(3)
        >>> c2w = torch.eye(4).expand(3, 4, 4)
        >>> fix(c2w).equal(c2w)
        True
    """

    def __init__(self, n: int, frame: Literal["world", "camera"] = "world") -> None:
        super().__init__()
        if frame not in ("world", "camera"):
            raise ValueError(f"frame must be 'world' or 'camera', got {frame!r}")
        self.frame = frame
        self.xi = nn.Parameter(torch.zeros(n, 6))

    def forward(self, c2w: Tensor, index: Tensor | None = None) -> Tensor:
        """Corrected ``(R, 4, 4)`` poses of ``c2w: (R, 4, 4)``, cameras ``index: (R,)`` (default:
        all ``N`` in order)."""
        xi = self.xi if index is None else self.xi[index]
        delta = se3_exp(xi.to(c2w.dtype))
        return delta @ c2w if self.frame == "world" else c2w @ delta


def _random_unit(n: int, generator: torch.Generator | None, dtype, device) -> Tensor:
    where = generator.device if generator is not None else device
    u = torch.randn(n, 3, generator=generator, dtype=torch.float64, device=where)
    return (u / u.norm(dim=-1, keepdim=True)).to(device=device, dtype=dtype)


def perturb_poses(
    c2w: Tensor,
    rotation_deg: float,
    translation: float,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Noisy copies of ``c2w: (N, 4, 4)``: each camera turned by exactly ``rotation_deg`` degrees
    about a random axis through its centre and its centre moved by exactly ``translation`` world
    units in a random direction (seeded by ``generator``).

    The sizes are exact, not standard deviations, so the geodesic rotation error of every noisy
    pose is ``rotation_deg`` and its centre error is ``translation`` (before any alignment).
    """
    if rotation_deg < 0 or translation < 0:
        raise ValueError(
            f"pose noise must be non-negative, got rotation {rotation_deg} deg, "
            f"translation {translation}"
        )
    n = len(c2w)
    axes = _random_unit(n, generator, c2w.dtype, c2w.device)
    shifts = _random_unit(n, generator, c2w.dtype, c2w.device)
    out = c2w.clone()
    out[:, :3, :3] = so3_exp(axes * math.radians(rotation_deg)) @ c2w[:, :3, :3]
    out[:, :3, 3] = c2w[:, :3, 3] + translation * shifts
    return out


@dataclass
class Sim3:
    """A similarity ``x -> s R x + t`` (scale ``s``, rotation ``R: (3, 3)``, ``t: (3,)``)."""

    scale: Tensor
    rotation: Tensor
    translation: Tensor

    def apply_points(self, x: Tensor) -> Tensor:
        """``(N, 3)`` mapped points."""
        return self.scale * x @ self.rotation.T + self.translation

    def apply_poses(self, c2w: Tensor) -> Tensor:
        """``(N, 4, 4)`` camera-to-world poses moved with the world: centres mapped as points,
        orientations rotated by ``R`` (scale does not change a rotation)."""
        out = c2w.clone()
        out[:, :3, :3] = self.rotation @ c2w[:, :3, :3]
        out[:, :3, 3] = self.apply_points(c2w[:, :3, 3])
        return out

    def inverse(self) -> Sim3:
        """The inverse similarity ``y -> R^T (y - t) / s``."""
        rot_t = self.rotation.T
        return Sim3(1 / self.scale, rot_t, -(rot_t @ self.translation) / self.scale)


def umeyama(source: Tensor, target: Tensor, with_scale: bool = True) -> Sim3:
    """Least-squares similarity with ``target ~ s R source + t`` (Umeyama 1991).

    Args:
        source, target: ``(N, 3)`` corresponding points, ``N >= 3`` not all on a line.
        with_scale: fit ``s`` (Sim(3)); otherwise ``s = 1`` (rigid Procrustes).

    ``R`` is a proper rotation (det +1) even when the best orthogonal fit is a reflection.
    """
    if source.shape != target.shape or source.ndim != 2 or source.shape[1] != 3:
        raise ValueError(
            f"umeyama needs two (N, 3), got {tuple(source.shape)}, {tuple(target.shape)}"
        )
    if len(source) < 3:
        raise ValueError(f"umeyama needs at least 3 points, got {len(source)}")
    mu_s, mu_t = source.mean(0), target.mean(0)
    xs, xt = source - mu_s, target - mu_t
    cov = xt.T @ xs / len(source)
    u, d, vh = torch.linalg.svd(cov)
    fix = torch.ones(3, dtype=source.dtype, device=source.device)
    if torch.det(u) * torch.det(vh) < 0:
        fix[2] = -1.0
    rot = u @ torch.diag(fix) @ vh
    var_s = (xs * xs).sum(1).mean()
    scale = (d * fix).sum() / var_s if with_scale else source.new_ones(())
    return Sim3(scale, rot, mu_t - scale * rot @ mu_s)


def align_poses(c2w: Tensor, c2w_ref: Tensor, with_scale: bool = True) -> tuple[Tensor, Sim3]:
    """Poses ``c2w: (N, 4, 4)`` moved by the similarity that best maps their centres onto those
    of ``c2w_ref`` (BARF's evaluation). Returns the aligned poses and the similarity."""
    sim = umeyama(c2w[:, :3, 3].detach(), c2w_ref[:, :3, 3].detach(), with_scale)
    return sim.apply_poses(c2w), sim


def rotation_error_deg(rot_a: Tensor, rot_b: Tensor) -> Tensor:
    """``(...)`` geodesic angle in degrees between rotations ``(..., 3, 3)``:
    ``atan2(|vee(R_a^T R_b - R_b^T R_a)| / 2, (tr(R_a^T R_b) - 1) / 2)``."""
    rel = rot_a.transpose(-1, -2) @ rot_b
    cos = 0.5 * (rel.diagonal(dim1=-2, dim2=-1).sum(-1) - 1)
    return torch.rad2deg(torch.atan2(_vee(rel).norm(dim=-1), cos))


def pose_errors(c2w: Tensor, c2w_ref: Tensor, align: bool = True) -> tuple[Tensor, Tensor]:
    """Per-camera rotation error (degrees) and centre distance (world units of ``c2w_ref``).

    With ``align`` the poses are first moved by :func:`align_poses` (Sim(3) on the centres), so
    a global similarity (the gauge freedom of pose refinement) costs nothing.
    Returns ``(rot_deg: (N,), trans: (N,))``.
    """
    if align:
        c2w, _ = align_poses(c2w, c2w_ref)
    rot = rotation_error_deg(c2w[:, :3, :3], c2w_ref[:, :3, :3])
    trans = (c2w[:, :3, 3] - c2w_ref[:, :3, 3]).norm(dim=-1)
    return rot, trans
