"""Conditions: sampling and residuals on functions that satisfy (or violate) them."""

from __future__ import annotations

import math

import pytest
import torch

from smoothgrid.geometry import Box, SpaceTime
from smoothgrid.jet import Jet, linear, sin
from smoothgrid.problems import (
    BoundaryLaplacian,
    Data,
    Dirichlet,
    Initial,
    Neumann,
    Periodic,
)

F64 = torch.float64
BOX = Box([0.0, -1.0], [1.0, 2.0])
CYL = SpaceTime(Box([0.0], [1.0]), 0.0, 2.0)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def field(f):
    """``u(points) -> Jet`` of ``f`` (jet arithmetic on the coordinates), at order 2."""
    return lambda p: f(Jet.coordinates(p, order=2))


def quadratic(X: Jet) -> Jet:  # u = x^2 + 3 y, lap u = 2
    return X[..., 0] ** 2 + 3.0 * X[..., 1]


def test_dirichlet_value_and_channels():
    cond = Dirichlet(lambda x: x[:, 0] ** 2 + 3 * x[:, 1])
    batch = cond.sample(BOX, 64, gen(), dtype=F64)
    assert batch["x"].shape == (64, 2) and batch["value"].shape == (64, 1)
    assert BOX.contains(batch["x"]).all()
    assert cond.residual(batch, field(quadratic)).abs().max() < 1e-14
    assert cond.residual(batch, field(lambda X: quadratic(X) + 1.0)).abs().min() > 0.99
    two = Dirichlet(0.0, channels=(1,))
    batch = two.sample(BOX, 8, gen(), dtype=F64)
    r = two.residual(batch, field(lambda X: linear(X, torch.tensor([[1.0, 0], [0, 0]], dtype=F64))))
    assert r.shape == (8, 1) and r.abs().max() == 0
    assert cond.order == 0 and not cond.hard and cond.name == "dirichlet"


def test_neumann_flux_uses_outward_normals():
    def flux(x):  # grad u . n of u = x^2 + 3y on the faces of BOX
        out = torch.zeros(len(x), dtype=x.dtype)
        out[x[:, 0] == 1.0] = 2.0
        out[x[:, 1] == 2.0] = 3.0
        out[x[:, 1] == -1.0] = -3.0
        return out

    cond = Neumann(flux)
    batch = cond.sample(BOX, 200, gen(1), dtype=F64)
    assert set(batch) == {"x", "normal", "flux"}
    assert cond.residual(batch, field(quadratic)).abs().max() < 1e-13
    assert cond.residual(batch, field(lambda X: -quadratic(X))).abs().max() > 1.0
    assert cond.order == 1


def test_periodic_pairs_faces():
    cond = Periodic(0)
    batch = cond.sample(BOX, 32, gen(2), dtype=F64)
    x = batch["x"]
    assert x.shape == (64, 2)
    assert (x[:32, 0] == 0.0).all() and (x[32:, 0] == 1.0).all()
    assert torch.equal(x[:32, 1], x[32:, 1])
    periodic = field(lambda X: sin(2 * math.pi * X[..., 0]) * X[..., 1])
    r = cond.residual(batch, periodic)
    assert r.shape == (32, 3) and r.abs().max() < 1e-12
    assert cond.residual(batch, field(quadratic)).abs().max() > 0.5
    assert cond.name == "periodic0" and cond.order == 1
    values_only = Periodic(0, derivatives=False)
    assert values_only.order == 0
    assert values_only.residual(batch, periodic).shape == (32, 1)
    with pytest.raises(ValueError, match="axis"):
        Periodic(3).sample(BOX, 4, gen())


def test_initial_value_and_rate():
    cond = Initial(lambda x: torch.sin(math.pi * x[:, 0]), rate=lambda x: -x[:, 0])
    batch = cond.sample(CYL, 40, gen(3), dtype=F64)
    assert (batch["x"][:, 1] == 0).all() and cond.order == 1

    def u(X: Jet) -> Jet:  # u = sin(pi x) - x t + t^2
        x, t = X[..., 0], X[..., 1]
        return sin(math.pi * x) - x * t + t**2

    r = cond.residual(batch, field(u))
    assert r.shape == (40, 2) and r.abs().max() < 1e-14
    assert Initial(0.0).order == 0
    with pytest.raises(TypeError, match="SpaceTime"):
        cond.sample(BOX, 4, gen())


def test_data_subsets():
    points = torch.rand(50, 2, generator=gen(4), dtype=F64)
    values = points.sum(1)
    cond = Data(points, values)
    batch = cond.sample(BOX, 20, gen(5), dtype=F64)
    assert batch["x"].shape == (20, 2) and batch["value"].shape == (20, 1)
    assert len({tuple(p) for p in batch["x"].tolist()}) == 20  # without replacement
    assert torch.equal(batch["x"], cond.sample(BOX, 20, gen(5), dtype=F64)["x"])
    r = cond.residual(batch, field(lambda X: X[..., 0] + X[..., 1]))
    assert r.abs().max() < 1e-15
    assert cond.sample(BOX, 80, gen(6))["x"].shape == (80, 2)  # more than N: with replacement
    with pytest.raises(ValueError, match="points"):
        Data(points, values[:10])


def test_boundary_laplacian():
    cond = BoundaryLaplacian(2.0)
    batch = cond.sample(BOX, 30, gen(7), dtype=F64)
    assert cond.order == 2
    assert cond.residual(batch, field(quadratic)).abs().max() < 1e-14


def test_value_shape_errors():
    cond = Dirichlet(lambda x: torch.zeros(3, 1))
    with pytest.raises(ValueError, match=r"\(n,\) or \(n, k\)"):
        cond.sample(BOX, 5, gen())
