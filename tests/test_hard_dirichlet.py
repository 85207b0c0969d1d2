"""Hard Dirichlet conditions on chosen faces: the factor B and u = g + B N."""

from __future__ import annotations

import pytest
import torch

import smoothgrid as sg
from smoothgrid.geometry import Box, SpaceTime
from smoothgrid.jet import Jet, sin

F64 = torch.float64
RECT = Box([0.0, 0.0], [2.0, 1.0])
THREE = ("left", "right", "bottom")


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def values(factor, x: torch.Tensor) -> torch.Tensor:
    return factor(Jet.coordinates(x, order=0)).value[:, 0]


def test_factor_vanishes_on_the_chosen_faces_only():
    factor = RECT.boundary_factor(on=THREE)
    on_chosen, _ = RECT.sample_boundary(300, gen(1), dtype=F64, part=THREE)
    assert values(factor, on_chosen).abs().max() == 0
    on_top, _ = RECT.sample_boundary(300, gen(2), dtype=F64, part="top")
    assert (values(factor, on_top) > 0).all()
    inside = RECT.sample_interior(300, gen(3), dtype=F64)
    assert (values(factor, inside) > 0).all()
    assert values(factor, torch.tensor([[1.0, 0.5]], dtype=F64)).item() == pytest.approx(1.0)
    # one face: 2 (hi - y) / ext, zero on the top only, 1 at the centre, 2 on the bottom
    top = RECT.boundary_factor(on="x1+")
    edges = torch.tensor([[0.3, 1.0], [0.0, 0.4], [2.0, 0.4], [0.7, 0.0], [1.0, 0.5]], dtype=F64)
    assert values(top, edges).tolist() == pytest.approx([0.0, 1.2, 1.2, 2.0, 1.0])


def test_factor_is_a_correct_jet():
    factor = RECT.boundary_factor(on=THREE)

    def closed(p):  # x (2 - x) / 1^2 times 2 y / 1
        return p[:, 0] * (2 - p[:, 0]) * 2 * p[:, 1]

    x = RECT.sample_interior(40, gen(4), dtype=F64)
    jet = factor(Jet.coordinates(x, order=2, hessian=True))
    assert torch.allclose(jet.value[:, 0], closed(x), atol=1e-14)
    grad = torch.func.vmap(torch.func.grad(lambda p: closed(p[None])[0]))(x)
    hess = torch.func.vmap(torch.func.hessian(lambda p: closed(p[None])[0]))(x)
    assert torch.allclose(jet.grad[:, 0], grad, atol=1e-13)
    assert torch.allclose(jet.hess[:, 0], hess, atol=1e-13)


def test_factor_on_whole_axes_matches_axes():
    x = RECT.sample_interior(50, gen(5), dtype=F64)
    by_faces = values(RECT.boundary_factor(on=("left", "right")), x)
    assert torch.equal(by_faces, values(RECT.boundary_factor(axes=(0,)), x))
    with pytest.raises(ValueError, match="not both"):
        RECT.boundary_factor(axes=(0,), on="top")
    with pytest.raises(ValueError, match="Did you mean 'bottom'"):
        RECT.boundary_factor(on="botom")


def test_spacetime_factor_on_one_lateral_face():
    st = SpaceTime(Box([0.0, 0.0], [1.0, 1.0]), 0.0, 2.0)
    factor = st.boundary_factor(on="right")
    on_right, _ = st.sample_boundary(100, gen(6), dtype=F64, part="right")
    assert values(factor, on_right).abs().max() == 0
    elsewhere, _ = st.sample_boundary(100, gen(7), dtype=F64, part=("left", "bottom", "top"))
    assert (values(factor, elsewhere) > 0).all()
    jet = factor(Jet.coordinates(st.sample_interior(10, gen(8), dtype=F64), order=1))
    assert (jet.grad[:, 0, -1] == 0).all()  # no time dependence


def test_hard_dirichlet_holds_the_data_on_the_chosen_faces():
    def network(X: Jet) -> Jet:  # any N
        return sin(3.0 * X[..., 0]) + X[..., 1] ** 2 + 0.5

    def g(X: Jet) -> Jet:
        return X[..., 0] * X[..., 1] + 1.0

    on_chosen, _ = RECT.sample_boundary(200, gen(9), dtype=F64, part=THREE)
    on_top, _ = RECT.sample_boundary(200, gen(10), dtype=F64, part="top")
    for value, data in ((2.5, lambda x: torch.full_like(x[:, 0], 2.5)),
                        (g, lambda x: x[:, 0] * x[:, 1] + 1.0)):  # fmt: skip
        constraint = sg.problems.hard_dirichlet(RECT, on=THREE, value=value, scale=3.0)
        for x, held in ((on_chosen, True), (on_top, False)):
            X = Jet.coordinates(x, order=2)
            u = constraint(X, network(X)).value[:, 0]
            assert torch.allclose(u, data(x), atol=1e-14) == held
    zero = sg.problems.hard_dirichlet(RECT, on="left")
    assert zero.offset is None
    scaled = sg.problems.hard_dirichlet(RECT, on=THREE, scale=3.0)
    inside = Jet.coordinates(RECT.sample_interior(20, gen(11), dtype=F64), order=0)
    assert torch.allclose(
        scaled.factor(inside).value, 3.0 * RECT.boundary_factor(on=THREE)(inside).value
    )
    with pytest.raises(ValueError, match="scale"):
        sg.problems.hard_dirichlet(RECT, on="left", scale=0.0)
    sphere = sg.geometry.ExteriorDomain(Box([-1.0] * 3, [1.0] * 3), sg.geometry.sphere(0.5))
    with pytest.raises(TypeError, match="Box or SpaceTime"):
        sg.problems.hard_dirichlet(sphere, on="top")


def test_hard_dirichlet_in_a_field():
    enc = sg.encodings.make("hermite", dim=2, levels=2, min_res=2, max_res=4, log2_table=8)
    enc.set_bounds(*RECT.bounds)
    field = sg.Field(enc, hidden=(8,), constraint=sg.problems.hard_dirichlet(RECT, THREE, 1.5))
    x, _ = RECT.sample_boundary(64, gen(12), part=THREE)
    u = field.jet(x, order=2)
    assert torch.allclose(u.value, torch.full_like(u.value, 1.5), atol=1e-6)
    assert torch.allclose(field(x), u.value)
