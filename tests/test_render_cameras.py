"""Cameras, poses made by code, rays through pixels and ray / box intersection."""

from __future__ import annotations

import math

import pytest
import torch

from smoothgrid.render import cameras as cam
from smoothgrid.render import rays

DT = torch.float64


def _unit(v):
    v = torch.tensor(v, dtype=DT)
    return v / v.norm()


def test_identity_camera_rays_hand_computed():
    # 4 x 2 image, f = 2, principal point at the centre (2, 1); camera at the origin looking -z.
    cams = cam.Cameras(torch.eye(4, dtype=DT), width=4, height=2, fx=2.0, fy=2.0)
    o, d = rays.image_rays(cams, 0)
    assert o.shape == (8, 3) and torch.equal(o, torch.zeros(8, 3, dtype=DT))
    # Row-major: pixel 0 = (col 0, row 0), centre (0.5, 0.5); pixel 7 = (col 3, row 1).
    torch.testing.assert_close(d[0], _unit([(0.5 - 2) / 2, -(0.5 - 1) / 2, -1.0]))
    torch.testing.assert_close(d[7], _unit([(3.5 - 2) / 2, -(1.5 - 1) / 2, -1.0]))
    torch.testing.assert_close(d.norm(dim=-1), torch.ones(8, dtype=DT))


def test_integer_pixels_are_shifted_to_centres():
    cams = cam.Cameras(torch.eye(4, dtype=DT), width=4, height=2, fx=2.0, fy=3.0, cx=1.0, cy=0.5)
    idx = torch.zeros(2, dtype=torch.long)
    _, d_int = rays.generate_rays(cams, idx, torch.tensor([[1, 0], [3, 1]]))
    _, d_flt = rays.generate_rays(cams, idx, torch.tensor([[1.5, 0.5], [3.5, 1.5]], dtype=DT))
    torch.testing.assert_close(d_int, d_flt)
    # (1.5, 0.5) with cx = 1, cy = 0.5: x = 0.5 / 2, y = 0, z = -1.
    torch.testing.assert_close(d_flt[0], _unit([0.25, 0.0, -1.0]))


def test_look_at_frame_and_image_orientation():
    # A camera on -y looking at the origin with z up: its centre pixel looks along +y, and the
    # top row of the image looks upwards (+z), the left column towards -x.
    c2w = cam.look_at(torch.tensor([0.0, -3.0, 0.0], dtype=DT))
    rot = c2w[:3, :3]
    torch.testing.assert_close(rot.T @ rot, torch.eye(3, dtype=DT))
    assert torch.linalg.det(rot).item() == pytest.approx(1.0)
    cams = cam.Cameras(c2w, width=3, height=3, fx=3.0, fy=3.0)
    o, d = rays.image_rays(cams, 0)
    torch.testing.assert_close(o[4], torch.tensor([0.0, -3.0, 0.0], dtype=DT))
    torch.testing.assert_close(d[4], torch.tensor([0.0, 1.0, 0.0], dtype=DT))
    assert d[1, 2] > 0 and d[7, 2] < 0  # top-middle looks up, bottom-middle down
    assert d[3, 0] < 0 and d[5, 0] > 0  # left column looks to -x


def test_look_at_rejects_degenerate_up():
    with pytest.raises(ValueError, match="parallel"):
        cam.look_at([0.0, 0.0, 2.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0])


@pytest.mark.parametrize("make", ["ring", "sphere", "full_sphere"])
def test_procedural_poses_look_at_centre(make):
    centre = torch.tensor([0.5, -1.0, 2.0])
    if make == "ring":
        c2w = cam.ring_poses(6, 3.0, centre.tolist(), elevation_deg=20.0)
    else:
        c2w = cam.sphere_poses(20, 3.0, centre.tolist(), hemisphere=make == "sphere")
    cam.check_poses(c2w)
    eyes = c2w[:, :3, 3]
    torch.testing.assert_close((eyes - centre).norm(dim=-1), torch.full((len(c2w),), 3.0))
    view = -c2w[:, :3, 2]  # the camera looks down its -z axis
    torch.testing.assert_close(view, (centre - eyes) / 3.0, atol=1e-6, rtol=0)
    heights = eyes[:, 2] - centre[2]
    if make == "ring":
        torch.testing.assert_close(heights, torch.full((6,), 3.0 * math.sin(math.radians(20.0))))
    elif make == "sphere":
        assert (heights > 0).all()
    else:
        assert (heights > 0).sum() == 10 and (heights < 0).sum() == 10


