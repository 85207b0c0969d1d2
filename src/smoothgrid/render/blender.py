"""The Blender / NeRF-synthetic folder format: read a user's folder, write one.

A folder holds ``transforms_{split}.json`` (``split`` in ``train``, ``val``, ``test``) and the
images they name::

    {
      "camera_angle_x": 0.6911,                  # horizontal field of view, radians
      "frames": [
        {"file_path": "./train/r_0",             # relative to the folder; ".png" added if absent
         "transform_matrix": [[...4 numbers...], ...4 rows...],   # camera-to-world, OpenGL
         "time": 0.0},                           # optional: time-varying scenes (D-NeRF, smoke)
        ...
      ]
    }

Optional Instant-NGP keys ``w``, ``h``, ``fl_x``, ``fl_y``, ``cx``, ``cy`` (pixels) override the
intrinsics derived from ``camera_angle_x``; :func:`write_blender` writes them. Images are PNGs:
RGBA (straight, not premultiplied, alpha, as Blender writes them) composited here on the
background colour, or RGB. Either every frame has a ``time`` or none has.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .cameras import Cameras, check_poses, focal_from_fov

__all__ = ["SPLITS", "BlenderSplit", "read_blender", "write_blender"]

SPLITS = ("train", "val", "test")


@dataclass
class BlenderSplit:
    """One split of a Blender-format folder.

    Attributes:
        cameras: ``N`` cameras (with ``times`` when the frames have them).
        images: ``(N, H, W, 3)`` float32 in ``[0, 1]``, composited on the background.
        alpha: ``(N, H, W)`` float32 alpha of RGBA images, ``None`` when all were RGB.
        paths: the ``N`` image files.
    """

    cameras: Cameras
    images: Tensor
    alpha: Tensor | None
    paths: list[Path]


def _load_json(path: Path) -> dict:
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(meta).__name__}")
    frames = meta.get("frames")
    if not isinstance(frames, list) or not frames:
        raise ValueError(f"{path}: needs a non-empty list 'frames'")
    if "camera_angle_x" not in meta and "fl_x" not in meta:
        raise ValueError(f"{path}: needs 'camera_angle_x' (radians) or 'fl_x' (pixels)")
    return meta


def _image_path(folder: Path, frame: dict, where: str) -> Path:
    if "file_path" not in frame:
        raise ValueError(f"{where}: has no 'file_path'")
    path = folder / frame["file_path"]
    if path.suffix.lower() != ".png" and not path.is_file():
        path = path.with_name(path.name + ".png")
    if not path.is_file():
        raise FileNotFoundError(f"{where}: image file {path} does not exist")
    return path


def _read_png(path: Path) -> np.ndarray:
    """``(H, W, 3 or 4)`` float32 in ``[0, 1]``."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            has_alpha = "A" in img.getbands() or "transparency" in img.info
            pixels = np.asarray(img.convert("RGBA" if has_alpha else "RGB"))
    except OSError as error:
        raise ValueError(f"{path}: cannot read the image ({error})") from None
    return pixels.astype(np.float32) / 255.0


def _pose(frame: dict, where: str) -> list:
    matrix = frame.get("transform_matrix")
    if np.shape(matrix) != (4, 4):
        raise ValueError(f"{where}: 'transform_matrix' must be 4 x 4, got shape {np.shape(matrix)}")
    return matrix


def _times(frames: list, json_path: Path) -> list | None:
    has = ["time" in f for f in frames]
    if not any(has):
        return None
    if not all(has):
        i = has.index(False)
        raise ValueError(f"{json_path}: frame {i} has no 'time' while other frames have one")
    return [float(f["time"]) for f in frames]


