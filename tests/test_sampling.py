"""Residual-adaptive sampling (RAD), causal and remaining-time weights: the maths, the Objective,
the settings."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import smoothgrid as sg
from smoothgrid.geometry import Box, SpaceTime
from smoothgrid.problems import Problem, make
from smoothgrid.train import SOLVE_KEYS, solve
from smoothgrid.train.losses import POOL, Objective
from smoothgrid.train.sampling import (
    causal_weights,
    rad_probabilities,
    remaining_time_weights,
    time_chunk_losses,
)
from smoothgrid.train.settings import Points

F32, CPU = torch.float32, torch.device("cpu")


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def tiny_field(dim: int = 2) -> sg.Field:
    torch.manual_seed(0)
    enc = sg.encodings.make(
        "hermite", dim=dim, levels=3, features=2, min_res=4, max_res=16, log2_table=10
    )
    return sg.Field(enc, hidden=(8,), out=1)


def step_problem(domain=None) -> Problem:
    """A synthetic residual: 10 for ``x_0 > 0.5``, 0.1 elsewhere (plus ``0 * u`` for the graph)."""
    domain = Box([0.0, 0.0], [1.0, 1.0]) if domain is None else domain

    def residual(x, u):
        return 0.0 * u.value + torch.where(x[:, :1] > 0.5, 10.0, 0.1)

    return Problem(domain=domain, residual=residual, conditions=(), exact=None)


def objective(problem: Problem, field: sg.Field, batch: int = 4000, **options) -> Objective:
    field.set_bounds(*problem.domain.bounds)
    points = Points(batch=batch, boundary_batch=8, **options)
    return Objective(problem, field, points, "jet", F32, CPU)


def test_rad_probabilities():
    score = torch.tensor([0.0, 1.0, 2.0, 5.0])
    p = rad_probabilities(score, k=1.0, c=0.0)
    assert p.sum() == pytest.approx(1.0) and torch.all(p[1:] > p[:-1]) and p[0] == 0.0
    p2 = rad_probabilities(score, k=2.0, c=0.0)
    assert p2[-1] > p[-1]  # a larger k focuses more on the largest residual
    with_c = rad_probabilities(score, k=1.0, c=1.0)  # score / mean (2) + 1
    torch.testing.assert_close(with_c, torch.tensor([1.0, 1.5, 2.0, 3.5]) / 8.0)
    flat = rad_probabilities(score, k=1.0, c=1e9)
    torch.testing.assert_close(flat, torch.full((4,), 0.25))
    torch.testing.assert_close(rad_probabilities(torch.zeros(5), 1.0, 0.0), torch.full((5,), 0.2))


def test_rad_puts_more_points_where_the_residual_is_larger():
    problem = step_problem()
    uniform = objective(problem, tiny_field()).sample(gen())["residual"]["x"]
    rad = objective(problem, tiny_field(), adaptive="rad", rad_pool=4, rad_c=1.0)
    x = rad.sample(gen())["residual"]["x"]
    assert x.shape == (4000, 2)
    assert abs((uniform[:, 0] > 0.5).float().mean() - 0.5) < 0.03
    # p ∝ r / mean(r) + 1: (10 / 5.05 + 1) against (0.1 / 5.05 + 1), so ~74.5 % on the right
    assert (x[:, 0] > 0.5).float().mean() == pytest.approx(0.745, abs=0.03)
    sharp = objective(problem, tiny_field(), adaptive="rad", rad_pool=4, rad_c=0.0)
    assert (sharp.sample(gen())["residual"]["x"][:, 0] > 0.5).float().mean() > 0.97


def test_rad_pool_is_kept_for_rad_every_steps():
    obj = objective(step_problem(), tiny_field(), batch=64, adaptive="rad", rad_every=5)
    g = gen()
    first = obj.sample(g, None, step=0)
    pool = first[POOL]
    assert pool["x"].shape == (8 * 64, 2) and pool["p"].shape == (8 * 64,)
    kept = obj.sample(g, first, step=4)
    assert kept[POOL] is pool
    assert not torch.equal(kept["residual"]["x"], first["residual"]["x"])  # a new draw
    assert torch.isin(kept["residual"]["x"][:, 0], pool["x"][:, 0]).all()
    fresh = obj.sample(g, kept, step=5)
    assert not torch.equal(fresh[POOL]["x"], pool["x"]) and int(fresh[POOL]["step"]) == 5


def test_time_chunk_losses_and_causal_weights():
    t = torch.tensor([0.0, 0.1, 0.6, 0.9, 1.0])
    sq = torch.tensor([1.0, 3.0, 5.0, 7.0, 9.0])
    torch.testing.assert_close(time_chunk_losses(sq, t, 0.0, 1.0, 2), torch.tensor([2.0, 7.0]))
    torch.testing.assert_close(
        time_chunk_losses(sq, t, 0.0, 1.0, 4), torch.tensor([2.0, 0.0, 5.0, 8.0])
    )
    losses = torch.rand(16, generator=gen()) + 0.1
    w = causal_weights(losses, 0.5)
    assert w[0] == 1.0 and torch.all(w[1:] < w[:-1])
    torch.testing.assert_close(w[3], torch.exp(-0.5 * losses[:3].sum()))
    torch.testing.assert_close(causal_weights(losses, 0.0), torch.ones(16))
    assert not causal_weights(losses.requires_grad_(), 1.0).requires_grad


def test_causal_weights_hide_late_residuals_until_early_ones_fall():
    """Large eps weights every chunk after the first with a residual ~0; small eps keeps all."""
    domain = SpaceTime(Box([0.0], [1.0]), 0.0, 1.0)

    def residual(x, u):
        return 0.0 * u.value + torch.where(x[:, 1:] < 0.5, 1.0, 0.0) + 0.0 * x[:, :1]

    def late(x, u):
        return 0.0 * u.value + torch.where(x[:, 1:] < 0.5, 0.0, 1.0) + 0.0 * x[:, :1]

    def term(res, eps: float) -> float:
        problem = Problem(domain=domain, residual=res, conditions=(), exact=None)
        obj = objective(problem, tiny_field(), causal=eps, causal_chunks=8)
        return float(obj.terms(obj.sample(gen()))["residual"].detach())

    assert term(residual, 0.0) == pytest.approx(0.5, abs=0.03)
    assert term(residual, 100.0) == pytest.approx(1 / 8, abs=1e-6)  # only the first chunk
    assert term(late, 100.0) == pytest.approx(1 / 8, abs=1e-6)  # chunks 0-3 are fitted: 4 counts
    assert term(late, 0.01) == pytest.approx(0.5, abs=0.03)


def test_bad_sampling_settings_raise():
    problem, field = make("poisson2d"), tiny_field()
    cases = [
        ({"adaptive": "rar"}, "unknown adaptive"),
        ({"adaptive": "rad", "rad_pool": 0}, "rad_pool"),
        ({"adaptive": "rad", "rad_every": 1.5}, "rad_every"),
        ({"adaptive": "rad", "rad_k": 0.0}, "rad_k"),
        ({"adaptive": "rad", "rad_c": -1.0}, "rad_c"),
        ({"causal": -1.0}, "causal must be"),
        ({"causal": 1.0}, "time-dependent"),
        ({"causal_chunks": 0}, "causal_chunks"),
        ({"time_weight": -1.0}, "time_weight must be"),
        ({"time_weight": 1.0}, "time_weight=1.0 needs a time-dependent"),
    ]
    for options, match in cases:
        with pytest.raises(ValueError, match=match):
            solve(problem, field, steps=1, batch=16, progress=False, **options)
    assert {"adaptive", "rad_pool", "rad_every", "rad_k", "rad_c", "causal", "time_weight"} <= set(
        SOLVE_KEYS
    )


def test_rad_and_causal_train_a_space_time_problem():
    problem = dataclasses.replace(make("heat", dim=1), test_resolution=16)
    field = tiny_field()
    result = solve(
        problem, field, steps=60, batch=256, eval_every=30, progress=False, adaptive="rad",
        rad_every=10, causal=1.0, causal_chunks=8,
    )  # fmt: skip
    rows = result.history
    assert rows[-1]["rel_l2"] < rows[0]["rel_l2"] and rows[-1]["loss"] < rows[0]["loss"]


def test_remaining_time_weights():
    t = torch.linspace(1.0, 3.0, 200001, dtype=torch.float64)
    for p in (0.0, 1.0, 2.0, 3.5):
        w = remaining_time_weights(t, 1.0, 3.0, p)
        assert float(w.mean()) == pytest.approx(1.0, rel=1e-4)  # mean 1 over the interval
        assert float(w[0]) == pytest.approx(p + 1.0)
        assert torch.all(w[1:] <= w[:-1])  # never increase with time
    torch.testing.assert_close(remaining_time_weights(t, 1.0, 3.0, 0.0), torch.ones_like(t))
    # (p + 1) (1 - s)^p at s = 1/4 of the interval
    w = remaining_time_weights(torch.tensor([1.5]), 1.0, 3.0, 2.0)
    torch.testing.assert_close(w, torch.tensor([3.0 * 0.75**2]))


def test_time_weight_scales_each_point_by_its_remaining_time():
    """A residual of 1 before t = 1/2 and 0 after: with weights (p+1)(1-t)^p its term is the
    weights' integral over [0, 1/2], 1 - (1/2)^(p+1) (0.75 for p = 1, 0.875 for p = 2)."""
    domain = SpaceTime(Box([0.0], [1.0]), 0.0, 1.0)

    def early(x, u):
        return 0.0 * u.value + torch.where(x[:, 1:] < 0.5, 1.0, 0.0) + 0.0 * x[:, :1]

    problem = Problem(domain=domain, residual=early, conditions=(), exact=None)
    for p, expected in ((0.0, 0.5), (1.0, 0.75), (2.0, 0.875)):
        obj = objective(problem, tiny_field(), batch=40000, time_weight=p)
        term = float(obj.terms(obj.sample(gen()))["residual"].detach())
        assert term == pytest.approx(expected, abs=0.01)
