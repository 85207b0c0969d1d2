"""Morton (cell) order of points and the ``order="morton"`` collocation option."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import smoothgrid as sg
from smoothgrid.geometry import Box
from smoothgrid.kernels.ordering import cell_order, morton_codes
from smoothgrid.problems import Dirichlet, Problem, make
from smoothgrid.train import solve
from smoothgrid.train.losses import Objective, morton_sorted
from smoothgrid.train.settings import Points, SettingsError


def slow_morton(cell: tuple[int, ...], bits: int) -> int:
    """Bit ``b`` of axis ``i`` to bit ``b * d + i``, one bit at a time."""
    code = 0
    for b in range(bits):
        for i, c in enumerate(cell):
            code |= ((c >> b) & 1) << (b * len(cell) + i)
    return code


def cells_of(unit: torch.Tensor, resolution: int) -> list[tuple[int, ...]]:
    cells = (unit * resolution).floor().clamp(0, resolution - 1).long()
    return [tuple(c) for c in cells.tolist()]


@pytest.mark.parametrize("dim,resolution", [(1, 16), (2, 8), (2, 5), (3, 4), (4, 4)])
def test_cell_order_sorts_cells_along_the_morton_curve(dim, resolution, gen):
    unit = torch.rand(300, dim, generator=gen, dtype=torch.float64)
    unit[:3] = torch.tensor([0.0, 1.0, 0.999999])[:, None]  # the borders: first and last cells
    order = cell_order(unit, resolution)
    assert order.dtype == torch.int64
    assert sorted(order.tolist()) == list(range(300))  # a permutation
    bits = (resolution - 1).bit_length()
    cells = cells_of(unit[order], resolution)
    codes = [slow_morton(c, bits) for c in cells]
    assert codes == sorted(codes)
    assert morton_codes(unit, resolution).tolist() == [
        slow_morton(c, bits) for c in cells_of(unit, resolution)
    ]
    # The points of a cell are contiguous, in their original order (a stable sort).
    seen: dict[tuple[int, ...], int] = {}
    for k, c in enumerate(cells):
        if c in seen:
            assert seen[c] == k - 1 and order[k] > order[k - 1]
        seen[c] = k


def test_morton_codes_interleave_axis_bits():
    # 2D on 4x4: cell (x, y) = (1, 0) -> 1, (0, 1) -> 2, (2, 0) -> 4, (3, 3) -> 15.
    centres = torch.tensor([[1.5, 0.5], [0.5, 1.5], [2.5, 0.5], [3.5, 3.5]]) / 4
    assert morton_codes(centres, 4).tolist() == [1, 2, 4, 15]
    # 3D on 2^3: axis 2's bit is bit 2.
    assert morton_codes(torch.tensor([[0.2, 0.2, 0.7]]), 2).tolist() == [4]


def test_cell_order_refuses_bad_arguments():
    with pytest.raises(ValueError, match="d in 1..4"):
        cell_order(torch.rand(3, 5), 4)
    with pytest.raises(ValueError, match="d in 1..4"):
        cell_order(torch.rand(3), 4)
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="resolution"):
            cell_order(torch.rand(3, 2), bad)
    with pytest.raises(ValueError, match="code bits"):
        cell_order(torch.rand(3, 4), 2**16)


def test_morton_sorted_keeps_the_points_and_groups_coarse_cells(gen):
    x = torch.rand(4000, 2, generator=gen) * torch.tensor([3.0, 1.0]) - 1.0
    y = morton_sorted(x)
    perm = cell_order((x - x.amin(0)) / (x.amax(0) - x.amin(0)), 256)
    assert torch.equal(y, x[perm])
    # On a 4x4 grid of the box the sorted points change cell 15 times, the drawn ones ~3,700.
    coarse = torch.tensor(cells_of((y - x.amin(0)) / (x.amax(0) - x.amin(0)), 4))
    changes = (coarse[1:] != coarse[:-1]).any(dim=1).sum().item()
    assert changes <= 15


def test_order_option_is_validated():
    assert Points().order is None
    assert Points(order="morton").order == "morton"
    with pytest.raises(SettingsError, match="Did you mean 'morton'"):
        Points(order="mortn")
    with pytest.raises(SettingsError, match="takes no order"):
        Points(order="morton", quadrature=2)


def _problem() -> Problem:
    """A Poisson-like residual on a 2D box and a Dirichlet condition (drawn after it)."""

    def residual(x, u):
        return u.lap - torch.sin(3 * x[:, :1]) * x[:, 1:]

    domain = Box([-1.0, 0.0], [2.0, 1.0])
    condition = Dirichlet(lambda x: x[:, 0] ** 2)
    return Problem(domain=domain, residual=residual, conditions=(condition,), exact=None)


@pytest.mark.parametrize("options", [{}, {"stratified": True}, {"adaptive": "rad"}])
def test_morton_order_keeps_the_loss(options):
    problem = _problem()
    torch.manual_seed(0)
    enc = sg.encodings.make("hermite", 2, levels=3, min_res=4, max_res=16, log2_table=10)
    field = sg.Field(enc, hidden=(8,), out=1).double()
    field.set_bounds(*problem.domain.bounds)
    losses, samples = [], []
    for order in (None, "morton"):
        points = Points(batch=500, boundary_batch=8, order=order, **options)
        objective = Objective(problem, field, points, "jet", torch.float64, "cpu")
        samples.append(objective.sample(torch.Generator().manual_seed(3)))
        losses.append(objective.loss(objective.terms(samples[-1])))
    drawn, sorted_ = (s["residual"]["x"] for s in samples)
    assert not torch.equal(drawn, sorted_)  # reordered ...
    assert torch.equal(drawn[drawn[:, 0].argsort()], sorted_[sorted_[:, 0].argsort()])  # same
    assert torch.equal(samples[0]["dirichlet"]["x"], samples[1]["dirichlet"]["x"])  # same draw
    torch.testing.assert_close(losses[1], losses[0], rtol=1e-12, atol=0.0)


def test_solve_with_morton_order_trains_like_the_drawn_order():
    """Through :func:`smoothgrid.solve`: the same points each step, so the same history up to
    the rounding of the sums (float64)."""
    problem = dataclasses.replace(make("poisson2d"), test_resolution=16)
    histories = []
    for order in (None, "morton"):
        torch.manual_seed(0)
        enc = sg.encodings.make("hermite", 2, levels=3, min_res=4, max_res=16, log2_table=10)
        field = sg.Field(enc, hidden=(8,), out=1)
        result = solve(
            problem, field, steps=6, batch=300, eval_every=3, progress=False, order=order,
            dtype="float64",
        )  # fmt: skip
        histories.append(result.history)
    assert len(histories[0]) == len(histories[1]) >= 2
    for drawn, sorted_ in zip(*histories):
        assert sorted_["loss"] == pytest.approx(drawn["loss"], rel=1e-9)
        assert sorted_["rel_l2"] == pytest.approx(drawn["rel_l2"], rel=1e-9)
