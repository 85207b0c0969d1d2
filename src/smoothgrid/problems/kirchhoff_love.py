"""``kirchhoff_love``: the linear Kirchhoff-Love plate ``D lap^2 w = q`` on the unit square,
simply supported (``w = 0`` and ``lap w = 0`` on the edges).

``q = q0 sin(pi x) sin(pi y)``, exact ``w = q0 / (4 pi^4 D) sin(pi x) sin(pi y)``.

Fourth order (``order = 4``): jets stop at order 2, so the residual takes the field itself, not a
jet: ``residual(x, w_fn)`` with ``w_fn: (B, 2) -> (B, 1)`` differentiable in its input (e.g. the
``Field``, whose RBF encoding is smooth enough); it takes ``lap lap w`` by
``torch.autograd.grad(create_graph=True)``, so the result still trains the field with one
``loss.backward()``. The boundary conditions are of order <= 2 and use jets as usual; the
ready-made constraint ``w = B(x) N`` enforces ``w = 0`` (``lap w = 0`` stays a loss).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from ..field import HardConstraint
from ..geometry import Box
from .base import Problem, suggested_defaults
from .conditions import BoundaryLaplacian, Dirichlet
from .poisson import sine_product

__all__ = ["kirchhoff_love", "autograd_laplacian"]


def autograd_laplacian(y: Tensor, x: Tensor) -> Tensor:
    """``(B, 1)`` Laplacian of ``y (B, 1)`` with respect to ``x (B, d)`` (which requires grad),
    keeping the graph (``create_graph=True``) so it can be differentiated again."""
    (g,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    terms = [
        torch.autograd.grad(g[:, i].sum(), x, create_graph=True)[0][:, i : i + 1]
        for i in range(x.shape[1])
    ]
    return torch.stack(terms).sum(0)


def kirchhoff_love(D: float = 1.0, q0: float = 1.0) -> Problem:
    """``D lap^2 w = q0 sin(pi x) sin(pi y)`` on ``[0, 1]^2``, simply supported; test ``64^2``."""
    D, q0 = float(D), float(q0)
    box = Box([0.0, 0.0], [1.0, 1.0])
    amplitude = q0 / (4.0 * math.pi**4 * D)

    def exact(x: Tensor) -> Tensor:
        return amplitude * sine_product(x, (1.0, 1.0))

    def residual(x: Tensor, w: Callable[[Tensor], Tensor]) -> Tensor:
        with torch.enable_grad():
            xg = x.detach().requires_grad_(True)
            bilap = autograd_laplacian(autograd_laplacian(w(xg), xg), xg)
        return D * bilap - q0 * sine_product(x, (1.0, 1.0))

    return Problem(
        domain=box,
        residual=residual,
        conditions=(Dirichlet(0.0, hard=True), BoundaryLaplacian(0.0)),
        exact=exact,
        name="kirchhoff_love",
        order=4,
        constraint=HardConstraint(box.boundary_factor()),
        test_resolution=64,
        suggested=suggested_defaults(2, encoding_name="rbf", encoding={"levels": 6, "max_res": 64}),
    )
