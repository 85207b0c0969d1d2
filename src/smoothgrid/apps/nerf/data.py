"""The views a radiance field is fitted to: a procedural scene or a user's Blender folder.

:func:`load_views` takes a SOURCE as the command line does: a procedural scene name
(:func:`~.scenes.scene_names`, rendered here by smoothgrid's renderer) or a Blender /
NeRF-synthetic folder (``transforms_train.json`` and ``transforms_test.json`` or
``transforms_val.json``; without either, every 8th training frame is held out for testing).
:func:`noisy_poses` makes the starting poses of pose refinement from the true ones.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from ... import render
from ...train.settings import SettingsError
from .scenes import DEFAULT_SCENE, SCENE_BOX, make_scene, render_scene

__all__ = [
    "BLENDER_BOX",
    "CAMERA_RADIUS",
    "FOV_X",
    "NerfViews",
    "procedural_views",
    "blender_views",
    "load_views",
    "parse_pose_noise",
    "noisy_poses",
]

BLENDER_BOX = ((-1.5, -1.5, -1.5), (1.5, 1.5, 1.5))
"""The support assumed for a Blender folder (NeRF-synthetic's objects lie inside it)."""

CAMERA_RADIUS = 3.0
"""Distance of the procedural cameras from the scene's centre, world units (the scene fills
about two thirds of a view)."""

FOV_X = 0.6911
"""Horizontal field of view of the procedural cameras, radians (NeRF-synthetic's)."""


@dataclass
class NerfViews:
    """Training and test views with their true poses.

    Attributes:
        name: the scene name or folder.
        train: training cameras (true poses), ``N`` of them.
        train_images: ``(N, H, W, 3)`` float32 in ``[0, 1]``.
        test: test cameras (true poses).
        test_images: ``(M, H, W, 3)``.
        box: ``(lo, hi)`` the scene's support, world units.
    """

    name: str
    train: render.Cameras
    train_images: Tensor
    test: render.Cameras
    test_images: Tensor
    box: tuple


def procedural_views(
    name: str = DEFAULT_SCENE, n_train: int = 16, n_test: int = 4, size: int = 100
) -> NerfViews:
    """Render the procedural scene ``name`` from ``n_train + n_test`` cameras on a Fibonacci
    spiral over the upper hemisphere (every ``(n_train + n_test) // n_test``-th is a test view),
    at :data:`CAMERA_RADIUS` with :data:`FOV_X`, ``size x size`` pixels."""
    if n_train < 3 or n_test < 1 or size < 2:
        raise SettingsError(
            f"need n_train >= 3, n_test >= 1 and size >= 2, got {n_train}, {n_test}, {size}"
        )
    scene = make_scene(name)
    stride = (n_train + n_test) // n_test
    spiral = render.sphere_poses(n_train + n_test, CAMERA_RADIUS)  # upper hemisphere
    test_index = torch.arange(n_test) * stride + stride // 2
    train_mask = torch.ones(len(spiral), dtype=torch.bool)
    train_mask[test_index] = False
    train, train_images = render_scene(scene, spiral[train_mask], size, FOV_X)
    test, test_images = render_scene(scene, spiral[test_index], size, FOV_X)
    return NerfViews(name, train, train_images, test, test_images, SCENE_BOX)


def _resize(split: render.BlenderSplit, size: int | None) -> tuple[render.Cameras, Tensor]:
    """The split's cameras and images with the width scaled to ``size`` (area averaging)."""
    cams, images = split.cameras, split.images
    if size is None or size == cams.width:
        return cams, images
    scale = size / cams.width
    height = max(1, round(cams.height * scale))
    resized = torch.nn.functional.interpolate(
        images.permute(0, 3, 1, 2), size=(height, size), mode="area"
    ).permute(0, 2, 3, 1)
    sy = height / cams.height
    cameras = render.Cameras(cams.c2w, size, height, cams.fx * scale, cams.fy * sy,
                             cams.cx * scale, cams.cy * sy, cams.times)  # fmt: skip
    return cameras, resized.contiguous()


def blender_views(
    folder: str | os.PathLike, size: int | None = None, box: tuple = BLENDER_BOX
) -> NerfViews:
    """Read a Blender-format folder (see :func:`smoothgrid.render.read_blender`).

    The test views come from ``transforms_test.json``, else ``transforms_val.json``, else every
    8th training frame. ``size``: resample the images to this width (the focal lengths follow).

    Raises:
        FileNotFoundError, ValueError: from the reader, naming the folder, file and frame.
    """
    folder = Path(folder)
    train = render.read_blender(folder, "train")
    test_split = next((s for s in ("test", "val") if (folder / f"transforms_{s}.json").is_file()),
                      None)  # fmt: skip
    train_cams, train_images = _resize(train, size)
    if test_split is None:
        held = torch.zeros(len(train_cams), dtype=torch.bool)
        held[::8] = True
        if held.all():
            raise ValueError(f"{folder}: needs a test split or at least 2 training frames")
        test_cams, test_images = train_cams[held], train_images[held]
        train_cams, train_images = train_cams[~held], train_images[~held]
    else:
        test_cams, test_images = _resize(render.read_blender(folder, test_split), size)
        if test_images.shape[1:3] != train_images.shape[1:3]:
            raise ValueError(
                f"{folder}: the {test_split} images are {test_images.shape[2]} x "
                f"{test_images.shape[1]} pixels, the train images {train_images.shape[2]} x "
                f"{train_images.shape[1]}"
            )
    return NerfViews(str(folder), train_cams, train_images, test_cams, test_images, box)


def load_views(
    source: str | os.PathLike | None = None,
    n_train: int = 16,
    n_test: int = 4,
    size: int | None = None,
) -> NerfViews:
    """The views of SOURCE: a procedural scene name (default :data:`DEFAULT_SCENE`, rendered
    at ``size`` pixels, default 100) or a Blender-format folder (``size``: resample)."""
    if source is None:
        source = DEFAULT_SCENE
    if Path(source).exists() or os.sep in str(source):
        return blender_views(source, size)
    return procedural_views(str(source), n_train, n_test, 100 if size is None else size)


def parse_pose_noise(text: str | tuple[float, float]) -> tuple[float, float]:
    """``"DEG,UNITS"`` -> ``(rotation in degrees, translation in world units)``, both >= 0."""
    if isinstance(text, str):
        parts = text.split(",")
        try:
            values = tuple(float(p) for p in parts)
        except ValueError:
            values = ()
        if len(values) != 2:
            raise SettingsError(
                f"pose noise must be DEG,UNITS (rotation in degrees, translation in world "
                f"units), e.g. 5,0.1; got {text!r}"
            )
    else:
        values = tuple(float(v) for v in text)
    rotation, translation = values
    if not (rotation >= 0 and translation >= 0) or not all(map(math.isfinite, values)):
        raise SettingsError(
            f"pose noise must be non-negative and finite, got rotation {rotation} deg, "
            f"translation {translation}"
        )
    return rotation, translation


def noisy_poses(c2w: Tensor, rotation_deg: float, translation: float, seed: int) -> Tensor:
    """``c2w: (N, 4, 4)`` each turned by exactly ``rotation_deg`` about a random axis through
    its centre and moved by exactly ``translation`` (:func:`smoothgrid.render.perturb_poses`),
    drawn from ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    return render.perturb_poses(c2w.double(), rotation_deg, translation, generator).to(c2w.dtype)
