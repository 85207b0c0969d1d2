"""``poisson2d``: ``-lap u = f`` on ``[-1, 1]^2`` with Dirichlet data (a pipeline smoke test),
and its energy (Ritz) twin ``poisson2d_energy``.

Manufactured solution ``u = sin(a1 pi x) sin(a2 pi y)``, ``f = (a1^2 + a2^2) pi^2 u``; with
integer ``a`` the boundary data is 0 and the ready-made constraint is ``u = B(x) N(x)``.
``poisson2d_energy`` minimises ``int 1/2 |grad u|^2 - f u`` over the fields with ``u = 0`` on the
boundary (the constraint): its first variation ``int grad u . grad v - f v = int (-lap u - f) v``
vanishes for every admissible ``v`` exactly when ``-lap u = f``, so both have the same solution;
the energy needs first derivatives only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from ..field import HardConstraint
from ..geometry import Box
from ..jet import Jet
from .base import Problem, galerkin_defaults, suggested_defaults
from .conditions import Dirichlet

__all__ = ["poisson2d", "poisson2d_energy", "sine_product"]


def sine_product(x: Tensor, a: Sequence[float]) -> Tensor:
    """``(N, 1)``: ``prod_i sin(a_i pi x_i)`` over the first ``len(a)`` axes of ``x (N, d)``."""
    out = torch.ones_like(x[:, :1])
    for i, ai in enumerate(a):
        out = out * torch.sin(ai * math.pi * x[:, i : i + 1])
    return out


def zero_boundary_constraint(box: Box, a: Sequence[float]) -> HardConstraint | None:
    """``u = B(x) N(x)`` when every ``a_i`` is an integer (the sines vanish on ``[-1, 1]^d``'s
    faces), else ``None`` (the boundary data then stays a loss)."""
    if all(float(ai).is_integer() for ai in a):
        return HardConstraint(box.boundary_factor())
    return None


def poisson2d(a1: float = 1.0, a2: float = 1.0) -> Problem:
    """``-lap u = f`` on ``[-1, 1]^2``, ``u = sin(a1 pi x) sin(a2 pi y)``."""
    a = (float(a1), float(a2))
    scale = (a[0] ** 2 + a[1] ** 2) * math.pi**2
    box = Box([-1.0, -1.0], [1.0, 1.0])

    def exact(x: Tensor) -> Tensor:
        return sine_product(x, a)

    def residual(x: Tensor, u: Jet) -> Tensor:
        return -u.lap - scale * exact(x)

    constraint = zero_boundary_constraint(box, a)
    return Problem(
        domain=box,
        residual=residual,
        conditions=(Dirichlet(exact, hard=constraint is not None),),
        exact=exact,
        name="poisson2d",
        constraint=constraint,
        test_resolution=256,
        # A smooth, low-frequency solution: a coarser grid and a cosine decay to 1e-3 measured
        # 2.7e-5 / 2.2e-5 (seeds 0 / 1) in 120 s on 2 CPU cores, against 2.5e-4 with the 2D
        # defaults and 4.4e-5 with an exponential decay to 0.01.
        suggested=suggested_defaults(
            2,
            encoding={"levels": 6, "max_res": 64, "log2_table": 14},
            decay="cosine",
            final_lr_factor=1e-3,
        ),
    )


def poisson2d_energy(a1: int = 1, a2: int = 1) -> Problem:
    """``min int 1/2 |grad u|^2 - f u`` on ``[-1, 1]^2``, ``u = 0`` on the boundary (hard), the
    same ``f`` and exact solution as :func:`poisson2d`; integer modes only (zero boundary data).
    """
    a = (float(a1), float(a2))
    if not all(ai.is_integer() for ai in a):
        raise ValueError(
            f"poisson2d_energy takes integer modes (zero boundary data, held exactly), got "
            f"a1={a1!r}, a2={a2!r}"
        )
    scale = (a[0] ** 2 + a[1] ** 2) * math.pi**2
    box = Box([-1.0, -1.0], [1.0, 1.0])

    def exact(x: Tensor) -> Tensor:
        return sine_product(x, a)

    def energy(x: Tensor, u: Jet) -> Tensor:
        return 0.5 * u.grad.square().sum((1, 2)) - scale * (exact(x) * u.value).sum(1)

    return Problem(
        domain=box,
        energy=energy,
        conditions=(Dirichlet(0.0, hard=True),),
        exact=exact,
        name="poisson2d_energy",
        order=1,
        constraint=zero_boundary_constraint(box, a),
        test_resolution=256,
        # the finite-element solution on four Hermite levels to 32 cells by CG: 1.3e-6 after
        # 100 steps (15 s on a shared core), against 2.7e-5 in 120 s for the twin with Adam
        suggested=galerkin_defaults(2, 32),
    )
