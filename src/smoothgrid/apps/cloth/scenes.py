"""Scenes: a square cloth laid flat, some of it pinned, released under gravity.

The cloth's reference coordinates are ``(u, v) in [0, 1]^2``; it starts as the flat horizontal
square ``X0(u, v) = (L u, L v, 0)`` (metres, ``z`` up, gravity along ``-z``). Pins hold the
position of points or whole edges at ``X0`` exactly, by the hard constraint
``x = X0 + L B(u, v) N(u, v)`` with ``B`` zero on the pins only (:func:`pin_factor`).

* ``drape``: pinned at the two corners of the top edge ``(0, 1)`` and ``(1, 1)``; it falls into a
  drape that sags between them.
* ``clips``: the same with finite clips: the top edge pinned on ``u in [0, 0.1]`` and
  ``[0.9, 1]`` (a point pin carries a point load, whose strain is unbounded: this one has a
  limit as the resolution grows).
* ``hang``: pinned along the top edge ``v = 1``; it swings down and hangs from it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from ...jet import Jet, apply, cat

__all__ = ["Scene", "SCENES", "scene", "pin_factor", "edge_part", "EDGES", "EdgePart"]

EDGES = {"left": (0, 0.0), "right": (0, 1.0), "bottom": (1, 0.0), "top": (1, 1.0)}
"""Edge name -> (axis, coordinate) of the reference square: ``left`` is ``u = 0``, ``top`` is
``v = 1``."""

EdgePart = tuple[str, float, float]
"""A pinned part of an edge: its name and the interval of the other coordinate it covers."""


def edge_part(spec: str | Sequence) -> EdgePart:
    """``"top"`` -> ``("top", 0.0, 1.0)``; ``("top", a, b)`` checked.

    Raises:
        ValueError: an unknown edge (with the nearest name) or an interval outside ``[0, 1]``.
    """
    name, start, end = (spec, 0.0, 1.0) if isinstance(spec, str) else tuple(spec)
    if name not in EDGES:
        near = difflib.get_close_matches(str(name), list(EDGES), n=1)
        hint = f" Did you mean {near[0]!r}?" if near else ""
        raise ValueError(f"unknown edge {name!r}.{hint} Known: {', '.join(EDGES)}")
    if not 0.0 <= float(start) < float(end) <= 1.0:
        raise ValueError(
            f"pinned part ({name!r}, {start}, {end}) lies outside the cloth: its interval must "
            f"be 0 <= start < end <= 1"
        )
    return name, float(start), float(end)


@dataclass(frozen=True)
class Scene:
    """A cloth of side ``size`` with pinned points and edges.

    Attributes:
        name: the scene's name.
        size: ``L``, the side of the square, m (> 0).
        pins: ``(u, v)`` reference coordinates of pinned points, each in ``[0, 1]^2``.
        edges: pinned edges: names (:data:`EDGES`) or parts ``(name, start, end)`` (the other
            coordinate's interval, e.g. ``("top", 0.0, 0.1)``: ``v = 1``, ``u <= 0.1``).
        description: one line.

    Raises:
        ValueError: a pin outside the cloth, an unknown edge, no pin at all, a bad size.
    """

    name: str
    size: float = 1.0
    pins: tuple[tuple[float, float], ...] = ()
    edges: tuple[str | EdgePart, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        if not (isinstance(self.size, (int, float)) and self.size > 0):
            raise ValueError(f"the cloth's size must be > 0 (m), got {self.size!r}")
        for pin in self.pins:
            if len(pin) != 2 or not all(0.0 <= float(c) <= 1.0 for c in pin):
                raise ValueError(
                    f"pin {tuple(pin)} lies outside the cloth: pins are reference coordinates "
                    f"(u, v) in [0, 1]^2"
                )
        for edge in self.edges:
            edge_part(edge)
        if not self.pins and not self.edges:
            raise ValueError("a cloth needs at least one pin or pinned edge to hang from")

    @property
    def free_corners(self) -> tuple[tuple[float, float], ...]:
        """The corners ``(u, v)`` no pin holds, ``(0, 0)`` first."""
        corners = torch.tensor(
            [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=torch.float64
        )
        b = pin_factor(self.pins, self.edges)(Jet(corners)).value[:, 0]
        return tuple((float(c[0]), float(c[1])) for c, bi in zip(corners, b) if bi > 0)

    def constraint_parts(self) -> tuple[Callable[[Jet], Jet], Callable[[Jet], Jet]]:
        """``(factor, offset)`` jet functions of the coordinates ``(u, v)``: ``L B`` (1
        channel) and ``X0`` (3 channels), for ``x = X0 + L B N``."""
        base = pin_factor(self.pins, self.edges)
        size = float(self.size)

        def factor(X: Jet) -> Jet:
            return base(X) * size

        def offset(X: Jet) -> Jet:
            u, v = X[..., 0], X[..., 1]
            return cat([u * size, v * size, u * 0.0])

        return factor, offset


def _inward(point: Sequence[float], tol: float = 1e-12) -> tuple[float, float]:
    """Sum of the inward unit normals of the edges ``point`` lies on (zero inside)."""
    n = [0.0, 0.0]
    for axis in (0, 1):
        if abs(point[axis]) <= tol:
            n[axis] += 1.0
        elif abs(point[axis] - 1.0) <= tol:
            n[axis] -= 1.0
    return n[0], n[1]


def _relu_square(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r = z.clamp_min(0.0)
    return r * r, 2.0 * r, 2.0 * (z > 0).to(z.dtype)


def pin_factor(
    pins: Sequence[Sequence[float]], edges: Sequence[str | EdgePart]
) -> Callable[[Jet], Jet]:
    """``B(u, v)``: a jet function, zero exactly on the pins, positive elsewhere on the square,
    1 at its centre per factor.

    A pinned edge contributes its normalised distance (``2 (1 - v)`` for ``top``); a part
    ``[a, b]`` of it adds ``4 (max(0, a - u)^2 + max(0, u - b)^2)`` (for ``top``), which is C1 with
    a bounded second derivative, so the energy stays integrable. A pinned
    point ``c`` contributes ``n . (p - c) + |p - c|^2`` (normalised to 1 at the centre), ``n``
    the sum of the inward normals of the edges it lies on: on the boundary the factor grows
    linearly away from the pin, so the cloth may turn about it (a pin, not a clamp); inside it
    is ``|p - c|^2``, which also fixes the tangent plane there.
    """
    centre = (0.5, 0.5)
    terms: list[Callable[[Jet], Jet]] = []
    for edge in edges:
        name, start, end = edge_part(edge)
        axis, where = EDGES[name]
        sign = 1.0 if where == 0.0 else -1.0

        def part(X: Jet, a=axis, w=where, s=sign, lo=start, hi=end) -> Jet:
            out = (X[..., a] - w) * (2.0 * s)
            t = X[..., 1 - a]
            if lo > 0.0:
                out = out + apply(lo - t, _relu_square) * 4.0
            if hi < 1.0:
                out = out + apply(t - hi, _relu_square) * 4.0
            return out

        scale = 1.0 / float(part(Jet(torch.tensor([centre], dtype=torch.float64))).value)
        terms.append(lambda X, part=part, scale=scale: part(X) * scale)
    for pin in pins:
        c = (float(pin[0]), float(pin[1]))
        n = _inward(c)
        scale = 1.0 / _point_term(centre, c, n)

        def term(X: Jet, c=c, n=n, scale=scale) -> Jet:
            du, dv = X[..., 0] - c[0], X[..., 1] - c[1]
            return (du * n[0] + dv * n[1] + du * du + dv * dv) * scale

        terms.append(term)

    def factor(X: Jet) -> Jet:
        out = terms[0](X)
        for t in terms[1:]:
            out = out * t(X)
        return out

    return factor


def _point_term(p: Sequence[float], c: Sequence[float], n: Sequence[float]) -> float:
    du, dv = p[0] - c[0], p[1] - c[1]
    return du * n[0] + dv * n[1] + du * du + dv * dv


SCENES: dict[str, Scene] = {
    "drape": Scene(
        "drape", pins=((0.0, 1.0), (1.0, 1.0)),
        description="a 1 m square pinned at the two corners of one edge, released flat",
    ),
    "clips": Scene(
        "clips", edges=(("top", 0.0, 0.1), ("top", 0.9, 1.0)),
        description="a 1 m square clipped along the first and last 10 cm of one edge",
    ),
    "hang": Scene(
        "hang", edges=("top",),
        description="a 1 m square pinned along one edge, released flat: it hangs from it",
    ),
}  # fmt: skip
"""The named scenes."""


def scene(name: str, size: float | None = None) -> Scene:
    """The named scene (a cloth of side ``size`` m if given).

    Raises:
        ValueError: an unknown name (with the nearest one).
    """
    if name not in SCENES:
        near = difflib.get_close_matches(str(name), list(SCENES), n=1)
        hint = f" Did you mean {near[0]!r}?" if near else ""
        raise ValueError(f"unknown cloth scene {name!r}.{hint} Known: {', '.join(SCENES)}")
    base = SCENES[name]
    if size is None:
        return base
    return Scene(base.name, float(size), base.pins, base.edges, base.description)