def test_focal_from_fov_round_trip():
    f = cam.focal_from_fov(800, 0.6911112070083618)
    assert f == pytest.approx(0.5 * 800 / math.tan(0.5 * 0.6911112070083618))
    cams = cam.Cameras.from_fov(torch.eye(4), 800, 800, 0.6911112070083618)
    assert cams.fov_x == pytest.approx(0.6911112070083618)
    with pytest.raises(ValueError, match="camera_angle_x"):
        cam.focal_from_fov(800, 4.0)


def test_non_rigid_pose_names_frame():
    c2w = torch.eye(4).repeat(3, 1, 1)
    c2w[1, :3, :3] *= 1.1
    with pytest.raises(ValueError, match="camera 1: rotation is not orthonormal"):
        cam.Cameras(c2w, 4, 4, 2.0, 2.0)
    c2w = torch.eye(4).repeat(2, 1, 1)
    c2w[1, 0, 0] = -1.0  # a reflection
    with pytest.raises(ValueError, match="frame b: rotation has det -1"):
        cam.check_poses(c2w, ["frame a", "frame b"])
    c2w = torch.eye(4).repeat(2, 1, 1)
    c2w[0, 3, 0] = 0.5
    with pytest.raises(ValueError, match="camera 0: last row"):
        cam.check_poses(c2w)


def test_camera_batch_indexing_and_times():
    cams = cam.Cameras(
        cam.ring_poses(4, 2.0), 8, 6, 5.0, 5.0, times=torch.tensor([0.0, 0.1, 0.2, 0.3])
    )
    sub = cams[torch.tensor([1, 3])]
    assert len(sub) == 2 and sub.times.tolist() == pytest.approx([0.1, 0.3])
    assert len(cams[2]) == 1 and sub.cx == 4.0 and sub.cy == 3.0
    with pytest.raises(ValueError, match="one per camera"):
        cam.Cameras(cam.ring_poses(4, 2.0), 8, 6, 5.0, 5.0, times=torch.zeros(3))


def test_random_pixels_cover_cameras_and_stay_in_range():
    cams = cam.Cameras(cam.ring_poses(3, 2.0), 5, 4, 5.0, 5.0)
    idx, pix = rays.random_pixels(cams, 2000, torch.Generator().manual_seed(0))
    assert set(idx.tolist()) == {0, 1, 2}
    assert pix[:, 0].min() == 0 and pix[:, 0].max() == 4
    assert pix[:, 1].min() == 0 and pix[:, 1].max() == 3


def test_ray_box_hand_computed():
    o = torch.tensor([[-3.0, 0.0, 0.0], [-3.0, 5.0, 0.0], [0.0, 0.0, 0.0], [-3.0, -3.0, 0.0]])
    d = torch.stack([_unit([1, 0, 0]), _unit([1, 0, 0]), _unit([0, 0, 1]), _unit([1, 1, 0])])
    t0, t1, hit = rays.ray_box(o.double(), d, ((-1, -1, -1), (1, 1, 1)))
    assert hit.tolist() == [True, False, True, True]
    torch.testing.assert_close(t0, torch.tensor([2.0, 0.0, 0.0, 2 * math.sqrt(2)], dtype=DT))
    torch.testing.assert_close(t1, torch.tensor([4.0, 0.0, 1.0, 4 * math.sqrt(2)], dtype=DT))
    # near / far clip the segment; a box behind the ray is missed.
    t0, t1, hit = rays.ray_box(o[:1].double(), d[:1], ((-1, -1, -1), (1, 1, 1)), near=2.5, far=3.0)
    assert hit.item() and (t0.item(), t1.item()) == (2.5, 3.0)
    _, _, hit = rays.ray_box(o[:1].double(), -d[:1], ((-1, -1, -1), (1, 1, 1)))
    assert not hit.item()


def test_rays_are_differentiable_in_the_pose():
    c2w = cam.look_at(torch.tensor([0.0, -3.0, 0.5], dtype=DT)).requires_grad_(True)
    cams = cam.Cameras(c2w, 4, 4, 4.0, 4.0)
    o, d = rays.image_rays(cams, 0)
    (o.sum() + d.sum()).backward()
    assert c2w.grad is not None and c2w.grad[:3].abs().sum() > 0


def test_non_finite_pose_is_reported():
    c2w = torch.eye(4).repeat(2, 1, 1)
    c2w[1, 0, 3] = float("nan")
    with pytest.raises(ValueError, match="camera 1: pose has non-finite entries"):
        cam.check_poses(c2w)
