"""The problem zoo: PDEs with exact (or computed) solutions, and the building blocks of new ones.

``make(name, **params)`` builds a registered problem; ``names()`` and ``describe()`` list them.
A user-defined problem is a :class:`Problem` of a domain, a residual ``(x, u: Jet) -> Tensor``
(or an energy density ``(x, u: Jet) -> (B,)``, the Ritz form) and conditions (see
``docs/contract_problems.md``).

>>> p = make("helmholtz2d", a1=1, a2=4)
>>> p.test_points().shape
torch.Size([65536, 2])
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from typing import Any

from .base import Problem, ReferenceProblem, suggested_defaults
from .conditions import (
    BoundaryCondition,
    BoundaryLaplacian,
    Condition,
    Data,
    Dirichlet,
    Initial,
    Neumann,
    Periodic,
    Robin,
)
from .constraints import hard_dirichlet
from .convection import convection
from .energy import BoundaryEnergy
from .flow_mixing import flow_mixing
from .heat import heat, nonlinear_heat
from .helmholtz import helmholtz2d, helmholtz2d_energy, helmholtz3d, helmholtz3d_energy
from .kirchhoff_love import kirchhoff_love, kirchhoff_love_energy
from .klein_gordon import klein_gordon
from .poisson import poisson2d, poisson2d_energy
from .poisson_mesh import poisson_mesh
from .poisson_neumann import poisson_neumann, poisson_neumann_energy
from .suggested import suggested_field, suggested_settings
from .taylor_green import taylor_green

__all__ = [
    "make",
    "names",
    "describe",
    "Problem",
    "ReferenceProblem",
    "suggested_defaults",
    "suggested_field",
    "suggested_settings",
    "Condition",
    "BoundaryCondition",
    "Dirichlet",
    "Neumann",
    "Robin",
    "Periodic",
    "Initial",
    "Data",
    "BoundaryLaplacian",
    "BoundaryEnergy",
    "hard_dirichlet",
]

_REGISTRY: dict[str, tuple[Callable[..., Problem], str]] = {
    "poisson2d": (poisson2d, "-lap u = f on [-1,1]^2, u = sin(a1 pi x) sin(a2 pi y)"),
    "poisson2d_energy": (
        poisson2d_energy,
        "energy form of poisson2d: min int 1/2 |grad u|^2 - f u, u = 0 held exactly",
    ),
    "poisson_neumann": (
        poisson_neumann,
        "-lap u = f on [0,1]^2, u = 0 on the left, fluxes du/dn = g on the other edges",
    ),
    "poisson_neumann_energy": (
        poisson_neumann_energy,
        "energy form of poisson_neumann: the fluxes natural (a boundary energy -g u)",
    ),
    "helmholtz2d": (helmholtz2d, "lap u + k^2 u = q on [-1,1]^2, u = sin(a1 pi x) sin(a2 pi y)"),
    "helmholtz3d": (helmholtz3d, "lap u + k^2 u = q on [-1,1]^3, u = prod sin(a_i pi x_i)"),
    "helmholtz2d_energy": (
        helmholtz2d_energy,
        "energy form of helmholtz2d: min int 1/2 |grad u|^2 - k^2/2 u^2 + q u, u = 0 held exactly",
    ),
    "helmholtz3d_energy": (
        helmholtz3d_energy,
        "energy form of helmholtz3d: min int 1/2 |grad u|^2 - k^2/2 u^2 + q u, u = 0 held exactly",
    ),
    "convection": (convection, "u_t + beta u_x = 0, x periodic in [0, 2pi), u = sin(x - beta t)"),
    "heat": (heat, "u_t = kappa lap u on [0,1]^d x [0,1], decaying sine mode"),
    "nonlinear_heat": (
        nonlinear_heat,
        "u_t = 0.05 (|grad u|^2 + u lap u) on [-1,1]^2 x [0,1] (SPINN), FD reference",
    ),
    "flow_mixing": (flow_mixing, "u_t + a u_x + b u_y = 0, rotating vortex on [-4,4]^2 x [0,4]"),
    "advection2d": (flow_mixing, "alias of flow_mixing"),
    "klein_gordon": (klein_gordon, "u_tt - lap u + u^2 = f on [-1,1]^2 x [0,10]"),
    "taylor_green": (taylor_green, "2D Navier-Stokes Taylor-Green vortex, nu = 0.01, (u, v, p)"),
    "kirchhoff_love": (
        kirchhoff_love,
        "D lap^2 w = q on the unit square, simply supported; mixed (w, m = lap w) or biharmonic",
    ),
    "kirchhoff_love_energy": (
        kirchhoff_love_energy,
        "energy form of kirchhoff_love: min int D/2 (lap w)^2 - q w, second derivatives only",
    ),
    "poisson_mesh": (
        poisson_mesh,
        "lap u = 0 in [-1,1]^3 outside a shape or mesh, u = 1 on it, 0 on the box; FD reference",
    ),
}


def names() -> list[str]:
    """Names of the registered problems."""
    return list(_REGISTRY)


def describe() -> dict[str, str]:
    """Problem name -> one-line description."""
    return {name: text for name, (_, text) in _REGISTRY.items()}


def make(name: str, **params: Any) -> Problem:
    """Build a registered problem, e.g. ``make("helmholtz2d", a1=10, a2=10)``.

    Raises:
        ValueError: an unknown name (listing the known ones and the nearest match) or a
            parameter the problem does not take (naming it and the accepted ones).
    """
    if name not in _REGISTRY:
        near = difflib.get_close_matches(str(name), list(_REGISTRY), n=1)
        hint = f" Did you mean {near[0]!r}?" if near else ""
        raise ValueError(f"unknown problem {name!r}.{hint} Known: {', '.join(_REGISTRY)}")
    factory = _REGISTRY[name][0]
    accepted = list(inspect.signature(factory).parameters)
    bad = [key for key in params if key not in accepted]
    if bad:
        raise ValueError(
            f"problem {name!r} has no parameter {bad[0]!r}; accepted: "
            f"{', '.join(accepted) if accepted else '(none)'}"
        )
    problem = factory(**params)
    problem.params = dict(params)
    return problem