def read_blender(
    folder: str | os.PathLike,
    split: str = "train",
    background: tuple[float, float, float] = (1.0, 1.0, 1.0),
    dtype: torch.dtype = torch.float32,
) -> BlenderSplit:
    """Read ``folder/transforms_{split}.json`` and its images.

    Args:
        folder: a Blender-format folder (see the module docstring).
        split: ``train``, ``val`` or ``test`` (any name with a ``transforms_{split}.json``).
        background: RGB in ``[0, 1]`` under transparent pixels (white, as NeRF-synthetic).
        dtype: of the poses and times.

    Raises:
        FileNotFoundError: no such folder, no transforms file, or a frame's image is missing.
        ValueError: bad JSON, a non-rigid pose, images of different sizes or not of the size the
            JSON states; the message names the file and the frame.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder")
    json_path = folder / f"transforms_{split}.json"
    if not json_path.is_file():
        found = sorted(p.name for p in folder.glob("transforms_*.json"))
        raise FileNotFoundError(
            f"{folder} has no transforms_{split}.json (a Blender/NeRF folder holds "
            f"transforms_{{train,val,test}}.json; found {found or 'none'})"
        )
    meta = _load_json(json_path)
    frames = meta["frames"]
    names = [
        f"{json_path.name}: frame {i} ({f.get('file_path', '?')})" for i, f in enumerate(frames)
    ]
    c2w = torch.tensor([_pose(f, n) for f, n in zip(frames, names)], dtype=torch.float64)
    check_poses(c2w, names)
    times = _times(frames, json_path)
    paths = [_image_path(folder, f, n) for f, n in zip(frames, names)]
    pixels = [_read_png(p) for p in paths]
    height, width = int(meta.get("h", pixels[0].shape[0])), int(meta.get("w", pixels[0].shape[1]))
    for p, px in zip(paths, pixels):
        if px.shape[:2] != (height, width):
            raise ValueError(
                f"{p}: image is {px.shape[1]} x {px.shape[0]} pixels, expected {width} x {height}"
                " (the size of the first frame or the JSON's w / h)"
            )
    bg = np.asarray(background, dtype=np.float32)
    images, alphas = [], []
    for px in pixels:
        a = px[..., 3] if px.shape[-1] == 4 else np.ones(px.shape[:2], np.float32)
        images.append(px[..., :3] * a[..., None] + bg * (1 - a[..., None]))
        alphas.append(a)
    fx = float(meta["fl_x"]) if "fl_x" in meta else focal_from_fov(width, meta["camera_angle_x"])
    fy = float(meta.get("fl_y", fx))
    cameras = Cameras(
        c2w.to(dtype), width, height, fx, fy, meta.get("cx"), meta.get("cy"),
        None if times is None else torch.tensor(times, dtype=dtype),
    )  # fmt: skip
    any_alpha = any(px.shape[-1] == 4 for px in pixels)
    return BlenderSplit(
        cameras,
        torch.from_numpy(np.stack(images)),
        torch.from_numpy(np.stack(alphas)) if any_alpha else None,
        paths,
    )


def write_blender(
    folder: str | os.PathLike,
    split: str,
    cameras: Cameras,
    images: Tensor | np.ndarray,
    prefix: str = "r_",
) -> Path:
    """Write ``folder/transforms_{split}.json`` and ``folder/{split}/{prefix}{i}.png``.

    Args:
        folder: created if needed.
        cameras: ``N`` cameras; their times are written per frame when present.
        images: ``(N, H, W, 3)`` RGB or ``(N, H, W, 4)`` RGBA (straight alpha), floats in
            ``[0, 1]`` (rounded to 8 bits) or ``uint8``.

    Returns the JSON's path. Reading it back gives the same cameras (to float precision) and
    the same images to 1/255.
    """
    from PIL import Image

    images = images.detach().cpu().numpy() if isinstance(images, Tensor) else np.asarray(images)
    expected = (len(cameras), cameras.height, cameras.width)
    if images.ndim != 4 or images.shape[:3] != expected or images.shape[3] not in (3, 4):
        raise ValueError(f"images must be {expected} x (3 or 4), got {images.shape}")
    if images.dtype != np.uint8:
        images = np.round(np.clip(images, 0.0, 1.0) * 255.0).astype(np.uint8)
    folder = Path(folder)
    (folder / split).mkdir(parents=True, exist_ok=True)
    c2w = cameras.c2w.detach().cpu().double().tolist()
    frames = []
    for i, img in enumerate(images):
        Image.fromarray(img, "RGBA" if img.shape[-1] == 4 else "RGB").save(
            folder / split / f"{prefix}{i}.png"
        )
        frame = {"file_path": f"./{split}/{prefix}{i}", "transform_matrix": c2w[i]}
        if cameras.times is not None:
            frame["time"] = float(cameras.times[i])
        frames.append(frame)
    meta = {
        "camera_angle_x": cameras.fov_x,
        "w": cameras.width, "h": cameras.height,
        "fl_x": cameras.fx, "fl_y": cameras.fy, "cx": cameras.cx, "cy": cameras.cy,
        "frames": frames,
    }  # fmt: skip
    path = folder / f"transforms_{split}.json"
    path.write_text(json.dumps(meta, indent=2))
    return path
