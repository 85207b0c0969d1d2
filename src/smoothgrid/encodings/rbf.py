"""∂∞-Grid: multi-resolution grids with normalized Gaussian RBF interpolation.

At each level the feature at ``x`` is a weighted average of the features stored at the grid
nodes within ``rings`` cells of the point's cell,

    w_n(x) = k(r_n) / sum_m k(r_m),   r_n = |x - x_n| in cells,

with ``k(r) = exp(-(eps r)^2)`` (``window="none"``, ∂∞-Grid's kernel) or that Gaussian times the
bump ``exp(1 - 1 / (1 - (r / R)^2))`` for ``r < R`` and 0 beyond (``window="bump"``).

Smoothness. The neighbourhood (the nodes of the cells within ``rings - 1`` of the point's cell)
changes across a cell face. With the plain Gaussian the node leaving it still has a weight of
order ``exp(-(eps * rings)^2)`` there, so the features jump at every face (C-infinity only inside
cells). The bump's radius is ``R = rings``: a node outside the neighbourhood of a point's cell
differs from the point by at least ``rings`` cells on some axis, so every node of non-zero weight
is inside the neighbourhood of every point of the cell, and a node leaving it at a face does so
with weight 0 and all its derivatives 0. The truncated sums are then the sums over the whole
grid: the features are C-infinity everywhere (the denominator is positive because the nearest
node lies within ``sqrt(d)/2 < rings`` cells).

Nodes outside the grid are left out of the sum. With ``l_n = log k(r_n)``, ``y`` the point in
cells, ``p_ni = d_i l_n``, ``c_ni = p_ni - sum_m w_m p_mi`` and ``H_nij = d_i d_j l_n``, the
analytic derivatives are

    d_i w_n = w_n c_ni,
    d_i d_j w_n = w_n (c_ni c_nj - sum_m w_m c_mi c_mj + H_nij - sum_m w_m H_mij):

for the Gaussian ``p_ni = -2 eps^2 (y_i - n_i)`` and ``H`` is the same for every node (its terms
cancel); the bump adds ``-2 q^2 delta_i / R^2`` to ``p`` and
``-(2 / R^2) q^2 [i = j] - (8 / R^4) q^3 delta_i delta_j`` to ``H``, ``q = 1 / (1 - r^2 / R^2)``,
``delta = y - n``. Higher orders come from autograd, since the weights are ordinary
differentiable tensor code.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import torch
from torch import Tensor

from ..jet import MultiIndex
from .base import GridEncoding

__all__ = ["RBFEncoding", "WINDOWS"]

WINDOWS = ("none", "bump")
"""Values of :class:`RBFEncoding`'s ``window``."""


class RBFEncoding(GridEncoding):
    """Normalized Gaussian RBF interpolation on co-located multi-resolution grids.

    Args:
        eps: kernel shape ``eps`` in 1/cells (∂∞-Grid: 1 with 2-3 rings is the sweet spot;
            larger is narrower).
        rings: ``rho`` >= 1; the ``(2 rho)**d`` nodes of the cells within ``rho - 1`` of the
            point's cell weigh in.
        window: ``"none"`` (∂∞-Grid's truncated Gaussian: C-infinity inside cells, the
            features jump across cell faces) or ``"bump"`` (the Gaussian times a bump of radius
            ``rings`` cells that vanishes with all its derivatives there: C-infinity
            everywhere; see the module docstring). The bump needs ``rings >= 2`` in 4D.
        Other arguments: see :class:`~smoothgrid.encodings.base.GridEncoding`. Levels are dense
        while they fit ``2**log2_table`` rows (the ∂∞-Grid setting); larger ones are hashed.
    """

    name = "rbf"

    def __init__(
        self, dim: int, *args, eps: float = 1.0, rings: int = 2, window: str = "none", **kwargs
    ) -> None:
        super().__init__(dim, *args, **kwargs)
        if not isinstance(rings, int) or rings < 1:
            raise ValueError(f"rings must be an integer >= 1, got {rings!r}")
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps!r}")
        if window not in WINDOWS:
            raise ValueError(f"window must be one of {', '.join(WINDOWS)}; got {window!r}")
        if window == "bump" and math.sqrt(dim) / 2 >= rings:
            need = math.floor(math.sqrt(dim) / 2) + 1
            raise ValueError(
                f"the bump window of radius rings={rings} cells leaves the centre of a {dim}D "
                f"cell without any node of non-zero weight; use rings >= {need}"
            )
        self.eps = float(eps)
        self.rings = rings
        self.window = window
        span = range(-rings + 1, rings + 1)
        offsets = torch.tensor(list(itertools.product(span, repeat=dim)))
        self.register_buffer("neighbour_offsets", offsets.flip(-1), persistent=False)
        self._make_tables([(range(1), self.log2_table)], [self.init_scale])

    def extra_repr(self) -> str:
        return super().extra_repr() + f", eps={self.eps}, rings={self.rings}, window={self.window}"

    def _weights(
        self, t: Tensor, valid: Tensor | None, multi: list[MultiIndex]
    ) -> Iterator[Tensor]:
        nodes = self.neighbour_offsets.t().to(t.dtype)[:, :, None, None]  # (d, V, 1, 1)
        delta = t.unsqueeze(1) - nodes  # (d, V, La, B) in cells
        r2 = delta.square().sum(0)  # (V, La, B)
        logits = -(self.eps**2) * r2
        slope: Tensor | float = self.eps**2  # p = -2 slope delta
        q = None
        R2 = float(self.rings**2)
        if self.window == "bump":
            inside = r2 < R2
            # Outside the window s is set to 0 so that nothing (nor autograd) sees 1/0.
            q = 1.0 / (1.0 - torch.where(inside, r2 / R2, torch.zeros_like(r2)))
            logits = torch.where(inside, logits + 1.0 - q, torch.full_like(r2, float("-inf")))
            slope = slope + q.square() / R2
        if valid is not None:
            logits = logits.masked_fill(~valid, float("-inf"))
        w = torch.softmax(logits, dim=0)  # (V, La, B)
        centred = None
        if any(sum(beta) > 0 for beta in multi):
            p = -2.0 * slope * delta
            centred = p - (w * p).sum(1, keepdim=True)
        for beta in multi:
            axes = [i for i, k in enumerate(beta) for _ in range(k)]
            if not axes:
                yield w.unsqueeze(1)
            elif len(axes) == 1:
                yield (w * centred[axes[0]]).unsqueeze(1)
            else:
                i, j = axes
                cc = centred[i] * centred[j]
                if q is not None:  # the bump's log-kernel Hessian differs from node to node
                    cc = cc - (8.0 / R2**2) * q**3 * delta[i] * delta[j]
                    if i == j:
                        cc = cc - (2.0 / R2) * q.square()
                cov = (w * cc).sum(0, keepdim=True)
                yield (w * (cc - cov)).unsqueeze(1)
