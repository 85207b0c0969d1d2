"""Field = encoding + jet-aware MLP: the three derivative methods agree, errors are clear."""

from __future__ import annotations

import pytest
import torch
from conftest import DTYPE, GRID, autograd_derivatives, randomize_tables, rel_err

import smoothgrid as sg
from smoothgrid.encodings.contract import gather_contract, gather_contract_reference

SMOOTH = ["smoothstep", "cosine", "quintic", "rbf", "hermite"]


def make_field(name, dim, gen, activation="tanh", constraint=None, out=2, fd_cells=None, **options):
    enc = sg.encodings.make(name, dim=dim, log2_table=6, bounds=(-1.0, 1.0), **GRID, **options)
    field = sg.Field(
        enc,
        hidden=(16, 16),
        out=out,
        activation=activation,
        constraint=constraint,
        fd_cells=fd_cells,
    )
    field = field.to(DTYPE)
    randomize_tables(field.encoding, gen, scale=0.5)
    return field


def points(n, dim, gen, margin=0.95):
    return (torch.rand(n, dim, generator=gen, dtype=DTYPE) * 2 - 1) * margin


@pytest.mark.parametrize("name", sg.encodings.names())
@pytest.mark.parametrize("dim", [1, 2, 3])
def test_field_jet_matches_autograd(name, dim, gen):
    field = make_field(name, dim, gen)
    x = points(12, dim, gen)
    value, grad, hess = autograd_derivatives(field, x)
    u = field.jet(x, order=2, hessian=True)
    lap = field.jet(x, order=2).lap
    assert rel_err(u.value, value) <= 1e-12
    assert rel_err(u.grad, grad) <= 1e-9
    assert rel_err(u.hess, hess) <= 1e-9
    assert rel_err(lap, torch.diagonal(hess, dim1=-2, dim2=-1).sum(-1)) <= 1e-9


@pytest.mark.parametrize("activation", sorted(sg.jet.ACTIVATIONS))
def test_every_activation_pushes_jets_exactly(activation, gen):
    field = make_field("hermite", 2, gen, activation=activation)
    x = points(10, 2, gen)
    _, grad, hess = autograd_derivatives(field, x)
    u = field.jet(x, order=2, hessian=True)
    assert rel_err(u.grad, grad) <= 1e-9
    assert rel_err(u.hess, hess) <= 1e-9


@pytest.mark.parametrize("name", SMOOTH)
@pytest.mark.parametrize("hessian", [False, True])
def test_backends_agree(name, hessian, gen):
    """jet == autograd to round-off; fd to the accuracy its step allows."""
    field = make_field(name, 2, gen)
    x = points(16, 2, gen)
    jet = field.jet(x, order=2, hessian=hessian, derivatives="jet")
    ref = field.jet(x, order=2, hessian=hessian, derivatives="autograd")
    fd = field.jet(x, order=2, hessian=hessian, derivatives="fd", fd_step=1e-4)
    second = (lambda j: j.hess) if hessian else (lambda j: j.lap)
    assert rel_err(jet.grad, ref.grad) <= 1e-9
    assert rel_err(second(jet), second(ref)) <= 1e-9
    assert rel_err(fd.grad, ref.grad) <= 1e-5  # O(h^2 u''') with h = 1e-4, N = 12 cells
    # Second differences lose ~8 digits to cancellation and jump where a stencil crosses a face.
    assert rel_err(second(fd), second(ref)) <= 1e-2


@pytest.mark.parametrize(
    "dtype,grad_tol,lap_tol", [(torch.float32, 1e-3, 5e-2), (torch.float64, 1e-9, 1e-4)]
)
def test_fd_default_step_agrees_with_the_jet(dtype, grad_tol, lap_tol, gen):
    """On a C2 (quintic) field the default steps eps^(1/3) and eps^(1/4) cells leave errors
    near the round-off optimum: a step ten times larger or smaller, or one cell, does worse."""
    field = make_field("quintic", 2, gen)
    x = points(400, 2, gen)
    exact = field.jet(x, order=2)
    test = field.to(dtype)
    fd = test.jet(x.to(dtype), order=2, derivatives="fd")
    assert rel_err(fd.grad.double(), exact.grad) <= grad_tol
    assert rel_err(fd.lap.double(), exact.lap) <= lap_tol
    cell = test.encoding.cell_size()
    one_cell = test.jet(x.to(dtype), order=2, derivatives="fd", fd_step=cell)
    assert rel_err(one_cell.grad.double(), exact.grad) > 0.1
    for factor in (10.0, 0.1):
        steps = [sg.field.default_fd_step(cell, dtype, k) * factor for k in (1, 2)]
        first, second = (test.jet(x.to(dtype), 2, derivatives="fd", fd_step=h) for h in steps)
        assert rel_err(first.grad.double(), exact.grad) > rel_err(fd.grad.double(), exact.grad)
        assert rel_err(second.lap.double(), exact.lap) > rel_err(fd.lap.double(), exact.lap)


