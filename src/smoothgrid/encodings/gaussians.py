"""Physics-Informed Gaussians (PIG, Kang et al. 2024): learnable Gaussian features.

``N`` axis-aligned Gaussians with learnable centres ``mu_n``, widths ``sigma_n`` (per axis) and
feature vectors ``f_n`` give each point the features

    phi(u) = sum_n f_n exp(-1/2 sum_j (z_j(u_j - mu_nj) / sigma_nj)^2),     u in [0, 1]^d,

with ``z(s) = s`` on an ordinary axis and ``z(s) = sin(pi s) / pi`` on a periodic one (a
distance that wraps around the box and is ``s`` to second order near the centre). Unlike a grid,
the Gaussians move to where the solution needs them. A small MLP decodes ``phi``. Everything is
written in jet arithmetic, so the derivatives with respect to the points are analytic and the
gradients to ``mu``, ``sigma`` and ``f`` come from one ordinary backward.

Every point meets every Gaussian: memory and time grow like ``B * N * d``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ..jet import Jet, exp, linear, sin, square
from .coordinates import IdentityEncoding

__all__ = ["GaussianEncoding"]


class GaussianEncoding(IdentityEncoding):
    """Learnable Gaussian features (PIG) on the unit box (see the module docstring).

    Args:
        dim: input dimension ``d`` in 1..4.
        gaussians: ``N``.
        features: ``F`` features per Gaussian (the encoding's outputs).
        sigma: initial width in unit-box units (default: the spacing ``N**(-1/d)`` of ``N``
            points spread evenly over the box).
        init_scale: feature vectors start uniform in ``[-init_scale, init_scale]``.
        bounds, periodic: see :class:`~smoothgrid.encodings.protocol.Encoding`.

    Centres start uniform in the box (drawn from torch's global generator). Values and jets
    come from :class:`~smoothgrid.encodings.coordinates.IdentityEncoding`'s machinery (the
    features of the unit-box jet); only the features differ.

    Example:
        >>> enc = GaussianEncoding(2, gaussians=64, features=4)
        >>> enc(torch.rand(5, 2)).shape
        torch.Size([5, 4])
    """

    name = "gaussians"

    def __init__(
        self,
        dim: int,
        gaussians: int = 1024,
        features: int = 4,
        sigma: float | None = None,
        init_scale: float = 0.1,
        bounds: tuple | None = None,
        periodic: Sequence[int] = (),
    ) -> None:
        super().__init__(dim, bounds=bounds, periodic=periodic)
        if not isinstance(gaussians, int) or gaussians < 1:
            raise ValueError(f"gaussians must be an integer >= 1, got {gaussians!r}")
        if not isinstance(features, int) or features < 1:
            raise ValueError(f"features must be an integer >= 1, got {features!r}")
        sigma = gaussians ** (-1.0 / dim) if sigma is None else float(sigma)
        if not sigma > 0:
            raise ValueError(f"sigma must be > 0, got {sigma!r}")
        self.gaussians = gaussians
        self.features = features
        self.mu = nn.Parameter(torch.rand(gaussians, dim))
        self.log_sigma = nn.Parameter(torch.full((gaussians, dim), math.log(sigma)))
        self.weight = nn.Parameter(
            torch.empty(features, gaussians).uniform_(-init_scale, init_scale)
        )

    @property
    def out_features(self) -> int:
        """``F``."""
        return self.features

    def _features(self, unit: Jet) -> Jet:
        """``unit`` jet (``C = d``) -> the feature jet (``C = F``)."""
        dtype = unit.value.dtype
        exponent = None
        for j in range(self.dim):
            select = torch.zeros(self.gaussians, self.dim, dtype=dtype, device=unit.value.device)
            select[:, j] = 1.0
            offset = linear(unit, select, -self.mu[:, j].to(dtype))  # u_j - mu_nj, C = N
            if j in self.periodic:
                offset = sin(offset * math.pi) * (1.0 / math.pi)
            term = square(offset) * torch.exp(-2.0 * self.log_sigma[:, j]).to(dtype)
            exponent = term if exponent is None else exponent + term
        return linear(exp(exponent * -0.5), self.weight.to(dtype))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, gaussians={self.gaussians}, features={self.features}"
