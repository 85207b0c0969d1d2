"""Boxes and space-time cylinders: samplers, grids and hard-constraint factors."""

from __future__ import annotations

import math

import pytest
import torch

from smoothgrid.geometry import Box, SpaceTime
from smoothgrid.jet import Jet

F64 = torch.float64


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_box_attributes_and_validation():
    box = Box([-1, 0], [1, 3])
    assert box.dim == 2 and box.lo.dtype == F64
    assert box.bounds == ([-1.0, 0.0], [1.0, 3.0])
    assert Box(0, 2).dim == 1
    with pytest.raises(ValueError, match="below"):
        Box([0, 1], [1, 1])
    with pytest.raises(ValueError, match="same number"):
        Box([0, 0], [1])


def test_interior_samples_inside_and_reproducible():
    box = Box([-1, 0, 2], [1, 3, 2.5])
    x = box.sample_interior(500, gen(1), dtype=F64)
    assert x.shape == (500, 3) and x.dtype == F64
    assert box.contains(x, tol=0).all()
    assert torch.equal(x, box.sample_interior(500, gen(1), dtype=F64))
    assert not torch.equal(x, box.sample_interior(500, gen(2), dtype=F64))
    assert box.sample_interior(7).dtype == torch.float32


@pytest.mark.parametrize("d, n, m", [(1, 10, 10), (2, 110, 10), (3, 30, 3)])
def test_stratified_covers_every_stratum(d, n, m):
    box = Box([-2.0] * d, [1.0 + i for i in range(d)])
    x = box.sample_interior(n, gen(3), stratified=True, dtype=F64)
    assert x.shape == (n, d) and box.contains(x, tol=0).all()
    cell = ((x - box.lo) / box.extent * m).floor().long().clamp(max=m - 1)
    flat = (cell * torch.tensor([m**i for i in range(d)])).sum(1)
    assert flat.unique().numel() == m**d


def test_boundary_samples_on_faces_with_unit_normals():
    box = Box([0.0, -1.0, 2.0], [4.0, 0.0, 3.0])
    x, n = box.sample_boundary(3000, gen(4), dtype=F64)
    assert x.shape == n.shape == (3000, 3)
    assert box.contains(x, tol=1e-12).all()
    assert torch.allclose(n.norm(dim=1), torch.ones(3000, dtype=F64))
    assert ((n != 0).sum(1) == 1).all()
    axis = n.abs().argmax(1)
    rows = torch.arange(3000)
    face = torch.where(n[rows, axis] > 0, box.hi[axis], box.lo[axis])
    assert torch.equal(x[rows, axis], face)
    # faces are chosen in proportion to their area: areas (1, 1, 4, 4, 4, 4) for x, y, z faces
    frac = torch.bincount(axis, minlength=3).double() / 3000
    assert torch.allclose(frac, torch.tensor([1, 4, 4], dtype=F64) / 9, atol=0.03)


def test_grid_order_and_faces():
    box = Box([0.0, -1.0], [1.0, 1.0])
    g = box.grid((2, 3))
    expected = [[0, -1], [0, 0], [0, 1], [1, -1], [1, 0], [1, 1]]
    assert torch.equal(g, torch.tensor(expected, dtype=F64))
    assert box.grid(5).shape == (25, 2)
    with pytest.raises(ValueError, match="one size"):
        box.grid((3,))


def test_contains():
    box = Box([0, 0], [1, 1])
    x = torch.tensor([[0.5, 0.5], [1.0, 0.0], [1.1, 0.5], [-1e-12, 0.2]], dtype=F64)
    assert box.contains(x).tolist() == [True, True, False, True]
    assert box.contains(x, tol=0).tolist() == [True, True, False, False]


