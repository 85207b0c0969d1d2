"""Exact curvature of the procedural shapes (``Solid.curvature``) against the level-set formulas
on the shapes' own functions, through jets and autograd, in float64."""

from __future__ import annotations

import math

import pytest
import torch

import smoothgrid as sg
from smoothgrid.geometry.curvature import gaussian_curvature, implicit_curvature, mean_curvature
from smoothgrid.geometry.mesh import face_areas
from smoothgrid.jet import Jet

F64 = torch.float64
AXES = (0.7, 0.5, 0.3)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def ellipsoid_jet(x: torch.Tensor, axes=AXES) -> Jet:
    """``F = sum x_i^2 / a_i^2 - 1`` as an order-2 jet with the full Hessian."""
    X = Jet.coordinates(x, order=2, hessian=True)
    return sum((X[..., i] * (1.0 / a)) ** 2 for i, a in enumerate(axes)) - 1.0


def test_ellipsoid_closed_form_matches_the_jet_of_its_implicit_function():
    x = torch.rand(3000, 3, generator=gen(0), dtype=F64) * 2 - 1  # every level set, not only F=0
    u = ellipsoid_jet(x)
    g, hess = u.grad[:, 0], u.hess[:, 0]
    H, K = mean_curvature(g, hess), gaussian_curvature(g, hess)
    H_star, K_star, defined = sg.geometry.ellipsoid(AXES).curvature(x)
    assert defined.all()
    assert torch.allclose(H_star, H, rtol=1e-12, atol=0)
    assert torch.allclose(K_star, K, rtol=1e-12, atol=0)


def test_ellipsoid_at_its_tips_and_as_a_sphere():
    a = AXES
    tips = torch.diag(torch.tensor(a, dtype=F64))
    H, K, _ = sg.geometry.ellipsoid(a).curvature(tips)
    for i in range(3):
        j, k = (m for m in range(3) if m != i)
        assert H[i].item() == pytest.approx(a[i] / 2 * (1 / a[j] ** 2 + 1 / a[k] ** 2), rel=1e-14)
        assert K[i].item() == pytest.approx(a[i] ** 2 / (a[j] ** 2 * a[k] ** 2), rel=1e-14)
    points, _ = sg.geometry.ellipsoid((0.4, 0.4, 0.4)).sample_surface(200, gen(1))
    H, K, _ = sg.geometry.ellipsoid((0.4, 0.4, 0.4)).curvature(points)
    assert torch.allclose(H, torch.full_like(H, 2.5), rtol=1e-12)
    assert torch.allclose(K, torch.full_like(K, 6.25), rtol=1e-12)


def test_sphere_and_torus_closed_forms_match_the_jets_of_their_distances():
    x = torch.rand(2000, 3, generator=gen(2), dtype=F64) * 2 - 1
    x = x[x[:, :2].norm(dim=1) > 0.05]
    for name in ("sphere", "torus"):
        solid = sg.geometry.make_shape(name)
        H, K = implicit_curvature(solid.sdf, x)
        H_star, K_star, _ = solid.curvature(x)
        assert torch.allclose(H_star, H, rtol=1e-10, atol=1e-12), name
        assert torch.allclose(K_star, K, rtol=1e-10, atol=1e-12), name
    H, K, _ = sg.geometry.sphere(0.6).curvature(torch.tensor([[0.0, 0.6, 0.0]], dtype=F64))
    assert (H.item(), K.item()) == pytest.approx((1 / 0.6, 1 / 0.36), rel=1e-14)


@pytest.mark.parametrize("name,integral", [("ellipsoid", 4 * math.pi), ("torus", 0.0)])
def test_gauss_bonnet(name, integral):
    # the total Gaussian curvature of a closed surface is 2 pi chi: 4 pi for a sphere, 0 a torus
    solid = sg.geometry.make_shape(name)
    points, _ = solid.sample_surface(40_000, gen(3))
    _, K, _ = solid.curvature(points)
    area = float(face_areas(*solid.mesh).sum())
    assert float(K.mean()) * area == pytest.approx(integral, abs=0.02 * 4 * math.pi)


def test_csg_curvature_is_its_active_piece_away_from_edges():
    s = 0.5
    solid = sg.geometry.csg(s)
    points, _ = solid.sample_surface(4000, gen(4))
    H, K, defined = solid.curvature(points)
    assert 0.3 < defined.double().mean() < 0.95
    H, K, p = H[defined], K[defined], points[defined]
    plane, ball, hole = 0.0, 1 / (1.3 * s), -1 / (2 * 0.55 * s)
    # each scored point is on one piece, with that piece's curvature, and every piece appears
    distance = torch.stack([(H - v).abs() for v in (plane, ball, hole)], 1)
    piece = distance.argmin(1)
    assert distance.min(1).values.max() < 1e-9
    assert set(piece.tolist()) == {0, 1, 2}
    assert torch.allclose(K[piece == 1], torch.full_like(K[piece == 1], ball**2), rtol=1e-9)
    assert K[piece != 1].abs().max() < 1e-9
    # the scored points lie on their piece's surface
    assert (p.abs().max(1).values - s).abs()[piece == 0].max() < 1e-9
    assert (p.norm(dim=1) - 1.3 * s).abs()[piece == 1].max() < 1e-9
