"""The solve loop: convergence, settings, level scale, curriculum, derivative methods."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

import smoothgrid as sg
from smoothgrid.geometry import Box
from smoothgrid.problems import Dirichlet, Problem, make
from smoothgrid.train import Evaluator, solve


def tiny_field(seed: int = 0, name: str = "hermite", **options) -> sg.Field:
    torch.manual_seed(seed)
    enc = sg.encodings.make(
        name, dim=2, levels=4, features=2, min_res=4, max_res=32, log2_table=12, **options
    )
    return sg.Field(enc, hidden=(16,), out=1)


def tiny_poisson() -> Problem:
    return dataclasses.replace(make("poisson2d"), test_resolution=32)


def quadratic_problem() -> Problem:
    """-lap u = -4 on [0, 1]^2 with u = x^2 + y^2 on the boundary, as a loss (no constraint)."""

    def exact(x):
        return (x**2).sum(1, keepdim=True)

    def residual(x, u):
        return -u.lap + 4.0

    return Problem(
        domain=Box([0.0, 0.0], [1.0, 1.0]),
        residual=residual,
        conditions=(Dirichlet(exact),),
        exact=exact,
        test_resolution=32,
    )


def test_hermite_solve_reduces_error():
    problem, field = tiny_poisson(), tiny_field()
    field.set_bounds(*problem.domain.bounds)
    start = Evaluator(problem)(field)["rel_l2"]
    result = solve(problem, field, steps=150, batch=256, eval_every=50, progress=False)
    m = result.metrics
    assert m["rel_l2"] < 0.1 * start
    assert m["best_rel_l2"] <= m["rel_l2"] + 1e-12
    assert m["steps"] == 150 and m["wall_time"] > 0 and m["ms_per_step"] > 0
    assert math.isfinite(m["residual"]) and m["max_abs_error"] > 0
    assert [row["step"] for row in result.history] == [50, 100, 150]
    assert result.field is field and field.constraint is problem.constraint
    assert result.history[-1]["lr"] == pytest.approx(1e-3, rel=0.05)  # exp decay to 0.1


def test_condition_losses_and_weights():
    problem = quadratic_problem()
    field = tiny_field()
    field.set_bounds(*problem.domain.bounds)
    start = Evaluator(problem)(field)["rel_l2"]
    result = solve(
        problem, field, steps=100, batch=256, weights={"dirichlet": 10.0}, progress=False
    )
    assert field.constraint is None
    row = result.history[-1]
    assert {"loss_residual", "loss_dirichlet"} <= set(row)
    assert row["loss"] == pytest.approx(row["loss_residual"] + 10 * row["loss_dirichlet"])
    assert result.metrics["rel_l2"] < 0.6 * start


def test_unknown_weight_names_the_terms():
    with pytest.raises(ValueError, match="dirichlet"):
        solve(quadratic_problem(), tiny_field(), steps=1, batch=64, weights={"dirichlt": 1.0})


@pytest.mark.parametrize("budget", [{}, {"steps": 5, "time_budget": 1.0}])
def test_exactly_one_budget(budget):
    with pytest.raises(ValueError, match="exactly one"):
        solve(tiny_poisson(), tiny_field(), progress=False, **budget)


def test_time_budget():
    result = solve(tiny_poisson(), tiny_field(), time_budget=0.3, batch=128, progress=True)
    assert result.metrics["steps"] > 0
    assert result.metrics["wall_time"] >= 0.3


def test_field_takes_the_domain_box():
    field = tiny_field()
    assert not field.encoding.has_bounds
    solve(quadratic_problem(), field, steps=1, batch=64, progress=False)
    assert field.encoding.has_bounds
    assert field.encoding.bounds.tolist() == [[0.0, 0.0], [1.0, 1.0]]


def test_periodic_problem_needs_a_periodic_encoding():
    problem = make("convection")
    with pytest.raises(ValueError, match="periodic="):
        solve(problem, tiny_field(), steps=1, progress=False)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("inverse", lambda res: [res[0] / n for n in res]),
        ("inverse_square", lambda res: [(res[0] / n) ** 2 for n in res]),
        ("none", lambda res: [1.0] * len(res)),
        ([1.0, 0.5, 0.25, 0.125], lambda res: [1.0, 0.5, 0.25, 0.125]),
    ],
)
def test_level_scale_is_applied(mode, expected):
    field = tiny_field()
    solve(tiny_poisson(), field, steps=1, batch=64, level_scale=mode, progress=False)
    res = field.encoding.resolutions
    assert field.encoding.level_scale.tolist() == pytest.approx(expected(res))


def test_bad_level_scale():
    with pytest.raises(ValueError, match="level_scale"):
        solve(tiny_poisson(), tiny_field(), steps=1, level_scale="inverted", progress=False)


def test_target_stops_early():
    result = solve(
        tiny_poisson(), tiny_field(), steps=400, batch=256, eval_every=10, target=0.3,
        progress=False,
    )  # fmt: skip
    assert result.metrics["steps"] < 400
    assert result.metrics["rel_l2"] <= 0.3


def test_curriculum_switches_levels_on():
    field = tiny_field()
    result = solve(
        tiny_poisson(), field, steps=40, batch=64, eval_every=5, curriculum="coarse_to_fine",
        progress=False,
    )  # fmt: skip
    levels = [row["levels"] for row in result.history]
    assert levels[0] < 4 and levels[-1] == 4
    assert levels == sorted(levels)


@pytest.mark.parametrize("derivatives", ["autograd", "fd"])
def test_float64_and_other_backends(derivatives):
    field = tiny_field()
    result = solve(
        tiny_poisson(),
        field,
        steps=3,
        batch=64,
        dtype="float64",
        derivatives=derivatives,
        progress=False,
    )
    assert all(p.dtype == torch.float64 for p in field.parameters())
    assert math.isfinite(result.metrics["loss"])


def test_fourth_order_problem_uses_autograd_on_the_field():
    problem = dataclasses.replace(
        make("kirchhoff_love", formulation="biharmonic"), test_resolution=16
    )
    field = tiny_field(name="rbf")
    result = solve(problem, field, steps=2, batch=32, progress=False)
    assert set(result.history[-1]) >= {"loss_residual", "loss_boundary_laplacian"}
    assert "loss_dirichlet" not in result.history[-1]  # enforced by the hard constraint
    assert math.isfinite(result.metrics["loss"])


def test_kirchhoff_love_mixed_formulation_trains_w():
    problem = dataclasses.replace(make("kirchhoff_love"), test_resolution=32)
    torch.manual_seed(0)
    enc = sg.encodings.make("hermite", dim=2, levels=3, min_res=4, max_res=16, log2_table=10)
    field = sg.Field(enc, hidden=(16,), out=2)
    field.set_bounds(*problem.domain.bounds)
    field.constraint = problem.constraint
    x = problem.test_points()
    w = problem.exact(x)[:, :1]

    def w_error() -> float:
        with torch.no_grad():
            return ((field(x.float()).double()[:, :1] - w).norm() / w.norm()).item()

    start = w_error()
    result = solve(problem, field, steps=100, batch=256, eval_every=50, progress=False)
    assert set(result.history[-1]) >= {"loss_plate", "loss_moment"}
    assert "loss_dirichlet" not in result.history[-1]  # both outputs vanish by construction
    assert start > 0.3 and result.metrics["rel_l2"] < 1e-2
    assert w_error() == pytest.approx(result.metrics["rel_l2"], rel=1e-3)  # the error of w


def test_progress_in_a_log_is_a_few_plain_lines(capsys):
    """Not a terminal (a log file, CI): complete lines, no carriage-return redraws."""
    solve(tiny_poisson(), tiny_field(), steps=40, batch=64, eval_every=10, progress=True)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert "\r" not in err and 1 <= len(lines) <= 3
    assert lines[-1].startswith("poisson2d: step 40/40 (100%)") and "rel_l2=" in lines[-1]


def test_line_progress_reports_every_interval():
    import io

    from smoothgrid.train.progress import LineProgress

    stream = io.StringIO()
    bar = LineProgress(total=None, desc="run", every=0.0, stream=stream)
    bar.update(3)
    bar.set_postfix(loss="0.5")
    bar.update(2)
    bar.close()
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("run: step 3,") and lines[-1].startswith("run: step 5,")
    assert lines[-1].endswith("loss=0.5")
