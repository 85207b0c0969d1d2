"""The SIREN signed-distance loss (Sitzmann et al. 2020, eq. 6) on first-order jets, with a
sign term.

For surface points ``x_s`` with normals ``n`` and off-surface points ``x_o`` (uniform in the
box), with ``f`` the field:

* ``surface``: ``mean |f(x_s)|`` (the surface is the zero set);
* ``normal``: ``mean (1 - cos(grad f(x_s), n))`` (the gradient points along the normal);
* ``off_surface``: ``mean exp(-alpha |f(x_o)|)`` (no spurious zeros away from the surface);
* ``eikonal``: ``mean ||grad f| - 1|`` over both sets (a distance has a unit gradient);
* ``sign`` (not SIREN's): ``mean relu(-s f(x_o))`` with ``s = +1 / -1`` outside / inside by the
  nearest oriented point (:meth:`~.data.SdfTarget.sign`, ``0`` near the surface). SIREN's terms
  give no gradient deep inside a region of the wrong sign (``f`` far from 0 with a unit
  gradient satisfies them all), so a spurious inside, such as a start's sphere in the hole of a
  torus, would never leave.

And ``face_jump``: the mean jump of the Hessian across the grid's cell faces at surface points
snapped to them (:func:`~.jumps.face_jump`; second-order jets, computed only with a weight).

The total is ``sum_t w_t term_t`` with :data:`SDF_WEIGHTS` (SIREN's weights for its terms). Only
values and gradients enter, so one first-order jet per point set suffices (analytic for the
grids).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from ...jet import Jet

__all__ = ["SDF_WEIGHTS", "ALPHA", "sdf_terms", "total_loss"]

SDF_WEIGHTS = {
    "surface": 3e3,
    "normal": 1e2,
    "off_surface": 1e2,
    "eikonal": 5e1,
    "sign": 3e3,
    "face_jump": 10.0,
}
"""Term name -> weight: SIREN's for its four terms. The sign term weighs as much as the surface:
at 1e2 a wrong-signed region the size of a torus's hole was still there after 120 steps, at 3e3
it was gone (Chamfer distance 2.6e-2 -> 3.3e-3). ``face_jump`` (the Hessian's jump across cell
faces, :mod:`.jumps`) weighs 10 on smoothgrid's grids (``fit_sdf`` drops it for the baselines):
after 150 steps on the torus it cut the relative curvature errors from 0.178 / 0.418 (mean /
Gaussian) to 0.046 / 0.092, on the ellipsoid from 0.147 / 0.382 to 0.028 / 0.060 (one seed;
docs/sdf.md, "Smooth curvature")."""

ALPHA = 100.0
"""Decay rate of the off-surface term, in inverse domain units (SIREN's value)."""


def sdf_terms(
    surface: Jet, normals: Tensor, off_surface: Jet, side: Tensor, alpha: float = ALPHA
) -> dict[str, Tensor]:
    """The five unweighted loss terms (scalars with a graph).

    Args:
        surface: first-order jet of the field at ``B_s`` surface points (``C = 1``).
        normals: ``(B_s, 3)`` unit outward normals there.
        off_surface: first-order jet at ``B_o`` points in the box.
        side: ``(B_o,)`` ``+1`` outside, ``-1`` inside, ``0`` unknown, for those points.
        alpha: decay of the off-surface term.
    """
    grad_s, grad_o = surface.grad[:, 0], off_surface.grad[:, 0]
    cosine = torch.nn.functional.cosine_similarity(grad_s, normals, dim=1, eps=1e-12)
    norms = torch.cat([grad_s, grad_o]).norm(dim=1)
    return {
        "surface": surface.value.abs().mean(),
        "normal": (1.0 - cosine).mean(),
        "off_surface": torch.exp(-alpha * off_surface.value.abs()).mean(),
        "eikonal": (norms - 1.0).abs().mean(),
        "sign": torch.relu(-side * off_surface.value[:, 0]).mean(),
    }


def total_loss(terms: Mapping[str, Tensor], weights: Mapping[str, float] = SDF_WEIGHTS) -> Tensor:
    """``sum_t weights[t] * terms[t]`` (a term without a weight counts once)."""
    return sum(weights.get(name, 1.0) * value for name, value in terms.items())
