"""se(3) exponential and log, pose corrections, pose noise, Sim(3) alignment and pose errors."""

from __future__ import annotations

import math

import pytest
import torch

from smoothgrid.render import poses
from smoothgrid.render.cameras import check_poses, ring_poses

DT = torch.float64


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _twists(n: int = 32, seed: int = 0) -> torch.Tensor:
    """Twists with rotation angles from 1e-9 to just below pi, and random translations."""
    g = _gen(seed)
    axis = torch.randn(n, 3, generator=g, dtype=DT)
    axis = axis / axis.norm(dim=-1, keepdim=True)
    angles = torch.cat([torch.tensor([0.0, 1e-9, 1e-5, 0.049, 0.051, 3.1], dtype=DT),
                        torch.rand(n - 6, generator=g, dtype=DT) * 3.0])  # fmt: skip
    return torch.cat([axis * angles[:, None], torch.randn(n, 3, generator=g, dtype=DT)], 1)


def test_exp_of_zero_is_identity():
    assert torch.equal(poses.se3_exp(torch.zeros(6, dtype=DT)), torch.eye(4, dtype=DT))
    assert torch.equal(poses.so3_exp(torch.zeros(2, 3)), torch.eye(3).expand(2, 3, 3))


def test_exp_of_minus_xi_is_the_inverse():
    xi = _twists()
    prod = poses.se3_exp(xi) @ poses.se3_exp(-xi)
    torch.testing.assert_close(prod, torch.eye(4, dtype=DT).expand_as(prod))
    check_poses(poses.se3_exp(xi))


def test_known_rotation_about_z_and_screw_translation():
    phi = 0.7
    m = poses.se3_exp(torch.tensor([0.0, 0.0, phi, 0.0, 0.0, 0.0], dtype=DT))
    c, s = math.cos(phi), math.sin(phi)
    rz = torch.tensor([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]], dtype=DT)
    torch.testing.assert_close(m[:3, :3], rz)
    torch.testing.assert_close(m[:3, 3], torch.zeros(3, dtype=DT))
    # Rotating by pi/2 about z while moving at unit speed along x traces a quarter circle of
    # radius 2/pi: the end point is (sin(t)/t, (1 - cos(t))/t, 0) at t = pi/2.
    m = poses.se3_exp(torch.tensor([0.0, 0.0, math.pi / 2, 1.0, 0.0, 0.0], dtype=DT))
    torch.testing.assert_close(m[:3, 3], torch.tensor([2 / math.pi, 2 / math.pi, 0.0], dtype=DT))
    # Translation along the rotation axis is unchanged (a screw motion).
    m = poses.se3_exp(torch.tensor([0.0, 0.0, 1.3, 0.0, 0.0, 0.4], dtype=DT))
    torch.testing.assert_close(m[:3, 3], torch.tensor([0.0, 0.0, 0.4], dtype=DT))


def test_log_inverts_exp():
    xi = _twists()
    torch.testing.assert_close(poses.se3_log(poses.se3_exp(xi)), xi, atol=1e-9, rtol=1e-9)
    m = poses.se3_exp(xi)
    torch.testing.assert_close(poses.se3_exp(poses.se3_log(m)), m)


def test_so3_log_at_pi_and_float32():
    axis = torch.tensor([0.6, 0.0, 0.8], dtype=DT)
    for angle in (math.pi - 1e-7, math.pi):
        w = poses.so3_log(poses.so3_exp(axis * angle))
        torch.testing.assert_close(poses.so3_exp(w), poses.so3_exp(axis * angle))
        assert w.norm().item() == pytest.approx(angle, abs=1e-6)
    xi = _twists().float()
    torch.testing.assert_close(poses.se3_log(poses.se3_exp(xi)), xi, atol=2e-4, rtol=1e-3)


def test_exp_gradient_against_finite_differences():
    for xi in _twists(8, seed=1):
        assert torch.autograd.gradcheck(poses.se3_exp, (xi.clone().requires_grad_(True),))
    # At exactly zero the derivative along omega_k is the generator hat(e_k), and finite.
    xi = torch.zeros(6, dtype=DT, requires_grad=True)
    jac = torch.autograd.functional.jacobian(poses.se3_exp, xi)
    assert torch.isfinite(jac).all()
    torch.testing.assert_close(jac[:3, :3, 2], poses.hat(torch.tensor([0.0, 0.0, 1.0], dtype=DT)))
    torch.testing.assert_close(jac[:3, 3, 3:], torch.eye(3, dtype=DT))


