"""Hermite-NGP specifics: separate coefficient tables and the step-0 initialisation."""

from __future__ import annotations

import pytest
import torch
from conftest import assert_rel, autograd_derivatives, make_encoding, random_points

import smoothgrid as sg

TABLES = {
    1: [(16, 16), (2, 3)],
    2: [(16, 16, 16), (4, 6, 16), (6, 4, 3)],
    3: [(16, 16, 16), (6, 8, 4)],
}


@pytest.mark.parametrize("offset", [False, True])
@pytest.mark.parametrize("d,log2_tables", [(d, t) for d, ts in TABLES.items() for t in ts])
def test_separate_tables_jet_matches_autograd(d, log2_tables, offset, gen):
    enc = make_encoding("hermite", d, gen, log2_tables=log2_tables, offset=offset)
    assert len(enc.tables) == len(log2_tables)
    assert [layout.table_size for layout in enc.layouts] == [2**n for n in log2_tables]
    x = random_points(enc, 16, gen)
    value, grad, hess = autograd_derivatives(enc, x)
    jet = enc.jet(x, order=2, hessian=True)
    assert_rel(jet.value, value, 1e-12, "value")
    assert_rel(jet.grad, grad, 1e-9, "grad")
    assert_rel(jet.hess, hess, 1e-9, "hessian")
    lap = enc.jet(x, order=2, hessian=False).lap
    assert_rel(lap, torch.diagonal(hess, dim1=-2, dim2=-1).sum(-1), 1e-9, "laplacian")


def test_separate_tables_equal_one_table_when_collision_free(gen):
    """Dense separate tables hold the same coefficients as one dense table: same function."""
    one = make_encoding("hermite", 2, gen)
    split = make_encoding("hermite", 2, gen, log2_tables=(16, 16, 16))
    with torch.no_grad():
        for table, group in zip(split.tables, split.groups):
            table.copy_(one.tables[0][:, list(group)])
    x = random_points(one, 16, gen)
    a, b = one.jet(x, 2, hessian=True), split.jet(x, 2, hessian=True)
    assert_rel(b.value, a.value, 1e-13, "value")
    assert_rel(b.grad, a.grad, 1e-13, "grad")
    assert_rel(b.hess, a.hess, 1e-13, "hessian")


def test_coefficient_meaning_in_1d(gen):
    """A single 1D cell: the stored kinds are the value and the slope (in cell units)."""
    enc = sg.encodings.make("hermite", 1, levels=1, features=1, min_res=1, max_res=1)
    enc.double()
    with torch.no_grad():
        enc.tables[0].copy_(torch.tensor([[[2.0], [0.5]], [[-1.0], [3.0]]], dtype=torch.float64))
    x = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    jet = enc.jet(x, order=1)
    assert torch.allclose(jet.value[:, 0], torch.tensor([2.0, -1.0], dtype=torch.float64))
    assert torch.allclose(jet.grad[:, 0, 0], torch.tensor([0.5, 3.0], dtype=torch.float64))


@pytest.mark.parametrize("log2_tables", [None, (12, 12, 12)])
def test_fresh_hermite_has_input_gradients_at_step_zero(log2_tables):
    torch.manual_seed(0)
    enc = sg.encodings.make(
        "hermite", 2, levels=4, features=2, min_res=4, max_res=32, log2_tables=log2_tables
    )
    assert enc.tables[0].dtype == torch.float32
    init, deriv = enc.init_scale, 1e-2
    x = torch.rand(256, 2)
    grad = enc.jet(x, order=1).grad
    assert grad.abs().mean() > 1e-3
    # Value coefficients stay small; derivative coefficients carry the gradient.
    if log2_tables is None:
        values, derivs = enc.tables[0][:, 0], enc.tables[0][:, 1:]
    else:
        values, derivs = enc.tables[0], torch.cat([t.flatten() for t in enc.tables[1:]])
    assert values.abs().max() <= init
    # At vertices of every level (multiples of 1/4 here) features are the value coefficients.
    vertices = torch.randint(0, 5, (64, 2)).float() / 4
    assert enc(vertices).abs().max() <= init
    assert derivs.abs().max() <= deriv
    assert derivs.abs().max() > 0.5 * deriv


def test_linear_gradients_at_step_zero_are_small_by_comparison():
    """The point of deriv_init: with the same init_scale a d-linear grid starts much flatter."""
    torch.manual_seed(0)
    grid = dict(levels=4, features=2, min_res=4, max_res=32)
    hermite = sg.encodings.make("hermite", 2, **grid)
    linear = sg.encodings.make("linear", 2, **grid)
    x = torch.rand(256, 2)
    g_h = hermite.jet(x, order=1).grad.abs().mean()
    g_l = linear.jet(x, order=1).grad.abs().mean()
    assert g_h > 10 * g_l


def test_deriv_init_controls_the_derivative_coefficients():
    torch.manual_seed(0)
    enc = sg.encodings.make(
        "hermite", 2, levels=2, min_res=4, max_res=8, init_scale=1e-3, deriv_init=0.2
    )
    table = enc.tables[0]
    assert table[:, 0].abs().max() <= 1e-3
    assert 0.1 < table[:, 1:].abs().max() <= 0.2


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("log2_tables", [None, "split"])
def test_zero_twist_is_full_hermite_with_zero_mixed_coefficients(d, log2_tables, gen):
    """``mixed=False`` stores the value and first derivatives only; it is the full Hermite
    interpolant whose mixed-derivative coefficients are zero (value, gradient, Hessian), and its
    jets match autograd."""
    split = None if log2_tables is None else (16, 16)
    full = make_encoding("hermite", d, gen)
    twist_free = make_encoding("hermite", d, gen, mixed=False, log2_tables=split)
    assert twist_free.coefficients == 1 + d
    assert sum(t.shape[1] for t in twist_free.tables) == 1 + d
    assert twist_free.config()["mixed"] is False
    first = [m for m in range(2**d) if bin(m).count("1") == 1]  # d/dt_0, d/dt_1, ...
    with torch.no_grad():
        full.tables[0].zero_()
        stored = torch.cat(list(twist_free.tables), dim=1)
        full.tables[0][:, [0, *first]] = stored
    x = random_points(full, 24, gen)
    a, b = full.jet(x, 2, hessian=True), twist_free.jet(x, 2, hessian=True)
    assert b.value.abs().max() > 0
    assert_rel(b.value, a.value, 1e-13, "value")
    assert_rel(b.grad, a.grad, 1e-13, "grad")
    assert_rel(b.hess, a.hess, 1e-13, "hessian")
    value, grad, hess = autograd_derivatives(twist_free, x)
    assert_rel(b.value, value, 1e-12, "value vs autograd")
    assert_rel(b.grad, grad, 1e-9, "grad vs autograd")
    assert_rel(b.hess, hess, 1e-9, "hessian vs autograd")


def test_zero_twist_runs_without_kernel_and_rebuilds_from_config():
    enc = sg.encodings.make("hermite", 3, levels=2, min_res=4, max_res=8, mixed=False)
    assert enc.kernel_step() is None  # the fused kernels assume all 2**d coefficients
    rebuilt = sg.encodings.from_config(enc.config())
    assert rebuilt.tables[0].shape == enc.tables[0].shape == (enc.tables[0].shape[0], 4, 2)
