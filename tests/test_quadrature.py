"""Gauss-Legendre interior points (``quadrature=n``): the rule's exactness, its weights in the
loss, the residual vector and the energy, its split over processes, and what it refuses."""

import copy
import math

import pytest
import torch

import smoothgrid as sg
from smoothgrid.geometry import ExteriorDomain, sphere
from smoothgrid.geometry.box import Box, gauss_unit
from smoothgrid.problems import make
from smoothgrid.train.distributed import World
from smoothgrid.train.losses import Objective, quadrature_share
from smoothgrid.train.settings import Points, Settings, SettingsError
from smoothgrid.train.solve import check_setup


def test_the_rule_is_exact_to_degree_2n_minus_1_per_axis_in_every_cell():
    x, w = gauss_unit(cells=3, nodes=2, d=2)
    assert x.shape == (36, 2) and w.mean().item() == pytest.approx(1.0, abs=1e-15)
    assert (x > 0).all() and (x < 1).all()
    # x^3 y^2 is cubic per axis: exact; the integral over [0, 1]^2 is 1/4 * 1/3
    assert (w * x[:, 0] ** 3 * x[:, 1] ** 2).mean().item() == pytest.approx(1 / 12, abs=1e-15)
    # a piecewise cubic with kinks at the cell faces x = 1/3, 2/3: still exact
    kinked = (x[:, 0] - 1 / 3).clamp_min(0) ** 3
    assert (w * kinked).mean().item() == pytest.approx((2 / 3) ** 4 / 4, abs=1e-15)
    # degree 4 is beyond two nodes: the rule is close but not exact
    error = abs((w * x[:, 0] ** 4).mean().item() - 1 / 5)
    assert 1e-6 < error < 1e-3


def test_a_box_rule_integrates_over_the_box():
    box = Box([-1.0, 0.0], [1.0, 3.0])
    x, w = box.quadrature_interior(cells=4, nodes=3, dtype=torch.float64)
    assert x.shape == (144, 2) and x.dtype == w.dtype == torch.float64
    mean = (w * torch.cos(x[:, 0]) * x[:, 1] ** 2).mean().item()
    exact = (2 * torch.sin(torch.tensor(1.0)).item()) * 9.0 / 6.0  # integral / area
    assert mean == pytest.approx(exact, rel=1e-7)


