"""``klein_gordon``: ``u_tt - lap_x u + u^2 = f`` on ``[-1, 1]^2 x [0, 10]``.

Exact ``u = (x + y) cos(k t) + x y sin(k t)`` (harmonic in space, so
``f = -k^2 u + u^2``). The residual reads ``u_tt`` from the full Hessian (``hessian=True``).
Conditions: ``u(0) = x + y``, ``u_t(0) = k x y`` and Dirichlet data ``u*`` on the lateral
boundary; the ready-made constraint ``u = x + y + k x y t + t^2 N`` enforces the two initial
conditions (``t^2``, not ``(t / 10)^2``, keeps ``N`` of order one: near ``t = 0`` it tends to
``-(x + y) / 2``).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..field import HardConstraint
from ..geometry import Box, SpaceTime
from ..jet import Jet
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

    def offset(X: Jet) -> Jet:
        x, y, t = X[..., 0], X[..., 1], X[..., 2]
        return x + y + k * (x * y) * t

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
        constraint=HardConstraint(lambda X: X[..., 2] ** 2, offset),
        test_resolution=64,
        suggested=suggested_defaults(3),
    )
