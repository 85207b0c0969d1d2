"""Samples along rays and emission-absorption compositing against closed forms and autograd."""

from __future__ import annotations

import math

import pytest
import torch

from smoothgrid.render import compositing as comp
from smoothgrid.render import samplers

DT = torch.float64


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _assert_tiles(starts, ends, t_near, t_far):
    torch.testing.assert_close(starts[:, 0], t_near)
    torch.testing.assert_close(ends[:, -1], t_far)
    torch.testing.assert_close(ends[:, :-1], starts[:, 1:])
    assert (ends >= starts).all()


def test_stratified_intervals_tile_the_segment():
    t_near = torch.tensor([0.0, 1.0, 2.0], dtype=DT)
    t_far = torch.tensor([1.0, 4.0, 2.0], dtype=DT)  # the last ray has an empty segment
    s, e = samplers.stratified_intervals(t_near, t_far, 16, generator=_gen())
    _assert_tiles(s, e, t_near, t_far)
    assert (e[:2] > s[:2]).all() and (e[2] == s[2]).all()
    # Each interior edge stays in its own half-cell around the equal-spacing edge.
    edges = (e[1, :-1] - 1.0) / 3.0 * 16
    k = torch.arange(1, 16, dtype=DT)
    assert ((edges > k - 0.5) & (edges < k + 0.5)).all()
    # Seeded: the same generator seed gives the same samples; without jitter, equal intervals.
    s2, _ = samplers.stratified_intervals(t_near, t_far, 16, generator=_gen())
    assert torch.equal(s, s2)
    s3, e3 = samplers.stratified_intervals(t_near, t_far, 4, jitter=False)
    torch.testing.assert_close(e3[1] - s3[1], torch.full((4,), 0.75, dtype=DT))


def test_importance_intervals_follow_the_weights():
    s, e = samplers.stratified_intervals(
        torch.zeros(2, dtype=DT), torch.full((2,), 8.0, dtype=DT), 8, jitter=False
    )
    w = torch.zeros(2, 8, dtype=DT)
    w[0, 5] = 1.0  # all the mass of ray 0 in [5, 6]
    w[1] = 0.3  # ray 1 uniform
    ns, ne = samplers.importance_intervals(s, e, w, 32, generator=_gen())
    _assert_tiles(ns, ne, s[:, 0], e[:, -1])
    mids = samplers.midpoints(ns, ne)
    inside = ((mids[0] > 5) & (mids[0] < 6)).float().mean()
    assert inside > 0.9, inside
    # Uniform weights give (jittered) near-equal intervals over the whole segment.
    assert (ne[1] - ns[1]).max() < 2 * 8 / 32
    # A ray that misses (zero-length intervals, no weight) gives no NaN.
    z = torch.zeros(1, 8, dtype=DT)
    ms, me = samplers.importance_intervals(z, z, z, 4)
    assert torch.isfinite(ms).all() and torch.equal(ms, me)


def test_pack_matches_mask_indexing():
    mask = torch.rand(5, 7, generator=_gen()) > 0.5
    values = torch.randn(5, 7, generator=_gen(1))
    ray, sample = samplers.pack(mask)
    assert torch.equal(values[ray, sample], values[mask])
    assert (ray[1:] >= ray[:-1]).all()


def test_homogeneous_slab_transmittance_closed_form():
    # Any tiling of a slab of length L with constant sigma leaves exp(-sigma L) of the light.
    sigma, length = 1.7, 2.5
    t_near = torch.full((4,), 0.3, dtype=DT)
    s, e = samplers.stratified_intervals(t_near, t_near + length, 13, generator=_gen())
    out = comp.composite(torch.full_like(s, sigma), torch.ones(4, 13, 3, dtype=DT), s, e, 0.0)
    expected = 1 - math.exp(-sigma * length)
    torch.testing.assert_close(out.opacity, torch.full((4,), expected, dtype=DT))
    _, trans, _ = comp.render_weights(torch.full_like(s, sigma), s, e)
    torch.testing.assert_close(trans, torch.exp(-sigma * (s - t_near[:, None])))


def test_constant_density_sphere_against_chord():
    # Rays along x at impact parameters b through a ball of radius r and density sigma:
    # intervals split at the ball's entry and exit, so the result is exact.
    r, sigma = 0.8, 2.0
    b = torch.linspace(0.0, 0.79, 9, dtype=DT)
    half = torch.sqrt(r * r - b * b)
    starts = torch.stack([torch.zeros_like(b), 2 - half, 2 + half], 1)
    ends = torch.stack([2 - half, 2 + half, torch.full_like(b, 4.0)], 1)
    sig = torch.tensor([0.0, sigma, 0.0], dtype=DT).expand(9, 3)
    colour = torch.tensor([0.2, 0.5, 0.9], dtype=DT).expand(9, 3, 3)
    out = comp.composite(sig, colour, starts, ends, torch.ones(3, dtype=DT))
    opacity = 1 - torch.exp(-sigma * 2 * half)
    torch.testing.assert_close(out.opacity, opacity)
    torch.testing.assert_close(out.rgb, opacity[:, None] * colour[0, 1] + (1 - opacity[:, None]))


