"""Curvature of implicit surfaces from gradient and Hessian (``smoothgrid.apps.sdf.curvature``),
against the closed forms on spheres and tori, in float64."""

from __future__ import annotations

import pytest
import torch

import smoothgrid as sg
from smoothgrid.apps import sdf
from smoothgrid.jet import Jet, sqrt

F64 = torch.float64
R, MAJOR, MINOR = 0.6, 0.5, 0.2


def points(n: int, seed: int) -> torch.Tensor:
    """``(n, 3)`` float64 in ``[-1, 1]^3``, away from the origin and the z axis."""
    x = torch.rand(n, 3, generator=torch.Generator().manual_seed(seed), dtype=F64) * 2 - 1
    return x[x[:, :2].norm(dim=1) > 0.05]


def sphere_jet(x: torch.Tensor) -> Jet:
    X = Jet.coordinates(x, order=2, hessian=True)
    return sqrt(X[..., 0] ** 2 + X[..., 1] ** 2 + X[..., 2] ** 2) - R


def torus_jet(x: torch.Tensor) -> Jet:
    X = Jet.coordinates(x, order=2, hessian=True)
    rho = sqrt(X[..., 0] ** 2 + X[..., 1] ** 2)
    return sqrt((rho - MAJOR) ** 2 + X[..., 2] ** 2) - MINOR


def torus_curvature(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The level set through ``x`` is a torus of tube radius ``d``: principal curvatures ``1/d``
    and ``cos(v) / rho`` with ``cos(v) = (rho - MAJOR) / d``."""
    rho = x[:, :2].norm(dim=1)
    d = torch.stack([rho - MAJOR, x[:, 2]], 1).norm(dim=1)
    cos_v = (rho - MAJOR) / d
    return 0.5 * (1 / d + cos_v / rho), cos_v / (d * rho)


def test_sphere_curvature_is_one_over_the_radius_of_each_level_set():
    x = points(2000, 0)
    u = sphere_jet(x)
    H = sdf.mean_curvature(u.grad[:, 0], u.hess[:, 0])
    K = sdf.gaussian_curvature(u.grad[:, 0], u.hess[:, 0])
    r = x.norm(dim=1)
    assert torch.allclose(H, 1 / r, rtol=1e-12, atol=0)
    assert torch.allclose(K, 1 / r**2, rtol=1e-12, atol=0)


def test_torus_curvature_matches_the_closed_form():
    x = points(2000, 1)
    u = torus_jet(x)
    H = sdf.mean_curvature(u.grad[:, 0], u.hess[:, 0])
    K = sdf.gaussian_curvature(u.grad[:, 0], u.hess[:, 0])
    H_star, K_star = torus_curvature(x)
    assert torch.allclose(H, H_star, rtol=1e-10, atol=1e-12)
    assert torch.allclose(K, K_star, rtol=1e-10, atol=1e-12)
    # on the surface: the outer equator is convex (K = 1/(r(R+r)) > 0), the inner saddle-shaped
    on = torch.tensor([[MAJOR + MINOR, 0, 0], [MAJOR - MINOR, 0, 0]], dtype=F64)
    H_on, K_on = torus_curvature(on)
    assert H_on.tolist() == pytest.approx([0.5 * (1 / MINOR + 1 / (MAJOR + MINOR)),
                                           0.5 * (1 / MINOR - 1 / (MAJOR - MINOR))])  # fmt: skip
    assert K_on[0] > 0 > K_on[1]


def test_curvature_ignores_the_scale_of_the_implicit_function():
    # f = (|x|^2 - R^2) has the sphere's level sets but is no distance: same H and K on |x| = R
    x = points(500, 2)
    on = x / x.norm(dim=1, keepdim=True) * R
    H, K = sdf.implicit_curvature(lambda p: p.square().sum(1) - R**2, on)
    assert torch.allclose(H, torch.full_like(H, 1 / R), rtol=1e-12)
    assert torch.allclose(K, torch.full_like(K, 1 / R**2), rtol=1e-12)
    H, K = sdf.implicit_curvature(sg.geometry.torus(MAJOR, MINOR).sdf, x)
    H_star, K_star = torus_curvature(x)
    assert torch.allclose(H, H_star, rtol=1e-10) and torch.allclose(K, K_star, rtol=1e-10)


def test_adjugate_times_matrix_is_the_determinant():
    m = torch.randn(50, 3, 3, generator=torch.Generator().manual_seed(3), dtype=F64)
    eye = torch.eye(3, dtype=F64).expand(50, 3, 3)
    det = torch.linalg.det(m)[:, None, None]
    assert torch.allclose(m @ sdf.adjugate(m), det * eye, atol=1e-12)
    assert torch.allclose(sdf.adjugate(m) @ m, det * eye, atol=1e-12)


def test_field_curvature_uses_the_backend_it_is_given():
    # a tiny Hermite field, its analytic Hessian against autograd's, and ingp_fd's default (fd)
    torch.manual_seed(0)
    field = sdf.sdf_field("hermite", levels=2, min_res=4, max_res=8, log2_table=10)
    field.double()
    x = points(64, 4) * 0.9
    H_jet, K_jet, g_jet = sdf.field_curvature(field, x)
    H_ad, K_ad, g_ad = sdf.field_curvature(field, x, derivatives="autograd")
    assert torch.allclose(g_jet, g_ad, rtol=1e-10, atol=1e-12)
    assert torch.allclose(H_jet, H_ad, rtol=1e-8, atol=1e-10)
    assert torch.allclose(K_jet, K_ad, rtol=1e-8, atol=1e-10)
    # the sphere prior alone (network output ~0): H ~ 1/|x| of the sphere it starts from
    assert (H_jet - 1 / x.norm(dim=1)).abs().median() < 0.2 * (1 / x.norm(dim=1)).median()
    baseline = sdf.sdf_field("ingp_fd", levels=2, min_res=4, max_res=8, log2_table=10)
    assert baseline.derivatives == "fd"
    H_fd, _, _ = sdf.field_curvature(baseline, x)
    assert H_fd.shape == (len(x),) and torch.isfinite(H_fd).all()
