"""The weak form: its quadrature's convergence, Monte Carlo's unbiasedness, the advective form,
the weak divergence, and the blueprint's (wrong) formula."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from smoothgrid.apps.smoke import (
    TransportOptions,
    expanding_blob,
    rotating_blob,
    translating_blob,
    weak,
)
from smoothgrid.apps.smoke.weak import profile, profile_integral, quadrature

DTYPE = torch.float64


@pytest.fixture(autouse=True)
def one_thread():
    """Small tensor ops on a shared 2-core machine: one intra-op thread is faster."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def centres(n: int, d: int = 2, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = 0.3 + 0.4 * torch.rand(n, d, generator=g, dtype=DTYPE)
    t = 0.2 + 0.4 * torch.rand(n, 1, generator=g, dtype=DTYPE)
    return torch.cat([x, t], 1)


ROTATION = rotating_blob(2.0, [0.5, 0.5], [0.15, 0.0])
SPREADING = translating_blob([0.3, -0.2], [0.45, 0.55], kappa=0.01)


def _mean_error(model, points, **options) -> float:
    return weak(model, points, TransportOptions(**options)).transport.abs().mean().item()


@pytest.mark.parametrize(
    "nodes, model, kappa, low, high",
    [
        (3, ROTATION, 0.0, 3.5, 4.5),  # O(w^2)
        (3, SPREADING, 0.01, 3.5, 4.5),
        (4, ROTATION, 0.0, 12.0, 20.0),  # O(w^4)
        (4, SPREADING, 0.01, 12.0, 20.0),
    ],
)
def test_gauss_quadrature_error_shrinks_with_the_support(nodes, model, kappa, low, high):
    """Halving the support (width = duration = w) divides the error by ~4 with 3 Gauss nodes
    per axis and by ~16 with 4 (measured 3.9-4.0 and 14-16 for w = 0.1 -> 0.025)."""
    points = centres(200)
    errors = [
        _mean_error(model, points, width=w, duration=w, nodes=nodes, kappa=kappa)
        for w in (0.1, 0.05, 0.025)
    ]
    for a, b in zip(errors[:-1], errors[1:]):
        assert low < a / b < high


def test_two_gauss_nodes_cannot_integrate_diffusion():
    """With 2 nodes per axis the kappa lap phi term is not integrated exactly: the error stays
    O(kappa) as the support shrinks, so the default is 3 nodes."""
    points = centres(100)
    errors = [
        _mean_error(SPREADING, points, width=w, duration=w, nodes=2, kappa=0.01)
        for w in (0.05, 0.025)
    ]
    assert errors[1] > 0.5 * errors[0] > 0.05


def test_gaussian_profile_vanishes_on_exact_transport():
    """The truncated Gaussian (4 sigma): mean |R| < 2e-3 mean |d rho/dt| with 6 nodes, w=0.025."""
    points = centres(100)
    s = ROTATION.jet(points, order=1).grad[:, 0, -1].abs().mean().item()
    err = _mean_error(
        ROTATION, points, width=0.025, duration=0.025, nodes=6, test_function="gaussian"
    )
    assert err < 2e-3 * s


def test_monte_carlo_is_unbiased_and_shrinks_like_one_over_sqrt_samples():
    """Per test function the MC estimate scatters around the exact (Gauss, 5 nodes) value:
    the mean signed error over 400 supports is within 4 standard errors of 0, and 16x the
    samples divides the mean |error| by 3..5 (sqrt(16) = 4)."""
    points = centres(400)
    base = TransportOptions(width=0.05, duration=0.05)
    wrong = rotating_blob(2.0, [0.5, 0.5], [0.15, 0.0], velocity_factor=0.5)
    exact = weak(wrong, points, dataclasses.replace(base, nodes=5)).transport
    spreads = []
    for samples in (16, 256):
        mc = dataclasses.replace(base, quadrature="mc", samples=samples)
        est = weak(wrong, points, mc, torch.Generator().manual_seed(samples)).transport
        error = est - exact
        assert error.mean().abs() < 4 * error.std() / len(error) ** 0.5
        spreads.append(error.abs().mean())
    assert 3.0 < spreads[0] / spreads[1] < 5.0


