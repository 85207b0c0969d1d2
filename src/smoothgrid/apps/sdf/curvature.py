"""Curvature of a fitted field's level sets, from its jet.

The formulas (:mod:`smoothgrid.geometry.curvature`, re-exported here) take the gradient and the
Hessian; the field's come from its jet: analytic for smoothgrid's grids (Hermite: no double
backward), finite differences for ``ingp_fd``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ...field import Field
from ...geometry.curvature import (
    adjugate,
    gaussian_curvature,
    implicit_curvature,
    mean_curvature,
)

__all__ = [
    "mean_curvature",
    "gaussian_curvature",
    "adjugate",
    "field_curvature",
    "implicit_curvature",
]


def field_curvature(
    field: Field, x: Tensor, derivatives: str | None = None, chunk: int = 8192
) -> tuple[Tensor, Tensor, Tensor]:
    """Mean and Gaussian curvature of a one-channel field's level sets at ``x``.

    Args:
        field: a 3D field ``f``.
        x: ``(N, 3)`` points in domain coordinates.
        derivatives: the derivative method (``None``: the field's ``derivatives``).
        chunk: points per jet evaluation.

    Returns:
        ``(H (N,), K (N,), grad (N, 3))``, detached, in the field's dtype and on its device.
    """
    derivatives = derivatives or field.derivatives
    parameter = next(field.parameters())
    x = x.to(dtype=parameter.dtype, device=parameter.device)
    parts = []
    for i in range(0, len(x), chunk):
        with torch.set_grad_enabled(derivatives == "autograd"):
            u = field.jet(x[i : i + chunk], order=2, hessian=True, derivatives=derivatives)
        grad, hess = u.grad[:, 0].detach(), u.hess[:, 0].detach()
        parts.append((mean_curvature(grad, hess), gaussian_curvature(grad, hess), grad))
    return tuple(torch.cat(p) for p in zip(*parts))  # type: ignore[return-value]
