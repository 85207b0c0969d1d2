"""Tensor-product encodings: d-linear, smooth-weight (smoothstep, quintic, cosine) and Hermite.

In each of them a cell's interpolant is a product of one-dimensional bases, one per axis, so the
weights of every derivative are products of the axes' basis functions or their derivatives.

* ``linear`` (Instant-NGP): weights ``1 - t``, ``t`` per axis. C0; its Laplacian is exactly 0.
* ``smoothstep`` / ``cosine`` / ``quintic`` (Heo et al.; PhysicsNeMo): weights ``1 - s(t)``,
  ``s(t)`` with ``s = 3t^2 - 2t^3``, ``(1 - cos(pi t)) / 2`` (C1) or ``6t^5 - 15t^4 + 10t^3`` (C2).
  Their weights have zero slope at the vertices, so a single level's gradient vanishes there.
* ``hermite`` (Hermite-NGP): every vertex stores ``2**d`` coefficients per feature, the value and
  the derivatives ``d^|a| f / dt^a`` for ``a in {0, 1}^d`` (in cell units), interpolated with the
  cubic Hermite basis ``h00, h10, h01, h11`` per axis. C1 everywhere, smooth inside cells, and
  derivative coefficients give sub-cell detail.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import torch
from torch import Tensor

from ..jet import Derivatives, MultiIndex
from .base import GridEncoding

__all__ = [
    "LinearEncoding",
    "SmoothEncoding",
    "HermiteEncoding",
    "SMOOTH_STEPS",
    "hermite_basis",
    "corner_offsets",
]


def _linear_step(t: Tensor) -> Derivatives:
    return t, torch.ones_like(t), torch.zeros_like(t)


def _smoothstep(t: Tensor) -> Derivatives:
    t2 = t * t
    return t2 * (3.0 - 2.0 * t), 6.0 * t * (1.0 - t), 6.0 - 12.0 * t


def _quintic(t: Tensor) -> Derivatives:
    t2 = t * t
    t3 = t2 * t
    return (
        t3 * (t * (6.0 * t - 15.0) + 10.0),
        30.0 * t2 * (t2 - 2.0 * t + 1.0),
        60.0 * t * (2.0 * t2 - 3.0 * t + 1.0),
    )


def _cosine(t: Tensor) -> Derivatives:
    angle = math.pi * t
    return (
        0.5 * (1.0 - torch.cos(angle)),
        0.5 * math.pi * torch.sin(angle),
        0.5 * math.pi**2 * torch.cos(angle),
    )


SMOOTH_STEPS: dict[str, Callable[[Tensor], Derivatives]] = {
    "linear": _linear_step,
    "smoothstep": _smoothstep,
    "quintic": _quintic,
    "cosine": _cosine,
}
"""Step name -> ``t -> (s, s', s'')``: the blend ``s`` of the two vertices of a cell edge."""


def corner_offsets(dim: int) -> Tensor:
    """``(2**d, d)`` int64 cell corners; corner ``v`` has ``(v >> i) & 1`` on axis ``i``."""
    v = torch.arange(2**dim)
    return torch.stack([(v >> i) & 1 for i in range(dim)], dim=-1)


def hermite_basis(t: Tensor, k: int) -> Tensor:
    """The ``k``-th derivative of the cubic Hermite basis on ``[0, 1]``.

    Args:
        t: ``(...)`` positions in cell units.
        k: derivative order, 0, 1 or 2.

    Returns:
        ``(2, 2, ...)`` indexed ``[vertex, kind]``: ``[0, 0] = h00 = 2t^3 - 3t^2 + 1``,
        ``[0, 1] = h10 = t^3 - 2t^2 + t``, ``[1, 0] = h01 = -2t^3 + 3t^2``,
        ``[1, 1] = h11 = t^3 - t^2`` (kind 1 multiplies the vertex's derivative coefficient).
    """
    t2 = t * t
    if k == 0:
        t3 = t2 * t
        h01 = 3.0 * t2 - 2.0 * t3
        basis = (1.0 - h01, t3 - 2.0 * t2 + t, h01, t3 - t2)
    elif k == 1:
        h01 = 6.0 * (t - t2)
        basis = (-h01, 3.0 * t2 - 4.0 * t + 1.0, h01, 3.0 * t2 - 2.0 * t)
    elif k == 2:
        h01 = 6.0 - 12.0 * t
        basis = (-h01, 6.0 * t - 4.0, h01, 6.0 * t - 2.0)
    else:
        raise ValueError(f"hermite_basis supports derivative orders 0..2, got {k}")
    return torch.stack(basis).unflatten(0, (2, 2))


def _tensor_product(factors: list[Tensor]) -> Tensor:
    """Outer product over axes of per-axis bases.

    Args:
        factors: per axis ``i``, ``(2, M1, La, B)`` indexed ``[v_i, a_i]``.

    Returns:
        ``(2**d, M1**d, La, B)``, vertex ``v = sum v_i 2^i``, coefficient ``m = sum a_i M1^i``.
    """
    w = factors[0]
    for f in factors[1:]:
        V, M = w.shape[:2]
        w = (f[:, None, :, None] * w[None, :, None, :]).reshape(2 * V, f.shape[1] * M, *w.shape[2:])
    return w


def _product_weights(per_axis: list[list[Tensor]], multi: list[MultiIndex]) -> Iterator[Tensor]:
    """Weights of each multi-index: ``per_axis[i][k]`` is axis ``i``'s ``k``-th derivative basis."""
    for beta in multi:
        yield _tensor_product([per_axis[i][k] for i, k in enumerate(beta)])


class _TwoVertexEncoding(GridEncoding):
    """Tensor-product interpolation with weights ``1 - s(t)``, ``s(t)`` per axis."""

    step: str = "linear"

    def __init__(self, dim: int, *args, **kwargs) -> None:
        super().__init__(dim, *args, **kwargs)
        self.register_buffer("neighbour_offsets", corner_offsets(dim), persistent=False)
        self._make_tables([(range(1), self.log2_table)], [self.init_scale])

    def kernel_step(self) -> str | None:
        return self.step

    def _weights(
        self, t: Tensor, valid: Tensor | None, multi: list[MultiIndex], step: str | None = None
    ) -> Iterator[Tensor]:
        step = self.step if step is None else step
        top = max(max(beta) for beta in multi)
        s = SMOOTH_STEPS[step](t)  # each (d, La, B)
        per_axis = []
        for i in range(self.dim):
            axis = []
            for k in range(top + 1):
                s_k = s[k][i]
                first = 1.0 - s_k if k == 0 else -s_k
                axis.append(torch.stack([first, s_k]).unsqueeze(1))
            per_axis.append(axis)
        return _product_weights(per_axis, multi)


class LinearEncoding(_TwoVertexEncoding):
    """Instant-NGP's d-linear multi-resolution grid, with Heo et al.'s straight-through option.

    Args:
        st_lambda: if > 0, features keep the exact forward value of ``linear`` while their
            derivatives become ``grad linear + st_lambda * grad smooth``:
            ``h = h_lin + st_lambda * (h_s - detach(h_s))`` with ``h_s`` a smooth
            interpolation of the same table (see ``st_mode``). This smooths the gradients that
            flow to the input (camera poses in NeRF) and to the table, but it changes gradients,
            not values: the jet's derivatives are not the derivatives of the values it returns.
            **Never feed it to a PDE residual**; its jet refuses order 2.
        st_smooth: the smooth step ``s`` of the straight-through term (``cosine``, as Heo et
            al.; or ``smoothstep``, ``quintic``).
        st_mode: how ``h_s`` is smoothed. ``"axis"``: each axis factor of a corner weight,
            ``w_i = prod_k s(t_k) or 1 - s(t_k)`` (the ``st_smooth`` encoding itself: weights
            that sum to 1, gradient zero at the vertices). ``"corner"``: each *corner* weight
            of the linear interpolation, ``w_i = s(prod_k t_k or 1 - t_k)`` (Heo et al.: for
            cosine ``(1 - cos(pi w_i)) / 2``; the weights no longer sum to 1, and the gradient
            is ``s'(w_i) grad w_i``).
        Other arguments: see :class:`~smoothgrid.encodings.base.GridEncoding`.
    """

    name = "linear"
    step = "linear"

    def __init__(
        self,
        dim: int,
        *args,
        st_lambda: float = 0.0,
        st_smooth: str = "cosine",
        st_mode: str = "axis",
        **kwargs,
    ):
        super().__init__(dim, *args, **kwargs)
        if st_lambda < 0:
            raise ValueError(f"st_lambda must be >= 0, got {st_lambda}")
        if st_smooth not in SMOOTH_STEPS or st_smooth == "linear":
            raise ValueError(
                f"st_smooth must be one of smoothstep, quintic, cosine; got {st_smooth!r}"
            )
        if st_mode not in ("axis", "corner"):
            raise ValueError(f"st_mode must be 'axis' or 'corner', got {st_mode!r}")
        self.st_lambda = float(st_lambda)
        self.st_smooth = st_smooth
        self.st_mode = st_mode

    def kernel_step(self) -> str | None:
        return None if self.st_lambda > 0 else "linear"

    def _components(self, t, valid, order, hessian, lap_axes, scale) -> Tensor:
        if self.st_lambda == 0.0:
            return super()._components(t, valid, order, hessian, lap_axes, scale)
        if order == 2:
            raise ValueError(
                "the straight-through linear encoding has no second derivatives: its values are "
                "piecewise linear and its gradients are a mix that no function has. Use "
                "'quintic', 'hermite' or 'rbf' for PDE residuals"
            )
        lin = super()._components(t, valid, order, False, lap_axes, scale, "linear")
        step = self.st_smooth if self.st_mode == "axis" else "corner"
        smooth = super()._components(t, valid, order, False, lap_axes, scale, step)
        # Last component: the smooth value, turned into the zero-valued straight-through term
        # after the contraction (see _contract).
        return torch.cat([lin[:1], lin[1:] + self.st_lambda * smooth[1:], smooth[:1]])

    def _weights(
        self, t: Tensor, valid: Tensor | None, multi: list[MultiIndex], step: str | None = None
    ) -> Iterator[Tensor]:
        if step != "corner":
            return super()._weights(t, valid, multi, step)
        return self._corner_weights(t, valid, multi)

    def _corner_weights(
        self, t: Tensor, valid: Tensor | None, multi: list[MultiIndex]
    ) -> Iterator[Tensor]:
        """``s(w_i)`` of each linear corner weight ``w_i`` and its first derivatives
        ``s'(w_i) d w_i`` (``st_mode="corner"``; order <= 1)."""
        linear_weights = list(super()._weights(t, valid, multi, "linear"))
        w = linear_weights[multi.index((0,) * self.dim)]
        smooth, slope, _ = SMOOTH_STEPS[self.st_smooth](w)
        for beta, dw in zip(multi, linear_weights):
            yield smooth if sum(beta) == 0 else slope * dw

    def _contract(self, weights: Tensor, coords: Tensor) -> Tensor:
        out = super()._contract(weights, coords)
        if self.st_lambda == 0.0:
            return out
        smooth_value = out[-1:]
        straight_through = self.st_lambda * (smooth_value - smooth_value.detach())
        return torch.cat([out[:1] + straight_through, out[1:-1]])


class SmoothEncoding(_TwoVertexEncoding):
    """Multi-resolution grid with smooth interpolation weights ``1 - s(t)``, ``s(t)``.

    Args:
        step: ``smoothstep`` (C1), ``cosine`` (C1) or ``quintic`` (C2, Hessian continuous).
        Other arguments: see :class:`~smoothgrid.encodings.base.GridEncoding`.
    """

    def __init__(self, dim: int, *args, step: str = "quintic", **kwargs):
        if step not in ("smoothstep", "cosine", "quintic"):
            raise ValueError(f"step must be smoothstep, cosine or quintic, got {step!r}")
        self.step = step
        self.name = step
        super().__init__(dim, *args, **kwargs)


class HermiteEncoding(GridEncoding):
    """Hermite-NGP: cubic Hermite interpolation of vertex values and derivatives.

    Each vertex stores, per feature, ``2**d`` coefficients ``d^|a| f / dt^a``, ``a in {0,1}^d``
    (2D: ``f, f_x, f_y, f_xy``), coefficient ``m = sum_i a_i 2^i``, derivatives in cell units.

    Args:
        log2_tables: ``None`` stores all of a vertex's coefficients in one row (one table,
            ``2**log2_table`` rows per level; contiguous per vertex). Otherwise
            ``(log2 T1, log2 T2, log2 T3)``: separate tables for values, first derivatives and
            mixed derivatives (two sizes for ``d = 1`` or ``mixed=False``), as in the
            Hermite-NGP paper.
        deriv_init: derivative coefficients start uniform in ``[-deriv_init, deriv_init]``
            (values use ``init_scale``), so inputs have non-zero gradients at step 0.
        mixed: ``False`` stores only the value and the ``d`` first derivatives per vertex
            (``1 + d`` coefficients instead of ``2**d``: 4 instead of 8 in 3D) and takes the
            mixed derivatives as zero ("zero twist"). Still C1 everywhere and still exact
            Hermite derivatives; half the gathers, multiply-adds and table memory in 3D, at
            the cost of the mixed coefficients' sub-cell detail. Runs on the PyTorch path.
        Other arguments: see :class:`~smoothgrid.encodings.base.GridEncoding`.
    """

    name = "hermite"

    def __init__(
        self,
        dim: int,
        *args,
        log2_tables: tuple[int, ...] | None = None,
        deriv_init: float = 1e-2,
        mixed: bool = True,
        **kwargs,
    ) -> None:
        super().__init__(dim, *args, **kwargs)
        self.mixed = bool(mixed)
        self.log2_tables = None if log2_tables is None else tuple(log2_tables)
        self.deriv_init = float(deriv_init)
        self.register_buffer("neighbour_offsets", corner_offsets(dim), persistent=False)
        # Stored coefficients, in order: all 2**d, or (zero twist) the value then d/dt_i.
        popcount = [bin(m).count("1") for m in range(2**dim)]
        if not self.mixed:
            popcount = [0] + [1] * dim
        self.coefficients = len(popcount)
        if log2_tables is None:
            groups = [(range(self.coefficients), self.log2_table)]
            init = [max(self.init_scale, deriv_init)]
        else:
            kinds = [
                [m for m in range(self.coefficients) if popcount[m] == 0],
                [m for m in range(self.coefficients) if popcount[m] == 1],
                [m for m in range(self.coefficients) if popcount[m] >= 2],
            ]
            kinds = [k for k in kinds if k]
            if len(log2_tables) != len(kinds) or any(
                not isinstance(n, int) or not 1 <= n <= 30 for n in log2_tables
            ):
                raise ValueError(
                    f"log2_tables needs {len(kinds)} integers in 1..30 for a {dim}D Hermite "
                    f"encoding (values, first, mixed derivatives), got {log2_tables!r}"
                )
            groups = list(zip(kinds, log2_tables))
            init = [self.init_scale] + [deriv_init] * (len(kinds) - 1)
        self._make_tables(groups, init)
        if log2_tables is None:
            with torch.no_grad():
                self.tables[0][:, 0].uniform_(-self.init_scale, self.init_scale)

    def kernel_step(self) -> str | None:
        return "hermite" if self.mixed else None

    def _weights(
        self, t: Tensor, valid: Tensor | None, multi: list[MultiIndex]
    ) -> Iterator[Tensor]:
        top = max(max(beta) for beta in multi)
        per_axis = [[hermite_basis(t[i], k) for k in range(top + 1)] for i in range(self.dim)]
        if self.mixed:
            return _product_weights(per_axis, multi)
        return _zero_twist_weights(per_axis, multi)


def _zero_twist_weights(per_axis: list[list[Tensor]], multi: list[MultiIndex]) -> Iterator[Tensor]:
    """Like :func:`_product_weights` for the value and first-derivative coefficients only.

    Yields ``(V, 1 + d, La, B)`` per multi-index: coefficient 0 is the value (kind 0 on every
    axis), coefficient ``1 + j`` the derivative along axis ``j`` (kind 1 on axis ``j``).
    """
    dim = len(per_axis)
    for beta in multi:
        bases = [per_axis[i][k] for i, k in enumerate(beta)]  # each (2, 2, La, B)
        yield torch.cat(
            [
                _tensor_product([b[:, int(i == j)].unsqueeze(1) for i, b in enumerate(bases)])
                for j in (None, *range(dim))
            ],
            dim=1,
        )
