"""``taylor_green``: 2D incompressible Navier-Stokes, ``nu = 0.01``, ``[0, 2 pi]^2`` periodic,
``t in [0, 1]``; outputs ``(u, v, p)``.

Exact ``u = -cos x sin y F``, ``v = sin x cos y F``, ``p = -(cos 2x + cos 2y) F^2 / 4`` with
``F = exp(-2 nu t)``. Residuals (unit density): ``momentum`` ``(B, 2)``:
``u_t + (u . grad) u + grad p - nu lap u``; ``continuity`` ``(B, 1)``: ``u_x + v_y``.
Periodicity comes from the encoding (``periodic=(0, 1)``); the ready-made constraint
``(u, v) = (u0, v0) + t N_uv``, ``p = N_p`` enforces the initial velocity. The error uses the
velocity only (the pressure is fixed up to a constant).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..field import HardConstraint
from ..geometry import Box, SpaceTime
from ..jet import Jet, cat, cos, sin
from .base import Problem, suggested_defaults
from .conditions import Initial, Periodic

__all__ = ["taylor_green"]


def taylor_green(nu: float = 0.01) -> Problem:
    """Taylor-Green vortex with viscosity ``nu``; test grid ``64^3``."""
    nu = float(nu)
    two_pi = 2.0 * math.pi
    domain = SpaceTime(Box([0.0, 0.0], [two_pi, two_pi]), 0.0, 1.0)

    def exact(x: Tensor) -> Tensor:
        X, Y, t = x[:, :1], x[:, 1:2], x[:, 2:3]
        f = torch.exp(-2.0 * nu * t)
        u = -torch.cos(X) * torch.sin(Y) * f
        v = torch.sin(X) * torch.cos(Y) * f
        p = -(torch.cos(2.0 * X) + torch.cos(2.0 * Y)) * f * f / 4.0
        return torch.cat([u, v, p], 1)

    def residual(x: Tensor, U: Jet) -> dict[str, Tensor]:
        vel, g = U.value[:, :2], U.grad  # (B, 2), (B, 3, 3)
        advection = vel[:, :1] * g[:, :2, 0] + vel[:, 1:2] * g[:, :2, 1]
        momentum = g[:, :2, 2] + advection + g[:, 2, :2] - nu * U.lap[:, :2]
        return {"momentum": momentum, "continuity": g[:, 0, 0:1] + g[:, 1, 1:2]}

    tau = domain.initial_factor()

    def factor(X: Jet) -> Jet:
        t = tau(X)
        return cat([t, t, Jet.constant(torch.ones_like(t.value), t)])

    def offset(X: Jet) -> Jet:
        x, y = X[..., 0], X[..., 1]
        u0 = -cos(x) * sin(y)
        return cat([u0, sin(x) * cos(y), Jet.constant(torch.zeros_like(u0.value), u0)])

    return Problem(
        domain=domain,
        residual=residual,
        conditions=(
            Initial(lambda x: exact(x)[:, :2], channels=(0, 1), hard=True),
            Periodic(0),
            Periodic(1),
        ),
        exact=exact,
        outputs=("u", "v", "p"),
        name="taylor_green",
        lap_axes=(0, 1),
        periodic=(0, 1),
        constraint=HardConstraint(factor, offset),
        test_resolution=64,
        error_outputs=(0, 1),
        suggested=suggested_defaults(3),
    )
