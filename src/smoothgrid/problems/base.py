"""The :class:`Problem` record shared by the problem zoo and the training loop.

See ``docs/contract_problems.md`` for the contract. A residual of ``order <= 2`` takes
``(x (B, d), u: Jet)``; one of ``order > 2`` (``kirchhoff_love``) takes ``(x, u_fn)`` with
``u_fn: (B, d) -> (B, C)`` differentiable in its input (e.g. the field itself) and takes its own
derivatives with ``torch.autograd``.
"""

from __future__ import annotations

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


@dataclass
class Problem:
    """A PDE on a domain: residual, conditions, exact solution and solver hints.

    Attributes:
        domain: a :class:`~smoothgrid.geometry.Box`, :class:`~smoothgrid.geometry.SpaceTime` or
            :class:`~smoothgrid.geometry.ExteriorDomain`.
        residual: ``(x (B, d), u) -> (B, k)`` tensor or a dict of them, zero on a solution.
        conditions: boundary / initial / data conditions (losses unless marked ``hard`` and the
            ready-made ``constraint`` is used).
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
    """

    domain: Box | SpaceTime | ExteriorDomain
    residual: Residual
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

    def __post_init__(self) -> None:
        if not isinstance(self.order, int) or self.order < 0:
            raise ValueError(f"order must be an integer >= 0, got {self.order!r}")
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
