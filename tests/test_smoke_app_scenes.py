"""Smoke observations: the rendering's closed form, the scene folder round trip, and clear
errors for a folder with missing frames, inconsistent times or a camera that sees nothing."""

from __future__ import annotations

import json
import math

import pytest
import torch

from smoothgrid.apps.smoke import SmokeConfig, simulate
from smoothgrid.apps.smoke.scenes import (
    make_cameras,
    observe,
    read_scene,
    render_density,
    ring_azimuths,
    write_scene,
)


@pytest.fixture(scope="module")
def sim():
    torch.set_num_threads(1)
    return simulate(SmokeConfig(dim=2, resolution=16, frames=4, warmup=4))


@pytest.fixture
def folder(sim, tmp_path):
    return write_scene(observe(sim, views=2), tmp_path / "scene")


def test_constant_density_slab_closed_form():
    """A 2D camera looking along x through [0, 1]^2 filled with rho0: the central pixel's ray
    crosses a length 1, so its grey is e (1 - exp(-alpha rho0)) + b exp(-alpha rho0)."""
    lo, hi = torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
    cams = make_cameras(2, [0.0], lo, hi, pixels=33, times=torch.zeros(1))
    box = (torch.tensor([0.0, 0.0, -0.5]), torch.tensor([1.0, 1.0, 0.5]))
    rho0, alpha, e, b = 0.7, 1.3, 0.8, 0.1
    image = render_density(lambda p: torch.full((len(p),), rho0, dtype=p.dtype), 2,
                           cams.to(dtype=torch.float64), box, 64, alpha, e, b)  # fmt: skip
    assert image.shape == (1, 1, 33)
    opacity = 1 - math.exp(-alpha * rho0)
    assert abs(float(image[0, 0, 16]) - (e * opacity + b * (1 - opacity))) < 1e-9


def test_held_out_view_lies_between_the_training_views():
    assert ring_azimuths(2) == [0.0, 90.0, 45.0]
    assert ring_azimuths(3) == [0.0, 60.0, 120.0, 30.0]


def test_observe_and_round_trip(sim, folder):
    scene = observe(sim, views=2)
    assert scene.train_images.shape == (2 * 2, 1, 16)  # 2 views x even frames 0, 2
    assert scene.test_images.shape == (2, 1, 16)  # held-out view x odd frames 1, 3
    assert abs(float(scene.train_images.max()) - 0.9) < 1e-5  # the emission's normalisation
    back = read_scene(folder)
    assert back.dim == 2 and back.simulation is not None
    assert torch.allclose(back.train.times, scene.train.times.to(back.train.times.dtype))
    assert (back.train_images - scene.train_images).abs().max() <= 0.5 / 255 + 1e-6
    assert (back.test_images - scene.test_images).abs().max() <= 0.5 / 255 + 1e-6


def _edit(folder, split, change):
    path = folder / f"transforms_{split}.json"
    meta = json.loads(path.read_text())
    change(meta)
    path.write_text(json.dumps(meta))


def test_missing_frame_is_named(folder):
    _edit(folder, "train", lambda m: m["frames"].pop(3))
    with pytest.raises(ValueError, match="missing frames"):
        read_scene(folder)


def test_time_not_in_the_scene_is_named(folder):
    def shift(meta):
        meta["frames"][1]["time"] += 0.013

    _edit(folder, "test", shift)
    with pytest.raises(ValueError, match=r"transforms_test.json: frame 1 .*\(inconsistent times\)"):
        read_scene(folder)


def test_frames_without_times_are_refused(folder):
    def drop(meta):
        for frame in meta["frames"]:
            del frame["time"]

    _edit(folder, "train", drop)
    with pytest.raises(ValueError, match="needs a 'time'"):
        read_scene(folder)


def test_camera_looking_away_is_named(folder):
    def turn(meta):
        m = meta["frames"][0]["transform_matrix"]
        for row in m[:3]:  # rotate by pi about the camera's y axis: it looks the other way
            row[0], row[2] = -row[0], -row[2]

    _edit(folder, "train", turn)
    with pytest.raises(ValueError, match="frame 0 .* does not see the volume"):
        read_scene(folder)


def test_zero_views_are_refused(sim):
    with pytest.raises(ValueError, match="at least one training view"):
        observe(sim, views=0)
