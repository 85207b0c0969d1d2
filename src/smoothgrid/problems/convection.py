"""``convection``: ``u_t + beta u_x = 0``, ``x in [0, 2 pi)`` periodic, ``t in [0, 1]``.

``u(0, x) = sin x``; exact ``u = sin(x - beta t)``. Periodicity comes from the encoding
(``periodic=(0,)``); the ready-made constraint ``u = sin x + t N`` enforces the initial value.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..field import HardConstraint
from ..geometry import Box, SpaceTime
from ..jet import Jet, sin
from .base import Problem, suggested_defaults
from .conditions import Initial, Periodic

__all__ = ["convection"]


def convection(beta: float = 30.0) -> Problem:
    """``u_t + beta u_x = 0`` on ``[0, 2 pi) x [0, 1]``; ``beta`` 30 (default), 50 or 80.
    Test grid ``256 x 100`` (x, t)."""
    beta = float(beta)
    domain = SpaceTime(Box([0.0], [2.0 * math.pi]), 0.0, 1.0)

    def exact(x: Tensor) -> Tensor:
        return torch.sin(x[:, :1] - beta * x[:, 1:2])

    def initial(x: Tensor) -> Tensor:
        return torch.sin(x[:, :1])

    def residual(x: Tensor, u: Jet) -> Tensor:
        return u.d(1) + beta * u.d(0)

    # u = sin x + beta t N: the network's N stays O(1) (u_t = -beta cos x at t = 0).
    time = domain.initial_factor()

    return Problem(
        domain=domain,
        residual=residual,
        conditions=(Initial(initial, hard=True), Periodic(0)),
        exact=exact,
        name="convection",
        order=1,
        periodic=(0,),
        constraint=HardConstraint(lambda X: beta * time(X), lambda X: sin(X[..., 0])),
        test_resolution=(256, 100),
        suggested=suggested_defaults(2, batch=4096),
    )
