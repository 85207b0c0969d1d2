"""Least squares by preconditioned CG (``solver="cgls"``): the optimiser against a direct
solve, its column norms and affinity check, and ``sg.solve`` with it (accuracy, refusals,
resume)."""

import pytest
import torch

import smoothgrid as sg
from smoothgrid.problems import make
from smoothgrid.train.losses import Objective
from smoothgrid.train.lstsq import LeastSquaresCG, NotAffineError, affine_defect, column_norms
from smoothgrid.train.settings import Points, SettingsError


def _system(m=60, n=20, seed=0):
    """A tall dense system with columns scaled over six orders of magnitude."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(m, n, generator=g, dtype=torch.float64)
    a = a * torch.logspace(-3, 3, n, dtype=torch.float64)
    b = torch.randn(m, generator=g, dtype=torch.float64)
    return a, b


def _cg_solve(a, b, steps, probes=16):
    x = torch.zeros(a.shape[1], dtype=torch.float64, requires_grad=True)
    opt = LeastSquaresCG([x], probes=probes)
    losses = []
    for _ in range(steps):
        loss = (a @ x - b).square().sum()
        losses.append(float(loss.detach()))
        opt.zero_grad()
        loss.backward()
        opt.step(lambda: a @ x - b)
    return x.detach(), losses


def test_cg_matches_a_direct_solve_on_a_badly_scaled_system():
    a, b = _system()
    exact = torch.linalg.lstsq(a, b.unsqueeze(1)).solution.squeeze(1)
    x, losses = _cg_solve(a, b, steps=40)
    assert torch.allclose(x, exact, rtol=1e-8, atol=1e-12)
    # CGLS minimises |r| over growing Krylov spaces: the loss never increases
    assert all(later <= earlier * (1 + 1e-12) for earlier, later in zip(losses, losses[1:]))


def test_without_the_column_scales_the_same_steps_fall_far_short():
    """What the preconditioner buys: equal scales (one probe of an orthogonal design would
    not do; here the scales are set to 1 by hand) leave the solution far off after 40 steps."""
    a, b = _system()
    exact = torch.linalg.lstsq(a, b.unsqueeze(1)).solution.squeeze(1)
    x = torch.zeros(a.shape[1], dtype=torch.float64, requires_grad=True)
    opt = LeastSquaresCG([x])
    for _ in range(40):
        loss = (a @ x - b).square().sum()
        opt.zero_grad()
        loss.backward()
        if opt.state[x]:
            opt.state[x]["scale"].fill_(1.0)
        opt.step(lambda: a @ x - b)
        opt.state[x]["scale"].fill_(1.0)
    assert (x.detach() - exact).norm() > 1e-2 * exact.norm()


def test_column_norms_estimate_the_exact_ones():
    a, _ = _system()
    x = torch.zeros(a.shape[1], dtype=torch.float64, requires_grad=True)
    g = torch.Generator().manual_seed(1)
    (estimate,) = column_norms(lambda: a @ x, [x], probes=800, generator=g)
    exact = a.square().sum(0)
    # relative standard deviation sqrt(2 / 800) = 5 % per entry: 25 % is five of them
    assert torch.allclose(estimate, exact, rtol=0.25)


def test_affine_defect_is_rounding_for_affine_and_order_one_for_nonlinear():
    a, b = _system()
    x = torch.zeros(a.shape[1], dtype=torch.float64)
    g = torch.Generator().manual_seed(2)
    assert affine_defect(lambda: a @ x - b, [x], g) < 1e-12
    y = torch.zeros(a.shape[1], dtype=torch.float64)
    assert affine_defect(lambda: torch.tanh(a @ y / 1e3), [y], g) > 1e-2
    assert torch.equal(x, torch.zeros_like(x))  # parameters left as they were


def _hermite_field(max_res=16, levels=3, hidden=()):
    enc = sg.encodings.make(
        "hermite", dim=2, levels=levels, features=1, min_res=4, max_res=max_res, log2_table=20
    )
    return sg.Field(enc, hidden=list(hidden), out=1)


def test_residual_vector_squares_to_the_loss():
    problem = make("poisson2d")
    torch.manual_seed(0)
    field = _hermite_field()
    field.set_bounds(*problem.domain.bounds)  # no constraint: the boundary term is in the loss
    objective = Objective(problem, field, Points(batch=256, weights={"dirichlet": 3.0}))
    samples = objective.sample(torch.Generator().manual_seed(0))
    loss, terms = objective.loss_and_terms(samples)
    assert len(terms) == 2
    r = objective.residual_vector(samples)
    assert torch.allclose(r.square().sum(), loss, rtol=1e-5)


def test_cgls_solve_reaches_the_grid_floor_where_adam_does_not():
    """Helmholtz (1, 1) on three Hermite levels up to 16 cells, a linear read-out, float64,
    6,400 fixed points (4 per unknown): 60 CG steps against 60 Adam steps of the same points
    (measured 2.4e-4 against 0.9)."""
    problem = make("helmholtz2d", a1=1, a2=1)
    errors = {}
    for solver in ("cgls", "adam"):
        torch.manual_seed(0)
        field = _hermite_field()
        result = sg.solve(problem, field, steps=60, batch=6400, solver=solver, dtype="float64",
                          eval_every=20, progress=False)  # fmt: skip
        errors[solver] = result.metrics["rel_l2"]
        if solver == "cgls":
            losses = [row["loss"] for row in result.history]
            assert all(b <= a * (1 + 1e-9) for a, b in zip(losses, losses[1:]))
    assert errors["cgls"] < 1e-3, errors
    assert errors["adam"] > 10 * errors["cgls"], errors


def test_cgls_refuses_a_nonlinear_decoder_and_what_it_cannot_take():
    problem = make("helmholtz2d", a1=1, a2=1)
    with pytest.raises(NotAffineError, match="hidden=\\[\\]"):
        sg.solve(problem, _hermite_field(hidden=(8,)), steps=2, batch=256, solver="cgls",
                 progress=False)  # fmt: skip
    with pytest.raises(SettingsError, match="curriculum"):
        sg.solve(problem, _hermite_field(), steps=2, batch=256, solver="cgls",
                 curriculum="coarse_to_fine", progress=False)  # fmt: skip
    with pytest.raises(SettingsError, match="solver"):
        sg.solve(problem, _hermite_field(), steps=2, solver="lbfgs", progress=False)


def test_cgls_resume_continues_the_uninterrupted_run(tmp_path):
    problem = make("helmholtz2d", a1=1, a2=1)
    options = {"batch": 2048, "solver": "cgls", "dtype": "float64", "eval_every": 4,
               "checkpoint_every": 4, "progress": False}  # fmt: skip
    torch.manual_seed(0)
    whole = sg.solve(problem, _hermite_field(), steps=12, **options)
    torch.manual_seed(0)
    sg.solve(problem, _hermite_field(), steps=8, out=tmp_path, **options)
    torch.manual_seed(1)  # a different start: the checkpoint must replace it
    resumed = sg.solve(problem, _hermite_field(), steps=12, out=tmp_path, resume=True, **options)
    assert resumed.metrics["rel_l2"] == pytest.approx(whole.metrics["rel_l2"], rel=1e-9)


def test_the_a10_residual_command_uses_least_squares():
    """``smoothgrid solve helmholtz2d --set problem.a1=10 --set problem.a2=10 --set
    problem.formulation=residual`` builds a linear read-out on seven dense Hermite levels and
    solves with CG over a three-node Gauss rule per finest cell; the (1, 4) default keeps Adam
    and its MLP."""
    from smoothgrid.cli.config import build_config
    from smoothgrid.cli.solve import build_field

    sets = ["problem.a1=10", "problem.a2=10", "problem.formulation=residual"]
    problem, config = build_config("helmholtz2d", sets=sets)
    assert (config["solver"], config["dtype"], config["quadrature"]) == ("cgls", "float64", 3)
    field = build_field(problem, config)
    assert len(field.decoder.layers) == 1  # one linear map: the read-out
    assert field.encoding.resolutions[-1] == 256 and config["batch"] == 768**2
    _, default = build_config("helmholtz2d")
    assert default.get("solver", "adam") == "adam"
