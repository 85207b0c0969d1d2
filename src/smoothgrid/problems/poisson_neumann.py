"""``poisson_neumann``: ``-lap u = f`` on ``[0, 1]^2`` with ``u = 0`` on the left edge and a
prescribed flux ``du/dn = g`` on the others, and its energy twin ``poisson_neumann_energy``.

Exact solution ``u = sin(pi x / 2) cos(pi y / 2)``, ``f = pi^2 / 2 u``. Its outward normal
derivative is 0 on the right (``x = 1``) and bottom (``y = 0``) edges and
``g = -pi / 2 sin(pi x / 2)`` on the top (``y = 1``). The residual form keeps the fluxes as
:class:`~.conditions.Neumann` losses. The energy form minimises
``int 1/2 |grad u|^2 - f u - int_top g u`` over the fields with ``u = 0`` on the left: the flux
enters as the :class:`~.energy.BoundaryEnergy` ``-g u`` on the top, and the zero fluxes need
nothing at all. The first variation,
``int (-lap u - f) v + int_(right, bottom, top) (du/dn - g) v``, vanishes for every ``v`` with
``v = 0`` on the left exactly when both the equation and the fluxes hold: the Neumann conditions
are natural.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..geometry import Box
from ..jet import Jet
from .base import Problem, suggested_defaults
from .conditions import Dirichlet, Neumann
from .constraints import hard_dirichlet
from .energy import BoundaryEnergy

__all__ = ["poisson_neumann", "poisson_neumann_energy"]

_SOURCE = math.pi**2 / 2.0


def _exact(x: Tensor) -> Tensor:
    return torch.sin(0.5 * math.pi * x[:, :1]) * torch.cos(0.5 * math.pi * x[:, 1:2])


def _top_flux(x: Tensor) -> Tensor:
    """``(n, 1)``: ``du/dn = du/dy`` of the exact solution on the top edge."""
    return -0.5 * math.pi * torch.sin(0.5 * math.pi * x[:, :1])


def _box() -> Box:
    return Box([0.0, 0.0], [1.0, 1.0])


def _suggested() -> dict:
    return suggested_defaults(
        2,
        encoding={"levels": 6, "max_res": 64, "log2_table": 14},
        decay="cosine",
        final_lr_factor=1e-3,
        stratified=True,
    )


def poisson_neumann() -> Problem:
    """``-lap u = f`` on ``[0, 1]^2``: ``u = 0`` on the left (hard), fluxes as losses."""
    box = _box()

    def residual(x: Tensor, u: Jet) -> Tensor:
        return -u.lap - _SOURCE * _exact(x)

    return Problem(
        domain=box,
        residual=residual,
        conditions=(
            Dirichlet(0.0, on="left", hard=True),
            Neumann(0.0, on=("right", "bottom")),
            Neumann(_top_flux, on="top", name="flux"),
        ),
        exact=_exact,
        name="poisson_neumann",
        constraint=hard_dirichlet(box, on="left"),
        test_resolution=128,
        suggested=_suggested(),
    )


def poisson_neumann_energy() -> Problem:
    """``min int 1/2 |grad u|^2 - f u - int_top g u`` on ``[0, 1]^2``, ``u = 0`` on the left
    (hard); the fluxes are natural (see the module docstring)."""
    box = _box()

    def energy(x: Tensor, u: Jet) -> Tensor:
        return 0.5 * u.grad.square().sum((1, 2)) - _SOURCE * (_exact(x) * u.value).sum(1)

    def flux_energy(x: Tensor, u: Jet) -> Tensor:
        return -(_top_flux(x) * u.value).sum(1)

    return Problem(
        domain=box,
        energy=energy,
        conditions=(
            Dirichlet(0.0, on="left", hard=True),
            BoundaryEnergy(flux_energy, on="top", name="flux"),
        ),
        exact=_exact,
        name="poisson_neumann_energy",
        order=1,
        constraint=hard_dirichlet(box, on="left"),
        test_resolution=128,
        suggested=_suggested(),
    )