def test_boundary_factor_vanishes_and_is_a_correct_jet():
    box = Box([-1.0, 0.0], [2.0, 1.0])
    factor = box.boundary_factor()
    xb, _ = box.sample_boundary(200, gen(5), dtype=F64)
    assert factor(Jet.coordinates(xb, order=0)).value.abs().max() < 1e-14
    xi = box.sample_interior(200, gen(6), dtype=F64)
    assert (factor(Jet.coordinates(xi, order=0)).value > 0).all()
    centre = torch.tensor([[0.5, 0.5]], dtype=F64)
    assert factor(Jet.coordinates(centre, order=0)).value.item() == pytest.approx(1.0)

    # derivatives against autograd of the same closed form
    def closed(p):
        return ((p[:, 0] + 1) * (2 - p[:, 0]) / 2.25) * (p[:, 1] * (1 - p[:, 1]) / 0.25)

    hess = torch.stack([torch.autograd.functional.hessian(closed, p[None])[0, :, 0] for p in xi])
    jet = factor(Jet.coordinates(xi, order=2, hessian=True))
    assert torch.allclose(jet.hess[:, 0], hess, atol=1e-12)
    lap = factor(Jet.coordinates(xi, order=2)).lap[:, 0]
    assert torch.allclose(lap, hess.diagonal(dim1=1, dim2=2).sum(1), atol=1e-12)


def test_boundary_factor_axes_subset():
    box = Box([0.0, 0.0], [1.0, 1.0])
    only_x = box.boundary_factor(axes=(0,))
    pts = torch.tensor([[0.0, 0.3], [1.0, 0.7], [0.5, 0.0]], dtype=F64)
    assert only_x(Jet.coordinates(pts, order=0)).value[:, 0].tolist() == [0.0, 0.0, 1.0]
    with pytest.raises(ValueError, match="subset"):
        box.boundary_factor(axes=(2,))


def test_spacetime_sampling():
    st = SpaceTime(Box([0.0, -1.0], [2 * math.pi, 1.0]), 0.5, 2.0)
    assert st.dim == 3 and st.bounds == ([0.0, -1.0, 0.5], [2 * math.pi, 1.0, 2.0])
    x = st.sample_interior(400, gen(7), stratified=True, dtype=F64)
    assert x.shape == (400, 3) and st.contains(x, tol=0).all()
    x0 = st.sample_initial(50, gen(8), dtype=F64)
    assert (x0[:, -1] == 0.5).all() and st.contains(x0, tol=0).all()
    xb, n = st.sample_boundary(300, gen(9), dtype=F64)
    assert (n[:, -1] == 0).all() and torch.allclose(n.norm(dim=1), torch.ones(300, dtype=F64))
    assert st.box.contains(xb[:, :2], tol=1e-12).all()
    on_face = ((xb[:, :2] == st.box.lo) | (xb[:, :2] == st.box.hi)).any(1)
    assert on_face.all() and ((xb[:, 2] >= 0.5) & (xb[:, 2] <= 2.0)).all()
    assert torch.equal(xb, st.sample_boundary(300, gen(9), dtype=F64)[0])
    assert st.grid((4, 3, 2)).shape == (24, 3)
    with pytest.raises(ValueError, match="below"):
        SpaceTime(Box([0.0], [1.0]), 1.0, 1.0)


def test_spacetime_factors():
    st = SpaceTime(Box([0.0, 0.0], [1.0, 1.0]), 1.0, 3.0)
    x = st.sample_interior(50, gen(10), dtype=F64)
    tau = st.initial_factor()(Jet.coordinates(x, order=1))
    assert torch.allclose(tau.value[:, 0], (x[:, 2] - 1.0) / 2.0)
    assert torch.allclose(tau.grad[:, 0], torch.tensor([0.0, 0.0, 0.5], dtype=F64).expand(50, 3))
    xb, _ = st.sample_boundary(50, gen(11), dtype=F64)
    walls = st.boundary_factor()
    assert walls(Jet.coordinates(xb, order=0)).value.abs().max() < 1e-14
    assert (walls(Jet.coordinates(x, order=0)).value > 0).all()
    with pytest.raises(ValueError, match="spatial"):
        st.boundary_factor(axes=(2,))
