"""``helmholtz2d`` / ``helmholtz3d``: ``lap u + k^2 u = q`` on ``[-1, 1]^d``, and their
energy (Ritz) twins ``helmholtz2d_energy`` / ``helmholtz3d_energy``.

``u* = prod_i sin(a_i pi x_i)``, ``q = (k^2 - sum_i (a_i pi)^2) u*``, ``u = u*`` on the boundary
(0 for integer ``a``; then the ready-made constraint is ``u = B(x) N(x)`` with
``B = prod (1 - x_i^2)``). Test grids: ``256^2`` and ``64^3``.

The energy ``E[u] = int 1/2 |grad u|^2 - k^2/2 u^2 + q u`` over the fields with ``u = 0`` on the
boundary has the first variation
``int grad u . grad v - k^2 u v + q v = int (-lap u - k^2 u + q) v``, which vanishes for every
admissible ``v`` exactly when ``lap u + k^2 u = q``. It is a minimum, not only a stationary
point, when ``k^2`` is below the first Dirichlet eigenvalue of ``-lap`` on the cube,
``d (pi / 2)^2`` (4.93 in 2D, 7.40 in 3D): then ``int |grad v|^2 - k^2 v^2 > 0`` for every
``v != 0`` (Poincare), and the Ritz-Galerkin solution is the best approximation in the energy
norm. Above it the energy is indefinite and has no minimum (refused).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import Tensor

from ..geometry import Box
from ..jet import Jet
from .base import Problem, galerkin_defaults, suggested_defaults
from .conditions import Dirichlet
from .poisson import sine_product, zero_boundary_constraint

__all__ = ["helmholtz2d", "helmholtz3d", "helmholtz2d_energy", "helmholtz3d_energy"]


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


FORMULATIONS = ("residual", "energy")
"""The formulations of :func:`helmholtz2d` and :func:`helmholtz3d`."""


def helmholtz2d(
    a1: float = 1.0, a2: float = 4.0, k: float = 1.0, formulation: str | None = None
) -> Problem:
    """``lap u + k^2 u = q`` on ``[-1, 1]^2``, ``u* = sin(a1 pi x) sin(a2 pi y)``; variants
    ``(1, 4)`` (default), ``(10, 10)``, ``(20, 20)``, ``(100, 100)``; test grid ``256^2``.

    Args:
        formulation: ``"residual"`` (the PDE's residual: a PINN loss) or ``"energy"`` (the
            Ritz energy, as :func:`helmholtz2d_energy`: integer modes, ``k^2 < pi^2 / 2``;
            solved by CG it is a finite-element method). ``None``: ``"energy"`` for
            ``4 < max |a| <= 12`` where it applies (measured at ``a = 10``: 6.1e-5 against the
            residual's least-squares floor near 1.5e-3), else ``"residual"``.
    """
    a = (float(a1), float(a2))
    if _formulation(formulation, a, k, "helmholtz2d") == "energy":
        return _helmholtz_energy("helmholtz2d", a, k, 256)
    suggested = None
    if max(abs(ai) for ai in a) <= 4:
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
    elif max(abs(ai) for ai in a) <= 12:
        suggested = _least_squares_2d()
    return _helmholtz("helmholtz2d", a, k, 256, suggested)


def _formulation(formulation: str | None, a: Sequence[float], k: float, name: str) -> str:
    """The formulation asked for, or the one ``None`` picks (see :func:`helmholtz2d`)."""
    if formulation is not None and formulation not in FORMULATIONS:
        raise ValueError(
            f"{name}: unknown formulation {formulation!r}; known: {', '.join(FORMULATIONS)}"
        )
    if formulation is not None:
        return formulation
    applies = (
        all(float(ai).is_integer() for ai in a) and float(k) ** 2 < len(a) * (math.pi / 2) ** 2
    )
    measured = len(a) == 2 and 4 < max(abs(ai) for ai in a) <= 12
    return "energy" if applies and measured else "residual"


def _least_squares_2d() -> dict:
    """The residual form at frequencies up to 12 (measured at 10): the residual made affine in
    the tables (one feature per level, a linear read-out) and solved by column-scaled CG in
    float64 over a three-node Gauss rule in each of the 256^2 finest cells (589,824 points;
    seven dense Hermite levels ``4 -> 256``, 25.6 cells per period at a = 10): 5.8e-4 at step
    80, 1.5e-4 after 100. On 128 cells and 357,600 stratified points it stopped near 2.2e-3;
    Adam on the 2 x 64 decoder stalled near 0.3 (docs/benchmarks.md, "Accuracy per step")."""
    encoding = {"levels": 7, "features": 1, "min_res": 4, "max_res": 256, "log2_table": 17}
    return suggested_defaults(
        2, encoding=encoding, hidden=(), solver="cgls", dtype="float64", quadrature=3,
        batch=(3 * 256) ** 2, eval_every=10, steps=100, decay=None,
    )  # fmt: skip


def helmholtz3d(
    a1: float = 3.0, a2: float = 3.0, a3: float = 3.0, k: float = 1.0,
    formulation: str | None = None,
) -> Problem:  # fmt: skip
    """``lap u + k^2 u = q`` on ``[-1, 1]^3``, ``u* = prod sin(a_i pi x_i)``; variants
    ``(3, 3, 3)`` (default), ``(4, 4, 3)``, ``(10, 10, 10)``; test grid ``64^3``.

    Args:
        formulation: ``"residual"`` or ``"energy"`` (as :func:`helmholtz3d_energy`: integer
            modes, ``k^2 < 3 pi^2 / 4``); ``None``: ``"residual"``.
    """
    a = (float(a1), float(a2), float(a3))
    if _formulation(formulation, a, k, "helmholtz3d") == "energy":
        return _helmholtz_energy("helmholtz3d", a, k, 64)
    return _helmholtz("helmholtz3d", a, k, 64)


def _helmholtz_energy(name: str, a: Sequence[float], k: float, test_resolution: int) -> Problem:
    a = tuple(float(ai) for ai in a)
    if not all(ai.is_integer() for ai in a):
        raise ValueError(f"{name} takes integer modes (zero boundary data, held exactly), got {a}")
    k2 = float(k) ** 2
    first_eigenvalue = len(a) * (math.pi / 2) ** 2
    if not k2 < first_eigenvalue:
        raise ValueError(
            f"{name}: k^2 = {k2:g} is not below the first Dirichlet eigenvalue of -lap on "
            f"[-1, 1]^{len(a)} ({first_eigenvalue:.4g}): the energy has no minimum there"
        )
    coef = k2 - sum((ai * math.pi) ** 2 for ai in a)
    box = Box([-1.0] * len(a), [1.0] * len(a))

    def exact(x: Tensor) -> Tensor:
        return sine_product(x, a)

    def energy(x: Tensor, u: Jet) -> Tensor:
        source = coef * exact(x)
        return (0.5 * u.grad.square().sum((1, 2)) - 0.5 * k2 * u.value.square().sum(1)
                + (source * u.value).sum(1))  # fmt: skip

    return Problem(
        domain=box,
        energy=energy,
        conditions=(Dirichlet(0.0, hard=True),),
        exact=exact,
        name=name,
        order=1,
        constraint=zero_boundary_constraint(box, a),
        test_resolution=test_resolution,
        suggested=_galerkin(len(a), a),
    )


def _galerkin(dim: int, a: Sequence[float]) -> dict:
    """The finite-element settings (:func:`~.base.galerkin_defaults`): in 2D at least 12 cells
    per period of the highest mode at the finest level, and at least 128 cells (a power of two;
    147,456 points: 1.2e-6 for (1, 4) in 120 s on 2 CPU cores); in 3D about 8 per period
    (``3 * 2^k`` cells from 3: 24 for a = 3, 373,248 points)."""
    top = max(abs(ai) for ai in a)
    if dim == 2:
        return galerkin_defaults(2, max(128, 2 ** math.ceil(math.log2(12 * top))))
    finest = 3 * 2 ** max(2, math.ceil(math.log2(8 * top / 3)))
    return galerkin_defaults(dim, finest, min_res=3)


def helmholtz2d_energy(a1: int = 1, a2: int = 4, k: float = 1.0) -> Problem:
    """``min int 1/2 |grad u|^2 - k^2/2 u^2 + q u`` on ``[-1, 1]^2``, ``u = 0`` on the boundary
    (hard): :func:`helmholtz2d`'s solution; integer modes, ``k^2 < pi^2 / 2``."""
    return _helmholtz_energy("helmholtz2d_energy", (a1, a2), k, 256)


def helmholtz3d_energy(a1: int = 3, a2: int = 3, a3: int = 3, k: float = 1.0) -> Problem:
    """``min int 1/2 |grad u|^2 - k^2/2 u^2 + q u`` on ``[-1, 1]^3``, ``u = 0`` on the boundary
    (hard): :func:`helmholtz3d`'s solution; integer modes, ``k^2 < 3 pi^2 / 4``."""
    return _helmholtz_energy("helmholtz3d_energy", (a1, a2, a3), k, 64)
