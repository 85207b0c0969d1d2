"""Observations of a smoke: cameras around the volume, images, and the folder they live in.

Rendering (emission-absorption, :mod:`smoothgrid.render`): along a ray the extinction is
``sigma = alpha rho`` (``alpha = 1`` by default, per world unit), every sample emits the same
grey ``emission`` and the background is a constant grey, so a pixel is
``emission * A + background * (1 - A)`` with ``A`` the ray's opacity. Images are grey (the PNGs
store it in all three channels).

World coordinates are the simulation's domain coordinates. A 3D volume is ``[lo, hi]``; its
cameras sit on a ring around it in the plane perpendicular to ``up`` (``y``, the way smoke
rises), slightly above it, looking at its centre. A 2D volume ``[lo, hi]`` in the ``(x, y)``
plane is the slab ``[lo, hi] x [-1/2, 1/2]`` seen by cameras in that plane (``up = z``) whose
images are one pixel high: each image is a line of ray integrals (a tomographic projection).

The folder (the Blender / NeRF layout of :mod:`smoothgrid.render.blender` plus a time per
frame; a user's own captures can be written the same way)::

    scene.json               {"dim": 2 or 3, "box": [lo, hi] (d numbers each), "times": [...],
                              "alpha": 1.0, "emission": 1.0, "background": 0.0,
                              "simulation": "simulation.npz" or null, "source": "plume2d"}
    transforms_train.json    the training views: one frame per (view, time), "time" in seconds
    transforms_test.json     the held-out view(s) at held-out times
    train/r_*.png, test/r_*.png
    simulation.npz           the simulated truth (optional; for the density error)

Every frame's ``time`` must be one of ``scene.json``'s ``times``; every training view must have
an image at each training time; every camera must see the box. :func:`read_scene` says which
file and frame break a rule.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from ...render import Cameras, blender, image_rays, ray_box, render_views, ring_poses
from .frames import Simulation

__all__ = [
    "Scene",
    "ScenePaths",
    "volume_box",
    "SLAB",
    "make_cameras",
    "ring_azimuths",
    "render_density",
    "observe",
    "write_scene",
    "read_scene",
    "check_visible",
    "view_groups",
]

SLAB = 0.5
"""Half thickness (world units) of the slab a 2D volume is rendered in."""

TIME_TOL = 1e-6
"""Largest difference (s) between a frame's time and the scene's frame time it stands for."""


def volume_box(dim: int, lo: Tensor, hi: Tensor) -> tuple[Tensor, Tensor]:
    """``(3,)`` world corners of the volume ``[lo, hi]`` (``(d,)`` each): itself in 3D, the
    slab ``[lo, hi] x [-SLAB, SLAB]`` in 2D."""
    if dim == 3:
        return lo.clone(), hi.clone()
    pad = torch.tensor([SLAB], dtype=torch.float64)
    return torch.cat([lo, -pad]), torch.cat([hi, pad])


@dataclass
class Scene:
    """The observations of one smoke sequence.

    Attributes:
        dim: spatial dimension ``d`` (2 or 3).
        lo, hi: ``(d,)`` float64 corners of the volume (world units).
        times: ``(T,)`` float64 all frame times (s), increasing.
        train: training cameras, one per (view, time), with ``times``.
        train_images: ``(N, H, W)`` grey images in ``[0, 1]``.
        test: held-out cameras (views and times not trained on), with ``times``.
        test_images: ``(M, H, W)``.
        alpha, emission, background: the rendering (see the module docstring).
        simulation: the truth when known (density error, pictures), else ``None``.
        name: where it came from.
    """

    dim: int
    lo: Tensor
    hi: Tensor
    times: Tensor
    train: Cameras
    train_images: Tensor
    test: Cameras
    test_images: Tensor
    alpha: float = 1.0
    emission: float = 1.0
    background: float = 0.0
    simulation: Simulation | None = None
    name: str = "scene"

    @property
    def box(self) -> tuple[Tensor, Tensor]:
        """``(3,)`` world corners the rays are clipped to (a 2D volume's slab)."""
        return volume_box(self.dim, self.lo, self.hi)

    @property
    def spacetime(self) -> tuple[list[float], list[float]]:
        """The model's box ``(lo, hi)``: the volume, then the time span."""
        lo = self.lo.tolist() + [float(self.times[0])]
        hi = self.hi.tolist() + [float(self.times[-1])]
        return lo, hi


def make_cameras(
    dim: int,
    azimuths: Sequence[float],
    lo: Tensor,
    hi: Tensor,
    pixels: int,
    times: Tensor | None = None,
) -> Cameras:
    """Cameras on a ring around the volume ``[lo, hi]`` at ``azimuths`` (degrees), looking at
    its centre from 2 box diagonals away with a field of view that frames the box.

    Args:
        dim: 2 (cameras in the ``(x, y)`` plane, images ``pixels`` wide and 1 high) or 3
            (``pixels`` square, ring around ``y`` at 15 degrees elevation).
        azimuths: one per camera.
        lo, hi: ``(d,)`` the volume.
        pixels: image width (and height in 3D).
        times: one per camera, or ``None``.
    """
    lo, hi = lo.double(), hi.double()
    centre = 0.5 * (lo + hi)
    half = 0.5 * float((hi - lo).norm())
    radius = 4.0 * half
    fov = 2.0 * math.atan(1.15 * half / (radius - half))
    up = (0.0, 0.0, 1.0) if dim == 2 else (0.0, 1.0, 0.0)
    middle = centre.tolist() + [0.0] if dim == 2 else centre.tolist()
    elevation = 0.0 if dim == 2 else 15.0
    c2w = torch.cat([ring_poses(1, radius, middle, elevation, up, float(a)) for a in azimuths])
    return Cameras.from_fov(c2w, pixels, 1 if dim == 2 else pixels, fov, times)


def ring_azimuths(views: int, start: float = 0.0) -> list[float]:
    """``views + 1`` azimuths (degrees): the training views evenly over half a turn (a thin
    medium looks nearly the same from opposite sides), then the held-out view half-way between
    the first two (or at 90 degrees to a single one)."""
    train = [start + 180.0 * k / views for k in range(views)]
    return train + [start + 90.0 / views]


def _world_to_model(dim: int, x: Tensor, t: Tensor) -> Tensor:
    """``(K, d + 1)`` space-time points of world samples ``x: (K, 3)`` at times ``t: (K,)``."""
    return torch.cat([x[:, :dim], t[:, None].to(x.dtype)], 1)


def render_density(
    density,
    dim: int,
    cameras: Cameras,
    box: tuple[Tensor, Tensor],
    n_samples: int,
    alpha: float = 1.0,
    emission: float = 1.0,
    background: float = 0.0,
    **options,
) -> Tensor:
    """Grey images ``(N, H, W)`` of a density ``density: (K, d + 1) -> (K,)`` (``(x, t)``,
    time last), seen by ``cameras`` (with times) through ``box``; ``options`` go to
    :func:`smoothgrid.render.render_views` (e.g. ``occupancy``)."""

    def field_fn(x: Tensor, d: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        rho = density(_world_to_model(dim, x, t))
        return alpha * rho, torch.full_like(rho, emission)[:, None]

    out = render_views(field_fn, cameras, box, n_samples, background=background, **options)
    return out.rgb[..., 0]


def check_visible(cameras: Cameras, box: tuple[Tensor, Tensor], names=None) -> None:
    """Raise ``ValueError`` naming the first camera none of whose pixel rays meets the box."""
    for i in range(len(cameras)):
        o, d = image_rays(cameras, i)
        _, _, hit = ray_box(o, d, box)
        if not bool(hit.any()):
            name = names[i] if names is not None else f"camera {i}"
            lo, hi = box
            raise ValueError(
                f"{name} does not see the volume box lo={lo.tolist()}, hi={hi.tolist()}: no ray "
                "of its pixels meets it (check its transform_matrix and field of view)"
            )


def observe(
    sim: Simulation,
    views: int = 3,
    pixels: int | None = None,
    n_samples: int | None = None,
    alpha: float = 1.0,
    emission: float | None = None,
    background: float = 0.0,
    name: str = "simulation",
) -> Scene:
    """Render a simulation as seen by ``views`` training cameras and one held-out camera.

    The cameras are placed by :func:`ring_azimuths` (:func:`make_cameras`), the last one held
    out. Training images are taken at the even frames, held-out ones at the odd frames (so
    the test has neither the views nor the times trained on; a single frame is used for both).

    Args:
        sim: the truth.
        views: training views, >= 1.
        pixels: image width (default the simulation's cells per axis).
        n_samples: samples per ray (default 4 per cell along the box's diagonal).
        alpha, background: the rendering.
        emission: the grey every sample emits; ``None``: ``0.9 / A_max``, ``A_max`` the largest
            opacity of a training pixel, so the brightest pixel is 0.9 whatever the density's
            scale (the plumes are thin: with ``alpha = 1`` their opacity peaked at 0.13 in 2D
            at 32^2 and 0.04 in 3D at 16^3, which 8-bit images resolve in a handful of levels).
    """
    if views < 1:
        raise ValueError(f"need at least one training view, got views={views}")
    dim, T = sim.dim, len(sim.times)
    n = max(sim.grid)
    pixels = pixels or n
    n_samples = n_samples or int(4 * n * math.sqrt(dim))
    cams = make_cameras(dim, ring_azimuths(views), sim.lo, sim.hi, pixels)
    train_frames = list(range(0, T, 2))
    test_frames = list(range(1, T, 2)) or [0]
    lo, hi = sim.lo.double(), sim.hi.double()
    box = volume_box(dim, lo, hi)
    density = lambda p: sim(p)[:, 0]  # noqa: E731
    shots = []  # opacities first: the images are linear in the emission
    for pairs in ([(v, f) for f in train_frames for v in range(views)],
                  [(views, f) for f in test_frames]):  # fmt: skip
        c2w = torch.stack([cams.c2w[v] for v, _ in pairs])
        times = torch.tensor([float(sim.times[f]) for _, f in pairs], dtype=torch.float64)
        sub = Cameras(c2w, cams.width, cams.height, cams.fx, cams.fy, cams.cx, cams.cy, times)
        with torch.no_grad():
            opacity = render_density(density, dim, sub.to(dtype=torch.float32), box, n_samples,
                                     alpha, 1.0, 0.0)  # fmt: skip
        shots.append((sub, opacity))
    (train, train_a), (test, test_a) = shots
    if emission is None:
        emission = 0.9 / max(float(train_a.max()), 1e-6)

    def shade(opacity: Tensor) -> Tensor:
        return emission * opacity + background * (1 - opacity)

    return Scene(dim, lo, hi, sim.times.double(), train, shade(train_a), test, shade(test_a),
                 alpha, emission, background, sim, name)  # fmt: skip


@dataclass(frozen=True)
class ScenePaths:
    """The files of a scene folder."""

    folder: Path

    @property
    def meta(self) -> Path:
        return self.folder / "scene.json"

    @property
    def simulation(self) -> Path:
        return self.folder / "simulation.npz"


def write_scene(scene: Scene, folder: str | os.PathLike) -> Path:
    """Write ``scene`` as a folder (see the module docstring); returns the folder."""
    paths = ScenePaths(Path(folder))
    for split, cams, images in (("train", scene.train, scene.train_images),
                                ("test", scene.test, scene.test_images)):  # fmt: skip
        blender.write_blender(paths.folder, split, cams, images[..., None].expand(-1, -1, -1, 3))
    if scene.simulation is not None:
        scene.simulation.save(paths.simulation)
    meta = {
        "dim": scene.dim, "box": [scene.lo.tolist(), scene.hi.tolist()],
        "times": scene.times.tolist(), "alpha": scene.alpha, "emission": scene.emission,
        "background": scene.background, "source": scene.name,
        "simulation": paths.simulation.name if scene.simulation is not None else None,
    }  # fmt: skip
    paths.meta.write_text(json.dumps(meta, indent=2) + "\n")
    return paths.folder


def _read_meta(paths: ScenePaths) -> dict:
    if not paths.folder.is_dir():
        raise FileNotFoundError(f"{paths.folder} is not a folder (a smoke scene folder or a "
                                "preset: plume2d, plume3d)")  # fmt: skip
    if not paths.meta.is_file():
        raise FileNotFoundError(
            f"{paths.folder} has no scene.json (a smoke folder holds scene.json with dim, box "
            "and times beside the Blender transforms_train.json / transforms_test.json)"
        )
    try:
        meta = json.loads(paths.meta.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{paths.meta}: not valid JSON ({error})") from None
    for key in ("dim", "box", "times"):
        if key not in meta:
            raise ValueError(f"{paths.meta}: needs {key!r}")
    if meta["dim"] not in (2, 3):
        raise ValueError(f"{paths.meta}: dim must be 2 or 3, got {meta['dim']!r}")
    times = meta["times"]
    if not isinstance(times, list) or not times or any(b <= a for a, b in zip(times, times[1:])):
        raise ValueError(f"{paths.meta}: 'times' must be a non-empty increasing list of seconds")
    return meta


def _frame_times(split: blender.BlenderSplit, times: Tensor, where: Path) -> Tensor:
    """The index of every frame's time among the scene's ``times``."""
    if split.cameras.times is None:
        raise ValueError(f"{where}: every frame needs a 'time' (s) in a smoke scene")
    gap = (split.cameras.times.double()[:, None] - times[None]).abs()
    nearest = gap.min(1)
    bad = nearest.values > TIME_TOL
    if bool(bad.any()):
        i = int(torch.nonzero(bad)[0])
        raise ValueError(
            f"{where}: frame {i} ({split.paths[i].name}) has time "
            f"{float(split.cameras.times[i]):g} s, which is not one of scene.json's times "
            f"(inconsistent times)"
        )
    return nearest.indices


def view_groups(c2w: Tensor, tol: float = 1e-6) -> Tensor:
    """``(N,)`` long: the index of each pose's view (frames with the same pose share one),
    numbered in order of first appearance."""
    flat = c2w.reshape(len(c2w), -1).double()
    labels = torch.full((len(c2w),), -1, dtype=torch.long)
    count = 0
    for i in range(len(c2w)):
        if labels[i] >= 0:
            continue
        same = (flat - flat[i]).abs().amax(1) <= tol
        labels[same & (labels < 0)] = count
        count += 1
    return labels


def _check_complete(split: blender.BlenderSplit, index: Tensor, times: Tensor, where: Path):
    """Every view of the split has one image at each time any view has (no missing frames)."""
    views = view_groups(split.cameras.c2w)
    wanted = sorted(set(index.tolist()))
    for v in range(int(views.max()) + 1):
        have = index[views == v].tolist()
        missing = [t for t in wanted if t not in have]
        if missing:
            first = int(torch.nonzero(views == v)[0])
            raise ValueError(
                f"{where}: missing frames: the view of frame {first} ({split.paths[first].name}) "
                f"has no image at t = {', '.join(f'{float(times[t]):g}' for t in missing)} s, "
                "which other views have"
            )
        if len(have) != len(set(have)):
            raise ValueError(f"{where}: the view of frame {int(torch.nonzero(views == v)[0])} "
                             "has two images at the same time")  # fmt: skip


def read_scene(folder: str | os.PathLike) -> Scene:
    """Read a smoke folder (see the module docstring), checking it.

    Raises:
        FileNotFoundError: no folder, no ``scene.json``, no transforms file, a missing image.
        ValueError: frames without a time or at a time not in ``scene.json`` (inconsistent
            times), a training view without an image at a training time (missing frames), a
            camera that does not see the volume, bad JSON; the message names the file.
    """
    paths = ScenePaths(Path(folder))
    meta = _read_meta(paths)
    dim = int(meta["dim"])
    lo = torch.tensor(meta["box"][0], dtype=torch.float64)
    hi = torch.tensor(meta["box"][1], dtype=torch.float64)
    if lo.shape != (dim,) or hi.shape != (dim,) or not bool((hi > lo).all()):
        raise ValueError(f"{paths.meta}: 'box' must be [lo, hi] with {dim} numbers each, lo < hi")
    times = torch.tensor(meta["times"], dtype=torch.float64)
    bg = float(meta.get("background", 0.0))
    box = volume_box(dim, lo, hi)
    splits = {}
    for name in ("train", "test"):
        split = blender.read_blender(paths.folder, name, background=(bg, bg, bg))
        where = paths.folder / f"transforms_{name}.json"
        names = [f"{where.name}: frame {i} ({p.name})" for i, p in enumerate(split.paths)]
        check_visible(split.cameras, box, names)
        index = _frame_times(split, times, where)
        if name == "train":
            _check_complete(split, index, times, where)
        if dim == 2 and split.cameras.height != 1:
            raise ValueError(f"{where}: a 2D scene's images are 1 pixel high, got "
                             f"{split.cameras.height}")  # fmt: skip
        splits[name] = split
    simulation = None
    if meta.get("simulation"):
        simulation = Simulation.load(paths.folder / meta["simulation"])
    return Scene(dim, lo, hi, times, splits["train"].cameras, splits["train"].images.mean(-1),
                 splits["test"].cameras, splits["test"].images.mean(-1),
                 float(meta.get("alpha", 1.0)), float(meta.get("emission", 1.0)), bg,
                 simulation, str(meta.get("source", paths.folder.name)))  # fmt: skip