@pytest.mark.parametrize("share", [2, 3])
def test_the_processes_blocks_cover_the_rule_and_average_to_its_mean(share):
    x, w = gauss_unit(cells=1, nodes=5, d=2)  # 25 points: neither 2 nor 3 divides them
    f = torch.exp(torch.sin(3 * x[:, 0]) * x[:, 1])
    blocks = [quadrature_share(x, w, rank, share) for rank in range(share)]
    assert torch.equal(torch.cat([xr for xr, _ in blocks]), x)  # disjoint, in order, all of it
    assert sorted({len(xr) for xr, _ in blocks}) == [25 // share, 25 // share + 1]
    mean = (w * f).mean().item()
    parts, start = [], 0
    for xr, wr in blocks:
        parts.append((wr * f[start : start + len(xr)]).mean().item())
        start += len(xr)
    assert sum(parts) / share == pytest.approx(mean, abs=1e-12)
    assert quadrature_share(x, w, 0, 1)[1].equal(w)  # one process: the rule unchanged


def _field(seed: int = 0) -> sg.Field:
    torch.manual_seed(seed)
    enc = sg.encodings.make("hermite", dim=2, levels=2, features=1, min_res=4, max_res=8,
                            log2_table=12)  # fmt: skip
    return sg.Field(enc, hidden=[], out=1).double()


def test_the_loss_weighs_each_point_and_the_residual_vector_squares_to_it():
    problem = make("helmholtz2d", a1=1, a2=2)
    field = _field()
    field.set_bounds(*problem.domain.bounds)
    points = Points(batch=32**2, quadrature=4, weights={"dirichlet": 2.0})
    objective = Objective(problem, field, points, dtype=torch.float64)
    samples = objective.sample(torch.Generator().manual_seed(0))
    x, w = samples["residual"]["x"], samples["residual"]["w"]
    assert x.shape == (32**2, 2) and w.std() > 0.1  # 8 cells of 4 x 4 nodes, unequal weights
    loss, terms = objective.loss_and_terms(samples)
    r = objective.residual_vector(samples)
    assert r.square().sum().item() == pytest.approx(loss.item(), rel=1e-12)
    # the residual term is the rule's mean of r^2 (here a field on 8 cells and a smooth source:
    # the 8 x 4 nodes agree with a rule twice as fine to 1e-9), the plain mean of the same
    # points' squares is 1e-4 off (the nodes crowd the cell faces)
    finer = Objective(problem, field, Points(batch=64**2, quadrature=4), dtype=torch.float64)
    reference = finer.terms(finer.sample(torch.Generator()))["residual"].item()
    residual = objective._residual(x)["residual"].detach().reshape(-1)
    assert terms["residual"].item() == pytest.approx(reference, rel=1e-8)
    assert residual.square().mean().item() != pytest.approx(reference, rel=1e-5)


def test_an_energy_is_integrated_by_the_rule():
    problem = make("poisson2d_energy")
    field = _field()
    field.constraint = problem.constraint
    field.set_bounds(*problem.domain.bounds)
    objective = Objective(problem, field, Points(batch=24**2, quadrature=3), dtype=torch.float64)
    energy = objective.terms(objective.sample(torch.Generator()))["energy"].item()
    fine = Objective(problem, field, Points(batch=120**2, quadrature=3), dtype=torch.float64)
    reference = fine.terms(fine.sample(torch.Generator()))["energy"].item()
    assert energy == pytest.approx(reference, rel=1e-3)


def test_quadrature_refuses_random_point_options_bad_ranks_and_other_domains():
    with pytest.raises(SettingsError, match="stratified"):
        Points(quadrature=3, stratified=True)
    with pytest.raises(SettingsError, match="adaptive"):
        Points(quadrature=3, adaptive="rad")
    with pytest.raises(SettingsError, match="quadrature"):
        Points(quadrature=-1)
    with pytest.raises(SettingsError, match="batch >= 16"):
        Points(batch=8, quadrature=4).quadrature_cells(2)
    assert Points(batch=1000, quadrature=3).quadrature_cells(2) == 10  # 30^2 = 900 <= 1000
    with pytest.raises(ValueError, match="rank=2"):
        Objective(make("helmholtz2d"), _field(), Points(quadrature=2), share=2, rank=2)
    with pytest.raises(ValueError, match="rank 2 of 2"):
        quadrature_share(*gauss_unit(cells=1, nodes=2, d=2), rank=2, share=2)
    outside_a_sphere = copy.copy(make("poisson2d"))
    outside_a_sphere.domain = ExteriorDomain(Box([-1.0] * 3, [1.0] * 3), sphere())
    with pytest.raises(SettingsError, match="box domain"):
        Objective(outside_a_sphere, _field(), Points(quadrature=2))


def test_a_space_time_rule_is_its_boxs_with_time_as_the_last_axis():
    domain = make("convection").domain  # [0, 2 pi) x [0, 1]
    x, w = domain.quadrature_interior(cells=4, nodes=3, dtype=torch.float64)
    assert x.shape == (144, 2) and torch.allclose(w.mean(), torch.tensor(1.0, dtype=w.dtype))
    assert x[:, 0].max() < 2 * math.pi and x[:, 1].max() < 1.0 and x.min() > 0.0
    # int x t^3 over [0, 2 pi] x [0, 1] = 2 pi^2 / 4, exact for a 3-node rule (degree 5 per axis)
    integral = domain.extent.prod() * (w * x[:, 0] * x[:, 1] ** 3).mean()
    assert abs(integral.item() - math.pi**2 / 2) < 1e-12


def test_a_rule_is_cut_over_processes_whatever_the_batch_but_random_points_are_not():
    problem, field = make("helmholtz2d"), _field()
    two = World(rank=0, size=2)
    check_setup(problem, field, Settings.from_options(steps=1, batch=81, quadrature=3), two)
    with pytest.raises(SettingsError, match="batch=81 must be a multiple of the 2 processes"):
        check_setup(problem, field, Settings.from_options(steps=1, batch=81), two)
