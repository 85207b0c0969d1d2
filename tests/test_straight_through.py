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
