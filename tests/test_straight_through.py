"""Heo et al.'s straight-through linear encoding: linear values, smoothed gradients."""

from __future__ import annotations

import pytest
import torch
from conftest import assert_rel, autograd_derivatives, make_encoding, random_points, rel_err

LAMBDA = 0.5


def trio(d: int, gen, log2_table: int = 4):
    """Plain linear, straight-through linear and cosine encodings sharing one table."""
    plain = make_encoding("linear", d, gen, log2_table=log2_table)
    st = make_encoding("linear", d, gen, log2_table=log2_table, st_lambda=LAMBDA)
    cosine = make_encoding("cosine", d, gen, log2_table=log2_table)
    assert not torch.equal(st.tables[0], plain.tables[0])
    st.load_state_dict(plain.state_dict())
    cosine.load_state_dict(plain.state_dict())
    assert st.st_lambda == LAMBDA and st.st_smooth == "cosine"
    return plain, st, cosine


@pytest.mark.parametrize("d", [1, 2, 3])
def test_forward_value_is_exactly_linear(d, gen):
    plain, st, _ = trio(d, gen)
    x = random_points(plain, 32, gen)
    assert torch.equal(st(x), plain(x))
    assert torch.equal(st.jet(x, order=0).value, plain.jet(x, order=0).value)
    assert torch.allclose(st.jet(x, order=1).value, plain(x), rtol=1e-14, atol=0)


@pytest.mark.parametrize("log2_table", [4, 16])
@pytest.mark.parametrize("d", [1, 2, 3])
def test_jet_gradient_is_the_straight_through_mix(d, log2_table, gen):
    plain, st, cosine = trio(d, gen, log2_table)
    x = random_points(plain, 24, gen)
    g_st = st.jet(x, order=1).grad
    g_lin = plain.jet(x, order=1).grad
    g_cos = cosine.jet(x, order=1).grad
    assert rel_err(g_st, g_lin) > 1e-2  # it really differs from linear
    assert_rel(g_st, g_lin + LAMBDA * g_cos, 1e-12, "grad_lin + lambda * grad_smooth")
    # ... and is what autograd of its (linear-valued) forward pass gives.
    _, g_auto, _ = autograd_derivatives(st, x, order=1)
    assert_rel(g_st, g_auto, 1e-9, "autograd of the straight-through forward")
    _, g_plain_auto, _ = autograd_derivatives(plain, x, order=1)
    assert rel_err(g_auto, g_plain_auto) > 1e-2


@pytest.mark.parametrize("d", [1, 2])
def test_table_gradient_differs_from_linear(d, gen):
    plain, st, cosine = trio(d, gen)
    x = random_points(plain, 24, gen)
    w = torch.randn(24, plain.out_features, generator=gen, dtype=torch.float64)

    def table_grad(enc):
        enc.zero_grad()
        (enc(x) * w).sum().backward()
        return enc.tables[0].grad.clone()

    g_lin, g_st, g_cos = table_grad(plain), table_grad(st), table_grad(cosine)
    assert rel_err(g_st, g_lin) > 1e-2
    assert_rel(g_st, g_lin + LAMBDA * g_cos, 1e-12, "table gradient")


def test_jet_gradient_loss_backpropagates_to_the_table(gen):
    """A loss on the order-1 jet's gradient reaches the table through both terms."""
    plain, st, cosine = trio(2, gen)
    x = random_points(plain, 16, gen)

    def table_grad(jet_of):
        for enc in (plain, st, cosine):
            enc.zero_grad()
        jet_of(x).grad.square().sum().backward()

    table_grad(lambda p: st.jet(p, order=1))
    g_st = st.tables[0].grad.clone()
    table_grad(lambda p: plain.jet(p, order=1))
    assert rel_err(g_st, plain.tables[0].grad) > 1e-2


def test_zero_lambda_is_plain_linear(gen):
    plain = make_encoding("linear", 2, gen)
    st0 = make_encoding("linear", 2, gen, st_lambda=0.0)
    st0.load_state_dict(plain.state_dict())
    x = random_points(plain, 16, gen)
    assert torch.equal(st0.jet(x, order=2).lap, plain.jet(x, order=2).lap)
    assert torch.equal(st0.jet(x, order=1).grad, plain.jet(x, order=1).grad)


