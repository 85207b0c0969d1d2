"""The multi-resolution grid encoding: levels, tables, input box and analytic jets.

Every encoding here is a weighted sum over table rows near the query point,

    feature_l(x) = sum_{v, m} w_{v,m}(t_l(x)) * table[row_l(c_l(x) + o_v), m],

where, at level ``l``, ``c_l`` is the point's cell, ``t_l in [0, 1]^d`` its position inside the
cell, ``o_v`` the neighbour offsets (the ``2**d`` corners, or an RBF ring) and ``m`` the
coefficient kind stored per vertex (1 value; ``2**d`` Hermite coefficients). Because the
features are linear in the table, every spatial derivative is the same sum with derivative
weights, ``d^k w / dt^k * (N_l / extent)^k``: subclasses supply the weights and their
derivatives in cell units; this class does the indexing, the chain rule of the box map, the
level mask and the gather-contract, identically for all of them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

import torch
from torch import Tensor, nn

from .. import kernels
from ..jet import Jet, MultiIndex, _check_order, derivative_multi_indices
from .contract import gather_contract
from .grid import (
    HASH_PRIMES,
    LevelLayout,
    dense_index,
    hash_index,
    layout_levels,
    level_offsets,
    level_resolutions,
)
from .protocol import Encoding

__all__ = ["GridEncoding"]


class GridEncoding(Encoding):
    """Base class of the multi-resolution encodings (see the module docstring).

    Args:
        dim: input dimension ``d`` in 1..4.
        levels: ``L`` resolution levels.
        features: ``F`` features per level; the encoding has ``L * F`` outputs.
        min_res, max_res: cells per axis of the coarsest and finest level.
        log2_table: log2 of ``T``, the rows per level; a level with more vertices is hashed.
        bounds: ``(lo, hi)`` of the input box in domain coordinates, each a number or ``d``
            numbers; ``None``: the unit box ``[0, 1]^d`` until :meth:`set_bounds` gives
            another (see :class:`~smoothgrid.encodings.Encoding`).
        offset: shift each level by a different fraction of a cell (tcnn / PIXEL).
        periodic: axes on which the encoding is periodic with the box's extent as period: the
            grid wraps around, so values and every derivative match across the box's faces.
        clamp: clamp points outside the box onto it instead of raising an error.
        init_scale: table entries start uniform in ``[-init_scale, init_scale]``.
        impl: the implementation: ``"auto"`` (the fused GPU kernel where
            :mod:`smoothgrid.kernels` supports the call, the PyTorch path otherwise),
            ``"torch"`` or ``"triton"`` (see :mod:`smoothgrid.kernels`).

    Subclasses set ``neighbour_offsets`` (``(V, d)`` int64), ``coefficients`` (``M``) and the
    table groups, and implement :meth:`_weights`.
    """

    name: str = "grid"
    """The registry name of the encoding."""

    def __init__(
        self,
        dim: int,
        levels: int = 16,
        features: int = 2,
        min_res: int = 16,
        max_res: int = 512,
        log2_table: int = 19,
        bounds: tuple | None = None,
        offset: bool = False,
        periodic: Sequence[int] = (),
        clamp: bool = False,
        init_scale: float = 1e-4,
        impl: str = "auto",
    ) -> None:
        super().__init__(dim, bounds=bounds, periodic=periodic, clamp=clamp)
        if impl not in kernels.IMPLS:
            raise ValueError(f"impl must be one of {', '.join(kernels.IMPLS)}; got {impl!r}")
        if impl == "triton" and not kernels.triton_available():
            raise ValueError("impl='triton' needs Triton (pip install triton)")
        self.impl = impl
        if not isinstance(levels, int) or levels < 1:
            raise ValueError(f"levels must be an integer >= 1, got {levels!r}")
        if not isinstance(features, int) or features < 1:
            raise ValueError(f"features must be an integer >= 1, got {features!r}")
        if not isinstance(log2_table, int) or not 1 <= log2_table <= 30:
            raise ValueError(f"log2_table must be an integer in 1..30, got {log2_table!r}")
        self.levels = levels
        self.features = features
        self.log2_table = log2_table
        self.init_scale = float(init_scale)
        self.resolutions = level_resolutions(min_res, max_res, levels)
        self.offsets = level_offsets(levels, offset)
        self.register_buffer("_resolution", torch.tensor(self.resolutions, dtype=torch.float64))
        self.register_buffer("_offset", torch.tensor(self.offsets, dtype=torch.float64))
        self.register_buffer("level_mask", torch.ones(levels, dtype=torch.bool))
        self.register_buffer("level_scale", torch.ones(levels, dtype=torch.float64))
        self.register_buffer("level_weight", torch.ones(levels, dtype=torch.float64))
        self._active = list(range(levels))

    # --------------------------------------------------------------- set-up API
    def _make_tables(self, groups: Sequence[tuple[Sequence[int], int]], init: Sequence[float]):
        """Create one table per coefficient group.

        Args:
            groups: ``(coefficient indices, log2 rows per level)`` per group; no index in
                two groups; a coefficient in no group is zero (not stored).
            init: the uniform init half-width of each group.
        """
        offsets = self.neighbour_offsets
        self._beyond_cell = bool(((offsets < 0) | (offsets > 1)).any())
        self.groups: list[tuple[int, ...]] = [tuple(g) for g, _ in groups]
        self.layouts: list[LevelLayout] = []
        tables = []
        for (coeffs, log2_rows), scale in zip(groups, init):
            layout = layout_levels(
                self.dim, self.resolutions, self.offsets, 2**log2_rows, self.periodic
            )
            self.layouts.append(layout)
            table = torch.empty(layout.total_rows, len(coeffs), self.features)
            tables.append(nn.Parameter(table.uniform_(-scale, scale)))
        self.tables = nn.ParameterList(tables)
        max_cell = [n - 1 + (o > 0.0) for n, o in zip(self.resolutions, self.offsets)]
        self.register_buffer("_max_cell", torch.tensor(max_cell), persistent=False)
        vertices = torch.tensor(self.layouts[0].vertices)
        self.register_buffer("_vertices", vertices, persistent=False)

    def set_level_mask(self, mask: Sequence[bool] | Tensor) -> None:
        """Choose the active levels (for curricula); inactive levels output zeros.

        Args:
            mask: ``L`` booleans, at least one true.
        """
        mask_t = torch.as_tensor(mask, dtype=torch.bool).flatten()
        if mask_t.numel() != self.levels or not bool(mask_t.any()):
            raise ValueError(f"level mask needs {self.levels} booleans with at least one true")
        self.level_mask.copy_(mask_t)
        self._active = [i for i, on in enumerate(mask_t.tolist()) if on]

    def set_level_scale(self, scale: Sequence[float] | Tensor) -> None:
        """Multiply level ``l``'s features by ``scale[l]``.

        With Adam, this scales level ``l``'s step in feature space by ``scale[l]``: fine levels,
        whose derivatives grow like ``N_l`` and ``N_l**2``, can be made to step less.
        """
        scale_t = torch.as_tensor(scale, dtype=torch.float64).flatten()
        if scale_t.numel() != self.levels or not bool((scale_t > 0).all()):
            raise ValueError(f"level scale needs {self.levels} positive numbers")
        self.level_scale.copy_(scale_t)

    def set_level_weights(self, weights: Sequence[float] | Tensor) -> None:
        """Soft curriculum: multiply level ``l``'s features by ``weights[l]`` in ``[0, 1]``.

        Unlike :meth:`set_level_mask`, a weight fades a level in gradually (e.g.
        :func:`smoothgrid.train.curriculum.barf_level_weights`); its table's gradient is scaled
        by the same weight. A level of weight 0 is still computed (mask it to skip it).
        Honoured by the PyTorch path and the kernels alike.

        Args:
            weights: ``L`` numbers in ``[0, 1]``.
        """
        weights_t = torch.as_tensor(weights, dtype=torch.float64).flatten()
        if weights_t.numel() != self.levels or not bool(
            ((weights_t >= 0) & (weights_t <= 1)).all()
        ):
            raise ValueError(
                f"level weights need {self.levels} numbers in [0, 1], got {weights_t.tolist()}"
            )
        self.level_weight.copy_(weights_t)

    def _feature_scale(self) -> Tensor:
        """``(L,)`` float64 factor on each level's features: step scale times soft weight."""
        return self.level_scale * self.level_weight

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # A state dict saved before soft level weights existed has all levels at weight 1.
        state_dict.setdefault(prefix + "level_weight", torch.ones_like(self.level_weight))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self._active = [i for i, on in enumerate(self.level_mask.tolist()) if on]

    # ---------------------------------------------------------------- queries
    @property
    def out_features(self) -> int:
        """``L * F``."""
        return self.levels * self.features

    @property
    def active_levels(self) -> list[int]:
        """Indices of the levels switched on by the level mask."""
        return list(self._active)

    def cell_size(self) -> Tensor:
        """``(d,)`` edge of the finest active level's cells, in domain units."""
        extent = self.bounds[1] - self.bounds[0]
        return extent / self.resolutions[self._active[-1]]

    def extra_repr(self) -> str:
        return (
            f"dim={self.dim}, levels={self.levels}, features={self.features}, "
            f"res={self.resolutions[0]}..{self.resolutions[-1]}, log2_table={self.log2_table}"
        )

    # ------------------------------------------------------------ evaluation
    def encode_unit(self, unit: Tensor) -> Tensor:
        """Encode points of the unit box.

        Args:
            unit: ``(B, d)`` points in ``[0, 1]^d`` (see :meth:`to_unit`).

        Returns:
            ``(B, L * F)`` features, level-major (level ``l`` is columns ``l*F .. l*F+F-1``).
        """
        return self._encode(unit, 0, False, None)[0].reshape(unit.shape[0], -1)

    def jet(
        self,
        x: Tensor,
        order: int = 2,
        hessian: bool = False,
        lap_axes: Sequence[int] | None = None,
    ) -> Jet:
        """Encode points with analytic derivatives in domain coordinates.

        Args:
            x: ``(B, d)`` points in domain coordinates.
            order: 0, 1 or 2.
            hessian: at order 2, the full Hessian ``(B, L*F, d, d)`` instead of the Laplacian.
            lap_axes: the axes the Laplacian sums over (``None``: all), e.g. ``(0, 1)`` for the
                spatial Laplacian of a space-time field.

        Returns:
            A :class:`~smoothgrid.jet.Jet` with ``C = L * F`` channels.
        """
        _check_order(order)
        lap_axes = self._check_lap_axes(lap_axes)
        out = self._encode(self.to_unit(x), order, hessian, lap_axes)
        return self._assemble(out, order, hessian, lap_axes)

    # ------------------------------------------------------------ internals
    neighbour_offsets: Tensor
    """``(V, d)`` int64 offsets of the vertices that weigh in, relative to the point's cell."""

    coefficients: int = 1
    """``M``, coefficients per vertex and feature."""

    def kernel_step(self) -> str | None:
        """The interpolation's name in :data:`smoothgrid.kernels.STEPS` if a fused kernel
        implements this encoding with its current options, else ``None``."""
        return None

    def kernel_unsupported_reason(self, x: Tensor) -> str | None:
        """Why the fused kernel cannot encode the points ``x: (B, d)``, or ``None`` if it can
        (see :func:`smoothgrid.kernels.unsupported_reason`)."""
        return kernels.unsupported_reason(x, list(self.tables), self.kernel_step())

    def _use_kernel(self, unit: Tensor) -> bool:
        """Whether :meth:`_encode` runs the fused kernel (see the ``impl`` option)."""
        if self.impl == "torch" or (self.impl == "auto" and unit.device.type != "cuda"):
            return False
        reason = self.kernel_unsupported_reason(unit)
        if reason is not None and self.impl == "triton":
            raise ValueError(f"impl='triton' cannot run the {self.name!r} encoding here: {reason}")
        return reason is None

    def _kernel_encode(
        self, unit: Tensor, order: int, hessian: bool, lap_axes: tuple[int, ...] | None
    ) -> Tensor:
        """``(K, B, La, F)`` from :func:`smoothgrid.kernels.encode_jet` on this encoding's table
        and active levels."""
        level_f, level_i = self._kernel_levels(unit.device)
        return kernels.encode_jet(
            unit,
            self.tables[0],
            level_f,
            level_i,
            step=self.kernel_step(),
            primes=HASH_PRIMES,
            order=order,
            hessian=hessian,
            lap_axes=lap_axes,
            periodic=self.periodic,
        )

    def _kernel_levels(self, device: torch.device) -> tuple[Tensor, Tensor]:
        """The active levels as the kernels take them: ``(La, 8)`` floats (from the buffers on
        their device at every call, without a host copy, so a changed box or level scale takes
        effect at once and the call can be captured in a CUDA graph) and ``(La, 8)`` integers
        (built once per device and set of active levels)."""
        index = self._cached_levels("index", device, lambda: torch.tensor(self._active))
        res = self._resolution.index_select(0, index)
        level_f = kernels.level_floats(
            res,
            self._offset.index_select(0, index),
            self._feature_scale().index_select(0, index),
            res[:, None] / (self.bounds[1] - self.bounds[0]),
        )
        layout = self.layouts[0]
        level_i = self._cached_levels(
            "ints",
            device,
            lambda: kernels.level_ints(
                [int(self._max_cell[i]) for i in self._active],
                [layout.dense[i] for i in self._active],
                [layout.start[i] for i in self._active],
                layout.table_size,
                [layout.vertices[i] for i in self._active],
            ),
        )
        return level_f, level_i

    def _cached_levels(self, what: str, device: torch.device, build) -> Tensor:
        """A tensor that depends only on the active levels, built once per device."""
        cache = self.__dict__.setdefault("_kernel_cache", {})
        key = (what, tuple(self._active), str(device))
        if key not in cache:
            cache[key] = build().to(device)
        return cache[key]

    def _weights(
        self, t: Tensor, valid: Tensor | None, multi: list[MultiIndex]
    ) -> Iterator[Tensor]:
        """Interpolation weights and their derivatives in cell units, one multi-index at a time.

        Points are the last axes (``La`` active levels x ``B`` points) so that elementwise work
        runs over long contiguous rows.

        Args:
            t: ``(d, La, B)`` position inside the cell, in ``[0, 1]`` (cells are unit length).
            valid: ``(V, La, B)`` which neighbours exist (``None``: all do).
            multi: derivative multi-indices wanted (see
                :func:`smoothgrid.jet.derivative_multi_indices`).

        Yields:
            Per multi-index, in order, ``(V, M, La, B)``: ``d^beta w_{v,m} / dt^beta``.
        """
        raise NotImplementedError

    def _components(
        self,
        t: Tensor,
        valid: Tensor | None,
        order: int,
        hessian: bool,
        lap_axes: tuple[int, ...] | None,
        scale: Tensor,
        step: str | None = None,
    ) -> Tensor:
        """``(K, V, M, La, B)`` weights of each jet component in domain units.

        Args:
            t, valid: see :meth:`_weights`.
            order, hessian, lap_axes: the jet wanted.
            scale: ``(La, d)`` cells per domain unit on each axis at each active level.
            step: passed on to :meth:`_weights` by encodings with several weight kinds.
        """
        multi = derivative_multi_indices(self.dim, order, hessian, lap_axes)
        V = self.neighbour_offsets.shape[0]
        # One buffer filled slot by slot, so only one component's temporaries live at a time.
        out = t.new_empty(len(multi), V, self.coefficients, *t.shape[1:])
        weights = (
            self._weights(t, valid, multi) if step is None else self._weights(t, valid, multi, step)
        )
        level_scale = self._feature_scale()[self._active].to(scale.dtype)
        for j, (beta, w) in enumerate(zip(multi, weights)):
            factor = level_scale
            for axis, k in enumerate(beta):
                if k:
                    factor = factor * scale[:, axis] ** k
            # The chain rule of x -> cells, and the level scale; written in place unless
            # autograd must see it (out= is not differentiable).
            if w.requires_grad or factor.requires_grad:
                out[j] = w * factor[:, None]
            else:
                torch.mul(w, factor[:, None], out=out[j])
        n_first = 1 + (self.dim if order >= 1 else 0)
        if order == 2 and not hessian:
            for j in range(n_first + 1, len(multi)):
                out[n_first] += out[j]
            return out[: n_first + 1]
        return out

    def _encode(
        self, unit: Tensor, order: int, hessian: bool, lap_axes: tuple[int, ...] | None
    ) -> Tensor:
        """``(K, B, L, F)``: the jet components of every level's features at unit-box points."""
        active = self._active
        if self._use_kernel(unit):
            return self._fill_inactive(self._kernel_encode(unit, order, hessian, lap_axes))
        dtype, device = unit.dtype, unit.device
        res = self._resolution[active].to(dtype)
        shift = self._offset[active].to(dtype)
        pos = unit.t().unsqueeze(1) * res[:, None] + shift[:, None]  # (d, La, B) in cells
        max_cell = self._max_cell[active].to(dtype)[:, None]
        cell = torch.minimum(pos.floor().clamp_min(0), max_cell)
        t = pos - cell
        offsets = self.neighbour_offsets[:, None, None, :]
        coords = cell.long().permute(1, 2, 0) + offsets  # (V, La, B, d)
        vertices = self._vertices[active][:, None, :]  # (La, 1, d)
        valid = None
        if self.periodic:
            wrapped = torch.remainder(coords, vertices)
            periodic = torch.zeros(self.dim, dtype=torch.bool, device=device)
            periodic[list(self.periodic)] = True
            coords = torch.where(periodic, wrapped, coords)
        if self._beyond_cell:  # neighbours outside the cell may fall off the grid
            valid = ((coords >= 0) & (coords < vertices)).all(-1)
            coords = torch.minimum(coords.clamp_min(0), vertices - 1)
        extent = (self.bounds[1] - self.bounds[0]).to(dtype)
        scale = res[:, None] / extent  # (La, d)
        weights = self._components(t, valid, order, hessian, lap_axes, scale)
        return self._fill_inactive(self._contract(weights, coords))

    def _fill_inactive(self, out: Tensor) -> Tensor:
        """``(K, B, La, F)`` active-level components -> ``(K, B, L, F)`` with zeros elsewhere."""
        if len(self._active) == self.levels:
            return out
        full = out.new_zeros(out.shape[0], out.shape[1], self.levels, self.features)
        full[:, :, self._active] = out
        return full

    def _rows(self, group: int, coords: Tensor) -> Tensor:
        """Table rows of vertex coordinates in one group.

        Args:
            group: the table group.
            coords: ``(..., La, X, d)`` int64 vertex coordinates, the active levels third from
                the end (e.g. ``(V, La, B, d)``).

        Returns:
            ``(..., La, X)`` int64 rows into ``self.tables[group]``.
        """
        layout = self.layouts[group]
        active = self._active
        device = coords.device
        dense = [layout.dense[i] for i in active]
        start = torch.tensor([layout.start[i] for i in active], device=device)[:, None]
        rows = None
        if any(dense):
            verts = torch.tensor([layout.vertices[i] for i in active], device=device)
            rows = dense_index(coords, verts[:, None, :])
        if not all(dense):
            hashed = hash_index(coords, layout.table_size)
            if rows is None:
                rows = hashed
            else:
                is_dense = torch.tensor(dense, device=device)[:, None]
                rows = torch.where(is_dense, rows, hashed)
        return rows + start

    def _contract(self, weights: Tensor, coords: Tensor) -> Tensor:
        """Gather the neighbours' rows and contract them with the weights.

        Args:
            weights: ``(K, V, M, La, B)``.
            coords: ``(V, La, B, d)`` int64 vertex coordinates.

        Returns:
            ``(K, B, La, F)``.
        """
        V, La, B, _ = coords.shape
        K = weights.shape[0]
        weights = weights.reshape(K, V, weights.shape[2], La * B)
        out = None
        for g, (coeffs, table) in enumerate(zip(self.groups, self.tables)):
            rows = self._rows(g, coords).reshape(V, La * B)
            w = weights if len(coeffs) == weights.shape[2] else weights[:, :, list(coeffs)]
            part = gather_contract(table, rows, w.to(table.dtype))
            out = part if out is None else out + part
        return out.view(K, self.features, La, B).permute(0, 3, 2, 1)

    def _assemble(
        self, out: Tensor, order: int, hessian: bool, lap_axes: tuple[int, ...] | None
    ) -> Jet:
        """Turn ``(K, B, L, F)`` components into a Jet with ``C = L * F`` channels."""
        K, B = out.shape[:2]
        flat = out.reshape(K, B, -1)
        d = self.dim
        if order == 0:
            return Jet(flat[0])
        grad = flat[1 : 1 + d].permute(1, 2, 0)
        if order == 1:
            return Jet(flat[0], grad)
        if not hessian:
            return Jet(flat[0], grad, lap=flat[1 + d], lap_axes=lap_axes)
        pairs = list(itertools.combinations_with_replacement(range(d), 2))
        position = {p: 1 + d + k for k, p in enumerate(pairs)}
        index = [[position[(min(i, j), max(i, j))] for j in range(d)] for i in range(d)]
        hess = flat[torch.tensor(index, device=flat.device)].permute(2, 3, 0, 1)
        return Jet(flat[0], grad, hess=hess, lap_axes=lap_axes)
