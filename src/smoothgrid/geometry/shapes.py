"""Procedural test shapes: analytic solids inside ``[-1, 1]^3``, so tests need no mesh files.

| name | surface | signed distance | exact curvature |
|---|---|---|---|
| ``sphere`` | ``|x| = radius`` | exact | closed form |
| ``torus`` | tube of radius ``minor`` about the circle ``rho = major`` | exact | closed form |
| ``ellipsoid`` | ``sum x_i^2 / a_i^2 = 1`` | an implicit function | closed form |
| ``box`` | box of half-sides ``half`` (sharp edges) | exact | - |
| ``csg`` | (box ∩ sphere) minus three orthogonal cylinders | a bound | away from edges |
| ``blob`` | a lumpy star-shaped surface ``|x| = r(x / |x|)`` | an implicit function | autograd |

:func:`union`, :func:`intersection` and :func:`difference` combine solids (``min`` / ``max``:
the right zero set and sign, but only a bound on the distance). Every shape is a
:class:`~.solid.Solid`; its samples are projected onto the exact surface, and
``solid.curvature(points)`` gives the exact mean and Gaussian curvature there (see
:data:`~.solid.SurfaceCurvature`).

>>> torus = make_shape("torus", major=0.5, minor=0.2)
>>> round(torus.sdf(torch.tensor([[0.0, 0.0, 0.0]])).item(), 6)  # the centre of the hole
0.3
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from .curvature import implicit_curvature
from .solid import Solid

__all__ = [
    "make_shape",
    "shape_names",
    "describe_shapes",
    "sphere",
    "torus",
    "ellipsoid",
    "box",
    "csg",
    "blob",
    "EDGE_MARGIN",
    "union",
    "intersection",
    "difference",
]


def sphere(radius: float = 0.6) -> Solid:
    """Sphere about the origin: ``sdf = |x| - radius``; ``H = 1 / radius``, ``K = 1 / radius^2``."""
    r = _positive(radius, "radius")

    def curvature(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        h = 1.0 / x.norm(dim=1)  # the level set through x: exact on the surface
        return h, h.square(), torch.ones_like(h, dtype=torch.bool)

    return Solid("sphere", lambda x: x.norm(dim=1) - r, exact=True, smooth=True,
                 curvature=curvature)  # fmt: skip


def torus(major: float = 0.5, minor: float = 0.2) -> Solid:
    """Torus about the ``z`` axis: ``sdf = sqrt((rho - major)^2 + z^2) - minor``,
    ``rho = sqrt(x^2 + y^2)``.

    Its principal curvatures are ``1 / minor`` (around the tube) and ``cos(v) / rho`` (around
    the axis) with ``cos(v) = (rho - major) / minor``: ``H`` is their mean, ``K`` their product
    (``K > 0`` on the outer half, ``< 0`` on the inner).
    """
    big, small = _positive(major, "major"), _positive(minor, "minor")
    if small >= big:
        raise ValueError(f"a torus needs minor < major, got minor={small}, major={big}")

    def sdf(x: Tensor) -> Tensor:
        rho = x[:, :2].norm(dim=1)
        return torch.stack([rho - big, x[:, 2]], 1).norm(dim=1) - small

    def curvature(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        rho = x[:, :2].norm(dim=1)
        tube = torch.stack([rho - big, x[:, 2]], 1).norm(dim=1)  # minor on the surface
        cos_v = (rho - big) / tube
        h = 0.5 * (1.0 / tube + cos_v / rho)
        return h, cos_v / (tube * rho), torch.ones_like(h, dtype=torch.bool)

    return Solid("torus", sdf, exact=True, smooth=True, curvature=curvature)


def ellipsoid(axes: Sequence[float] = (0.7, 0.5, 0.3)) -> Solid:
    """Ellipsoid ``F(x) = sum_i x_i^2 / a_i^2 - 1 = 0`` with semi-axes ``axes`` (an implicit
    function, not a distance).

    Its curvature in closed form, from ``grad F = 2 x_i / a_i^2`` and ``Hess F = diag(2 / a_i^2)``
    in the formulas of :mod:`.curvature`: with ``S = sum x_i^2 / a_i^4``,
    ``T = sum 1 / a_i^2``, ``U = sum x_i^2 / a_i^6`` and ``Q = sum x_i^2 / a_i^2`` (1 on the
    surface),

    * ``H = (S T - U) / (2 S^(3/2))``;
    * ``K = Q / ((a_1 a_2 a_3)^2 S^2)``, since ``adj(Hess F) = diag(4 / (a_j^2 a_k^2))``.

    At the tip ``x = a_1 e_1``: ``H = a_1 (1 / a_2^2 + 1 / a_3^2) / 2`` and
    ``K = a_1^2 / (a_2^2 a_3^2)``; a sphere of radius ``r``: ``1 / r`` and ``1 / r^2``.
    """
    a = [_positive(v, "axes") for v in axes]
    if len(a) != 3:
        raise ValueError(f"axes needs 3 semi-axes, got {axes!r}")

    def sdf(x: Tensor) -> Tensor:
        return (x / x.new_tensor(a)).square().sum(1) - 1.0

    def curvature(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        a2 = x.new_tensor(a).square()
        x2 = x.square()
        S, U, Q = (x2 / a2**2).sum(1), (x2 / a2**3).sum(1), (x2 / a2).sum(1)
        T = (1.0 / a2).sum()
        h = (S * T - U) / (2.0 * S.pow(1.5))
        return h, Q / (a2.prod() * S.square()), torch.ones_like(h, dtype=torch.bool)

    return Solid("ellipsoid", sdf, exact=False, smooth=True, curvature=curvature)


def box(half: Sequence[float] = (0.5, 0.4, 0.3)) -> Solid:
    """Axis-aligned box about the origin with half-sides ``half`` (exact signed distance)."""
    b = [_positive(h, "half") for h in half]
    if len(b) != 3:
        raise ValueError(f"half needs 3 half-sides, got {half!r}")

    def sdf(x: Tensor) -> Tensor:
        q = x.abs() - x.new_tensor(b)
        return q.clamp_min(0).norm(dim=1) + q.max(dim=1).values.clamp_max(0)

    return Solid("box", sdf, exact=True, smooth=False)


def _cylinder(axis: int, radius: float) -> Solid:
    """Infinite cylinder of ``radius`` along ``axis``."""
    others = [i for i in range(3) if i != axis]
    return Solid("cylinder", lambda x: x[:, others].norm(dim=1) - radius, exact=True, smooth=True)


EDGE_MARGIN = 0.05
"""Distance (domain units) from a sharp edge within which the ``csg`` shape's curvature is not
scored (``defined`` is ``False``)."""


def csg(size: float = 0.5) -> Solid:
    """``(cube ∩ sphere) \\ (three cylinders)``: a cube of half-side ``size``, a sphere of
    radius ``1.3 size``, cylinders of radius ``0.55 size`` along the axes.

    On the surface its function is the ``max`` of seven smooth pieces, each the exact signed
    distance to its own surface: ``|x_k| - size`` (the cube's faces), ``|x| - 1.3 size`` and
    ``0.55 size - |x_perp|`` (outside each cylinder). The exact curvature is the active piece's
    (planes 0, the sphere ``1 / r``, a hole ``H = -1 / (2 r)``, ``K = 0``), defined where every
    other piece is below ``-EDGE_MARGIN``: that piece is then at least as far as its own surface,
    so every edge is more than :data:`EDGE_MARGIN` away.
    """
    s = _positive(size, "size")
    core = intersection(box((s, s, s)), sphere(1.3 * s))
    holes = union(*(_cylinder(axis, 0.55 * s) for axis in range(3)))

    def pieces(x: Tensor) -> Tensor:
        faces = x.abs() - s
        ball = x.norm(dim=1, keepdim=True) - 1.3 * s
        tubes = [0.55 * s - x[:, [j for j in range(3) if j != k]].norm(dim=1) for k in range(3)]
        return torch.cat([faces, ball, torch.stack(tubes, 1)], 1)  # (N, 7)

    def curvature(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        h, k = implicit_curvature(lambda p: pieces(p).max(1).values, x)
        second = pieces(x).topk(2, dim=1).values[:, 1]
        return h, k, second < -EDGE_MARGIN

    return Solid("csg", difference(core, holes).sdf, exact=False, smooth=False,
                 curvature=curvature)  # fmt: skip


def blob(radius: float = 0.5, amplitude: float = 0.2) -> Solid:
    """A lumpy star-shaped solid ``|x| < radius (1 + amplitude Y(x / |x|))``.

    ``Y(u) = 2.5 (u_x^4 + u_y^4 + u_z^4 - 3/5) + 3 u_x u_y u_z`` (six lumps along the axes, made
    uneven); the implicit function ``|x| - radius (1 + amplitude Y)`` is not a distance.
    """
    r = _positive(radius, "radius")
    a = float(amplitude)
    if not 0.0 <= a < 0.5:
        raise ValueError(f"amplitude must be in [0, 0.5) (a star-shaped surface), got {a!r}")

    def sdf(x: Tensor) -> Tensor:
        norm = x.norm(dim=1)
        u = x / norm.clamp_min(1e-12)[:, None]
        lumps = 2.5 * (u**4).sum(1) - 1.5 + 3.0 * u.prod(1)
        return norm - r * (1.0 + a * lumps)

    def curvature(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        h, k = implicit_curvature(sdf, x)
        return h, k, torch.ones_like(h, dtype=torch.bool)

    return Solid("blob", sdf, exact=False, smooth=True, curvature=curvature)


def union(*solids: Solid) -> Solid:
    """Inside any of ``solids``: ``min`` of their functions."""
    return _combine(solids, lambda v: v.min(0).values, "union")


def intersection(*solids: Solid) -> Solid:
    """Inside all of ``solids``: ``max`` of their functions."""
    return _combine(solids, lambda v: v.max(0).values, "intersection")


def difference(a: Solid, b: Solid) -> Solid:
    """Inside ``a`` and outside ``b``: ``max(f_a, -f_b)``."""
    return Solid(
        f"difference({a.name}, {b.name})",
        lambda x: torch.maximum(a.sdf(x), -b.sdf(x)),
        exact=False,
        smooth=False,
    )


def _combine(solids: Sequence[Solid], reduce: Callable[[Tensor], Tensor], name: str) -> Solid:
    if not solids:
        raise ValueError(f"{name} needs at least one solid")
    return Solid(
        f"{name}({', '.join(s.name for s in solids)})",
        lambda x: reduce(torch.stack([s.sdf(x) for s in solids])),
        exact=False,
        smooth=False,
    )


def _positive(value: float, name: str) -> float:
    value = float(value)
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be in (0, 1) (a shape inside [-1, 1]^3), got {value!r}")
    return value


_SHAPES: dict[str, tuple[Callable[..., Solid], str]] = {
    "sphere": (sphere, "sphere of radius 0.6 (exact SDF, mean curvature 1/r)"),
    "torus": (torus, "torus, radii 0.5 and 0.2 about the z axis (exact SDF)"),
    "ellipsoid": (ellipsoid, "ellipsoid, semi-axes 0.7, 0.5, 0.3 (implicit function)"),
    "box": (box, "box of half-sides 0.5, 0.4, 0.3 (exact SDF, sharp edges)"),
    "csg": (csg, "(cube ∩ sphere) minus three cylinders (CSG bound, sharp edges)"),
    "blob": (blob, "lumpy star-shaped surface (smooth implicit, not a distance)"),
}


def shape_names() -> list[str]:
    """Names of the procedural shapes."""
    return list(_SHAPES)


def describe_shapes() -> dict[str, str]:
    """Shape name -> one-line description."""
    return {name: text for name, (_, text) in _SHAPES.items()}


def make_shape(name: str, **params: Any) -> Solid:
    """A procedural shape by name, e.g. ``make_shape("torus", major=0.5, minor=0.2)``.

    Raises:
        ValueError: an unknown name (with the nearest known one) or parameter.
    """
    if name not in _SHAPES:
        near = difflib.get_close_matches(str(name), list(_SHAPES), n=1)
        hint = f" Did you mean {near[0]!r}?" if near else ""
        raise ValueError(f"unknown shape {name!r}.{hint} Known: {', '.join(_SHAPES)}")
    builder = _SHAPES[name][0]
    accepted = list(inspect.signature(builder).parameters)
    bad = [key for key in params if key not in accepted]
    if bad:
        raise ValueError(
            f"shape {name!r} has no parameter {bad[0]!r}; accepted: {', '.join(accepted)}"
        )
    return builder(**params)