def test_quadrature_rules_integrate_polynomials():
    like = torch.zeros((), dtype=DTYPE)
    nodes, weights = quadrature(TransportOptions(nodes=3), 1, 3, like)
    assert nodes.shape == (1, 27, 3) and torch.isclose(
        weights.sum(), torch.tensor(8.0, dtype=DTYPE)
    )
    monomial = nodes[0, :, 0] ** 4 * nodes[0, :, 1] ** 2  # exact: (2/5)(2/3)(2) = 8/15
    assert torch.isclose((weights * monomial).sum(), torch.tensor(8 / 15, dtype=DTYPE))
    # profiles: their integral; int b' = 0; int b'' = b'(1) - b'(-1): 0 for the bump, the
    # truncated Gaussian's documented leak 2 * 16 e^-8 ~ 0.011 (why it needs looser tolerances)
    for name, leak in (("bump", 1e-12), ("gaussian", 2 * 16 * math.exp(-8.0) * 1.01)):
        s, w = quadrature(TransportOptions(nodes=12), 1, 1, like)
        b, b1, b2 = profile(name, s[0, :, 0])
        assert abs((w * b).sum() - profile_integral(name)) < 1e-6
        assert abs((w * b1).sum()) < 1e-12 and abs((w * b2).sum()) < leak
    edge = profile("bump", torch.tensor([1.0, -1.0], dtype=DTYPE))
    assert edge[0].abs().max() == 0 and edge[1].abs().max() == 0


def test_advective_form_handles_a_compressible_flow():
    """u_0 = a (x_0 - o_0) (div u = a): the conservative weak form measures d_t rho + div(rho u)
    = rho div u (its phi-weighted mean, about a rho), the advective form removes it."""
    model = expanding_blob(1.5, [0.5, 0.5], [0.55, 0.5])
    points = centres(100)
    options = TransportOptions(width=0.05, duration=0.05, nodes=4)
    conservative = weak(model, points, options).transport
    advective = weak(model, points, dataclasses.replace(options, form="advective")).transport
    rho = model(points)[:, 0]
    assert advective.abs().mean() < 1e-3 * conservative.abs().mean()
    assert torch.allclose(conservative, 1.5 * rho, rtol=0.05, atol=1e-3)
    with pytest.raises(TypeError, match="form='conservative'"):
        weak(lambda p: model(p), points, dataclasses.replace(options, form="advective"))


def test_weak_divergence():
    """-int u . grad phi / int phi: 0 for the rotation, the rate a for the expanding flow."""
    points = centres(50)
    options = TransportOptions(width=0.05, duration=0.05, divergence=True)
    assert weak(ROTATION, points, options).divergence.abs().max() < 1e-12
    expanding = weak(expanding_blob(1.5, [0.5, 0.5], [0.55, 0.5]), points, options)
    assert torch.allclose(expanding.divergence, torch.full((50,), 1.5, dtype=DTYPE))


def blueprint_weak(model, points, options: TransportOptions) -> torch.Tensor:
    """The blueprint's printed form (kappa = 0): int (rho d_t phi - rho div(u phi)) / int phi,
    with div(u phi) = phi div u + u . grad phi (div u from the jets)."""
    K, D = points.shape
    d = D - 1
    half = torch.tensor([options.width] * d + [options.duration], dtype=DTYPE)
    s, q = quadrature(options, K, D, points)
    y = (points[:, None] + s * half).reshape(-1, D)
    jet = model.jet(y, order=1)
    rho, u = jet.value[:, 0].reshape(K, -1), jet.value[:, 1:].reshape(K, -1, d)
    div_u = sum(jet.grad[:, 1 + a, a] for a in range(d)).reshape(K, -1)
    b, b1, _ = profile(options.test_function, s)
    phi = b.prod(-1)
    grad = [
        b1[..., a] / half[a] * b[..., [c for c in range(D) if c != a]].prod(-1) for a in range(D)
    ]
    div_u_phi = phi * div_u + sum(u[..., a] * grad[a] for a in range(d))
    return ((rho * grad[d] - rho * div_u_phi) * q).sum(-1) / profile_integral("bump") ** D


def test_the_blueprint_formula_has_the_wrong_sign():
    """On the exact smoke the blueprint's residual is -2 int d_t rho phi / int phi (not 0), and
    it vanishes on the time-reversed velocity -v; the derived form does the opposite."""
    points = centres(100)
    options = TransportOptions(width=0.05, duration=0.05, nodes=4)
    v, c = [0.3, -0.2], [0.45, 0.55]
    exact = translating_blob(v, c)
    reversed_u = translating_blob(v, c, velocity_factor=-1.0)
    rho_t = weak(translating_blob(v, c, velocity_factor=0.0), points, options).transport
    size = rho_t.abs().max()
    assert torch.allclose(blueprint_weak(exact, points, options), -2 * rho_t, atol=1e-3 * size)
    assert blueprint_weak(reversed_u, points, options).abs().max() < 1e-3 * size
    assert weak(exact, points, options).transport.abs().max() < 1e-3 * size
    assert torch.allclose(weak(reversed_u, points, options).transport, 2 * rho_t, atol=1e-3 * size)