def test_fd_cells_fixes_the_step_to_the_finest_active_cell(gen):
    field = make_field("hermite", 2, gen, fd_cells=1.0)
    assert torch.allclose(field.encoding.cell_size(), torch.full((2,), 2.0 / 12, dtype=DTYPE))
    field.encoding.set_level_mask([True, True, False])
    assert torch.allclose(field.encoding.cell_size(), torch.full((2,), 2.0 / 6, dtype=DTYPE))
    x = points(8, 2, gen)
    default = field.jet(x, order=2, derivatives="fd")
    explicit = field.jet(x, order=2, derivatives="fd", fd_step=2.0 / 6)
    assert torch.equal(default.grad, explicit.grad) and torch.equal(default.lap, explicit.lap)
    assert field.config()["field"]["fd_cells"] == 1.0
    assert sg.baselines.make("ingp_fd", dim=2).fd_cells == 1.0  # Neuralangelo's step
    with pytest.raises(ValueError, match="fd_cells must be > 0"):
        make_field("hermite", 2, gen, fd_cells=0.0)


def test_hard_constraint_holds_on_the_boundary(gen):
    constraint = sg.HardConstraint(
        lambda X: (1 - X[..., 0] ** 2) * (1 - X[..., 1] ** 2),
        lambda X: sg.jet.sin(X[..., 0]) * X[..., 1],
    )
    field = make_field("hermite", 2, gen, constraint=constraint, out=1)
    t = torch.rand(20, generator=gen, dtype=DTYPE) * 2 - 1
    edge = torch.stack([torch.ones_like(t), t], 1)
    assert torch.allclose(field(edge), torch.sin(edge[:, :1]) * edge[:, 1:], atol=1e-14)
    x = points(10, 2, gen)
    _, grad, hess = autograd_derivatives(field, x)
    u = field.jet(x, order=2, hessian=True)
    assert rel_err(u.grad, grad) <= 1e-9
    assert rel_err(u.hess, hess) <= 1e-9


def test_training_gradients_match_between_jet_and_autograd(gen):
    """A loss on jet derivatives gives the same parameter gradients as double backward."""
    field = make_field("hermite", 2, gen, out=1)
    x = points(32, 2, gen)
    grads = {}
    for derivatives in ("jet", "autograd"):
        field.zero_grad()
        u = field.jet(x, order=2, derivatives=derivatives)
        (u.lap + u.value).square().mean().backward()
        grads[derivatives] = [p.grad.clone() for p in field.parameters()]
    for a, b in zip(grads["jet"], grads["autograd"]):
        assert rel_err(a, b) <= 1e-9


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_gather_contract_kernel_matches_reference(dtype, gen):
    table = torch.randn(50, 4, 3, generator=gen, dtype=dtype).requires_grad_()
    rows = torch.randint(0, 50, (4, 300), generator=gen)
    weights = torch.randn(5, 4, 4, 300, generator=gen, dtype=dtype)
    fast, ref = (
        gather_contract(table, rows, weights),
        gather_contract_reference(table, rows, weights),
    )
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    assert rel_err(fast, ref) <= tol
    grad_out = torch.randn(fast.shape, generator=gen, dtype=dtype)
    (g_fast,) = torch.autograd.grad(fast, table, grad_out)
    (g_ref,) = torch.autograd.grad(ref, table, grad_out)
    assert rel_err(g_fast, g_ref) <= tol


def test_field_rejects_bad_input(gen):
    field = make_field("hermite", 2, gen)
    x = points(4, 2, gen)
    with pytest.raises(ValueError, match="unknown derivative method 'jets'"):
        field.jet(x, derivatives="jets")
    with pytest.raises(ValueError, match="order must be 0, 1 or 2"):
        field.jet(x, order=3)
    with pytest.raises(TypeError, match="must be a smoothgrid encoding"):
        sg.Field(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="outside"):
        field.jet(x + 3.0, derivatives="fd")
    with pytest.raises(ValueError, match="unknown activation 'relu'"):
        sg.Field(field.encoding, activation="relu")


def test_siren_initialisation_bounds():
    mlp = sg.MLP(8, hidden=(32, 32), out=1, activation="sin", omega0=30.0)
    first, second = mlp.layers[0].weight, mlp.layers[1].weight
    assert first.abs().max() <= 1.0 / 8
    assert second.abs().max() <= (6.0 / 32) ** 0.5 / 30.0
    assert second.abs().max() > 0.5 * (6.0 / 32) ** 0.5 / 30.0
