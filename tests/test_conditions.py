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
    Problem,
    Robin,
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


def test_condition_on_one_face_leaves_the_others_free():
    def u(X: Jet) -> Jet:  # zero on the bottom face y = -1 only
        return (X[..., 1] + 1.0) * (X[..., 0] + 1.0)

    bottom = Dirichlet(0.0, on="bottom")
    batch = bottom.sample(BOX, 300, gen(8), dtype=F64)
    assert (batch["x"][:, 1] == -1.0).all()
    assert bottom.residual(batch, field(u)).abs().max() == 0
    everywhere = Dirichlet(0.0)
    assert (
        everywhere.residual(everywhere.sample(BOX, 300, gen(8), dtype=F64), field(u)).abs().max()
        > 1
    )
    by_predicate = Dirichlet(0.0, on=lambda x: x[:, 1] < -1 + 1e-9)  # DeepXDE style
    batch = by_predicate.sample(BOX, 300, gen(9), dtype=F64)
    assert batch["x"].shape == (300, 2) and (batch["x"][:, 1] == -1.0).all()


FACE_NORMALS = {"left": (-1, 0), "right": (1, 0), "bottom": (0, -1), "top": (0, 1)}


@pytest.mark.parametrize("face", list(FACE_NORMALS))
def test_neumann_and_robin_normals_per_face(face):
    slope = (2.0, -5.0)  # u = 2 x - 5 y + 1
    normal = FACE_NORMALS[face]
    flux = slope[0] * normal[0] + slope[1] * normal[1]

    def u(X: Jet) -> Jet:
        return 2.0 * X[..., 0] - 5.0 * X[..., 1] + 1.0

    neumann = Neumann(flux, on=face)
    batch = neumann.sample(BOX, 50, gen(10), dtype=F64)
    assert torch.equal(batch["normal"], torch.tensor(normal, dtype=F64).expand(50, 2))
    assert neumann.residual(batch, field(u)).abs().max() < 1e-13
    assert neumann.residual(batch, field(lambda X: -u(X))).abs().max() > 1.9

    def g(x):  # a u + b du/dn with a = 1 + x, b = 0.5
        return (1 + x[:, 0]) * (2 * x[:, 0] - 5 * x[:, 1] + 1) + 0.5 * flux

    robin = Robin(lambda x: 1 + x[:, 0], 0.5, g, on=face)
    batch = robin.sample(BOX, 50, gen(11), dtype=F64)
    assert set(batch) == {"x", "normal", "a", "b", "value"}
    assert robin.residual(batch, field(u)).abs().max() < 1e-13
    assert robin.residual(batch, field(lambda X: u(X) + 0.1)).abs().min() > 0.04
    assert robin.order == 1 and robin.name == "robin"


def test_neumann_normals_on_3d_faces():
    box = Box([0.0, 0.0, 0.0], [1.0, 2.0, 3.0])
    for face, expected in {"back": (0, 0, -1.0), "front": (0, 0, 1.0), "x1+": (0, 1.0, 0)}.items():
        batch = Neumann(0.0, on=face).sample(box, 20, gen(12), dtype=F64)
        assert torch.equal(batch["normal"], torch.tensor(expected, dtype=F64).expand(20, 3))


def test_boundary_condition_errors():
    with pytest.raises(TypeError, match="on=, not part="):
        Dirichlet(0.0, part="surface")
    with pytest.raises(TypeError, match="on= takes"):
        Neumann(0.0, on=1.5)
    with pytest.raises(TypeError, match="on= takes"):
        Neumann(0.0, on=[])
    with pytest.raises(ValueError, match="a != 0 or b != 0"):
        Robin(0.0, 0.0)
    with pytest.raises(ValueError, match="Did you mean 'top'"):  # when the problem is built
        Problem(domain=BOX, residual=lambda x, u: u.lap, conditions=[Neumann(0.0, on="tpo")])
    with pytest.raises(ValueError, match="unknown boundary part 'front' of a 2-D box"):
        Problem(domain=BOX, residual=lambda x, u: u.lap, conditions=[Dirichlet(on="front")])
    with pytest.raises(ValueError, match="accepted none"):
        Dirichlet(0.0, on=lambda x: x[:, 0] > 2).sample(BOX, 5, gen())
    assert "on='top'" in repr(Robin(1.0, 1.0, on="top"))
