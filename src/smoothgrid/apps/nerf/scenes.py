"""Procedural scenes made by code: coloured solids rendered by smoothgrid's renderer.

A scene is a union of :mod:`smoothgrid.geometry` shapes, each moved by an offset and given a
colour. Its density is a smoothed step of the signed distance ``f`` (negative inside),

    sigma(x) = SIGMA_MAX * sigmoid(-f(x) / BETA),

(a solid of thickness ``>> BETA`` is opaque; ``BETA`` keeps the surface resolvable by a grid),
and its emitted colour is the albedo of the nearest solid times a smooth 3D pattern (the texture
that gives pose registration something to lock onto):

    rgb(x) = colour_k * (0.6 + 0.4 * (1 + sin(a x) sin(a y) sin(a z)) / 2),  a = 2 pi PATTERN.

Views come from cameras on the upper hemisphere around the scene (:func:`render_scene`), like
the NeRF-synthetic scenes, on a white background.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ... import render
from ...geometry import make_shape, shape_names
from ...geometry.solid import Solid
from ...train.settings import nearest

__all__ = [
    "SIGMA_MAX",
    "BETA",
    "PATTERN",
    "SCENE_BOX",
    "DEFAULT_SCENE",
    "Part",
    "Scene",
    "scene_names",
    "make_scene",
    "render_scene",
]

SIGMA_MAX = 40.0
"""Density inside a solid, per world unit."""

BETA = 0.02
"""Width of the density's step across a surface, world units."""

PATTERN = 2.0
"""Cycles per world unit of the albedo pattern."""

SCENE_BOX = ((-1.0, -1.0, -1.0), (1.0, 1.0, 1.0))
"""The support of every procedural scene (world units)."""

DEFAULT_SCENE = "solids"

_COLOURS = {
    "sphere": (0.85, 0.25, 0.2),
    "torus": (0.95, 0.7, 0.15),
    "box": (0.2, 0.45, 0.85),
    "csg": (0.3, 0.7, 0.35),
    "blob": (0.6, 0.3, 0.75),
}


@dataclass(frozen=True)
class Part:
    """One solid of a scene: ``solid`` moved by ``offset`` (world units) with ``colour`` (RGB
    in ``[0, 1]``)."""

    solid: Solid
    offset: tuple[float, float, float]
    colour: tuple[float, float, float]


@dataclass(frozen=True)
class Scene:
    """A procedural scene (see the module docstring)."""

    name: str
    parts: tuple[Part, ...]

    def distances(self, x: Tensor) -> Tensor:
        """``(P, K)`` signed distance of ``x: (K, 3)`` to each part."""
        return torch.stack([p.solid.sdf(x - x.new_tensor(p.offset)) for p in self.parts])

    def sigma(self, x: Tensor) -> Tensor:
        """``(K,)`` density per world unit."""
        return SIGMA_MAX * torch.sigmoid(-self.distances(x).min(0).values / BETA)

    def albedo(self, x: Tensor) -> Tensor:
        """``(K, 3)`` colour of the nearest part times the pattern."""
        nearest_part = self.distances(x).argmin(0)
        colours = x.new_tensor([p.colour for p in self.parts])[nearest_part]
        a = 2 * math.pi * PATTERN
        wave = torch.sin(a * x[:, 0]) * torch.sin(a * x[:, 1]) * torch.sin(a * x[:, 2])
        return colours * (0.6 + 0.2 * (1 + wave))[:, None]

    def __call__(self, x: Tensor, d: Tensor, t: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """The renderer's ``field_fn``: ``(sigma (K,), rgb (K, 3))``; view-independent."""
        return self.sigma(x), self.albedo(x)


def _solids() -> Scene:
    return Scene(
        "solids",
        (
            Part(make_shape("sphere", radius=0.3), (0.35, 0.3, 0.0), _COLOURS["sphere"]),
            Part(make_shape("box", half=(0.22, 0.22, 0.3)), (-0.4, 0.25, -0.1), _COLOURS["box"]),
            Part(make_shape("torus", major=0.35, minor=0.12), (0.0, -0.35, -0.2),
                 _COLOURS["torus"]),
        ),
    )  # fmt: skip


def scene_names() -> list[str]:
    """The procedural scenes: ``solids`` (the default: a sphere, a box and a torus) and each
    single shape of :func:`smoothgrid.geometry.shape_names`."""
    return [DEFAULT_SCENE, *shape_names()]


def make_scene(name: str = DEFAULT_SCENE) -> Scene:
    """The procedural scene ``name`` (see :func:`scene_names`)."""
    if name == DEFAULT_SCENE:
        return _solids()
    if name not in shape_names():
        raise ValueError(
            f"unknown scene {name!r}.{nearest(name, scene_names())} Known: "
            f"{', '.join(scene_names())} (or a Blender-format folder)"
        )
    return Scene(name, (Part(make_shape(name), (0.0, 0.0, 0.0), _COLOURS[name]),))


def render_scene(
    scene: Scene,
    c2w: Tensor,
    size: int,
    fov_x: float,
    n_samples: int = 128,
    n_importance: int = 64,
) -> tuple[render.Cameras, Tensor]:
    """Render ``scene`` from poses ``c2w: (N, 4, 4)`` into ``size x size`` images.

    Returns the cameras and ``(N, size, size, 3)`` float32 images on a white background
    (rendered in float64 with ``n_samples`` stratified and ``n_importance`` importance intervals
    per ray, then rounded to float32).
    """
    cams = render.Cameras.from_fov(c2w.double(), size, size, fov_x)
    views = render.render_views(scene, cams, SCENE_BOX, n_samples, n_importance=n_importance,
                                background=1.0)  # fmt: skip
    return cams.to(dtype=torch.float32), views.rgb.float()
