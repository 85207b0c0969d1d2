"""Energy (Ritz) problems: the exact solutions are stationary and minimal, the Monte Carlo
integral is unbiased, bad energies are refused, and a short solve learns."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

import smoothgrid as sg
import smoothgrid.problems as P
from smoothgrid.cli import main
from smoothgrid.jet import Jet
from smoothgrid.train import Evaluator, SettingsError

F64 = torch.float64
ENERGIES = ["poisson2d_energy", "kirchhoff_love_energy", "poisson_neumann_energy",
            "helmholtz2d_energy"]  # fmt: skip
TWINS = {
    "helmholtz2d_energy": "helmholtz2d",
    "poisson2d_energy": "poisson2d",
    "kirchhoff_love_energy": "kirchhoff_love",
    "poisson_neumann_energy": "poisson_neumann",
}


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def jet_of(f, x: torch.Tensor, order: int) -> Jet:
    """Jet (value; gradient; Laplacian) of ``f: (N, d) -> (N, 1)`` at ``x`` by autograd."""
    x = x.detach().clone().requires_grad_(True)
    value = f(x)
    if order == 0:
        return Jet(value.detach())
    (grad,) = torch.autograd.grad(value.sum(), x, create_graph=order == 2)
    if order == 1:
        return Jet(value.detach(), grad.detach()[:, None])
    lap = sum(torch.autograd.grad(grad[:, i].sum(), x, retain_graph=True)[0][:, i] for i in (0, 1))
    return Jet(value.detach(), grad.detach()[:, None], lap=lap[:, None].detach())


def midpoints(box: sg.geometry.Box, n: int) -> torch.Tensor:
    """``(n^2, 2)`` cell midpoints of an ``n x n`` grid of the box (the midpoint rule)."""
    axes = [lo + (hi - lo) * (torch.arange(n, dtype=F64) + 0.5) / n
            for lo, hi in zip(box.lo.tolist(), box.hi.tolist())]  # fmt: skip
    return torch.stack(torch.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 2)


def perturbation(problem: P.Problem, seed: int):
    """A random smooth ``v`` that keeps the essential conditions: the constraint's factor
    times a few random Fourier modes."""
    g = gen(seed)
    k = 1.0 + 3.0 * torch.rand(4, 2, generator=g, dtype=F64)
    phase = 6.0 * torch.rand(4, generator=g, dtype=F64)
    amp = torch.randn(4, generator=g, dtype=F64)
    factor = problem.constraint.factor

    def v(x: torch.Tensor) -> torch.Tensor:
        modes = (amp * torch.sin(x @ k.T + phase)).sum(1, keepdim=True)
        return factor(Jet.coordinates(x, order=0)).value * modes

    return v


def total_energy(problem: P.Problem, u, n: int = 256) -> float:
    """The problem's energy of ``u`` by its own integrals, without sampling noise: the
    domain's by a four-node Gauss rule on ``(n / 4)^2`` cells, each boundary energy's by the
    midpoint rule on ``n^2`` points of its faces (faces of ``[0, 1]^2`` here)."""
    x, w = problem.domain.quadrature_interior(n // 4, 4, F64)
    total = problem.energy_integral(x, jet_of(u, x, problem.order), w)
    for cond in problem.conditions:
        if isinstance(cond, P.BoundaryEnergy):
            assert cond.on == "top" and problem.domain.hi.tolist() == [1.0, 1.0]
            t = (torch.arange(n * n, dtype=F64) + 0.5) / (n * n)
            xb = torch.stack([t, torch.ones_like(t)], 1)
            batch = {"x": xb, "area": torch.tensor(cond.area(problem.domain), dtype=F64)}
            total = total + cond.energy(batch, lambda p, k=cond.order: jet_of(u, p, k))
    return float(total)


@pytest.mark.parametrize("name", ENERGIES)
def test_exact_solution_makes_the_energy_stationary_and_minimal(name):
    problem = P.make(name)
    exact = problem.exact
    for seed in (0, 1):
        v = perturbation(problem, seed)
        grid = midpoints(problem.domain, 16)
        eps = 0.1 * float(exact(grid).abs().max() / v(grid).abs().max())

        def energy(t: float, base=exact, v=v) -> float:
            return total_energy(problem, lambda p: base(p) + t * v(p))

        e0, plus, minus = energy(0.0), energy(eps), energy(-eps)
        first_variation = (plus - minus) / (2 * eps)
        # the same directional derivative from u = 0 is -l(v), the load's work: the scale
        load = energy(eps, lambda p: 0 * p[:, :1]) - energy(-eps, lambda p: 0 * p[:, :1])
        load = abs(load / (2 * eps))
        assert load > 1e-3
        assert abs(first_variation) < 1e-4 * load, (name, seed, first_variation, load)
        assert plus > e0 and minus > e0
        assert (plus + minus - 2 * e0) > 1e-4 * abs(e0)  # far above rounding (1e-13)
    # the same measure is far from zero at a function that is not the solution
    wrong, v = perturbation(problem, 2), perturbation(problem, 3)

    def off(p: torch.Tensor) -> torch.Tensor:
        return exact(p) + 0.5 * eps * wrong(p)

    bad = (total_energy(problem, lambda p: off(p) + eps * v(p))
           - total_energy(problem, lambda p: off(p) - eps * v(p))) / (2 * eps)  # fmt: skip
    assert abs(bad) > 1e-2 * load


def test_twins_share_their_exact_solution_and_test_grid():
    for name, twin in TWINS.items():
        a, b = P.make(name), P.make(twin)
        x = a.test_points()
        assert torch.equal(x, b.test_points())
        assert torch.allclose(a.exact(x), b.exact(x)[:, :1], rtol=0, atol=1e-15)
        assert a.energy is not None and a.residual is None and b.residual is not None


def test_kirchhoff_love_energy_needs_no_fourth_derivative():
    problem = P.make("kirchhoff_love_energy")
    assert problem.order == 2 and not problem.hessian  # the Laplacian of a jet suffices
    twin = P.make("kirchhoff_love", formulation="biharmonic")
    assert twin.order == 4


def test_monte_carlo_integral_is_unbiased():
    # int over [0, 2] x [-1, 1] of exp(x + y) = (e^2 - 1)(e - 1/e)
    box = sg.geometry.Box([0.0, -1.0], [2.0, 1.0])
    problem = P.Problem(box, energy=lambda x, u: torch.exp(x.sum(1)), order=0)
    exact = (math.e**2 - 1) * (math.e - 1 / math.e)
    for stratified in (False, True):
        g = gen(3)
        draws = torch.tensor([
            float(problem.energy_integral(x, Jet(x)))
            for x in (box.sample_interior(64, g, stratified, F64) for _ in range(400))
        ])  # fmt: skip
        stderr = float(draws.std()) / math.sqrt(len(draws))
        assert abs(float(draws.mean()) - exact) < 4 * stderr
        assert stderr < 0.02 * exact
    # a boundary energy: area x mean; int_top x dx = 2 on [0, 2]
    term = P.BoundaryEnergy(lambda x, u: x[:, 0], on="top")
    assert term.area(box) == 2.0
    batch = term.sample(box, 200_000, gen(4), dtype=F64)
    assert abs(float(term.energy(batch, lambda p: Jet(p))) - 2.0) < 0.02


def test_bad_energies_and_conditions_are_refused():
    box = sg.geometry.Box([0.0, 0.0], [1.0, 1.0])
    hard = [sg.Dirichlet(0.0, hard=True)]
    constraint = P.hard_dirichlet(box)
    with pytest.raises(ValueError, match="exactly one of them, got both"):
        P.Problem(box, residual=lambda x, u: u.lap, energy=lambda x, u: u.value[:, 0])
    with pytest.raises(ValueError, match="got neither"):
        P.Problem(box)
    with pytest.raises(ValueError, match="imposes its essential conditions exactly"):
        P.Problem(box, energy=lambda x, u: u.value[:, 0], conditions=[sg.Dirichlet(0.0)])
    with pytest.raises(ValueError, match="has no constraint"):
        P.Problem(box, energy=lambda x, u: u.value[:, 0], conditions=hard)
    with pytest.raises(ValueError, match="order <= 2"):
        P.Problem(box, energy=lambda x, u: u.value[:, 0], order=4)
    with pytest.raises(TypeError, match="not a predicate"):
        P.BoundaryEnergy(lambda x, u: u.value, on=lambda x: x[:, 0] > 0)
    with pytest.raises(ValueError, match="integer modes"):
        P.make("poisson2d_energy", a1=1.5)
    # an energy that is not one number per point: refused before training
    vector = P.Problem(box, energy=lambda x, u: u.grad[:, 0], conditions=hard,
                       constraint=constraint, order=1)  # fmt: skip
    field = sg.Field(sg.encodings.make("hermite", 2, levels=2, min_res=4, max_res=8), hidden=(8,))
    with pytest.raises(SettingsError, match=r"one number per point, shape \(4,\).*got \(4, 2\)"):
        sg.solve(vector, field, steps=1, progress=False)
    flux = P.Problem(box, energy=lambda x, u: u.value[:, 0], constraint=constraint, order=1,
                     conditions=[*hard, P.BoundaryEnergy(lambda x, u: u.value.expand(-1, 3),
                                                         on="top")])  # fmt: skip
    with pytest.raises(SettingsError, match=r"'boundary_energy' must return one number per"):
        sg.solve(flux, field, steps=1, progress=False)
    with pytest.raises(SettingsError, match="adaptive='rad' weighs residuals"):
        sg.solve(P.make("poisson2d_energy"), field, steps=1, adaptive="rad", progress=False)


@pytest.mark.slow
def test_a_short_solve_of_poisson2d_energy_reduces_the_error(tmp_path):
    problem = P.make("poisson2d_energy")
    torch.manual_seed(0)
    field = sg.Field(sg.encodings.make("hermite", 2, levels=4, max_res=32, log2_table=12),
                     hidden=(32,))  # fmt: skip
    field.set_bounds(*problem.domain.bounds)
    field.constraint = problem.constraint
    before = Evaluator(problem)(field)["rel_l2"]
    result = sg.solve(problem, field, steps=150, batch=1024, stratified=True, lr=1e-2,
                      progress=False)  # fmt: skip
    assert result.metrics["rel_l2"] < 0.1 * before and result.metrics["rel_l2"] < 0.05
    assert result.metrics["energy"] < 0 and "residual" not in result.metrics
    # the exact energy is -1/2 int f u* = -pi^2 (the Ritz minimum); the last batch's estimate
    assert abs(result.metrics["energy"] + math.pi**2) < 0.1 * math.pi**2


@pytest.mark.slow
def test_the_command_line_solves_and_resumes_an_energy_problem(tmp_path):
    fixed = ["--set", "batch=512", "--set", "decay=null", "--no-progress"]  # a constant rate
    code = main(["solve", "poisson2d_energy", "--steps", "5", "--out", str(tmp_path), *fixed])
    assert code == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["steps"] == 5 and metrics["energy"] is not None
    # resumed for 3 more steps it ends where an uninterrupted 8-step run does (the checkpoint
    # keeps the parameters, Adam's state and the sampling generator)
    resume = ["solve", "--out", str(tmp_path), "--resume", "--more-steps", "3", "--no-progress"]
    assert main(resume) == 0
    straight = tmp_path / "straight"
    assert main(["solve", "poisson2d_energy", "--steps", "8", "--out", str(straight), *fixed]) == 0
    resumed = json.loads((tmp_path / "metrics.json").read_text())
    again = json.loads((straight / "metrics.json").read_text())
    assert resumed["steps"] == 8 and resumed["energy"] == again["energy"]
    assert resumed["rel_l2"] == again["rel_l2"]


def test_readme_energy_snippet_has_the_ritz_minimum_at_its_solution():
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("## Energy (Ritz) form", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    scope: dict = {"math": math, "torch": torch, "sg": sg}
    exec(code, scope)
    problem = scope["ritz"]
    x = midpoints(problem.domain, 128)

    def exact(p: torch.Tensor) -> torch.Tensor:
        return torch.sin(math.pi * p[:, :1]) * torch.sin(math.pi * p[:, 1:])

    # at u = sin(pi x) sin(pi y): -1/2 int f u = -pi^2 / 4
    minimum = float(problem.energy_integral(x, jet_of(exact, x, 1)))
    assert minimum == pytest.approx(-(math.pi**2) / 4, rel=1e-4)
    assert float(problem.energy_integral(x, jet_of(lambda p: 0.9 * exact(p), x, 1))) > minimum
