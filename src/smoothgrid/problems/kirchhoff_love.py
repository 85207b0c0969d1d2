"""``kirchhoff_love``: the linear Kirchhoff-Love plate ``D lap^2 w = q`` on the unit square,
simply supported (``w = 0`` and ``lap w = 0`` on the edges).

``q = q0 sin(pi x) sin(pi y)``, exact ``w = W sin(pi x) sin(pi y)`` with
``W = q0 / (4 pi^4 D)``. Two formulations (``formulation=``):

* ``"mixed"`` (default): outputs ``(w, m)`` with ``m = lap w`` (the moment sum
  ``M_x + M_y = -D (1 + nu) lap w`` up to that factor), exact ``m = -2 pi^2 W sin(pi x)
  sin(pi y)``. Residuals, all of order 2 (analytic jets, any encoding): ``plate``
  ``(D lap m - q) / q0`` and ``moment`` ``(m - lap w) / M`` with ``M = 2 pi^2 W = q0 / (2 pi^2
  D)``, each ``(B, 1)`` and of order one on the exact mode. The ready-made constraint
  ``(w, m) = (W B N_w, M B N_m)`` (``B`` the box's boundary factor) makes both outputs vanish on
  the edges, which is the whole simply supported condition, and keeps the decoder's outputs
  ``N`` of order one (``w`` itself is ``2.6e-3 q0 / D``). The error uses ``w`` only.
* ``"biharmonic"``: one output ``w``, residual ``(D lap^2 w - q) / q0`` (``order = 4``). Jets stop
  at order 2, so the residual takes the field itself, not a jet: ``residual(x, w_fn)`` with
  ``w_fn: (B, 2) -> (B, 1)`` differentiable in its input (the ``Field``, whose RBF encoding is
  smooth enough); it takes ``lap lap w`` by ``torch.autograd.grad(create_graph=True)``, so the
  result still trains the field with one ``loss.backward()``. The constraint ``w = W B N``
  enforces ``w = 0``; ``lap w = 0`` stays a loss, weighted ``1 / M^2`` so it is of order one
  too. A fourth derivative of a grid of resolution ``N`` grows like ``N^4`` (about 16 times per
  doubling, against ``4 pi^4 ~ 390`` for the exact mode), so the suggested grid is coarse
  (3 levels, ``4 -> 16``), the batch small (512: ~0.3 s a step on 2 CPU cores) and the rate
  ``3e-3``. It trains without diverging but stalls near a relative error of ``2.4e-2`` (the
  residual and the boundary Laplacian pull against each other); use ``"mixed"`` for accuracy.

Its energy twin ``kirchhoff_love_energy`` minimises the plate's energy
``int D/2 (lap w)^2 - q w`` over the fields with ``w = 0`` on the edges (held exactly). The first
variation is ``int D lap w lap v - q v = int (D lap^2 w - q) v + int_edges D lap w dv/dn``: zero
for every admissible ``v`` exactly when ``D lap^2 w = q`` inside and ``lap w = 0`` on the edges,
the simply supported condition, which is natural here (no loss term). (The full Kirchhoff-Love
energy adds ``(1 - nu)`` times ``w_xy^2 - w_xx w_yy``, whose integral vanishes for ``w = 0`` on
straight edges.) One output ``w``, jets of order 2 (the Laplacian): no fourth derivative and no
autograd, on any encoding.

Suggested defaults, measured on 2 CPU cores: ``"mixed"`` with the Hermite encoding (6 levels,
``4 -> 64``, ``T = 2^14``, batch 4096, ~60-90 ms a step) reaches ``1e-4`` by step 200 and
``3e-5`` after 1000 steps; the RBF encoding was at ``4e-2`` after 300 steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from ..field import HardConstraint
from ..geometry import Box
from ..jet import Jet, cat
from .base import Problem, galerkin_defaults, suggested_defaults
from .conditions import BoundaryLaplacian, Dirichlet
from .poisson import sine_product

__all__ = ["kirchhoff_love", "kirchhoff_love_energy", "autograd_laplacian", "FORMULATIONS"]

FORMULATIONS = ("mixed", "biharmonic")
"""The formulations of :func:`kirchhoff_love`."""


def autograd_laplacian(y: Tensor, x: Tensor) -> Tensor:
    """``(B, 1)`` Laplacian of ``y (B, 1)`` with respect to ``x (B, d)`` (which requires grad),
    keeping the graph (``create_graph=True``) so it can be differentiated again."""
    (g,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    terms = [
        torch.autograd.grad(g[:, i].sum(), x, create_graph=True)[0][:, i : i + 1]
        for i in range(x.shape[1])
    ]
    return torch.stack(terms).sum(0)


def kirchhoff_love(D: float = 1.0, q0: float = 1.0, formulation: str = "mixed") -> Problem:
    """``D lap^2 w = q0 sin(pi x) sin(pi y)`` on ``[0, 1]^2``, simply supported; test ``64^2``.

    Args:
        D: flexural rigidity.
        q0: load amplitude.
        formulation: ``"mixed"`` (outputs ``(w, m = lap w)``, order 2) or ``"biharmonic"``
            (output ``w``, order 4 by autograd); see the module docstring.
    """
    if formulation not in FORMULATIONS:
        raise ValueError(f"unknown formulation {formulation!r}; known: {', '.join(FORMULATIONS)}")
    D, q0 = float(D), float(q0)
    box = Box([0.0, 0.0], [1.0, 1.0])
    W = q0 / (4.0 * math.pi**4 * D)  # amplitude of w
    M = 2.0 * math.pi**2 * W  # amplitude of m = lap w
    boundary = box.boundary_factor()

    def load(x: Tensor) -> Tensor:
        return q0 * sine_product(x, (1.0, 1.0))

    if formulation == "biharmonic":
        return _biharmonic(box, D, q0, W, M, load)

    def exact(x: Tensor) -> Tensor:
        s = sine_product(x, (1.0, 1.0))
        return torch.cat([W * s, -M * s], 1)

    def residual(x: Tensor, u: Jet) -> dict[str, Tensor]:
        lap_w, m, lap_m = u.lap[:, :1], u.value[:, 1:], u.lap[:, 1:]
        return {"plate": (D * lap_m - load(x)) / q0, "moment": (m - lap_w) / M}

    def factor(X: Jet) -> Jet:
        b = boundary(X)
        return cat([b * W, b * M])

    return Problem(
        domain=box,
        residual=residual,
        conditions=(Dirichlet(0.0, hard=True),),
        exact=exact,
        outputs=("w", "m"),
        name="kirchhoff_love",
        constraint=HardConstraint(factor),
        test_resolution=64,
        error_outputs=(0,),
        suggested=suggested_defaults(
            2, encoding={"levels": 6, "max_res": 64, "log2_table": 14}, batch=4096, steps=1000
        ),
    )


def _biharmonic(
    box: Box, D: float, q0: float, W: float, M: float, load: Callable[[Tensor], Tensor]
) -> Problem:
    """The ``order = 4`` formulation: ``(D lap^2 w - q) / q0`` by autograd on the field."""
    boundary = box.boundary_factor()

    def exact(x: Tensor) -> Tensor:
        return W * sine_product(x, (1.0, 1.0))

    def residual(x: Tensor, w: Callable[[Tensor], Tensor]) -> Tensor:
        with torch.enable_grad():
            xg = x.detach().requires_grad_(True)
            bilap = autograd_laplacian(autograd_laplacian(w(xg), xg), xg)
        return (D * bilap - load(x)) / q0

    return Problem(
        domain=box,
        residual=residual,
        conditions=(Dirichlet(0.0, hard=True), BoundaryLaplacian(0.0, weight=M**-2)),
        exact=exact,
        outputs=("w",),
        name="kirchhoff_love",
        order=4,
        constraint=HardConstraint(lambda X: boundary(X) * W),
        test_resolution=64,
        suggested=suggested_defaults(
            2,
            encoding_name="rbf",
            encoding={"levels": 3, "max_res": 16, "log2_table": 12},
            batch=512,
            steps=200,
            lr=3e-3,
            decoder_lr=3e-3,
        ),
    )


def kirchhoff_love_energy(D: float = 1.0, q0: float = 1.0) -> Problem:
    """``min int D/2 (lap w)^2 - q w`` on ``[0, 1]^2``, ``w = 0`` on the edges (hard), the same
    load and exact solution as :func:`kirchhoff_love`; ``lap w = 0`` on the edges is natural.

    The constraint ``w = W B N`` (``B`` the box's boundary factor, ``W`` the exact amplitude)
    keeps the decoder's output of order one. The energy is divided by ``q0 W`` (the size of
    ``int q w``), which changes neither its minimiser nor Adam's steps, only the loss printed.
    """
    D, q0 = float(D), float(q0)
    if not (D > 0 and q0 != 0):
        raise ValueError(f"kirchhoff_love_energy needs D > 0 and q0 != 0, got D={D}, q0={q0}")
    box = Box([0.0, 0.0], [1.0, 1.0])
    W = q0 / (4.0 * math.pi**4 * D)
    boundary = box.boundary_factor()

    def exact(x: Tensor) -> Tensor:
        return W * sine_product(x, (1.0, 1.0))

    def energy(x: Tensor, w: Jet) -> Tensor:
        load = q0 * sine_product(x, (1.0, 1.0))
        return (0.5 * D * w.lap.square() - load * w.value).sum(1) / (q0 * W)

    return Problem(
        domain=box,
        energy=energy,
        conditions=(Dirichlet(0.0, hard=True),),
        exact=exact,
        outputs=("w",),
        name="kirchhoff_love_energy",
        order=2,
        constraint=HardConstraint(lambda X: boundary(X) * W),
        test_resolution=64,
        # The finite-element solution of four dense Hermite levels to 32 cells (C1 bicubic,
        # conforming for the plate) by CG on a three-node Gauss rule per cell: 7.6e-9 after 100
        # steps (31 s on a shared core), against 6e-4 to 9e-4 in 20 s with Adam on an MLP.
        suggested=galerkin_defaults(2, 32),
    )
