"""``helmholtz2d`` / ``helmholtz3d``: ``lap u + k^2 u = q`` on ``[-1, 1]^d``.

``u* = prod_i sin(a_i pi x_i)``, ``q = (k^2 - sum_i (a_i pi)^2) u*``, ``u = u*`` on the boundary
(0 for integer ``a``; then the ready-made constraint is ``u = B(x) N(x)`` with
``B = prod (1 - x_i^2)``). Test grids: ``256^2`` and ``64^3``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import Tensor

from ..geometry import Box
from ..jet import Jet
from .base import Problem, suggested_defaults
from .conditions import Dirichlet
from .poisson import sine_product, zero_boundary_constraint

__all__ = ["helmholtz2d", "helmholtz3d"]


def _helmholtz(
    name: str, a: Sequence[float], k: float, test_resolution: int, suggested: dict | None = None
) -> Problem:
    a = tuple(float(ai) for ai in a)
    k2 = float(k) ** 2
    coef = k2 - sum((ai * math.pi) ** 2 for ai in a)
    box = Box([-1.0] * len(a), [1.0] * len(a))

    def exact(x: Tensor) -> Tensor:
        return sine_product(x, a)

    def residual(x: Tensor, u: Jet) -> Tensor:
        return u.lap + k2 * u.value - coef * exact(x)

    constraint = zero_boundary_constraint(box, a)
    return Problem(
        domain=box,
        residual=residual,
        conditions=(Dirichlet(exact, hard=constraint is not None),),
        exact=exact,
        name=name,
        constraint=constraint,
        test_resolution=test_resolution,
        suggested=suggested_defaults(len(a)) if suggested is None else suggested,
    )


def helmholtz2d(a1: float = 1.0, a2: float = 4.0, k: float = 1.0) -> Problem:
    """``lap u + k^2 u = q`` on ``[-1, 1]^2``, ``u* = sin(a1 pi x) sin(a2 pi y)``; variants
    ``(1, 4)`` (default), ``(10, 10)``, ``(20, 20)``, ``(100, 100)``; test grid ``256^2``."""
    suggested = None
    if max(abs(float(a1)), abs(float(a2))) <= 4:
        # Low frequencies: a coarser grid, stratified points and a cosine decay to 1e-3 (a quiet
        # end: with exp decay to 0.01 the final error still jumped between 6e-4 and 1e-3)
        # measured 3.1e-4 / 3.7e-4 (seeds 0 / 1) for (1, 4) in 120 s on 2 CPU cores, against
        # 1.6e-3 with the 2D defaults (docs/bench/cpu_tuning_notes.md).
        suggested = suggested_defaults(
            2,
            encoding={"levels": 6, "max_res": 64, "log2_table": 14},
            stratified=True,
            decay="cosine",
            final_lr_factor=0.001,
        )
    elif max(abs(float(a1)), abs(float(a2))) <= 12:
        suggested = _least_squares_2d()
    return _helmholtz("helmholtz2d", (a1, a2), k, 256, suggested)


def _least_squares_2d() -> dict:
    """Frequencies up to 12 (measured at 10): the residual made affine in the tables (one
    feature per level, a linear read-out) and solved by column-scaled CG in float64 on fixed
    stratified points, four per unknown. Six dense Hermite levels ``4 -> 128`` (12.8 cells per
    period at a = 10; 89,400 unknowns, 357,600 points). Adam on the 2 x 64 decoder stalled
    near 0.3 (docs/benchmarks.md, "Accuracy per step")."""
    encoding = {"levels": 6, "features": 1, "min_res": 4, "max_res": 128, "log2_table": 16}
    unknowns = 4 * sum((round(4 * 2**level) + 1) ** 2 for level in range(6))
    return suggested_defaults(
        2, encoding=encoding, hidden=(), solver="cgls", dtype="float64", stratified=True,
        batch=4 * unknowns, eval_every=10, steps=150, decay=None,
    )  # fmt: skip


def helmholtz3d(a1: float = 3.0, a2: float = 3.0, a3: float = 3.0, k: float = 1.0) -> Problem:
    """``lap u + k^2 u = q`` on ``[-1, 1]^3``, ``u* = prod sin(a_i pi x_i)``; variants
    ``(3, 3, 3)`` (default), ``(4, 4, 3)``, ``(10, 10, 10)``; test grid ``64^3``."""
    return _helmholtz("helmholtz3d", (a1, a2, a3), k, 64)
