"""The problem zoo: exact solutions satisfy residuals and conditions, hard constraints hold,
test grids, the finite-difference reference and the registry."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

import smoothgrid as sg
import smoothgrid.problems as P
from smoothgrid.jet import Jet, linear, sin
from smoothgrid.problems.heat import bumps
from smoothgrid.problems.kirchhoff_love import autograd_laplacian
from smoothgrid.problems.reference import DiffusionReference

F64 = torch.float64
PROBLEMS = {
    name: P.make(name, **({"fd_cells": 64} if name == "nonlinear_heat" else {}))
    for name in P.names()
}
WITH_EXACT = [n for n, p in PROBLEMS.items() if p.exact is not None]
JET_PROBLEMS = [n for n in WITH_EXACT if PROBLEMS[n].order <= 2 and PROBLEMS[n].residual]
CONSTRAINED = [n for n, p in PROBLEMS.items() if p.constraint is not None]


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def autograd_jet(f, x: torch.Tensor, problem: P.Problem, order: int) -> Jet:
    """Jet of ``f: (N, d) -> (N, C)`` at ``x`` by autograd, in the form ``problem`` asks for."""
    x = x.detach().clone().requires_grad_(True)
    value = f(x)
    if order == 0:
        return Jet(value.detach())
    grads, hessians = [], []
    for c in range(value.shape[1]):
        (g,) = torch.autograd.grad(value[:, c].sum(), x, create_graph=True)
        grads.append(g.detach())
        if order == 2:
            rows = [
                torch.autograd.grad(g[:, i].sum(), x, retain_graph=True)[0]
                for i in range(x.shape[1])
            ]
            hessians.append(torch.stack(rows, 1))
    grad = torch.stack(grads, 1)
    if order == 1:
        return Jet(value.detach(), grad)
    hess = torch.stack(hessians, 1)
    if problem.hessian:
        return Jet(value.detach(), grad, hess=hess, lap_axes=problem.lap_axes)
    axes = list(range(x.shape[1])) if problem.lap_axes is None else list(problem.lap_axes)
    lap = hess.diagonal(dim1=-2, dim2=-1)[..., axes].sum(-1)
    return Jet(value.detach(), grad, lap=lap, lap_axes=problem.lap_axes)


def residuals(problem: P.Problem, x: torch.Tensor, u) -> dict[str, torch.Tensor]:
    r = problem.residual(x, u)
    return r if isinstance(r, dict) else {"residual": r}


def term_scale(problem: P.Problem, x: torch.Tensor, u: Jet, eta: float = 1e-3) -> dict:
    """Per residual, ``max |d r / d log(entry)|`` over every entry of the jet's parts: the size of
    the terms the residual combines, so sign or scaling errors stand far above round-off."""
    base = residuals(problem, x, u)
    scale = dict.fromkeys(base, 0.0)
    parts = {"value": u.value, "grad": u.grad, "hess": u.hess, "lap": u._lap}
    for name, part in parts.items():
        if part is None:
            continue
        for idx in itertools.product(*[range(s) for s in part.shape[1:]]):
            bumped = dict(parts, **{name: part.clone()})
            bumped[name][(slice(None), *idx)] *= 1 + eta
            jet = Jet(bumped["value"], bumped["grad"], bumped["hess"], bumped["lap"], u.lap_axes)
            for k, r in residuals(problem, x, jet).items():
                scale[k] = max(scale[k], ((r - base[k]).abs() / eta).max().item())
    return scale


def wiggle(x: torch.Tensor) -> torch.Tensor:
    """A smooth function that solves none of the equations."""
    return 0.1 * torch.sin(1.3 * x.sum(1, keepdim=True) + 0.4) * (1 + x[:, :1] ** 2)


@pytest.mark.parametrize("name", JET_PROBLEMS)
def test_exact_solution_satisfies_residual(name):
    problem = PROBLEMS[name]
    x = problem.domain.sample_interior(64, gen(1), dtype=F64)
    u = autograd_jet(problem.exact, x, problem, problem.order)
    scale = term_scale(problem, x, u)
    for key, r in residuals(problem, x, u).items():
        assert r.shape[0] == 64 and r.dim() == 2
        assert scale[key] > 0, key
        assert r.abs().max().item() <= 1e-11 * scale[key], (key, r.abs().max().item(), scale)
    # the same check rejects a function that is not a solution
    wrong = autograd_jet(lambda p: problem.exact(p) + wiggle(p), x, problem, problem.order)
    worst = max(r.abs().max().item() / scale[k] for k, r in residuals(problem, x, wrong).items())
    assert worst > 1e-4


def test_kirchhoff_love_fourth_order_by_autograd():
    problem = P.make("kirchhoff_love", formulation="biharmonic")
    assert problem.order == 4 and problem.outputs == ("w",)
    x = problem.domain.sample_interior(64, gen(2), dtype=F64)
    r = problem.residual(x, problem.exact)
    assert r.shape == (64, 1) and r.abs().max() < 1e-12
    assert problem.residual(x, lambda p: problem.exact(p) + wiggle(p)).abs().max() > 1e-3
    # autograd_laplacian on a known function: lap (x^2 y^3) = 2 y^3 + 6 x^2 y
    p = x.clone().requires_grad_(True)
    lap = autograd_laplacian(p[:, :1] ** 2 * p[:, 1:] ** 3, p)
    expected = 2 * x[:, 1:] ** 3 + 6 * x[:, :1] ** 2 * x[:, 1:]
    assert torch.allclose(lap, expected, atol=1e-13)
    stiff = P.make("kirchhoff_love", D=2.0, q0=3.0, formulation="biharmonic")
    assert stiff.residual(x, stiff.exact).abs().max() < 1e-11
    # the residual is scaled by 1 / q0: a zero plate gives -sin(pi x) sin(pi y) for any q0
    q = torch.sin(math.pi * x[:, :1]) * torch.sin(math.pi * x[:, 1:])
    zero = stiff.residual(x, lambda p: 0.0 * p[:, :1] * p[:, 1:] ** 4)
    assert torch.allclose(zero, -q, atol=1e-14)
    for cond in stiff.conditions:
        batch = cond.sample(stiff.domain, 48, gen(4), dtype=F64)
        r = cond.residual(batch, lambda p, c=cond: autograd_jet(stiff.exact, p, stiff, c.order))
        assert r.abs().max() < 1e-12


@pytest.mark.parametrize(("D", "q0"), [(1.0, 1.0), (2.0, 3.0)])
def test_kirchhoff_love_mixed_formulation(D, q0):
    problem = P.make("kirchhoff_love", D=D, q0=q0)
    assert problem.order == 2 and problem.outputs == ("w", "m") and problem.error_outputs == (0,)
    x = problem.domain.sample_interior(64, gen(11), dtype=F64)
    amplitude = q0 / (4 * math.pi**4 * D)
    s = torch.sin(math.pi * x[:, :1]) * torch.sin(math.pi * x[:, 1:])
    exact = problem.exact(x)
    assert torch.allclose(exact[:, :1], amplitude * s, atol=1e-15)
    # m is lap w, by autograd on the exact w alone
    w_jet = autograd_jet(lambda p: problem.exact(p)[:, :1], x, problem, 2)
    assert torch.allclose(exact[:, 1:], w_jet.lap, rtol=1e-12, atol=1e-15)
    # each residual is of order one on the exact mode's parts (the scalings) and zero on it
    r = residuals(problem, x, autograd_jet(problem.exact, x, problem, 2))
    assert set(r) == {"plate", "moment"}
    assert all(v.shape == (64, 1) and v.abs().max() < 1e-12 for v in r.values())
    scale = term_scale(problem, x, autograd_jet(problem.exact, x, problem, 2))
    assert all(0.5 < v < 2.0 for v in scale.values()), scale
    # the constraint's factor at the centre is (W, M): decoder outputs of order one
    centre = torch.tensor([[0.5, 0.5]], dtype=F64)
    factor = problem.constraint.factor(Jet.coordinates(centre, order=0)).value
    expected = torch.tensor([[amplitude, 2 * math.pi**2 * amplitude]], dtype=F64)
    assert torch.allclose(factor, expected)


def test_kirchhoff_love_hard_constraint_zeroes_both_outputs_of_a_field():
    problem = PROBLEMS["kirchhoff_love"]
    torch.manual_seed(0)
    enc = sg.encodings.make("hermite", dim=2, levels=3, min_res=4, max_res=16, log2_table=10)
    field = sg.Field(enc, hidden=(16,), out=2, constraint=problem.constraint)
    field.set_bounds(*problem.domain.bounds)
    field.to(F64)
    xb, _ = problem.domain.sample_boundary(200, gen(12), dtype=F64)
    assert field.jet(xb, order=2).value.abs().max() < 1e-15
    inside = field(problem.domain.sample_interior(200, gen(13), dtype=F64))
    assert inside.shape == (200, 2) and (inside.abs().amax(0) > 1e-6).all()


def test_kirchhoff_love_unknown_formulation():
    with pytest.raises(ValueError, match="unknown formulation 'plate'.*mixed, biharmonic"):
        P.make("kirchhoff_love", formulation="plate")


def test_nonlinear_heat_residual_on_a_manufactured_solution():
    # u = (x^2 + y^2) / (2 - 0.4 t) solves u_t = 0.05 (|grad u|^2 + u lap u)
    problem = PROBLEMS["nonlinear_heat"]
    x = problem.domain.sample_interior(64, gen(3), dtype=F64)

    def u(p):
        return (p[:, :1] ** 2 + p[:, 1:2] ** 2) / (2 - 0.4 * p[:, 2:3])

    jet = autograd_jet(u, x, problem, 2)
    assert problem.residual(x, jet).abs().max() < 1e-13
    assert problem.residual(x, autograd_jet(lambda p: 2 * u(p), x, problem, 2)).abs().max() > 1e-2


@pytest.mark.parametrize("name", WITH_EXACT)
def test_conditions_hold_on_exact_solution(name):
    problem = PROBLEMS[name]
    for cond in problem.conditions:
        if isinstance(cond, P.BoundaryEnergy):  # an integral, tested in test_energy_problems
            continue
        batch = cond.sample(problem.domain, 48, gen(4), dtype=F64)
        assert problem.domain.contains(batch["x"], tol=1e-12).all()
        r = cond.residual(batch, lambda p, c=cond: autograd_jet(problem.exact, p, problem, c.order))
        assert r.abs().max() < 1e-12, (cond, r.abs().max())


def network(x_jet: Jet, channels: int) -> Jet:
    """An arbitrary smooth 'network output' N(x) as a jet."""
    g = gen(5)
    w = torch.randn(channels, x_jet.channels, generator=g, dtype=F64)
    b = torch.randn(channels, generator=g, dtype=F64)
    return sin(linear(x_jet, w, b)) + 0.5


@pytest.mark.parametrize("name", CONSTRAINED)
def test_hard_constraint_enforces_its_conditions(name):
    problem = PROBLEMS[name]
    hard = [c for c in problem.conditions if c.hard]
    assert hard, "a ready-made constraint enforces at least one condition"

    def constrained(p: torch.Tensor) -> Jet:
        X = Jet.coordinates(p, order=2, hessian=problem.hessian, lap_axes=problem.lap_axes)
        return problem.constraint(X, network(X, len(problem.outputs)))

    for cond in hard:
        batch = cond.sample(problem.domain, 64, gen(6), dtype=F64)
        assert cond.residual(batch, constrained).abs().max() < 1e-12, cond
    x = problem.domain.sample_interior(64, gen(7), dtype=F64)
    u = constrained(x)
    assert u.channels == len(problem.outputs) and u.value.abs().max() > 1e-3
    if problem.exact is not None:  # the network output matters inside the domain
        assert (u.value - problem.exact(x)).abs().max() > 1e-3


@pytest.mark.parametrize("k", [1.0, 2.5])
def test_klein_gordon_constraint_holds_for_a_random_field_and_stays_of_order_one(k):
    problem = P.make("klein_gordon", k=k)
    torch.manual_seed(0)
    enc = sg.encodings.make("hermite", dim=3, levels=3, min_res=2, max_res=8, init_scale=0.5)
    field = sg.Field(enc, hidden=(16,), constraint=problem.constraint)
    field.set_bounds(*problem.domain.bounds)
    field.to(F64)
    x0 = problem.domain.sample_initial(256, gen(11), dtype=F64)
    u = field.jet(x0, order=2, hessian=True)
    xs, ys = x0[:, :1], x0[:, 1:2]
    assert torch.allclose(u.value, xs + ys, rtol=0, atol=1e-14)  # u(0) = x + y
    assert torch.allclose(u.d(2), k * xs * ys, rtol=0, atol=1e-14)  # u_t(0) = k x y
    assert u.d2(2, 2).abs().max() > 1e-3  # u_tt(0) is the network's
    # N = (u* - offset) / factor, the network output the exact solution asks for, is of the
    # size of u* over the whole window (t^2 N needed N ~ 1e-2 at t = 10).
    x = problem.domain.grid((9, 9, 201))
    x = x[x[:, 2] > 0]
    X = Jet.coordinates(x, order=0)
    n = (problem.exact(x) - problem.constraint.offset(X).value) / problem.constraint.factor(X).value
    late = x[:, 2] > 5
    assert n.abs().max() < 8 and n[late].abs().max() > 0.5


def test_boundary_factors_of_zero_dirichlet_problems_vanish():
    for name in ("poisson2d", "helmholtz2d", "helmholtz3d", "kirchhoff_love"):
        problem = PROBLEMS[name]
        xb, _ = problem.domain.sample_boundary(100, gen(8), dtype=F64)
        factor = problem.constraint.factor(Jet.coordinates(xb, order=0))
        assert factor.value.abs().max() < 1e-14
        assert problem.exact(xb).abs().max() < 1e-13


def test_non_integer_modes_leave_the_boundary_data_as_a_loss():
    problem = P.make("helmholtz2d", a1=1.5, a2=2)
    assert problem.constraint is None and not any(c.hard for c in problem.conditions)


EXPECTED_GRIDS = {
    "poisson2d": (256**2, 2),
    "helmholtz2d": (256**2, 2),
    "helmholtz3d": (64**3, 3),
    "helmholtz2d_energy": (256**2, 2),
    "helmholtz3d_energy": (64**3, 3),
    "convection": (256 * 100, 2),
    "heat": (64**3, 3),
    "nonlinear_heat": (65 * 65 * 51, 3),
    "flow_mixing": (50**3, 3),
    "advection2d": (50**3, 3),
    "klein_gordon": (64**3, 3),
    "taylor_green": (64**3, 3),
    "kirchhoff_love": (64**2, 2),
    "kirchhoff_love_energy": (64**2, 2),
    "poisson2d_energy": (256**2, 2),
    "poisson_neumann": (128**2, 2),
    "poisson_neumann_energy": (128**2, 2),
    "poisson_mesh": (256822, 3),  # 65^3 nodes less the 17803 inside the blob
}


@pytest.mark.parametrize("name", P.names())
def test_test_points_and_metadata(name):
    problem = PROBLEMS[name]
    x = problem.test_points()
    assert tuple(x.shape) == EXPECTED_GRIDS[name] and x.dtype == F64
    assert problem.domain.contains(x).all()
    assert problem.dim == x.shape[1]
    channels = len(problem.outputs)
    assert all(0 <= c < channels for c in problem.error_outputs or ())
    assert all(0 <= a < problem.dim for a in problem.periodic)
    sugg = problem.suggested
    assert {"encoding_name", "encoding", "hidden", "batch", "lr", "decoder_lr"} <= set(sugg)
    if problem.exact is not None:
        assert problem.reference(x[:100]).shape == (100, channels)


@pytest.mark.parametrize("name", P.names())
def test_suggested_field_and_settings_fit_the_problem_and_solve(name):
    problem = PROBLEMS[name]
    field = P.suggested_field(problem)
    s = problem.suggested
    assert field.encoding.dim == problem.dim and field.encoding.name == s["encoding_name"]
    assert set(problem.periodic) <= set(field.encoding.periodic)
    assert not field.encoding.has_bounds  # sg.solve gives it the problem's box
    x = torch.zeros(3, problem.dim)
    field.set_bounds(*problem.domain.bounds)
    assert field(x + torch.tensor(problem.domain.bounds[0])).shape == (3, len(problem.outputs))
    settings = P.suggested_settings(problem)
    assert set(settings) <= set(sg.train.SOLVE_KEYS) and "steps" not in settings
    assert settings["batch"] == s["batch"] and settings["lr"] == s["lr"]


def test_flow_mixing_avoids_and_survives_the_axis():
    problem = PROBLEMS["flow_mixing"]
    x = problem.test_points()
    assert x[:, :2].norm(dim=1).min() > 1e-3
    on_axis = torch.tensor([[0.0, 0.0, 1.0], [1e-9, 0.0, 2.0], [1e-3, -1e-3, 3.0]], dtype=F64)
    u = problem.exact(on_axis)
    assert torch.isfinite(u).all() and u.abs().max() < 1e-3
    jet = autograd_jet(problem.exact, on_axis, problem, 1)
    assert torch.isfinite(problem.residual(on_axis, jet)).all()
    assert problem.residual(on_axis, jet).abs().max() < 1e-12


def test_taylor_green_outputs():
    problem = PROBLEMS["taylor_green"]
    assert problem.outputs == ("u", "v", "p") and problem.error_outputs == (0, 1)
    assert problem.periodic == (0, 1)
    x = problem.domain.sample_interior(16, gen(9), dtype=F64)
    r = problem.residual(x, autograd_jet(problem.exact, x, problem, 2))
    assert set(r) == {"momentum", "continuity"}
    assert r["momentum"].shape == (16, 2) and r["continuity"].shape == (16, 1)


# ------------------------------------------------------------- finite-difference reference
def heat_reference(cells: int, richardson: bool, kappa: float = 0.05) -> DiffusionReference:
    def initial(p):
        return torch.sin(math.pi * p[:, 0]) * torch.sin(math.pi * p[:, 1])

    return DiffusionReference(initial, [0, 0], [1, 1], 0, 1, kappa, False, cells, 11, richardson)


def test_fd_solver_converges_on_linear_heat():
    heat = P.make("heat", kappa=0.05)
    nodes = heat.domain.grid((17, 17, 11))  # on every grid below and the 11 snapshot times
    truth = heat.exact(nodes)

    def err(cells, richardson):
        ref = heat_reference(cells, richardson)
        return ((ref(nodes) - truth).norm() / truth.norm()).item()

    coarse, fine = err(16, False), err(32, False)
    assert fine < 1e-3 and 3.5 < coarse / fine < 4.5  # second order
    assert err(32, True) < 1e-5  # Richardson removes the h^2 term
    off_grid = heat.domain.sample_interior(500, gen(10), dtype=F64)
    ref = heat_reference(32, True)
    exact = heat.exact(off_grid)
    assert ((ref(off_grid) - exact).norm() / exact.norm()) < 1e-2  # trilinear between nodes


def test_nonlinear_heat_reference_is_lazy_cached_and_converges():
    problem = PROBLEMS["nonlinear_heat"]
    assert P.make("nonlinear_heat", fd_cells=64).solution is problem.solution  # cached
    x = problem.test_points()
    ref = problem.reference(x)
    assert ref.shape == (len(x), 1) and torch.isfinite(ref).all()
    initial = x[:, 2] == 0
    assert torch.allclose(ref[initial], bumps(x[initial]), atol=1e-14)
    finer = P.make("nonlinear_heat", fd_cells=128).reference(x)
    assert ((ref - finer).norm() / finer.norm()) < 1e-3
    boundary = (x[:, :2].abs() == 1).any(1) & (x[:, 2] > 0)
    assert ref[boundary].abs().max() == 0
    assert 0.2 < ref[x[:, 2] == 1].max() < ref[initial].max() <= 0.41


# ---------------------------------------------------------------------------- registry
def test_registry_lists_and_describes():
    assert set(P.describe()) == set(P.names())
    assert {
        "poisson2d",
        "helmholtz2d",
        "helmholtz3d",
        "convection",
        "heat",
        "nonlinear_heat",
        "flow_mixing",
        "advection2d",
        "klein_gordon",
        "taylor_green",
        "kirchhoff_love",
    } <= set(P.names())
    assert all(isinstance(v, str) and "\n" not in v for v in P.describe().values())


def test_registry_errors():
    with pytest.raises(ValueError, match="Did you mean 'helmholtz2d'") as info:
        P.make("helmholz2d")
    assert "poisson2d" in str(info.value)
    with pytest.raises(ValueError, match="unknown problem 'zzz'"):
        P.make("zzz")
    with pytest.raises(ValueError, match=r"no parameter 'b'.*a1, a2, k"):
        P.make("helmholtz2d", b=3)


def test_parameters_reach_the_problem():
    p = P.make("helmholtz2d", a1=10, a2=10)
    x = torch.tensor([[0.05, 0.05]], dtype=F64)
    assert p.exact(x).item() == pytest.approx(1.0)
    assert P.make("convection", beta=50).residual(
        x, Jet(torch.zeros(1, 1, dtype=F64), torch.tensor([[[1.0, 0.0]]], dtype=F64))
    ).item() == pytest.approx(50.0)
