"""``klein_gordon``: ``u_tt - lap_x u + u^2 = f`` on ``[-1, 1]^2 x [0, 10]``.

Exact ``u = (x + y) cos(k t) + x y sin(k t)`` (harmonic in space, so
``f = -k^2 u + u^2``). The residual reads ``u_tt`` from the full Hessian (``hessian=True``).
Conditions: ``u(0) = u0 = x + y``, ``u_t(0) = u1 = k x y`` and Dirichlet data ``u*`` on the
lateral boundary (a loss).

The ready-made constraint enforces the two initial conditions and stays of order one over the
whole window::

    u = u0 + u1 tau tanh(t / tau) + B N,    B = s^2 / (1 + s^2),  s = t / tau,

with the time scale ``tau = 1 / |k|`` (1 when ``k = 0``). ``tau tanh(t / tau)`` has the slope 1
at ``t = 0`` and stays bounded, and ``B`` vanishes to second order at ``t = 0`` and tends to 1,
so ``N = (u - u0 - u1 tau tanh(t / tau)) / B`` is of the size of ``u`` itself everywhere (near
``t = 0`` it tends to ``tau^2 u_tt(0) / 2 = -(x + y) / 2``). The polynomial constraint
``u0 + u1 t + t^2 N`` instead asks ``N`` for ``(u - u0 - u1 t) / t^2``, at most about 0.1 at
``t = 10``, and multiplies every error of ``N`` by up to 100 there; training then stalls on a
field far from the lateral data (relative L2 error near 3).

Suggested settings: the solution is smooth, so a small dense grid (``L = 4``, ``N 4 -> 16``)
and 2048 points per step, which fit several hundred steps in 120 s on two CPU cores; the soft
lateral data weighs 10 (with weight 1 it is the largest loss term and the error after 300 steps
is 5 times larger). Causal time weights (``causal=1``) bring 800 steps from 2.7e-2 to 2.0e-2
(``causal=0.3`` 2.3e-2, ``3`` 1.9e-2, but ``10`` 0.51: later times never switch on).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..field import HardConstraint
from ..geometry import Box, SpaceTime
from ..jet import Jet, tanh
from .base import Problem, suggested_defaults
from .conditions import Dirichlet, Initial

__all__ = ["klein_gordon"]


def klein_gordon(k: float = 1.0) -> Problem:
    """``u_tt - lap u + u^2 = f`` with ``u* = (x + y) cos(k t) + x y sin(k t)``; test ``64^3``."""
    k = float(k)
    domain = SpaceTime(Box([-1.0, -1.0], [1.0, 1.0]), 0.0, 10.0)

    def exact(x: Tensor) -> Tensor:
        s, y, t = x[:, :1] + x[:, 1:2], x[:, :1] * x[:, 1:2], x[:, 2:3]
        return s * torch.cos(k * t) + y * torch.sin(k * t)

    def residual(x: Tensor, u: Jet) -> Tensor:
        e = exact(x)
        lap_x = u.d2(0, 0) + u.d2(1, 1)
        return u.d2(2, 2) - lap_x + u.value**2 - (e * e - k * k * e)

    tau = 1.0 / abs(k) if k else 1.0  # the solution's time scale

    def factor(X: Jet) -> Jet:
        s2 = (X[..., 2] / tau) ** 2
        return s2 / (1.0 + s2)

    def offset(X: Jet) -> Jet:
        x, y, t = X[..., 0], X[..., 1], X[..., 2]
        return x + y + (k * tau) * (x * y) * tanh(t / tau)

    return Problem(
        domain=domain,
        residual=residual,
        conditions=(
            Initial(
                lambda x: x[:, :1] + x[:, 1:2], rate=lambda x: k * x[:, :1] * x[:, 1:2], hard=True
            ),
            Dirichlet(exact),
        ),
        exact=exact,
        name="klein_gordon",
        order=2,
        hessian=True,
        constraint=HardConstraint(factor, offset),
        test_resolution=64,
        suggested=suggested_defaults(
            3,
            encoding={"levels": 4, "max_res": 16},
            batch=2048,
            weights={"dirichlet": 10.0},
            causal=1.0,
        ),
    )
