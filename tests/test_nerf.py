"""The NeRF app (``smoothgrid.apps.nerf``): direction encoding, density activation, procedural
scenes, pose noise, joint field + pose refinement on a tiny scene, and clear errors."""

from __future__ import annotations

import math

import pytest
import torch

from smoothgrid import render
from smoothgrid.apps import nerf
from smoothgrid.apps.nerf import scenes
from smoothgrid.train import SettingsError


def _fibonacci_sphere(n: int) -> torch.Tensor:
    k = torch.arange(n, dtype=torch.float64) + 0.5
    z = 1 - 2 * k / n
    phi = k * math.pi * (3 - math.sqrt(5))
    r = torch.sqrt(1 - z * z)
    return torch.stack([r * torch.cos(phi), r * torch.sin(phi), z], -1)


def test_spherical_harmonics_are_orthonormal_on_the_sphere():
    d = _fibonacci_sphere(40_000)
    y = nerf.sh_basis(d, 3)
    assert y.shape == (40_000, 16)
    gram = 4 * math.pi * y.T @ y / len(d)  # quadrature of int Y_i Y_j dOmega
    torch.testing.assert_close(gram, torch.eye(16, dtype=torch.float64), atol=2e-3, rtol=0)
    assert nerf.sh_basis(d[:5], 1).shape == (5, 4)
    with pytest.raises(ValueError, match="0..3"):
        nerf.sh_basis(d, 4)


def test_trunc_exp_value_and_clamped_gradient():
    x = torch.tensor([-2.0, 0.0, 3.0, 20.0], requires_grad=True)
    y = nerf.trunc_exp(x)
    torch.testing.assert_close(y, torch.exp(x.detach()))
    y.sum().backward()
    torch.testing.assert_close(x.grad, torch.exp(x.detach().clamp(max=15.0)))


def test_radiance_field_outputs_and_point_gradient():
    torch.manual_seed(0)
    box = ((-1.0,) * 3, (1.0,) * 3)
    field = nerf.radiance_field("st", box, st_lambda=0.5, st_mode="corner",
                                grid=dict(levels=3, max_res=16))  # fmt: skip
    x = (torch.rand(50, 3) * 2 - 1).requires_grad_()
    d = torch.nn.functional.normalize(torch.randn(50, 3), dim=-1)
    sigma, rgb = field(x, d)
    assert sigma.shape == (50,) and rgb.shape == (50, 3)
    assert bool((sigma > 0).all()) and bool(((rgb > 0) & (rgb < 1)).all())
    (grad,) = torch.autograd.grad(sigma.sum() + rgb.sum(), x)  # the path poses take
    assert bool(torch.isfinite(grad).all()) and grad.abs().sum() > 0
    config = field.config()
    assert config["encoding"]["st_lambda"] == 0.5 and config["encoding"]["st_mode"] == "corner"
    with pytest.raises(ValueError, match="unknown NeRF method"):
        nerf.radiance_field("bilinear", box)


def test_scene_density_and_albedo_closed_forms():
    scene = nerf.make_scene("sphere")  # radius 0.6 about the origin
    x = torch.tensor([[0.0, 0.0, 0.0], [0.6, 0.0, 0.0], [0.0, 0.0, 0.9]], dtype=torch.float64)
    expected = scenes.SIGMA_MAX * torch.sigmoid(-torch.tensor([-0.6, 0.0, 0.3]) / scenes.BETA)
    torch.testing.assert_close(scene.sigma(x), expected.double())
    assert scene.sigma(x)[1].item() == pytest.approx(scenes.SIGMA_MAX / 2)
    colour = torch.tensor(scenes._COLOURS["sphere"], dtype=torch.float64)
    torch.testing.assert_close(scene.albedo(x[:1]), 0.8 * colour[None])  # the pattern is 0 there
    p = torch.rand(1000, 3, dtype=torch.float64) * 2 - 1
    ratio = scene.albedo(p) / colour
    assert bool((ratio >= 0.6 - 1e-12).all() & (ratio <= 1.0 + 1e-12).all())
    with pytest.raises(ValueError, match="Did you mean 'torus'"):
        nerf.make_scene("tarus")


