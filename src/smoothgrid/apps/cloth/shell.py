"""The Kirchhoff-Love thin-shell energy of a deformed surface ``x(u, v)`` (Koiter's model).

A surface is given by the jet of its position ``x: (u, v) -> R^3`` (value ``(B, 3)``, gradient
``(B, 3, 2)``, full Hessian ``(B, 3, 2, 2)``, all analytic on smoothgrid's grids). Its

* first fundamental form ``a_ab = x_a . x_b`` (the metric), ``(B, 2, 2)``;
* second fundamental form ``b_ab = x_ab . n``, ``n = x_u x x_v / |x_u x x_v|``, ``(B, 2, 2)``.

Against the reference forms ``abar`` and ``bbar`` (a flat square of side ``L`` on ``(u, v) in
[0, 1]^2``: ``abar = L^2 I``, ``bbar = 0``), the Green strain is ``E = (a - abar) / 2`` and the
change of curvature ``K = b - bbar``. A St. Venant-Kirchhoff material in plane stress stores,
per unit reference area (``M = abar^-1 E``, ``C = abar^-1 K``: mixed tensors, so the traces are
invariants),

* membrane: ``h E_Y / (2 (1 - nu^2)) [nu tr(M)^2 + (1 - nu) tr(M^2)]``,
* bending:  ``h^3 E_Y / (24 (1 - nu^2)) [nu tr(C)^2 + (1 - nu) tr(C^2)]``,

and gravity adds ``rho h g z``. Multiplying by ``sqrt(det abar)`` gives densities per unit
``du dv``, whose integral over the unit square is the energy in joules. Both shell terms vanish
for a rigid motion (``a = abar``, ``b = 0`` for a flat reference) and are positive otherwise.
A cylinder of radius ``R`` made from the flat sheet with a stretch ``s`` across its axis has
``M = diag((s^2 - 1) / 2, 0)`` and ``C = diag(s^2 / R, 0)``: membrane ``E_Y h (s^2 - 1)^2 /
(8 (1 - nu^2))`` and bending ``D s^4 / (2 R^2)`` per unit reference area.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ...jet import Jet
from .material import GRAVITY, Material

__all__ = [
    "FundamentalForms",
    "fundamental_forms",
    "flat_reference",
    "membrane_density",
    "bending_density",
    "gravity_density",
    "shell_densities",
    "principal_strains",
]


@dataclass
class FundamentalForms:
    """The forms of a surface at ``B`` points.

    Attributes:
        metric: ``a (B, 2, 2)``, first fundamental form (m^2 per unit parameter^2).
        curvature: ``b (B, 2, 2)``, second fundamental form (m per unit parameter^2).
        normal: ``(B, 3)`` unit normal ``x_u x x_v / |x_u x x_v|``.
    """

    metric: Tensor
    curvature: Tensor
    normal: Tensor


def fundamental_forms(x: Jet) -> FundamentalForms:
    """The fundamental forms of the surface whose position jet is ``x`` (3 channels, order 2,
    full Hessian, derivatives with respect to the two parameters)."""
    if x.channels != 3 or x.dim != 2 or x.hess is None:
        raise ValueError(
            f"a surface jet has 3 channels over 2 parameters with its full Hessian, got {x!r}"
        )
    g = x.grad  # (B, 3, 2): columns x_u, x_v
    metric = g.transpose(1, 2) @ g
    cross = torch.linalg.cross(g[..., 0], g[..., 1], dim=-1)
    normal = cross / cross.norm(dim=-1, keepdim=True).clamp_min(1e-30)
    curvature = torch.einsum("nicd,ni->ncd", x.hess, normal)
    return FundamentalForms(metric, curvature, normal)


def flat_reference(size: float, n: int, dtype: torch.dtype, device) -> FundamentalForms:
    """The forms of the flat square ``(L u, L v, 0)``: ``abar = L^2 I``, ``bbar = 0``,
    normal ``+z``, repeated for ``n`` points."""
    eye = torch.eye(2, dtype=dtype, device=device).expand(n, 2, 2)
    normal = torch.tensor([0.0, 0.0, 1.0], dtype=dtype, device=device).expand(n, 3)
    return FundamentalForms(size**2 * eye, torch.zeros_like(eye), normal)


def _quadratic(tensor: Tensor, metric: Tensor, poisson: float) -> Tensor:
    """``nu tr(T)^2 + (1 - nu) tr(T^2)`` of the mixed tensor ``T = metric^-1 tensor``."""
    mixed = torch.linalg.solve(metric, tensor)
    trace = mixed.diagonal(dim1=-2, dim2=-1).sum(-1)
    trace_sq = (mixed * mixed.transpose(-1, -2)).sum((-1, -2))
    return poisson * trace.square() + (1.0 - poisson) * trace_sq


def _area_element(reference: FundamentalForms) -> Tensor:
    return torch.linalg.det(reference.metric).sqrt()


def membrane_density(
    forms: FundamentalForms, reference: FundamentalForms, material: Material
) -> Tensor:
    """``(B,)`` membrane energy per unit ``du dv``, J (see the module docstring)."""
    strain = 0.5 * (forms.metric - reference.metric)
    w = 0.5 * material.membrane_stiffness * _quadratic(strain, reference.metric, material.poisson)
    return w * _area_element(reference)


def bending_density(
    forms: FundamentalForms, reference: FundamentalForms, material: Material
) -> Tensor:
    """``(B,)`` bending energy per unit ``du dv``, J (see the module docstring)."""
    change = forms.curvature - reference.curvature
    w = 0.5 * material.bending_stiffness * _quadratic(change, reference.metric, material.poisson)
    return w * _area_element(reference)


def gravity_density(
    position: Tensor, reference: FundamentalForms, material: Material, gravity: float = GRAVITY
) -> Tensor:
    """``(B,)`` potential ``rho h g z`` per unit ``du dv``, J, at positions ``(B, 3)``, z up."""
    return material.areal_density * gravity * position[:, 2] * _area_element(reference)


def shell_densities(
    x: Jet, reference: FundamentalForms, material: Material, gravity: float = GRAVITY
) -> dict[str, Tensor]:
    """``{"membrane", "bending", "gravity"}``: each ``(B,)`` per unit ``du dv`` (J)."""
    forms = fundamental_forms(x)
    return {
        "membrane": membrane_density(forms, reference, material),
        "bending": bending_density(forms, reference, material),
        "gravity": gravity_density(x.value, reference, material, gravity),
    }


def principal_strains(forms: FundamentalForms, reference: FundamentalForms) -> Tensor:
    """``(B, 2)`` principal stretches minus one, ascending: ``sqrt(1 + 2 e) - 1`` for the
    eigenvalues ``e`` of the Green strain in an orthonormal reference frame (engineering
    strains: 0.01 is one per cent longer)."""
    chol = torch.linalg.cholesky(reference.metric)
    strain = 0.5 * (forms.metric - reference.metric)
    inv = torch.linalg.inv(chol)
    physical = inv @ strain @ inv.transpose(-1, -2)
    e = torch.linalg.eigvalsh(0.5 * (physical + physical.transpose(-1, -2)))
    return (1.0 + 2.0 * e).clamp_min(0.0).sqrt() - 1.0
