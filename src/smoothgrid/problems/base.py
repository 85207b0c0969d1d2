"""The :class:`Problem` record shared by the problem zoo and the training loop.

See ``docs/contract_problems.md`` for the contract. A residual of ``order <= 2`` takes
``(x (B, d), u: Jet)``; one of ``order > 2`` (``kirchhoff_love``) takes ``(x, u_fn)`` with
``u_fn: (B, d) -> (B, C)`` differentiable in its input (e.g. the field itself) and takes its own
derivatives with ``torch.autograd``.

A problem in energy (Ritz) form gives ``energy(x (B, d), u: Jet) -> (B,)`` instead of a residual:
the density whose integral over the domain its solution minimises. ``sg.solve`` then minimises
``volume * mean(energy)`` over each step's (stratified, if asked) points plus the integrals of
its :class:`~.energy.BoundaryEnergy` conditions; its essential (Dirichlet) conditions hold
exactly through the problem's hard ``constraint``, and its natural ones come from the energy.

>>> import smoothgrid as sg
>>> box = sg.geometry.Box([0, 0], [1, 1])
>>> ritz = sg.Problem(box, energy=lambda x, u: 0.5 * u.grad.square().sum((1, 2)) - u.value[:, 0],
...                   conditions=[sg.Dirichlet(0.0, hard=True)],
...                   constraint=sg.problems.hard_dirichlet(box), order=1)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor

from ..field import HardConstraint
from ..geometry import Box, ExteriorDomain, SpaceTime
from ..jet import Jet
from .conditions import Condition

__all__ = ["Problem", "ReferenceProblem", "suggested_defaults"]

Residual = Callable[[Tensor, Jet | Callable[[Tensor], Tensor]], Tensor | dict]
Energy = Callable[[Tensor, Jet], Tensor]
"""``(x (B, d), u: Jet) -> (B,)`` (or ``(B, 1)``): an energy density, per unit volume."""


@dataclass
class Problem:
    """A PDE on a domain: residual (or energy), conditions, exact solution and solver hints.

    Attributes:
        domain: a :class:`~smoothgrid.geometry.Box`, :class:`~smoothgrid.geometry.SpaceTime` or
            :class:`~smoothgrid.geometry.ExteriorDomain` (a ``Box`` for an energy).
        residual: ``(x (B, d), u) -> (B, k)`` tensor or a dict of them, zero on a solution;
            ``None`` for a problem in energy form.
        conditions: boundary / initial / data conditions (losses unless marked ``hard`` and the
            ready-made ``constraint`` is used). An energy problem takes only conditions marked
            ``hard`` (its essential conditions, held by ``constraint``) and
            :class:`~.energy.BoundaryEnergy` terms.
        exact: ``x (N, d) -> (N, C)`` exact solution, or ``None``.
        outputs: output channel names (``C = len(outputs)``).
        name: registry name.
        order: derivative order the residual needs (0..2 with jets; > 2: autograd residual).
        hessian: the residual needs the full Hessian (else the Laplacian over ``lap_axes``).
        lap_axes: axes of ``u.lap`` (``None``: all).
        periodic: axes the encoding should make periodic.
        constraint: a ready-made hard constraint, or ``None``.
        test_resolution: points per axis of the test grid (a number or one per axis).
        error_outputs: channels the relative L2 error uses (``None``: all).
        suggested: solver / encoding defaults (see :func:`suggested_defaults`).
        params: the parameters a registered problem was made with
            (:func:`smoothgrid.problems.make` fills it; a run records it in ``config.yaml``).
        energy: ``(x (B, d), u: Jet) -> (B,)`` energy density (Ritz form) instead of a
            residual; ``order``, ``hessian`` and ``lap_axes`` say which jet it takes.
    """

    domain: Box | SpaceTime | ExteriorDomain
    residual: Residual | None = None
    conditions: Sequence[Condition] = ()
    exact: Callable[[Tensor], Tensor] | None = None
    outputs: tuple[str, ...] = ("u",)
    name: str = "custom"
    order: int = 2
    hessian: bool = False
    lap_axes: tuple[int, ...] | None = None
    periodic: tuple[int, ...] = ()
    constraint: HardConstraint | None = None
    test_resolution: int | tuple[int, ...] = 64
    error_outputs: tuple[int, ...] | None = None
    suggested: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    energy: Energy | None = None

    def __post_init__(self) -> None:
        if (self.residual is None) == (self.energy is None):
            raise ValueError(
                "a Problem takes a residual (strong form) or an energy (Ritz form): exactly one "
                f"of them, got {'both' if self.residual is not None else 'neither'}"
            )
        if not isinstance(self.order, int) or self.order < 0:
            raise ValueError(f"order must be an integer >= 0, got {self.order!r}")
        if self.energy is not None:
            check_energy_problem(self)
        d = self.domain.dim
        for what, axes in (("lap_axes", self.lap_axes or ()), ("periodic", self.periodic)):
            if any(not 0 <= a < d for a in axes):
                raise ValueError(f"{what} must lie in 0..{d - 1}, got {tuple(axes)}")
        for condition in self.conditions:
            check = getattr(condition, "check", None)  # conditions of one's own may lack it
            if check is not None:
                check(self.domain)

    @property
    def dim(self) -> int:
        """Input dimension ``d`` (time included)."""
        return self.domain.dim

    def energy_density(self, x: Tensor, u: Jet) -> Tensor:
        """``(B,)`` the energy density at ``x (B, d)`` of the field whose jet is ``u``.

        Raises:
            ValueError: the problem's ``energy`` does not return one number per point.
        """
        e = self.energy(x, u)
        if not isinstance(e, Tensor) or e.shape not in ((len(x),), (len(x), 1)):
            shape = tuple(e.shape) if isinstance(e, Tensor) else type(e).__name__
            raise ValueError(
                f"the energy of problem {self.name!r} must return one number per point, shape "
                f"({len(x)},) or ({len(x)}, 1); got {shape}"
            )
        return e.reshape(len(x))

    def energy_integral(self, x: Tensor, u: Jet, weights: Tensor | None = None) -> Tensor:
        """``volume * mean(energy)``: the Monte Carlo integral of the energy density over the
        domain from its values at ``x (B, d)``, points uniform (or stratified) in it, or the
        quadrature rule's with ``weights (B,)`` (mean 1 over the whole rule; one process's block
        of it is rescaled so that the processes' mean is the rule's); a scalar that keeps the
        graph."""
        density = self.energy_density(x, u)
        if weights is not None:
            density = weights * density
        return self.domain.extent.prod().item() * density.mean()

    def test_points(self) -> Tensor:
        """``(N, d)`` float64 test grid ``domain.grid(test_resolution)``."""
        return self.domain.grid(self.test_resolution)

    def reference(self, x: Tensor) -> Tensor:
        """``(N, C)`` reference solution at ``x (N, d)``: the exact solution."""
        if self.exact is None:
            raise ValueError(f"problem {self.name!r} has no exact solution or reference")
        return self.exact(x)


@dataclass
class ReferenceProblem(Problem):
    """A :class:`Problem` whose reference is computed by the project (no closed form).

    Attributes:
        solution: ``x (N, d) -> (N, C)``, e.g. an interpolated finite-difference solution
            computed lazily on its first call.
    """

    solution: Callable[[Tensor], Tensor] | None = None

    def reference(self, x: Tensor) -> Tensor:
        """``(N, C)`` the computed reference at ``x (N, d)``."""
        if self.solution is None:
            return super().reference(x)
        return self.solution(x)


def check_energy_problem(problem: Problem) -> None:
    """Raise ``ValueError`` unless an energy problem can be integrated and keeps its essential
    conditions exactly: a :class:`~smoothgrid.geometry.Box` domain, ``order <= 2``, and every
    condition either ``hard`` (with the problem's ``constraint``) or an integral of its own
    (a :class:`~.energy.BoundaryEnergy`)."""
    if type(problem.domain) is not Box:
        raise ValueError(
            f"an energy is integrated over a Box (its volume times the mean); problem "
            f"{problem.name!r} has {type(problem.domain).__name__}"
        )
    if problem.order > 2:
        raise ValueError(
            f"an energy takes a jet of order <= 2, got order={problem.order} (an energy needs "
            f"half the derivatives of its residual)"
        )
    for condition in problem.conditions:
        if callable(getattr(condition, "energy", None)):
            continue
        if not getattr(condition, "hard", False):
            raise ValueError(
                f"an energy problem imposes its essential conditions exactly: mark {condition!r} "
                f"hard=True and give the problem a constraint, or make it a BoundaryEnergy"
            )
        if problem.constraint is None:
            raise ValueError(
                f"{condition!r} is hard but problem {problem.name!r} has no constraint to hold "
                f"it (see sg.problems.hard_dirichlet)"
            )


def suggested_defaults(dim: int, **overrides: Any) -> dict:
    """CPU defaults from BENCHMARKS.md's measured facts, adjusted to the input dimension.

    Hermite, ``L = 8`` levels, ``F = 2``, ``T = 2^16``, ``N 4 -> 256`` in 2D (``4 -> 64`` in 3D+),
    a 2 x 64 tanh decoder, lr 1e-2 for tables and decoder, 8192 points per step.

    Keys: ``encoding_name``; ``encoding`` (keyword arguments of ``sg.encodings.make`` besides
    name and dim); ``hidden``; ``activation``; ``batch``; ``steps``; ``lr``; ``decoder_lr``.
    ``overrides`` replace top-level keys or add other ``sg.solve`` settings (``stratified``,
    ``decay``, ``final_lr_factor``, ...); an ``encoding`` override is merged.
    """
    out: dict[str, Any] = {
        "encoding_name": "hermite",
        "encoding": {
            "levels": 8,
            "features": 2,
            "min_res": 4,
            "max_res": 256 if dim <= 2 else 64,
            "log2_table": 16,
        },
        "hidden": (64, 64),
        "activation": "tanh",
        "batch": 8192,
        "steps": 3000,
        "lr": 1e-2,
        "decoder_lr": 1e-2,
    }
    out["encoding"].update(overrides.pop("encoding", {}))
    out.update(overrides)
    return out


def galerkin_defaults(dim: int, finest: int, steps: int = 100, min_res: int = 4) -> dict:
    """Settings for the finite-element solution of a convex quadratic energy: dense Hermite
    levels ``min_res -> finest`` cells doubling from level to level (``finest / min_res`` a
    power of two), one feature each, a linear read-out, CG (``solver="cg"``) in float64 on a
    three-node Gauss rule in every finest cell (``(3 finest)^dim`` points), evaluated every
    10 steps."""
    levels = int(math.log2(finest // min_res)) + 1
    encoding = {"levels": levels, "features": 1, "min_res": min_res, "max_res": finest,
                "log2_table": max(12, math.ceil(math.log2((finest + 1) ** dim)))}  # fmt: skip
    return suggested_defaults(
        dim, encoding=encoding, hidden=(), solver="cg", dtype="float64", quadrature=3,
        batch=(3 * finest) ** dim, steps=steps, eval_every=10, decay=None,
    )  # fmt: skip
