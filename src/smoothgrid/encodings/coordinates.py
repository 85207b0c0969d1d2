"""Encodings of the coordinates themselves, for the coordinate-network baselines (no grid).

* :class:`IdentityEncoding`: the box mapped to ``[-1, 1]^d`` (the input of a PINN or SIREN); a
  periodic axis becomes ``(cos theta, sin theta)`` with ``theta = 2 pi (x - lo) / (hi - lo)``,
  so any network on top is exactly periodic there (jaxpi's period embedding).
* :class:`FourierEncoding`: random Fourier features ``sin / cos(2 pi B z)`` of that embedding
  ``z`` with ``B ~ N(0, scale^2)`` fixed at construction (Tancik et al. 2020).

Both are written once in jet arithmetic: the values are the order-0 jet, and the analytic
derivatives (affine map, ``sin`` / ``cos``) come from the same code.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from ..jet import Jet, _check_order, cat, cos, linear, sin
from .protocol import Encoding

__all__ = ["IdentityEncoding", "FourierEncoding", "unit_jet"]


def unit_jet(
    unit: Tensor, extent: Tensor, order: int, hessian: bool, lap_axes: tuple[int, ...] | None
) -> Jet:
    """The jet of the affine map ``x -> unit = (x - lo) / extent`` with respect to ``x``.

    Args:
        unit: ``(B, d)`` the map's values.
        extent: ``(d,)`` box edges ``hi - lo``.
        order, hessian, lap_axes: the jet wanted (its second derivatives are zero).

    Returns:
        A jet with ``C = d`` channels, gradient ``diag(1 / extent)``.
    """
    B, d = unit.shape
    grad = hess = lap = None
    if order >= 1:
        grad = torch.diag(1.0 / extent).expand(B, d, d)
    if order == 2:
        if hessian:
            hess = unit.new_zeros(()).expand(B, d, d, d)
        else:
            lap = unit.new_zeros(()).expand(B, d)
    return Jet(unit, grad, hess, lap, lap_axes)


class IdentityEncoding(Encoding):
    """``x -> 2 (x - lo) / (hi - lo) - 1`` in ``[-1, 1]^d``; periodic axes ``-> (cos, sin)``.

    Args:
        dim: input dimension ``d`` in 1..4.
        bounds: the input box (default: the problem's, adopted when solved).
        periodic: axes embedded as ``(cos theta, sin theta)``, ``theta = 2 pi (x - lo)/(hi - lo)``.

    Example:
        >>> enc = IdentityEncoding(2, bounds=(-1.0, 1.0))
        >>> enc(torch.tensor([[0.0, 1.0]]))
        tensor([[0., 1.]])
    """

    name = "identity"

    def __init__(self, dim: int, bounds: tuple | None = None, periodic: Sequence[int] = ()) -> None:
        super().__init__(dim, bounds=bounds, periodic=periodic)

    @property
    def embedding_features(self) -> int:
        """``d`` plus one per periodic axis."""
        return self.dim + len(self.periodic)

    @property
    def out_features(self) -> int:
        """Features per point: :attr:`embedding_features`."""
        return self.embedding_features

    def _embed(self, unit: Jet) -> Jet:
        """``unit`` jet (``C = d``) -> the ``[-1, 1]`` / ``(cos, sin)`` embedding jet."""
        if not self.periodic:
            return unit * 2.0 - 1.0
        columns = []
        for i in range(self.dim):
            ui = unit[..., i]
            if i in self.periodic:
                columns += [cos(ui * (2.0 * math.pi)), sin(ui * (2.0 * math.pi))]
            else:
                columns.append(ui * 2.0 - 1.0)
        return cat(columns)

    def _features(self, unit: Jet) -> Jet:
        return self._embed(unit)

    def encode_unit(self, unit: Tensor) -> Tensor:
        """``(B, d)`` unit-box points -> ``(B, out_features)``."""
        return self._features(Jet(unit)).value

    def jet(
        self,
        x: Tensor,
        order: int = 2,
        hessian: bool = False,
        lap_axes: Sequence[int] | None = None,
    ) -> Jet:
        """Features of ``x: (B, d)`` with analytic derivatives in domain coordinates
        (``C = out_features``)."""
        _check_order(order)
        lap_axes = self._check_lap_axes(lap_axes)
        extent = (self.bounds[1] - self.bounds[0]).to(x.dtype)
        unit = unit_jet(self.to_unit(x), extent, order, hessian, lap_axes)
        return self._features(unit)


class FourierEncoding(IdentityEncoding):
    """Random Fourier features ``[sin(2 pi z B^T), cos(2 pi z B^T)]`` of the identity
    embedding ``z`` (see :class:`IdentityEncoding`).

    Args:
        dim: input dimension ``d`` in 1..4.
        frequencies: ``m`` random frequencies; the encoding has ``2 m`` features.
        scale: standard deviation of ``B``'s entries, in cycles per half box (``z`` spans 2).
        bounds, periodic: see :class:`IdentityEncoding`.

    ``B (m, embedding_features)`` is drawn from torch's global generator (seed it for
    reproducibility) and is a buffer: fixed, saved with the field.

    Example:
        >>> enc = FourierEncoding(2, frequencies=16, scale=1.0)
        >>> enc(torch.rand(5, 2)).shape
        torch.Size([5, 32])
    """

    name = "fourier"

    def __init__(
        self,
        dim: int,
        frequencies: int = 64,
        scale: float = 1.0,
        bounds: tuple | None = None,
        periodic: Sequence[int] = (),
    ) -> None:
        super().__init__(dim, bounds=bounds, periodic=periodic)
        if not isinstance(frequencies, int) or frequencies < 1:
            raise ValueError(f"frequencies must be an integer >= 1, got {frequencies!r}")
        if not scale > 0:
            raise ValueError(f"scale must be > 0, got {scale!r}")
        self.frequencies = frequencies
        self.scale = float(scale)
        B = torch.randn(frequencies, self.embedding_features, dtype=torch.float64) * scale
        self.register_buffer("B", B)

    @property
    def out_features(self) -> int:
        """``2 m``."""
        return 2 * self.frequencies

    def _features(self, unit: Jet) -> Jet:
        z = linear(self._embed(unit), (2.0 * math.pi) * self.B.to(unit.value.dtype))
        return cat([sin(z), cos(z)])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, frequencies={self.frequencies}, scale={self.scale}"
