"""``heat`` (linear) and ``nonlinear_heat`` (SPINN), time the last axis.

``heat``: ``u_t = kappa lap u`` on ``[0, 1]^d x [0, 1]`` (``d`` = 1 or 2), ``u = 0`` on the
boundary, exact ``u = exp(-d kappa pi^2 t) prod sin(pi x_i)``; the ready-made constraint
``u = u0(x) + t B(x) N`` enforces the initial and boundary values.

``nonlinear_heat``: ``u_t = kappa (|grad u|^2 + u lap u)``, ``kappa = 0.05``, on
``[-1, 1]^2 x [0, 1]``, ``u = 0`` on the boundary, a three-bump initial value. Its reference is
the finite-difference solution of :class:`~.reference.DiffusionReference` (computed on the first
``reference()`` call, ~4 s on 2 cores at the default ``fd_cells=256``; cached per parameters).
The initial value is ~1e-2 (not 0) on the boundary, so the data are slightly incompatible at
``t = 0``; the ready-made constraint ``u = u0(x) + t N`` enforces the initial value only and the
zero boundary value stays a loss.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from ..field import HardConstraint
from ..geometry import Box, SpaceTime
from ..jet import Jet, exp, sin
from .base import Problem, ReferenceProblem, suggested_defaults
from .conditions import Dirichlet, Initial
from .poisson import sine_product
from .reference import DiffusionReference

__all__ = ["heat", "nonlinear_heat", "bumps"]

_REFERENCES: dict[tuple, DiffusionReference] = {}


def heat(kappa: float = 0.05, dim: int = 2) -> Problem:
    """``u_t = kappa lap u`` on ``[0, 1]^dim x [0, 1]``; test grid ``64^(dim + 1)``."""
    if dim not in (1, 2):
        raise ValueError(f"heat: dim must be 1 or 2, got {dim!r}")
    kappa = float(kappa)
    domain = SpaceTime(Box([0.0] * dim, [1.0] * dim), 0.0, 1.0)
    ones = (1.0,) * dim
    rate = dim * kappa * math.pi**2

    def exact(x: Tensor) -> Tensor:
        return torch.exp(-rate * x[:, dim : dim + 1]) * sine_product(x, ones)

    def residual(x: Tensor, u: Jet) -> Tensor:
        return u.d(dim) - kappa * u.lap

    def offset(X: Jet) -> Jet:
        out = sin(math.pi * X[..., 0])
        for i in range(1, dim):
            out = out * sin(math.pi * X[..., i])
        return out

    tau, walls = domain.initial_factor(), domain.boundary_factor()
    return Problem(
        domain=domain,
        residual=residual,
        conditions=(
            Initial(lambda x: sine_product(x, ones), hard=True),
            Dirichlet(0.0, hard=True),
        ),
        exact=exact,
        name="heat",
        lap_axes=tuple(range(dim)),
        constraint=HardConstraint(lambda X: tau(X) * walls(X), offset),
        test_resolution=64,
        suggested=suggested_defaults(dim + 1),
    )


def _bumps(x: Tensor | Jet, y: Tensor | Jet, exp_fn: Callable) -> Tensor | Jet:
    """The three bumps of ``x``, ``y`` (tensors or jets) with the matching ``exp``."""
    return (
        0.25 * exp_fn(-((x - 0.3) ** 2 + (y - 0.2) ** 2) * 10.0)
        + 0.4 * exp_fn(-15.0 * ((x + 0.5) ** 2 + (y + 0.1) ** 2))
        + 0.3 * exp_fn(-20.0 * (x**2 + (y + 0.5) ** 2))
    )


def bumps(x: Tensor) -> Tensor:
    """``(N, 1)`` SPINN initial value at ``x (N, >= 2)``: three Gaussian bumps."""
    return _bumps(x[:, :1], x[:, 1:2], torch.exp)


def nonlinear_heat(
    kappa: float = 0.05, fd_cells: int = 256, fd_richardson: bool = True
) -> ReferenceProblem:
    """``u_t = kappa (|grad u|^2 + u lap u)`` on ``[-1, 1]^2 x [0, 1]`` with a finite-difference
    reference on ``fd_cells`` cells per axis (coarser is faster, e.g. 64 for tests).

    The test grid ``65 x 65 x 51`` lies on the reference's nodes and snapshot times when
    ``fd_cells`` is a multiple of 64.
    """
    kappa = float(kappa)
    domain = SpaceTime(Box([-1.0, -1.0], [1.0, 1.0]), 0.0, 1.0)
    key = (kappa, int(fd_cells), bool(fd_richardson))
    if key not in _REFERENCES:
        _REFERENCES[key] = DiffusionReference(
            bumps,
            [-1.0, -1.0],
            [1.0, 1.0],
            0.0,
            1.0,
            kappa,
            True,
            int(fd_cells),
            51,
            bool(fd_richardson),
        )

    def residual(x: Tensor, u: Jet) -> Tensor:
        grad2 = u.grad[..., :2].square().sum(-1)
        return u.d(2) - kappa * (grad2 + u.value * u.lap)

    return ReferenceProblem(
        domain=domain,
        residual=residual,
        conditions=(Initial(bumps, hard=True), Dirichlet(0.0)),
        name="nonlinear_heat",
        lap_axes=(0, 1),
        constraint=HardConstraint(
            domain.initial_factor(), lambda X: _bumps(X[..., 0], X[..., 1], exp)
        ),
        test_resolution=(65, 65, 51),
        suggested=suggested_defaults(3),
        solution=_REFERENCES[key],
    )
