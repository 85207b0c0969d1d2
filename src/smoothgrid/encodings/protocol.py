"""What a :class:`~smoothgrid.field.Field` and :func:`~smoothgrid.train.solve` need from an
encoding: the input box, the map to the unit box, features with their jets, and the grid hooks.

:class:`Encoding` owns the input box (``bounds``, :meth:`set_bounds`, :meth:`to_unit`) and
validation; a subclass supplies :attr:`out_features`, :meth:`encode_unit` and :meth:`jet`. The
grid hooks (:attr:`levels`, :meth:`set_level_mask`, :meth:`set_level_weights`,
:meth:`set_level_scale`, :meth:`cell_size`) describe an encoding without grid levels here
(``levels = 0``);
:class:`~smoothgrid.encodings.base.GridEncoding` overrides them.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..jet import Jet
from ..options import RecordsOptions

__all__ = ["Encoding"]


class Encoding(nn.Module, RecordsOptions):
    """Base class of every encoding ``x (B, d) -> features (B, out_features)``.

    Args:
        dim: input dimension ``d`` in 1..4.
        bounds: ``(lo, hi)`` of the input box in domain coordinates, each a number or ``d``
            numbers. ``None``: **the unit box** ``[0, 1]^d`` until :meth:`set_bounds` gives
            another (:attr:`has_bounds` stays ``False``, and :func:`smoothgrid.solve` then
            adopts the problem's box). Points outside the box raise an error naming it.
        periodic: axes on which the encoding is periodic with the box's extent as period.
        clamp: clamp points outside the box onto it instead of raising an error.

    Every constructor option is recorded (:class:`~smoothgrid.options.RecordsOptions`):
    :meth:`config` is ``{"name": ..., "dim": ..., <all options>}`` and
    :func:`smoothgrid.encodings.from_config` rebuilds an equal encoding from it (the tables come
    from a state dict). ``bounds`` is recorded as given; a box set later by :meth:`set_bounds`
    lives in the state dict (the ``bounds`` buffer).
    """

    name: str = "encoding"
    """The registry name of the encoding."""

    levels: int = 0
    """Grid levels ``L`` (0: not a grid encoding; no curriculum or level scale applies)."""

    def __init__(
        self,
        dim: int,
        bounds: tuple | None = None,
        periodic: Sequence[int] = (),
        clamp: bool = False,
    ) -> None:
        super().__init__()
        if not isinstance(dim, int) or not 1 <= dim <= 4:
            raise ValueError(f"dim must be an integer in 1..4, got {dim!r}")
        periodic = tuple(sorted({int(a) for a in periodic}))
        if any(not 0 <= a < dim for a in periodic):
            raise ValueError(f"periodic axes must lie in 0..{dim - 1}, got {periodic}")
        self.dim = dim
        self.periodic = periodic
        self.clamp = clamp
        self.resolutions: list[int] = []
        """Cells per axis of each grid level (empty without a grid)."""
        self.register_buffer("bounds", torch.stack([torch.zeros(dim), torch.ones(dim)]).double())
        self.has_bounds = False
        """Whether a box was given (at construction or by :meth:`set_bounds`)."""
        if bounds is not None:
            self.set_bounds(*bounds)

    # ----------------------------------------------------------- to implement
    @property
    def out_features(self) -> int:
        """Features per point."""
        raise NotImplementedError

    def encode_unit(self, unit: Tensor) -> Tensor:
        """Features ``(B, out_features)`` of points ``unit: (B, d)`` already in the unit box."""
        raise NotImplementedError

    def jet(
        self,
        x: Tensor,
        order: int = 2,
        hessian: bool = False,
        lap_axes: Sequence[int] | None = None,
    ) -> Jet:
        """Features of ``x: (B, d)`` (domain coordinates) with their derivatives in domain
        coordinates: a :class:`~smoothgrid.jet.Jet` with ``C = out_features`` channels."""
        raise NotImplementedError

    # --------------------------------------------------------------- grid hooks
    @property
    def active_levels(self) -> list[int]:
        """Indices of the grid levels switched on (none without a grid)."""
        return []

    def set_level_mask(self, mask: Sequence[bool] | Tensor) -> None:
        """Choose the active grid levels; an encoding without levels has nothing to mask."""
        raise ValueError(f"the {self.name!r} encoding has no grid levels to mask")

    def set_level_weights(self, weights: Sequence[float] | Tensor) -> None:
        """Soft per-level weights; an encoding without levels has nothing to weigh."""
        raise ValueError(f"the {self.name!r} encoding has no grid levels to weigh")

    def set_level_scale(self, scale: Sequence[float] | Tensor) -> None:
        """Per-level feature scales; an encoding without levels accepts only an empty list."""
        if len(scale) != 0:
            raise ValueError(f"the {self.name!r} encoding has no grid levels to scale")

    def cell_size(self) -> Tensor:
        """``(d,)`` grid cell edge in domain units (the default finite-difference step)."""
        raise ValueError(
            f"the {self.name!r} encoding has no grid cell to take a finite-difference step "
            "from; pass fd_step="
        )

    # ------------------------------------------------------------------- box
    def set_bounds(self, lo, hi) -> None:
        """Set the input box: points ``x`` in ``[lo, hi]`` map to ``[0, 1]^d``.

        Args:
            lo, hi: numbers or sequences of ``d`` numbers with ``lo < hi``.
        """
        lo_t = torch.as_tensor(lo, dtype=torch.float64).flatten().expand(self.dim)
        hi_t = torch.as_tensor(hi, dtype=torch.float64).flatten().expand(self.dim)
        if not bool((hi_t > lo_t).all()) or not bool(
            torch.isfinite(lo_t).all() & torch.isfinite(hi_t).all()
        ):
            raise ValueError(f"bounds need finite lo < hi on every axis, got lo={lo}, hi={hi}")
        self.bounds.copy_(torch.stack([lo_t, hi_t]))
        self.has_bounds = True

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self.has_bounds = self.has_bounds or prefix + "bounds" in state_dict

    def forward(self, x: Tensor) -> Tensor:
        """``x: (B, d)`` in domain coordinates -> ``(B, out_features)``."""
        return self.encode_unit(self.to_unit(x))

    def _check_lap_axes(self, lap_axes: Sequence[int] | None) -> tuple[int, ...] | None:
        if lap_axes is None:
            return None
        axes = tuple(int(a) for a in lap_axes)
        if not axes or len(set(axes)) != len(axes) or any(not 0 <= a < self.dim for a in axes):
            raise ValueError(f"lap_axes must be distinct axes in 0..{self.dim - 1}, got {lap_axes}")
        return axes

    def to_unit(self, x: Tensor, check: bool = True) -> Tensor:
        """Map domain points to the unit box, validating them.

        Args:
            x: ``(B, d)`` floating point, in the box unless the encoding clamps.
            check: validate shape, dtype, finiteness and the box (the last two are skipped
                while a CUDA graph is being captured).

        Returns:
            ``(B, d)`` in ``[0, 1]^d`` (clamped if ``clamp=True``).
        """
        if check:
            if not isinstance(x, Tensor):
                raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
            if not x.is_floating_point():
                raise TypeError(f"x must be a floating point tensor, got dtype {x.dtype}")
            if x.dim() != 2 or x.shape[1] != self.dim:
                raise ValueError(
                    f"x must have shape (B, {self.dim}) for a {self.dim}D encoding, "
                    f"got {tuple(x.shape)}"
                )
        lo, hi = self.bounds.to(x.dtype)
        unit = (x - lo) / (hi - lo)
        # One test of the values (NaN fails it too), so one wait for the device; none while a
        # CUDA graph is being captured, which cannot wait.
        check = check and not (x.is_cuda and torch.cuda.is_current_stream_capturing())
        if self.clamp:
            if check and not bool(torch.isfinite(x).all()):
                raise ValueError("x contains NaN or infinite coordinates")
            return unit.clamp(0.0, 1.0)
        tol = 1e-6
        if check and not bool(((unit >= -tol) & (unit <= 1.0 + tol)).all()):
            if not bool(torch.isfinite(x).all()):
                raise ValueError("x contains NaN or infinite coordinates")
            n = int(((unit < -tol) | (unit > 1.0 + tol)).any(1).sum())
            which = "" if self.has_bounds else " (the default unit box: no bounds were given)"
            raise ValueError(
                f"{n} of {x.shape[0]} points lie outside the encoding's box "
                f"lo={lo.tolist()}, hi={hi.tolist()}{which}; fix the points, call "
                "set_bounds(lo, hi) or build the encoding with bounds=(lo, hi), or build it "
                "with clamp=True"
            )
        return unit
