"""Jet arithmetic against torch.autograd of the same functions written with torch ops."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from conftest import assert_rel, autograd_derivatives

from smoothgrid import jet as J
from smoothgrid.jet import ACTIVATIONS, Jet, activation_derivatives

DT = torch.float64
W = torch.tensor([[0.3, -1.2, 0.7], [2.0, 0.1, -0.4]], dtype=DT)
BIAS = torch.tensor([0.5, -0.25], dtype=DT)
CONST = torch.linspace(0.5, 2.0, 7 * 3, dtype=DT).reshape(7, 3)  # a (B, C) constant


def col(x, i):
    return x[:, i : i + 1]


# name -> (jet function of the coordinates jet X, torch function of x (B, 3)); x in [0.2, 1.2]
FUNCTIONS = {
    "add_sub_numbers": (
        lambda X: X[..., 0] + 2.0 * X[..., 1] - X[..., 2] + 3.0 - 1,
        lambda x: col(x, 0) + 2.0 * col(x, 1) - col(x, 2) + 3.0 - 1,
    ),
    "radd_rsub_neg": (
        lambda X: 1.5 - X[..., 0] + (-X[..., 1]) + (2 + X[..., 2]),
        lambda x: 1.5 - col(x, 0) - col(x, 1) + (2 + col(x, 2)),
    ),
    "mul": (
        lambda X: X[..., 0] * X[..., 1] * X[..., 2] * 3.0,
        lambda x: col(x, 0) * col(x, 1) * col(x, 2) * 3.0,
    ),
    "div": (
        lambda X: X[..., 0] / (X[..., 1] + 0.5) / 2.0,
        lambda x: col(x, 0) / (col(x, 1) + 0.5) / 2.0,
    ),
    "rdiv": (lambda X: 2.0 / (X[..., 0] * X[..., 2]), lambda x: 2.0 / (col(x, 0) * col(x, 2))),
    "pow": (
        lambda X: J.cat([X[..., 0] ** 3, X[..., 1] ** 0.5, X[..., 2] ** -1.5, X[..., 0] ** 2]),
        lambda x: torch.cat(
            [col(x, 0) ** 3, col(x, 1) ** 0.5, col(x, 2) ** -1.5, col(x, 0) ** 2], 1
        ),
    ),
    "elementwise": (
        lambda X: J.cat([J.sin(X), J.cos(X), J.exp(X), J.tanh(X), J.sqrt(X), J.square(X)]),
        lambda x: torch.cat([x.sin(), x.cos(), x.exp(), x.tanh(), x.sqrt(), x.square()], 1),
    ),
    "composite": (
        lambda X: (
            J.exp(-J.square(X[..., 0]))
            * J.cos(X[..., 1] * X[..., 2])
            / J.sqrt(1.0 + X[..., 0] ** 2)
        ),
        lambda x: (
            torch.exp(-(col(x, 0) ** 2))
            * torch.cos(col(x, 1) * col(x, 2))
            / torch.sqrt(1.0 + col(x, 0) ** 2)
        ),
    ),
    "linear_tanh": (
        lambda X: J.tanh(J.linear(J.sin(X) * X, W, BIAS)),
        lambda x: torch.tanh((x.sin() * x) @ W.t() + BIAS),
    ),
    "linear_no_bias": (lambda X: J.linear(X * X, W), lambda x: (x * x) @ W.t()),
    "slices": (
        lambda X: X[..., 0:2] * X[..., 1:3] + X[..., [2, 0]] - X[..., -1],
        lambda x: x[:, 0:2] * x[:, 1:3] + x[:, [2, 0]] - x[:, 2:3],
    ),
    "sum": (lambda X: (X * J.sin(X)).sum(), lambda x: (x * x.sin()).sum(1, keepdim=True)),
    "tensor_constants": (
        lambda X: CONST * X + CONST - X / CONST + CONST / X - (CONST - X),
        lambda x: CONST * x + CONST - x / CONST + CONST / x - (CONST - x),
    ),
    "cat_mixed": (
        lambda X: J.cat([J.sin(X[..., 0]), X[..., 1:3] * X[..., 0], X]),
        lambda x: torch.cat([col(x, 0).sin(), x[:, 1:3] * col(x, 0), x], 1),
    ),
}


@pytest.fixture
def x(gen):
    return 0.2 + torch.rand(7, 3, generator=gen, dtype=DT)


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_jet_matches_autograd(name, x):
    jet_fn, torch_fn = FUNCTIONS[name]
    value, grad, hess = autograd_derivatives(torch_fn, x)
    trace = torch.diagonal(hess, dim1=-2, dim2=-1)
    assert grad.abs().max() > 0

    u = jet_fn(Jet.coordinates(x, order=2, hessian=True))
    assert u.order == 2 and u.hess is not None
    assert_rel(u.value, value, 1e-12, "value")
    assert_rel(u.grad, grad, 1e-12, "grad")
    assert_rel(u.hess, hess, 1e-12, "hessian")
    assert_rel(u.lap, trace.sum(-1), 1e-12, "trace")

    lap = jet_fn(Jet.coordinates(x, order=2, hessian=False))
    assert lap.hess is None and lap.order == 2
    assert_rel(lap.grad, grad, 1e-12, "grad (lap jet)")
    assert_rel(lap.lap, trace.sum(-1), 1e-12, "laplacian")

    part = jet_fn(Jet.coordinates(x, order=2, lap_axes=(0, 2)))
    assert part.lap_axes == (0, 2)
    assert_rel(part.lap, trace[..., 0] + trace[..., 2], 1e-12, "laplacian over axes (0, 2)")
    hess_part = jet_fn(Jet.coordinates(x, order=2, hessian=True, lap_axes=(1,)))
    assert_rel(hess_part.lap, trace[..., 1], 1e-12, "trace over axis 1")

    first = jet_fn(Jet.coordinates(x, order=1))
    assert first.order == 1 and first.hess is None
    assert_rel(first.grad, grad, 1e-12, "grad (order 1)")
    zeroth = jet_fn(Jet.coordinates(x, order=0))
    assert zeroth.order == 0 and zeroth.grad is None
    assert_rel(zeroth.value, value, 1e-12, "value (order 0)")


def test_coordinates(x):
    X = Jet.coordinates(x, order=2, hessian=True)
    assert (X.order, X.dim, X.channels) == (2, 3, 3)
    assert torch.equal(X.value, x)
    assert torch.equal(X.grad, torch.eye(3, dtype=DT).expand(7, 3, 3))
    assert torch.all(X.hess == 0) and X.hess.shape == (7, 3, 3, 3)
    assert Jet.coordinates(x, order=2).lap.shape == (7, 3)


def test_mixing_hessian_and_laplacian_jets_gives_a_laplacian_jet(x):
    H = Jet.coordinates(x, order=2, hessian=True)
    L = Jet.coordinates(x, order=2, hessian=False)
    fn, torch_fn = FUNCTIONS["composite"]
    _, grad, hess = autograd_derivatives(torch_fn, x)
    mixed = (
        J.exp(-J.square(H[..., 0])) * J.cos(L[..., 1] * H[..., 2]) / J.sqrt(1.0 + L[..., 0] ** 2)
    )
    assert mixed.hess is None and mixed.order == 2
    assert_rel(mixed.lap, torch.diagonal(hess, dim1=-2, dim2=-1).sum(-1), 1e-12, "laplacian")
    for combined in (H + L, L * H, H - L, J.cat([H, L]), J.cat([L, H])):
        assert combined.hess is None and combined.order == 2
    # With an order-1 jet the result has order 1.
    low = H * Jet.coordinates(x, order=1)
    assert low.order == 1 and low.hess is None
    assert_rel(low.grad, 2 * x.diag_embed(), 1e-15, "grad of x_i^2")
    assert fn(H).hess is not None


def test_constants_have_zero_derivatives(x):
    X = Jet.coordinates(x, order=2, hessian=True)
    u = X[..., 0:1] * 0.0 + CONST[:, :1]
    assert torch.equal(u.value, CONST[:, :1])
    assert torch.all(u.grad == 0) and torch.all(u.hess == 0)
    c = Jet.constant(torch.tensor(2.5, dtype=DT), like=X)
    assert torch.all(c.value == 2.5) and torch.all(c.grad == 0) and torch.all(c.hess == 0)
    assert_rel((X * c).grad, 2.5 * X.grad, 0.0, "constant jet")


def test_per_channel_vector_constant(x):
    X = Jet.coordinates(x, order=1)
    w = torch.tensor([2.0, 3.0], dtype=DT)
    u = X[..., 0:2] * w
    assert_rel(u.grad, X[..., 0:2].grad * w[:, None], 1e-15, "grad")


def test_constructor_validates():
    v = torch.zeros(4, 2, dtype=DT)
    g = torch.zeros(4, 2, 3, dtype=DT)
    h = torch.zeros(4, 2, 3, 3, dtype=DT)
    with pytest.raises(ValueError, match=r"value must have shape \(B, C\)"):
        Jet(torch.zeros(4, dtype=DT))
    with pytest.raises(ValueError, match=r"value must have shape \(B, C\)"):
        Jet(torch.zeros(4, 2, 1, dtype=DT))
    with pytest.raises(ValueError, match=r"grad must have shape \(B, C, d\)"):
        Jet(v, torch.zeros(4, 3, 3, dtype=DT))
    with pytest.raises(ValueError, match=r"grad must have shape \(B, C, d\)"):
        Jet(v, torch.zeros(5, 2, 3, dtype=DT))
    with pytest.raises(ValueError, match="needs its gradient too"):
        Jet(v, hess=h)
    with pytest.raises(ValueError, match="needs its gradient too"):
        Jet(v, lap=v)
    with pytest.raises(ValueError, match="not both"):
        Jet(v, g, hess=h, lap=v)
    assert Jet(v, g, hess=h).order == 2 and Jet(v, g).order == 1 and Jet(v).order == 0


def test_constructor_validates_second_derivative_shapes():
    v = torch.zeros(4, 2, dtype=DT)
    g = torch.zeros(4, 2, 3, dtype=DT)
    with pytest.raises(ValueError):
        Jet(v, g, hess=torch.zeros(4, 2, 3, dtype=DT))
    with pytest.raises(ValueError):
        Jet(v, g, lap=torch.zeros(4, 3, dtype=DT))


def test_d_and_d2_accessors(x):
    _, grad, hess = autograd_derivatives(FUNCTIONS["composite"][1], x)
    u = FUNCTIONS["composite"][0](Jet.coordinates(x, order=2, hessian=True))
    for i in range(3):
        assert_rel(u.d(i), grad[..., i], 1e-12, f"d({i})")
        for j in range(3):
            assert_rel(u.d2(i, j), hess[..., i, j], 1e-12, f"d2({i}, {j})")
    lap_jet = FUNCTIONS["composite"][0](Jet.coordinates(x, order=2))
    assert_rel(lap_jet.d(1), grad[..., 1], 1e-12, "d(1) of a lap jet")
    with pytest.raises(ValueError, match="no full Hessian; ask for it with hessian=True"):
        lap_jet.d2(0, 0)
    first = Jet.coordinates(x, order=1)
    with pytest.raises(ValueError, match="order 1: it carries no second derivatives"):
        first.d2(0, 1)
    with pytest.raises(ValueError, match="order 1: it carries no second derivatives"):
        _ = first.lap
    with pytest.raises(ValueError, match="order 0: it carries no derivatives"):
        Jet.coordinates(x, order=0).d(0)


def test_indexing_and_operand_errors(x):
    X = Jet.coordinates(x, order=2)
    assert X[..., 1].channels == 1 and X[..., 0:2].channels == 2
    assert torch.equal(X[..., -1].value, x[:, 2:3])
    with pytest.raises(TypeError, match="indexed along its channel axis only"):
        X[0]
    with pytest.raises(TypeError, match="indexed along its channel axis only"):
        X[:, 0]
    with pytest.raises(TypeError, match="takes a number p"):
        X**X
    with pytest.raises(ValueError, match="cannot combine jets over 3 and 2 dimensions"):
        X + Jet.coordinates(x[:, :2], order=2)
    with pytest.raises(ValueError, match="different axes"):
        Jet.coordinates(x, order=2, lap_axes=(0,)) * Jet.coordinates(x, order=2, lap_axes=(1,))
    with pytest.raises(ValueError, match="at least one jet"):
        J.cat([])


def test_detach_and_to(x):
    xr = x.clone().requires_grad_(True)
    u = J.sin(Jet.coordinates(xr, order=2, hessian=True))
    assert u.value.requires_grad
    d = u.detach()
    assert not d.value.requires_grad and not d.hess.requires_grad
    f = u.to(torch.float32)
    assert f.value.dtype == f.grad.dtype == f.hess.dtype == torch.float32


TORCH_ACTIVATIONS = {
    "tanh": torch.tanh,
    "sin": torch.sin,
    "softplus": F.softplus,
    "silu": F.silu,
    "gelu": F.gelu,
    "identity": lambda z: z,
}


def test_every_activation_has_a_reference():
    assert set(TORCH_ACTIVATIONS) == set(ACTIVATIONS)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_derivatives(name):
    z = torch.linspace(-4.0, 4.0, 41, dtype=DT).requires_grad_(True)
    s, s1, s2 = activation_derivatives(name)(z.detach())
    ref = TORCH_ACTIVATIONS[name](z)
    (r1,) = torch.autograd.grad(ref.sum(), z, create_graph=True)
    if r1.requires_grad:
        (r2,) = torch.autograd.grad(r1.sum(), z, allow_unused=True, materialize_grads=True)
    else:
        r2 = torch.zeros_like(z)
    torch.testing.assert_close(s, ref.detach(), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(s1, r1.detach(), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(s2, r2.detach(), rtol=1e-12, atol=1e-14)
    assert s1.abs().max() > 0.5


def test_unknown_activation():
    with pytest.raises(ValueError, match="unknown activation 'relu'; known: gelu"):
        activation_derivatives("relu")
