"""Curvature of the level sets of an implicit function ``f`` from its gradient and Hessian.

With ``g = grad f`` and ``Hs`` the Hessian at a point, the level set through it has

* mean curvature ``H = (|g|^2 tr(Hs) - g^T Hs g) / (2 |g|^3)`` (half the divergence of the unit
  normal ``g / |g|``: a sphere of radius ``r`` with ``f = |x| - r`` has ``H = 1 / r``; convex
  surfaces are positive with ``f`` negative inside), and
* Gaussian curvature ``K = g^T adj(Hs) g / |g|^4`` (``1 / r^2`` on that sphere).

Both are unchanged when ``f`` is multiplied by a positive function, so they hold for any implicit
function, not only a signed distance. The field's derivatives come from its jet: analytic for
smoothgrid's grids (Hermite: no double backward), finite differences for ``ingp_fd``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ...field import Field

__all__ = [
    "mean_curvature",
    "gaussian_curvature",
    "adjugate",
    "field_curvature",
    "implicit_curvature",
]


def adjugate(m: Tensor) -> Tensor:
    """``(..., 3, 3)`` adjugate (transposed cofactor matrix): ``m @ adjugate(m) = det(m) I``."""
    r0, r1, r2 = m[..., 0, :], m[..., 1, :], m[..., 2, :]
    columns = (torch.linalg.cross(r1, r2), torch.linalg.cross(r2, r0), torch.linalg.cross(r0, r1))
    return torch.stack(columns, dim=-1)


def mean_curvature(grad: Tensor, hess: Tensor) -> Tensor:
    """Mean curvature of the level sets, ``(...,)``, in inverse units of ``x``.

    Args:
        grad: ``(..., 3)`` gradient of ``f``.
        hess: ``(..., 3, 3)`` its Hessian.
    """
    g2 = grad.square().sum(-1)
    trace = hess.diagonal(dim1=-2, dim2=-1).sum(-1)
    ghg = torch.einsum("...i,...ij,...j->...", grad, hess, grad)
    return (g2 * trace - ghg) / (2.0 * g2.pow(1.5))


def gaussian_curvature(grad: Tensor, hess: Tensor) -> Tensor:
    """Gaussian curvature of the level sets, ``(...,)``, in inverse square units of ``x``.

    Args:
        grad: ``(..., 3)`` gradient of ``f``.
        hess: ``(..., 3, 3)`` its Hessian.
    """
    g2 = grad.square().sum(-1)
    return torch.einsum("...i,...ij,...j->...", grad, adjugate(hess), grad) / g2.square()


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


def implicit_curvature(f: Callable[[Tensor], Tensor], x: Tensor) -> tuple[Tensor, Tensor]:
    """Exact ``(H (N,), K (N,))`` of the level sets of an analytic ``f: (N, 3) -> (N,)`` at
    ``x (N, 3)``, from its autograd gradient and Hessian (use float64)."""
    p = x.detach().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(f(p).sum(), p, create_graph=True)
        rows = [torch.autograd.grad(grad[:, i].sum(), p, retain_graph=True)[0] for i in range(3)]
    hess = torch.stack(rows, dim=1)
    grad = grad.detach()
    return mean_curvature(grad, hess), gaussian_curvature(grad, hess)