def test_pose_correction_conventions():
    c2w = ring_poses(3, 2.0).double()
    fix = poses.PoseCorrection(3).double()
    assert torch.equal(fix(c2w), c2w)
    with torch.no_grad():
        fix.xi.copy_(_twists(9, seed=2)[6:])
    delta = poses.se3_exp(fix.xi)
    torch.testing.assert_close(fix(c2w), delta @ c2w)
    # BARF's form: the world-to-camera pose times exp(-xi) on the right.
    torch.testing.assert_close(
        torch.linalg.inv(fix(c2w)), torch.linalg.inv(c2w) @ poses.se3_exp(-fix.xi)
    )
    cam = poses.PoseCorrection(3, frame="camera").double()
    with torch.no_grad():
        cam.xi.copy_(fix.xi)
    torch.testing.assert_close(cam(c2w), c2w @ delta)
    torch.testing.assert_close(fix(c2w[1:], torch.tensor([1, 2])), (delta @ c2w)[1:])
    fix(c2w).sum().backward()
    assert fix.xi.grad is not None and fix.xi.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="frame"):
        poses.PoseCorrection(2, frame="left")


def test_correction_can_undo_noise():
    true = ring_poses(5, 3.0, elevation_deg=30.0).double()
    noisy = poses.perturb_poses(true, 8.0, 0.2, _gen())
    fix = poses.PoseCorrection(5).double()
    with torch.no_grad():
        fix.xi.copy_(poses.se3_log(true @ torch.linalg.inv(noisy)))
    torch.testing.assert_close(fix(noisy), true)


def test_perturb_poses_has_the_stated_size():
    true = ring_poses(6, 3.0).double()
    noisy = poses.perturb_poses(true, 5.0, 0.1, _gen(4))
    rot, trans = poses.pose_errors(noisy, true, align=False)
    torch.testing.assert_close(rot, torch.full((6,), 5.0, dtype=DT))
    torch.testing.assert_close(trans, torch.full((6,), 0.1, dtype=DT))
    check_poses(noisy)
    assert torch.equal(noisy, poses.perturb_poses(true, 5.0, 0.1, _gen(4)))
    with pytest.raises(ValueError, match="non-negative.*-1"):
        poses.perturb_poses(true, -1.0, 0.1)


def test_umeyama_recovers_a_known_similarity():
    g = _gen(5)
    x = torch.randn(10, 3, generator=g, dtype=DT)
    rot = poses.so3_exp(torch.tensor([0.3, -1.2, 0.5], dtype=DT))
    t = torch.tensor([1.0, -2.0, 0.5], dtype=DT)
    sim = poses.umeyama(x, 2.5 * x @ rot.T + t)
    assert sim.scale.item() == pytest.approx(2.5)
    torch.testing.assert_close(sim.rotation, rot)
    torch.testing.assert_close(sim.translation, t)
    torch.testing.assert_close(sim.inverse().apply_points(sim.apply_points(x)), x)
    rigid = poses.umeyama(x, x @ rot.T + t, with_scale=False)
    assert rigid.scale.item() == 1.0
    torch.testing.assert_close(rigid.rotation, rot)
    # A mirrored target still gets a proper rotation.
    mirrored = poses.umeyama(x, x * torch.tensor([1.0, 1.0, -1.0], dtype=DT))
    assert torch.linalg.det(mirrored.rotation).item() == pytest.approx(1.0)


def test_pose_errors_after_alignment():
    true = ring_poses(6, 3.0, elevation_deg=25.0).double()
    rot0, trans0 = poses.pose_errors(true, true)
    assert rot0.abs().max() < 1e-5 and trans0.abs().max() < 1e-12
    # A global similarity of all poses is invisible after alignment, not before.
    rot = poses.so3_exp(torch.tensor([0.2, 0.1, -0.4], dtype=DT))
    sim = poses.Sim3(torch.tensor(0.5, dtype=DT), rot, torch.tensor([0.3, 0.0, -1.0], dtype=DT))
    moved = sim.apply_poses(true)
    check_poses(moved)
    rot, trans = poses.pose_errors(moved, true)
    assert rot.max() < 1e-5 and trans.max() < 1e-9
    rot, trans = poses.pose_errors(moved, true, align=False)
    assert rot.min() > 20.0 and trans.min() > 0.1


def test_rotation_error_of_known_rotations():
    rz = poses.so3_exp(
        torch.tensor([[0.0, 0.0, math.radians(10.0)], [0.0, 0.0, math.radians(179.0)]], dtype=DT)
    )
    ref = poses.so3_exp(torch.tensor([[0.0, 0.0, math.radians(40.0)], [0.0, 0.0, 0.0]], dtype=DT))
    torch.testing.assert_close(
        poses.rotation_error_deg(rz, ref), torch.tensor([30.0, 179.0], dtype=DT)
    )
