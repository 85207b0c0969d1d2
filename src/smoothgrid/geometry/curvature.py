"""Curvature of the level sets of an implicit function ``f`` from its gradient and Hessian.

With ``g = grad f`` and ``Hs`` the Hessian at a point, the level set through it has

* mean curvature ``H = (|g|^2 tr(Hs) - g^T Hs g) / (2 |g|^3)`` (half the divergence of the unit
  normal ``g / |g|``: a sphere of radius ``r`` with ``f = |x| - r`` has ``H = 1 / r``; convex
  surfaces are positive with ``f`` negative inside), and
* Gaussian curvature ``K = g^T adj(Hs) g / |g|^4`` (``1 / r^2`` on that sphere).

Both are unchanged when ``f`` is multiplied by a positive function, so they hold for any implicit
function, not only a signed distance. The shapes of :mod:`.shapes` use them for their exact
curvature; :mod:`smoothgrid.apps.sdf` for a fitted field's.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["adjugate", "mean_curvature", "gaussian_curvature", "implicit_curvature"]


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


def implicit_curvature(f: Callable[[Tensor], Tensor], x: Tensor) -> tuple[Tensor, Tensor]:
    """Exact ``(H (N,), K (N,))`` of the level sets of an analytic ``f: (N, 3) -> (N,)`` at
    ``x (N, 3)``, from its autograd gradient and Hessian (use float64). Where ``f`` is a
    ``min`` / ``max`` of smooth pieces (CSG), autograd follows the active piece."""
    p = x.detach().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(f(p).sum(), p, create_graph=True)
        rows = [torch.autograd.grad(grad[:, i].sum(), p, retain_graph=True)[0] for i in range(3)]
    hess = torch.stack(rows, dim=1)
    grad = grad.detach()
    return mean_curvature(grad, hess), gaussian_curvature(grad, hess)