def test_procedural_views_see_the_solid_on_white():
    views = nerf.procedural_views("sphere", n_train=3, n_test=1, size=9)
    assert views.train_images.shape == (3, 9, 9, 3) and views.test_images.shape == (1, 9, 9, 3)
    centre, corner = views.train_images[:, 4, 4], views.train_images[:, 0, 0]
    torch.testing.assert_close(corner, torch.ones_like(corner), atol=1e-4, rtol=0)
    assert bool((centre[:, 1] < 0.5).all())  # the red sphere, not the white background
    centres = torch.cat([views.train.centers, views.test.centers])
    torch.testing.assert_close(centres.norm(dim=-1), torch.full((4,), nerf.CAMERA_RADIUS))


def test_pose_noise_is_parsed_and_checked():
    assert nerf.parse_pose_noise("7.5,0.1") == (7.5, 0.1)
    assert nerf.parse_pose_noise((0, 0)) == (0.0, 0.0)
    for bad in ("-1,0.1", "5,-0.2", "nan,0"):
        with pytest.raises(SettingsError, match="non-negative"):
            nerf.parse_pose_noise(bad)
    for bad in ("5", "5,0.1,2", "five,0.1"):
        with pytest.raises(SettingsError, match="DEG,UNITS"):
            nerf.parse_pose_noise(bad)
    c2w = render.sphere_poses(5, 3.0)
    noisy = nerf.noisy_poses(c2w, 6.0, 0.2, seed=1)
    rot = render.rotation_error_deg(noisy[:, :3, :3], c2w[:, :3, :3])
    torch.testing.assert_close(rot, torch.full((5,), 6.0), atol=1e-3, rtol=0)
    torch.testing.assert_close((noisy - c2w)[:, :3, 3].norm(dim=-1), torch.full((5,), 0.2))


@pytest.mark.slow
def test_joint_refinement_reduces_the_rotation_error():
    views = nerf.procedural_views("solids", n_train=8, n_test=1, size=16)
    common = dict(method="linear", curriculum=False, batch=256, n_samples=24)
    warm = nerf.fit_nerf(views, pose_noise="0,0", refine=False, steps=50,
                         grid=dict(levels=4, max_res=32), **common)  # fmt: skip
    result = nerf.fit_nerf(views, field=warm.model.field, pose_noise="3,0.03", steps=30,
                           lr=3e-3, decoder_lr=1e-3, **common)  # fmt: skip
    m = result.metrics
    # Measured over seeds 0, 1, 2: 3.1 -> 1.35, 3.0 -> 1.46, 3.0 -> 1.65 degrees. (The centre
    # error, 0.023 -> 0.031 units at seed 0, is not reduced in 30 steps: not asserted.)
    assert m["rotation_error_deg"] < 0.7 * m["initial_rotation_error_deg"]
    assert m["steps"] == 30 and m["psnr"] > 14
    assert result.history[-1]["rotation_error_deg"] == pytest.approx(m["rotation_error_deg"])


def test_true_poses_without_refinement_have_no_pose_error():
    views = nerf.procedural_views("sphere", n_train=4, n_test=1, size=6)
    result = nerf.fit_nerf(views, method="cosine", pose_noise="0,0", refine=False, steps=2,
                           batch=16, n_samples=8, occupancy=False)  # fmt: skip
    assert result.metrics["rotation_error_deg"] < 1e-4
    assert result.metrics["translation_error"] < 1e-5
    assert not result.model.poses.xi.requires_grad and bool((result.model.poses.xi == 0).all())


def test_bad_options_are_named():
    views = nerf.procedural_views("sphere", n_train=3, n_test=1, size=4)
    with pytest.raises(SettingsError, match="non-negative"):
        nerf.fit_nerf(views, pose_noise=(-2.0, 0.0), steps=1)
    with pytest.raises(SettingsError, match="st_lambda"):
        nerf.fit_nerf(views, method="st", st_lambda=0.0, steps=1)
    with pytest.raises(SettingsError, match="unknown NeRF method 'lin'"):
        nerf.fit_nerf(views, method="lin", steps=1)
    with pytest.raises(SettingsError, match="batch"):
        nerf.fit_nerf(views, batch=0, steps=1)
