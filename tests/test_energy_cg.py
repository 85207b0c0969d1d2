"""Conjugate gradients on a quadratic energy (``solver="cg"``): the optimiser against a direct
solve, its refusals, and ``sg.solve`` of the Helmholtz energy (the Galerkin solution, its order
of convergence, the strong form's least squares beside it)."""

import pytest
import torch

import smoothgrid as sg
from smoothgrid.problems import make
from smoothgrid.train.energy_cg import EnergyCG, NotQuadraticError, gradient_defect
from smoothgrid.train.settings import SettingsError


def _quadratic(n=20, seed=0):
    """``E(x) = |B x|^2 / 2 - f . x`` with ``B``'s columns scaled over six decades."""
    g = torch.Generator().manual_seed(seed)
    b = torch.randn(2 * n, n, generator=g, dtype=torch.float64)
    b = b * torch.logspace(-3, 3, n, dtype=torch.float64)
    f = torch.randn(n, generator=g, dtype=torch.float64)
    return b, f


def _cg(b, f, steps, energy=None, principal=None):
    x = torch.zeros(b.shape[1], dtype=torch.float64, requires_grad=True)
    energy = energy or (lambda: 0.5 * (b @ x).square().sum() - f @ x)
    principal = principal or (lambda: b @ x)
    opt = EnergyCG([x])
    values = []
    for _ in range(steps):
        loss = energy()
        values.append(float(loss.detach()))
        opt.zero_grad()
        loss.backward()
        opt.step(energy, principal)
    return x.detach(), values


def test_cg_matches_a_direct_solve_on_a_badly_scaled_energy():
    b, f = _quadratic()
    exact = torch.linalg.solve(b.T @ b, f)
    x, values = _cg(b, f, steps=30)
    assert torch.allclose(x, exact, rtol=1e-7, atol=1e-12)
    # CG minimises the energy over growing Krylov spaces: it never increases
    assert all(later <= earlier + 1e-9 * abs(earlier) for earlier, later in zip(values, values[1:]))


def test_gradient_defect_and_refusals_of_what_is_not_a_convex_quadratic():
    x = torch.ones(5, dtype=torch.float64, requires_grad=True)
    g = torch.Generator().manual_seed(0)
    assert gradient_defect(lambda: (x * x).sum(), [x], g) < 1e-12
    assert gradient_defect(lambda: x.pow(4).sum(), [x], g) > 1e-2
    z = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    quartic = lambda: z.pow(4).sum() - z.sum()  # noqa: E731
    with pytest.raises(NotQuadraticError, match="not quadratic"):
        _step(z, quartic)
    y = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    with pytest.raises(NotQuadraticError, match="not convex"):
        _step(y, lambda: -0.5 * y.square().sum() - y.sum())


def _step(param, energy):
    opt = EnergyCG([param])
    energy().backward()
    opt.step(energy, lambda: param * 1.0)


def _hermite(levels: int, cells: int, hidden=()) -> sg.Field:
    torch.manual_seed(0)
    enc = sg.encodings.make("hermite", dim=2, levels=levels, features=1, min_res=4,
                            max_res=cells, log2_table=12)  # fmt: skip
    return sg.Field(enc, hidden=list(hidden), out=1)


def test_the_galerkin_solution_converges_like_h4():
    """helmholtz2d_energy (2, 2) on Hermite levels to 8 and to 16 cells, a three-node Gauss rule
    per finest cell, 60 CG steps: the finite-element solution of each basis (measured 9.2e-3
    and 4.4e-4: a factor 21, h^4 gives 16), the energy never increasing."""
    problem = make("helmholtz2d_energy", a1=2, a2=2)
    errors = {}
    for levels, cells in ((2, 8), (3, 16)):
        result = sg.solve(problem, _hermite(levels, cells), steps=60, batch=(3 * cells) ** 2,
                          quadrature=3, solver="cg", dtype="float64", eval_every=10,
                          progress=False)  # fmt: skip
        errors[cells] = result.metrics["rel_l2"]
        energies = [row["loss"] for row in result.history]
        assert all(b <= a + 1e-9 * abs(a) for a, b in zip(energies, energies[1:]))
    assert errors[16] < 6e-4, errors
    assert errors[8] > 10 * errors[16], errors


def test_solver_cg_refuses_a_residual_problem_and_a_nonlinear_decoder():
    with pytest.raises(SettingsError, match="not in energy form"):
        sg.solve(make("helmholtz2d"), _hermite(2, 8), steps=1, solver="cg", progress=False)
    with pytest.raises(NotQuadraticError, match="hidden=\\[\\]"):
        sg.solve(make("helmholtz2d_energy"), _hermite(2, 8, hidden=(8,)), steps=2, batch=576,
                 quadrature=3, solver="cg", dtype="float64", progress=False)  # fmt: skip
    with pytest.raises(ValueError, match="eigenvalue"):
        make("helmholtz2d_energy", k=3.0)
    with pytest.raises(ValueError, match="integer"):
        make("helmholtz2d_energy", a1=1.5)


def test_the_plain_a10_command_solves_the_energy_by_cg():
    """``smoothgrid solve helmholtz2d --set problem.a1=10 --set problem.a2=10``: the energy form
    (the same exact solution and test grid), six dense Hermite levels to 128 cells, a linear
    read-out, CG over a three-node Gauss rule in each finest cell."""
    from smoothgrid.cli.config import build_config
    from smoothgrid.cli.solve import build_field

    problem, config = build_config("helmholtz2d", sets=["problem.a1=10", "problem.a2=10"])
    assert problem.name == "helmholtz2d" and problem.energy is not None
    twin = make("helmholtz2d", a1=10, a2=10, formulation="residual")
    x = problem.test_points()
    assert torch.equal(problem.reference(x[:50]), twin.reference(x[:50]))
    assert (config["solver"], config["dtype"], config["quadrature"]) == ("cg", "float64", 3)
    field = build_field(problem, config)
    assert len(field.decoder.layers) == 1 and field.encoding.resolutions[-1] == 128
    assert config["batch"] == (3 * 128) ** 2
    with pytest.raises(ValueError, match="formulation"):
        make("helmholtz2d", formulation="weak")
