"""The render function on analytic densities: slab, ball, times, occupancy, chunks, poses."""

from __future__ import annotations

import math

import pytest
import torch

from smoothgrid.render import (
    Cameras,
    OccupancyGrid,
    PoseCorrection,
    generate_rays,
    image_rays,
    render_rays,
    render_views,
    ring_poses,
)

DT = torch.float64
BOX = ((-1.0, -1.0, -1.0), (1.0, 1.0, 1.0))
GREEN = (0.1, 0.8, 0.3)


def constant(sigma: float):
    """Density ``sigma`` and colour GREEN everywhere (the renderer clips to the box)."""

    def f(x, d, t):
        return torch.full((len(x),), sigma, dtype=x.dtype), x.new_tensor(GREEN).expand(len(x), 3)

    return f


def ball(sigma: float, radius: float):
    def f(x, d, t):
        inside = (x.norm(dim=-1) < radius).to(x.dtype)
        return sigma * inside, x.new_tensor(GREEN).expand(len(x), 3)

    return f


def _along_x(offsets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rays from x = -3 along +x at heights (y, z) = (offset, 0)."""
    o = torch.stack([torch.full_like(offsets, -3.0), offsets, torch.zeros_like(offsets)], 1)
    return o, torch.tensor([1.0, 0.0, 0.0], dtype=offsets.dtype).expand_as(o)


def test_slab_transmittance_through_render():
    # A box of length L = 0.7 along x: exact for any jittered sample count, also obliquely.
    box = ((0.0, -1.0, -1.0), (0.7, 1.0, 1.0))
    angle = math.radians(30.0)
    o = torch.tensor([[-1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]], dtype=DT)
    d = torch.tensor([[1.0, 0.0, 0.0], [math.cos(angle), math.sin(angle), 0.0]], dtype=DT)
    out = render_rays(constant(1.5), o, d, box, 7, jitter=True, background=1.0,
                      generator=torch.Generator().manual_seed(0))  # fmt: skip
    length = torch.tensor([0.7, 0.7 / math.cos(angle)], dtype=DT)
    trans = torch.exp(-1.5 * length)
    torch.testing.assert_close(out.opacity, 1 - trans)
    torch.testing.assert_close(out.rgb, (1 - trans)[:, None] * torch.tensor(GREEN, dtype=DT)
                               + trans[:, None])  # fmt: skip


def test_constant_density_ball_against_chord():
    sigma, radius = 2.0, 0.6
    b = torch.linspace(0.0, 0.58, 12, dtype=DT)
    o, d = _along_x(b)
    exact = 1 - torch.exp(-sigma * 2 * torch.sqrt(radius**2 - b**2))
    errors = []
    for n in (32, 256):
        out = render_rays(ball(sigma, radius), o, d, BOX, n)
        err = (out.opacity - exact).abs()
        # The midpoint rule misplaces at most the two intervals holding the ball's surface:
        # optical depth off by <= 2 sigma ds, and 1 - exp(-tau) has slope <= 1.
        assert err.max() <= 2 * sigma * (2.0 / n), (n, err.max())
        errors.append(err.mean())
    assert errors[1] < errors[0] / 3


def test_depth_of_an_opaque_slab():
    box = ((0.5, -1.0, -1.0), (1.0, 1.0, 1.0))
    o, d = _along_x(torch.zeros(1, dtype=DT))
    out = render_rays(constant(1e4), o, d, box, 64)
    # Entry at t = 3.5; the first interval (length 0.5 / 64) absorbs everything.
    assert out.depth.item() == pytest.approx(3.5 + 0.25 / 64, rel=1e-9)
    assert out.opacity.item() == pytest.approx(1.0)


def test_missed_rays_see_the_background():
    o, d = _along_x(torch.tensor([0.0, 2.0], dtype=DT))
    out = render_rays(constant(1.0), o, d, BOX, 8, background=torch.tensor([0.2, 0.4, 0.6]))
    assert out.opacity[1] == 0 and out.depth[1] == 0
    torch.testing.assert_close(out.rgb[1], torch.tensor([0.2, 0.4, 0.6], dtype=DT))


@pytest.mark.parametrize("face", [0.23, 0.31, -0.52])
def test_importance_samples_locate_an_opaque_wall(face):
    # Density 50 beyond x = face: the expected depth of a ray along x from x = -3 is
    # 3 + face + 1/50. 16 equal intervals place the wall to within their length (0.125);
    # adding 16 importance intervals from their weights refines the bins around it.
    def wall(x, d, t):
        return 50.0 * (x[:, 0] > face).to(x.dtype), x.new_ones(len(x), 1)

    o, d = _along_x(torch.zeros(1, dtype=DT))
    exact = 3 + face + 1 / 50
    plain = render_rays(wall, o, d, BOX, 16)
    fine = render_rays(wall, o, d, BOX, 16, n_importance=16)
    err_plain, err_fine = abs(plain.depth.item() - exact), abs(fine.depth.item() - exact)
    assert err_fine < err_plain / 2, (err_fine, err_plain)
    assert err_fine < 0.125 / 4
    assert fine.samples == 16 + 31 and plain.samples == 16  # the union has 16 + 16 - 1


def test_occupancy_skips_samples_without_changing_the_image():
    # A cube whose faces lie on the grid's cell faces: every cell is wholly full or empty.
    def cube(x, d, t):
        inside = (x.abs() < 0.5).all(-1).to(x.dtype)
        return 3.0 * inside, x.new_tensor(GREEN).expand(len(x), 3)

    grid = OccupancyGrid(BOX, resolution=8)
    grid.update(lambda x: cube(x, None, None)[0], generator=torch.Generator().manual_seed(0))
    cams = Cameras.from_fov(ring_poses(2, 3.0, elevation_deg=20.0).double(), 12, 10, 0.8)
    plain = render_views(cube, cams, BOX, 48, background=1.0)
    skipped = render_views(cube, cams, BOX, 48, background=1.0, occupancy=grid)
    torch.testing.assert_close(skipped.rgb, plain.rgb)
    torch.testing.assert_close(skipped.depth, plain.depth)
    assert skipped.samples < plain.samples / 3


def test_everything_skipped_still_renders_background():
    grid = OccupancyGrid(BOX, resolution=4)
    grid.update(lambda x: torch.zeros(len(x)))
    o, d = _along_x(torch.zeros(3, dtype=DT))
    out = render_rays(constant(1.0), o, d, BOX, 8, background=0.5, occupancy=grid)
    assert out.samples == 0 and (out.opacity == 0).all()
    torch.testing.assert_close(out.rgb, torch.full((3, 3), 0.5, dtype=DT))


def test_chunks_and_views_agree_with_one_pass():
    cams = Cameras.from_fov(ring_poses(2, 3.0, elevation_deg=10.0).double(), 9, 7, 0.9)
    views = render_views(ball(2.0, 0.7), cams, BOX, 24)
    assert views.rgb.shape == (2, 7, 9, 3) and views.opacity.shape == (2, 7, 9)
    o, d = image_rays(cams, 1)
    whole = render_rays(ball(2.0, 0.7), o, d, BOX, 24)
    chunked = render_rays(ball(2.0, 0.7), o, d, BOX, 24, chunk=5)
    torch.testing.assert_close(chunked.rgb, whole.rgb)
    torch.testing.assert_close(views.rgb[1].reshape(-1, 3), whole.rgb)
    assert views.opacity[1, 3, 4] > 0.5 and views.opacity[1, 0, 0] == 0  # ball in the middle


def test_frame_times_reach_the_field():
    def fading(x, d, t):
        return t, x.new_ones(len(x), 1)  # density equal to the frame's time

    times = torch.tensor([0.0, 0.5, 2.0], dtype=DT)
    c2w = torch.eye(4, dtype=DT).repeat(3, 1, 1)
    c2w[:, 2, 3] = 3.0  # on +z looking down -z through the box
    cams = Cameras(c2w, 1, 1, 1.0, 1.0, times=times)
    out = render_views(fading, cams, BOX, 4)
    torch.testing.assert_close(out.opacity.flatten(), 1 - torch.exp(-2 * times))


def test_pose_gradient_matches_finite_differences():
    # A smooth blob seen by a corrected camera: d(image)/d(xi) by autograd and by differences.
    def blob(x, d, t):
        sigma = 4.0 * torch.exp(-((x - x.new_tensor([0.1, 0.0, 0.2])) ** 2).sum(-1) / 0.2)
        return sigma, torch.stack([x[:, 0].sigmoid(), x[:, 1].sigmoid(), x[:, 2].sigmoid()], 1)

    cams = Cameras.from_fov(ring_poses(1, 3.0, elevation_deg=15.0).double(), 4, 3, 0.8)
    fix = PoseCorrection(1).double()
    pix = torch.tensor([[0, 0], [2, 1], [3, 2]])
    idx = torch.zeros(3, dtype=torch.long)

    def image_sum() -> torch.Tensor:
        o, d = generate_rays(cams.with_poses(fix(cams.c2w)), idx, pix)
        return render_rays(blob, o, d, BOX, 32).rgb.sum()

    xi0 = torch.tensor([[0.02, -0.01, 0.03, 0.05, 0.0, -0.04]], dtype=DT)
    with torch.no_grad():
        fix.xi.copy_(xi0)
    image_sum().backward()
    grad = fix.xi.grad[0].clone()
    eps, fd = 1e-6, []
    with torch.no_grad():
        for k in range(6):
            values = []
            for sign in (1, -1):
                fix.xi.copy_(xi0)
                fix.xi[0, k] += sign * eps
                values.append(image_sum())
            fd.append((values[0] - values[1]) / (2 * eps))
    torch.testing.assert_close(grad, torch.stack(fd), rtol=1e-5, atol=1e-8)
    assert grad.abs().max() > 1e-3


def test_bad_field_output_is_reported():
    def wrong(x, d, t):
        return torch.ones(len(x), 1), torch.ones(len(x), 3)

    o, d = _along_x(torch.zeros(2))
    with pytest.raises(ValueError, match=r"sigma \(\d+,\)"):
        render_rays(wrong, o, d, BOX, 4)
    with pytest.raises(ValueError, match="origins and directions"):
        render_rays(constant(1.0), o, d[:1], BOX, 4)