def test_order_two_is_refused(gen):
    _, st, _ = trio(2, gen)
    x = random_points(st, 4, gen)
    with pytest.raises(ValueError, match="second derivatives") as info:
        st.jet(x, order=2, hessian=True)
    assert "PDE residuals" in str(info.value)


# ------------------------------------------------------------------ corner mode (Heo et al.)
RES = 5


def corner_pair(d: int, gen):
    """One dense level: plain linear and corner-mode straight-through sharing a table."""
    options = dict(levels=1, min_res=RES, max_res=RES, features=2, log2_table=16)
    plain = make_encoding("linear", d, gen, **options)
    corner = make_encoding("linear", d, gen, st_lambda=LAMBDA, st_mode="corner", **options)
    corner.load_state_dict(plain.state_dict())
    return plain, corner


def corner_cosine_features(enc, x: torch.Tensor) -> torch.Tensor:
    """``sum_i (1 - cos(pi w_i)) / 2 * f_i`` over the cell's corners ``i``, ``w_i`` the d-linear
    corner weights, written out independently of the library (one dense level)."""
    d = x.shape[1]
    lo, hi = enc.bounds
    pos = (x - lo) / (hi - lo) * RES
    cell = pos.detach().floor().clamp(0, RES - 1)
    t = pos - cell
    table = enc.tables[0][:, 0, :]  # (rows, F)
    out = 0.0
    for corner in range(2**d):
        bits = [(corner >> i) & 1 for i in range(d)]
        w = torch.ones_like(t[:, 0])
        row = torch.zeros_like(cell[:, 0], dtype=torch.int64)
        for i, b in enumerate(bits):
            w = w * (t[:, i] if b else 1.0 - t[:, i])
            row = row + (cell[:, i].long() + b) * (RES + 1) ** i
        out = out + (0.5 * (1.0 - torch.cos(torch.pi * w)))[:, None] * table[row]
    return out


@pytest.mark.parametrize("d", [1, 2, 3])
def test_corner_mode_forward_is_linear_and_gradient_adds_corner_cosine(d, gen):
    plain, corner = corner_pair(d, gen)
    x = random_points(plain, 32, gen)
    assert torch.equal(corner(x), plain(x))
    _, g_lin, _ = autograd_derivatives(plain, x, order=1)
    _, g_cos, _ = autograd_derivatives(lambda p: corner_cosine_features(plain, p), x, order=1)
    expected = g_lin + LAMBDA * g_cos
    _, g_auto, _ = autograd_derivatives(corner, x, order=1)
    assert rel_err(g_auto, g_lin) > 1e-2
    assert_rel(g_auto, expected, 1e-10, "autograd of the corner-mode forward")
    assert_rel(corner.jet(x, order=1).grad, expected, 1e-10, "corner-mode jet gradient")


def test_corner_and_axis_modes_differ_and_corner_table_gradient(gen):
    plain, corner = corner_pair(2, gen)
    axis = make_encoding(
        "linear", 2, gen, levels=1, min_res=RES, max_res=RES, log2_table=16, st_lambda=LAMBDA
    )
    axis.load_state_dict(plain.state_dict())
    x = random_points(plain, 24, gen)
    assert rel_err(corner.jet(x, order=1).grad, axis.jet(x, order=1).grad) > 1e-2
    w = torch.randn(24, plain.out_features, generator=gen, dtype=torch.float64)
    (corner(x) * w).sum().backward()
    (plain(x) * w).sum().backward()
    reference = plain.tables[0].detach().clone().requires_grad_(True)
    with torch.no_grad():
        plain.tables[0].grad, g_lin = None, plain.tables[0].grad.clone()

    class _View:  # the reference formula on a table that records its gradient
        bounds = plain.bounds
        tables = [reference]

    (corner_cosine_features(_View, x) * w).sum().backward()
    assert_rel(corner.tables[0].grad, g_lin + LAMBDA * reference.grad, 1e-12, "table gradient")


def test_bad_st_mode_is_rejected():
    with pytest.raises(ValueError, match="st_mode must be 'axis' or 'corner'"):
        make_encoding("linear", 2, torch.Generator(), st_lambda=0.1, st_mode="corners")
