"""Procedural test shapes: analytic solids inside ``[-1, 1]^3``, so tests need no mesh files.

| name | surface | signed distance | smooth |
|---|---|---|---|
| ``sphere`` | ``|x| = radius`` | exact | yes |
| ``torus`` | tube of radius ``minor`` about the circle ``rho = major``, ``z = 0`` | exact | yes |
| ``box`` | box of half-sides ``half`` | exact | no (edges) |
| ``csg`` | (box ∩ sphere) minus three orthogonal cylinders (the classic CSG) | a bound | no |
| ``blob`` | a lumpy star-shaped surface ``|x| = r(x / |x|)`` | an implicit function | yes |

:func:`union`, :func:`intersection` and :func:`difference` combine solids (``min`` / ``max``:
the right zero set and sign, but only a bound on the distance). Every shape is a
:class:`~.solid.Solid`; its samples are projected onto the exact surface.

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

from .solid import Solid

__all__ = [
    "make_shape",
    "shape_names",
    "describe_shapes",
    "sphere",
    "torus",
    "box",
    "csg",
    "blob",
    "union",
    "intersection",
    "difference",
]


def sphere(radius: float = 0.6) -> Solid:
    """Sphere about the origin: ``sdf = |x| - radius``; mean curvature ``1 / radius``."""
    r = _positive(radius, "radius")
    return Solid("sphere", lambda x: x.norm(dim=1) - r, exact=True, smooth=True)


def torus(major: float = 0.5, minor: float = 0.2) -> Solid:
    """Torus about the ``z`` axis: ``sdf = sqrt((rho - major)^2 + z^2) - minor``,
    ``rho = sqrt(x^2 + y^2)``."""
    big, small = _positive(major, "major"), _positive(minor, "minor")
    if small >= big:
        raise ValueError(f"a torus needs minor < major, got minor={small}, major={big}")

    def sdf(x: Tensor) -> Tensor:
        rho = x[:, :2].norm(dim=1)
        return torch.stack([rho - big, x[:, 2]], 1).norm(dim=1) - small

    return Solid("torus", sdf, exact=True, smooth=True)


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


def csg(size: float = 0.5) -> Solid:
    """``(cube ∩ sphere) \\ (three cylinders)``: a cube of half-side ``size``, a sphere of
    radius ``1.3 size``, cylinders of radius ``0.55 size`` along the axes."""
    s = _positive(size, "size")
    core = intersection(box((s, s, s)), sphere(1.3 * s))
    holes = union(*(_cylinder(axis, 0.55 * s) for axis in range(3)))
    return Solid("csg", difference(core, holes).sdf, exact=False, smooth=False)


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

    return Solid("blob", sdf, exact=False, smooth=True)


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
