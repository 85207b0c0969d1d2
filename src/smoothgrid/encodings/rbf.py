"""∂∞-Grid: multi-resolution grids with normalized Gaussian RBF interpolation.

At each level the feature at ``x`` is a weighted average of the features stored at the grid
nodes within ``rings`` cells of the point's cell,

    w_n(x) = exp(-(eps r_n)^2) / sum_m exp(-(eps r_m)^2),   r_n = |x - x_n| in cells,

which is C-infinity inside a cell (the truncated neighbourhood changes across cell faces, where
the weight of the node entering or leaving, ~exp(-(eps * rings)^2), makes a small jump).
Nodes outside the grid are left out of the sum. With ``p_ni = -2 eps^2 (y_i - n_i)`` (``y`` the
point in cells) and ``c_ni = p_ni - sum_m w_m p_mi``, the analytic derivatives are

    d_i w_n = w_n c_ni,      d_i d_j w_n = w_n (c_ni c_nj - sum_m w_m c_mi c_mj).

Higher orders come from autograd, since the weights are ordinary differentiable tensor code.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import torch
from torch import Tensor

from ..jet import MultiIndex
from .base import GridEncoding

__all__ = ["RBFEncoding"]


class RBFEncoding(GridEncoding):
    """Normalized Gaussian RBF interpolation on co-located multi-resolution grids.

    Args:
        eps: kernel shape ``eps`` in 1/cells (∂∞-Grid: 1 with 2-3 rings is the sweet spot;
            larger is narrower).
        rings: ``rho`` >= 1; the ``(2 rho)**d`` nodes of the cells within ``rho - 1`` of the
            point's cell weigh in.
        Other arguments: see :class:`~smoothgrid.encodings.base.GridEncoding`. Levels are dense
        while they fit ``2**log2_table`` rows (the ∂∞-Grid setting); larger ones are hashed.
    """

    name = "rbf"

    def __init__(self, dim: int, *args, eps: float = 1.0, rings: int = 2, **kwargs) -> None:
        super().__init__(dim, *args, **kwargs)
        if not isinstance(rings, int) or rings < 1:
            raise ValueError(f"rings must be an integer >= 1, got {rings!r}")
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps!r}")
        self.eps = float(eps)
        self.rings = rings
        span = range(-rings + 1, rings + 1)
        offsets = torch.tensor(list(itertools.product(span, repeat=dim)))
        self.register_buffer("neighbour_offsets", offsets.flip(-1), persistent=False)
        self._make_tables([(range(1), self.log2_table)], [self.init_scale])

    def extra_repr(self) -> str:
        return super().extra_repr() + f", eps={self.eps}, rings={self.rings}"

    def _weights(
        self, t: Tensor, valid: Tensor | None, multi: list[MultiIndex]
    ) -> Iterator[Tensor]:
        nodes = self.neighbour_offsets.t().to(t.dtype)[:, :, None, None]  # (d, V, 1, 1)
        delta = t.unsqueeze(1) - nodes  # (d, V, La, B) in cells
        logits = -(self.eps**2) * delta.square().sum(0)
        if valid is not None:
            logits = logits.masked_fill(~valid, float("-inf"))
        w = torch.softmax(logits, dim=0)  # (V, La, B)
        centred = None
        if any(sum(beta) > 0 for beta in multi):
            p = -2.0 * self.eps**2 * delta
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
                cov = (w * cc).sum(0, keepdim=True)
                yield (w * (cc - cov)).unsqueeze(1)
