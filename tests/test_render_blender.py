"""The Blender / NeRF-synthetic folder format: round trips and clear errors on bad folders."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from smoothgrid.render import Cameras, read_blender, ring_poses, write_blender


def _cameras(n=3, times=None) -> Cameras:
    return Cameras.from_fov(ring_poses(n, 4.0, elevation_deg=30.0), 6, 5, 0.69, times=times)


def _images(n=3, channels=3, seed=0) -> torch.Tensor:
    return torch.rand(n, 5, 6, channels, generator=torch.Generator().manual_seed(seed))


def test_round_trip_rgb_with_times(tmp_path):
    cams = _cameras(times=torch.tensor([0.0, 0.25, 1.0]))
    images = _images()
    path = write_blender(tmp_path, "train", cams, images)
    assert path.name == "transforms_train.json" and (tmp_path / "train" / "r_2.png").is_file()
    data = read_blender(tmp_path, "train")
    torch.testing.assert_close(data.cameras.c2w, cams.c2w, atol=1e-6, rtol=0)
    assert (data.cameras.width, data.cameras.height) == (6, 5)
    assert data.cameras.fx == pytest.approx(cams.fx) and data.cameras.cy == pytest.approx(2.5)
    torch.testing.assert_close(data.cameras.times, cams.times)
    assert (data.images - images).abs().max() <= 0.5 / 255 + 1e-6
    assert data.alpha is None and len(data.paths) == 3


def test_round_trip_rgba_is_composited_on_the_background(tmp_path):
    rgba = _images(channels=4, seed=1)
    write_blender(tmp_path, "test", _cameras(), rgba)
    white = read_blender(tmp_path, "test")
    a = rgba[..., 3:]
    assert (white.alpha - rgba[..., 3]).abs().max() <= 0.5 / 255 + 1e-6
    assert (white.images - (rgba[..., :3] * a + 1 - a)).abs().max() <= 1.5 / 255
    black = read_blender(tmp_path, "test", background=(0.0, 0.0, 0.0))
    assert (black.images - rgba[..., :3] * a).abs().max() <= 1.5 / 255
    assert white.cameras.times is None


def _original_layout(folder, size=(4, 4), matrix=None):
    """A folder as NeRF-synthetic ships it: file paths without extension, only camera_angle_x."""
    (folder / "train").mkdir(parents=True)
    matrix = matrix if matrix is not None else np.eye(4).tolist()
    frames = []
    for i in range(2):
        Image.new("RGBA", size, (255, 0, 0, 128)).save(folder / "train" / f"r_{i}.png")
        frames.append({"file_path": f"./train/r_{i}", "rotation": 0.0, "transform_matrix": matrix})
    meta = {"camera_angle_x": 0.5, "frames": frames}
    (folder / "transforms_train.json").write_text(json.dumps(meta))
    return folder / "transforms_train.json"


def test_reads_the_original_layout(tmp_path):
    _original_layout(tmp_path)
    data = read_blender(tmp_path)
    assert data.images.shape == (2, 4, 4, 3)
    assert data.cameras.fx == pytest.approx(2.0 / math.tan(0.25))
    # Red at alpha 128/255 over white.
    a = 128 / 255
    torch.testing.assert_close(data.images[0, 0, 0], torch.tensor([1.0, 1 - a, 1 - a]))


def test_missing_folder_and_transforms(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        read_blender(tmp_path / "nope")
    (tmp_path / "transforms_val.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match=r"no transforms_train.json.*transforms_val.json"):
        read_blender(tmp_path)


def test_missing_frame_file_is_named(tmp_path):
    _original_layout(tmp_path)
    (tmp_path / "train" / "r_1.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"frame 1 \(./train/r_1\).*r_1.png does not exist"):
        read_blender(tmp_path)


def test_non_rigid_pose_is_named(tmp_path):
    scaled = (np.eye(4) * [2.0, 2.0, 2.0, 1.0]).tolist()
    _original_layout(tmp_path, matrix=scaled)
    with pytest.raises(ValueError, match=r"transforms_train.json: frame 0 .*not orthonormal"):
        read_blender(tmp_path)


def test_wrong_image_size_is_named(tmp_path):
    _original_layout(tmp_path)
    Image.new("RGBA", (5, 4)).save(tmp_path / "train" / "r_1.png")
    with pytest.raises(ValueError, match=r"r_1.png: image is 5 x 4 pixels, expected 4 x 4"):
        read_blender(tmp_path)


def test_bad_json_and_partial_times(tmp_path):
    path = _original_layout(tmp_path)
    meta = json.loads(path.read_text())
    meta["frames"][0]["time"] = 0.5
    path.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="frame 1 has no 'time'"):
        read_blender(tmp_path)
    del meta["camera_angle_x"]
    path.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="camera_angle_x"):
        read_blender(tmp_path)
    path.write_text("{ not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_blender(tmp_path)


def test_write_rejects_images_of_the_wrong_shape(tmp_path):
    with pytest.raises(ValueError, match=r"images must be \(3, 5, 6\)"):
        write_blender(tmp_path, "train", _cameras(), torch.rand(3, 6, 5, 3))
