"""A mixed Dirichlet / Neumann / Robin problem on a rectangle, solved through the public API.

-Δu = f on [0, 2] x [0, 1] with u = sin(pi x) sin(pi y) + exp(-x) cos(y) (its second term is
harmonic, so the data are non-zero on every face): u given on the left and bottom faces, du/dn on
the top, u + du/dn / 2 on the right.
"""

from __future__ import annotations

import math

import pytest
import torch

import smoothgrid as sg

PI = math.pi


def exact(x):
    X, Y = x[:, :1], x[:, 1:]
    return torch.sin(PI * X) * torch.sin(PI * Y) + torch.exp(-X) * torch.cos(Y)


def du_dx(x):
    X, Y = x[:, 0], x[:, 1]
    return PI * torch.cos(PI * X) * torch.sin(PI * Y) - torch.exp(-X) * torch.cos(Y)


def du_dy(x):
    X, Y = x[:, 0], x[:, 1]
    return PI * torch.sin(PI * X) * torch.cos(PI * Y) - torch.exp(-X) * torch.sin(Y)


def mixed_problem(weight: float = 100.0) -> sg.Problem:
    return sg.Problem(
        domain=sg.geometry.Box([0.0, 0.0], [2.0, 1.0]),
        residual=lambda x, u: (
            u.lap + 2 * PI**2 * torch.sin(PI * x[:, :1]) * torch.sin(PI * x[:, 1:])
        ),
        conditions=[
            sg.Dirichlet(exact, on=("left", "bottom"), weight=weight),
            sg.Neumann(du_dy, on="top", weight=weight),  # outward normal (0, 1)
            sg.Robin(
                1.0, 0.5, lambda x: exact(x)[:, 0] + 0.5 * du_dx(x), on="right", weight=weight
            ),
        ],
        exact=exact,
    )


def solve(levels: int, max_res: int, steps: int, batch: int, **settings) -> float:
    torch.manual_seed(0)
    enc = sg.encodings.make(
        "hermite", dim=2, levels=levels, min_res=4, max_res=max_res, log2_table=14
    )
    field = sg.Field(enc, hidden=(32, 32), out=1)
    run = sg.solve(
        mixed_problem(),
        field,
        steps=steps,
        batch=batch,
        lr=1e-2,
        progress=False,
        seed=0,
        **settings,
    )
    return run.metrics["rel_l2"]


def test_mixed_conditions_train_fast():
    # 150 steps of 512 points, 4 levels up to 16 cells: 5.0e-2 measured (seeds 1, 2: 6.2e-2);
    # with the top flux's sign flipped (a wrong normal) 0.94
    assert solve(levels=4, max_res=16, steps=150, batch=512, decay=None) < 0.12


@pytest.mark.slow
def test_mixed_conditions_reach_1e_3():
    # 1000 steps of 1024 points, 6 levels up to 64 cells, exponential decay: 6.5e-4 measured
    # (seed 1: 6.0e-4)
    assert solve(levels=6, max_res=64, steps=1000, batch=1024) <= 1e-3