def test_depth_of_slabs():
    # An opaque thin slab at t = 3: depth is its midpoint. Two half-transparent slabs: the
    # weighted mean of their midpoints with weights (1 - e^-tau1) and e^-tau1 (1 - e^-tau2).
    s = torch.tensor([[0.0, 3.0, 3.01], [0.0, 1.0, 2.0]], dtype=DT)
    e = torch.tensor([[3.0, 3.01, 5.0], [1.0, 2.0, 3.0]], dtype=DT)
    sig = torch.tensor([[0.0, 1e5, 0.0], [0.7, 0.0, 1.3]], dtype=DT)
    out = comp.composite(sig, torch.zeros(2, 3, 1, dtype=DT), s, e)
    assert out.depth[0].item() == pytest.approx(3.005, abs=1e-9)
    w1 = 1 - math.exp(-0.7)
    w2 = math.exp(-0.7) * (1 - math.exp(-1.3))
    assert out.depth[1].item() == pytest.approx(w1 * 0.5 + w2 * 2.5, rel=1e-12)
    assert out.opacity[1].item() == pytest.approx(w1 + w2, rel=1e-12)


def _naive(sigmas, colors, starts, ends, background):
    """A loop over samples with an explicit running product of (1 - alpha)."""
    rgb, opacity, depth = [], [], []
    for r in range(sigmas.shape[0]):
        trans = torch.ones((), dtype=sigmas.dtype)
        c = torch.zeros(colors.shape[-1], dtype=sigmas.dtype)
        a = torch.zeros((), dtype=sigmas.dtype)
        dep = torch.zeros((), dtype=sigmas.dtype)
        for i in range(sigmas.shape[1]):
            alpha = 1 - torch.exp(-sigmas[r, i] * (ends[r, i] - starts[r, i]))
            w = trans * alpha
            c, a = c + w * colors[r, i], a + w
            dep = dep + w * 0.5 * (starts[r, i] + ends[r, i])
            trans = trans * (1 - alpha)
        rgb.append(c + (1 - a) * background)
        opacity.append(a)
        depth.append(dep)
    return torch.stack(rgb), torch.stack(opacity), torch.stack(depth)


def _random_inputs(rays=3, n=6):
    g = _gen(3)
    s, e = samplers.stratified_intervals(
        torch.rand(rays, generator=g, dtype=DT),
        2 + torch.rand(rays, generator=g, dtype=DT),
        n,
        generator=g,
    )
    sig = 2 * torch.rand(rays, n, generator=g, dtype=DT)
    col = torch.rand(rays, n, 3, generator=g, dtype=DT)
    bg = torch.rand(3, generator=g, dtype=DT)
    # Starts and ends are views of one edge tensor: clone them so each is its own input.
    return [t.clone().requires_grad_(True) for t in (sig, col, s, e)] + [bg]


def test_forward_and_backward_match_a_naive_loop():
    sig, col, s, e, bg = _random_inputs()
    out = comp.composite(sig, col, s, e, bg)
    ref = _naive(sig, col, s, e, bg)
    for a, b in zip((out.rgb, out.opacity, out.depth), ref):
        torch.testing.assert_close(a, b)
    g = torch.Generator().manual_seed(9)
    probes = [torch.randn(t.shape, generator=g, dtype=DT) for t in ref]
    loss = sum((p * t).sum() for p, t in zip(probes, (out.rgb, out.opacity, out.depth)))
    loss_ref = sum((p * t).sum() for p, t in zip(probes, ref))
    grads = torch.autograd.grad(loss, (sig, col, s, e))
    grads_ref = torch.autograd.grad(loss_ref, (sig, col, s, e))
    for a, b in zip(grads, grads_ref):
        torch.testing.assert_close(a, b)


def test_backward_against_finite_differences():
    sig, col, s, e, bg = _random_inputs(rays=2, n=4)

    def f(sig, col, s, e):
        out = comp.composite(sig, col, s, e, bg)
        return out.rgb, out.opacity, out.depth

    assert torch.autograd.gradcheck(f, (sig, col, s, e))


def test_opaque_and_empty_rays_are_stable():
    s, e = samplers.stratified_intervals(
        torch.zeros(2, dtype=DT), torch.ones(2, dtype=DT), 8, jitter=False
    )
    sig = torch.tensor([[1e8] * 8, [0.0] * 8], dtype=DT, requires_grad=True)
    out = comp.composite(sig, torch.ones(2, 8, 3, dtype=DT), s, e, 0.5)
    out.rgb.sum().backward()
    assert torch.isfinite(sig.grad).all()
    assert out.opacity.tolist() == [1.0, 0.0]
    torch.testing.assert_close(out.rgb[1], torch.full((3,), 0.5, dtype=DT))
    assert out.weights[0, 0] == 1.0 and (out.weights[0, 1:] == 0).all()


def test_composite_rejects_bad_shapes():
    with pytest.raises(ValueError, match="colors"):
        comp.composite(torch.ones(2, 3), torch.ones(2, 3), torch.zeros(2, 3), torch.ones(2, 3))


def test_merge_intervals_keeps_both_sets_of_edges():
    g = _gen(7)
    t_near, t_far = torch.zeros(3, dtype=DT), torch.full((3,), 2.0, dtype=DT)
    a = samplers.stratified_intervals(t_near, t_far, 5, generator=g)
    b = samplers.stratified_intervals(t_near, t_far, 7, generator=g)
    s, e = samplers.merge_intervals(*a, *b)
    assert s.shape == (3, 11)
    _assert_tiles(s, e, t_near, t_far)
    for edges in (a[1][:, :-1], b[1][:, :-1]):  # every interior edge of either tiling is kept
        assert torch.isin(edges, e).all()
