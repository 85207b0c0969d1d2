"""The reconstruction's model: one space-time field with a density and a velocity head.

``(x, t) -> [spatial grid features of x, Fourier features of t] -> MLP -> (rho, u)``:

* :class:`SpaceTimeEncoding`: a smoothgrid grid encoding of the ``d`` spatial coordinates
  (default a hashed ``quintic`` grid) concatenated with a fixed Fourier encoding of time,
  ``sin(k pi tau), cos(k pi tau)`` for ``k = 1..B`` with ``tau = (t - t_0) / (t_1 - t_0)`` in
  ``[0, 1]`` (linearly spaced bands: the ``B``-th resolves ``B / 2`` periods over the
  sequence). Both parts have analytic jets, so the ``jets`` route differentiates the whole
  field in space and time with no double backward.
* :class:`SmokeModel`: a :class:`~smoothgrid.Field` with ``1 + d`` outputs whose first channel
  goes through a softplus (``rho >= 0``); ``u`` is the raw rest. It is a *model* of the physics
  routes (:mod:`.physics`): ``model(points)`` and ``model.jet(points, ...)``.

:func:`smoke_model` builds the blueprint's field (decoder depth 2, width 64, SiLU) and
:func:`mlp_model` baseline B3 (``sg.baselines``' Fourier-feature MLP on ``(x, t)``).
:func:`build_field` rebuilds either from a run's ``config.yaml`` (``sg.load``'s hook) and
:func:`load_model` gives a run directory's trained model back.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ... import baselines, encodings
from ...encodings.protocol import Encoding
from ...field import Field
from ...jet import ACTIVATIONS, Jet, apply, cat, cos, linear, sin
from ...loading import load
from ...options import plain
from ...render import OccupancyGrid

__all__ = [
    "SpaceTimeEncoding",
    "SmokeModel",
    "smoke_model",
    "mlp_model",
    "build_field",
    "load_model",
    "CPU_GRID",
    "BLUEPRINT_GRID",
    "RHO_INIT",
]

BLUEPRINT_GRID = dict(levels=16, features=2, min_res=16, max_res=512, log2_table=19)
"""The blueprint's spatial grid (L = 16, F = 2), for a GPU."""

CPU_GRID = dict(levels=8, features=2, min_res=4, max_res=64, log2_table=16)
"""The CPU default: 8 levels of 2 features, 4 to 64 cells per axis, 2^16 rows per level."""

RHO_INIT = 0.02
"""The density a fresh model starts near everywhere (its output bias) unless given one, in
density units: a faint fog, so that the first images are close to the background."""


class SpaceTimeEncoding(Encoding):
    """Grid features of the space coordinates next to Fourier features of time.

    Args:
        dim: the spatial dimension ``d``; the encoding's input is ``(x_0..x_{d-1}, t)``.
        grid: the spatial grid's interpolation (a name of :func:`smoothgrid.encodings.names`).
        time_bands: ``B``: the encoding has ``2 B`` time features.
        bounds: the space-time box ``(lo, hi)``, ``d + 1`` numbers each (time last).
        clamp: clamp points outside the box onto it (stencils near the faces).
        grid_options: the grid's options (``levels``, ``features``, ``min_res``, ``max_res``,
            ``log2_table``, ...); default :data:`CPU_GRID`.

    Example:
        >>> enc = SpaceTimeEncoding(2, time_bands=4, bounds=([0, 0, 0], [1, 1, 2]), levels=2)
        >>> enc(torch.rand(5, 3)).shape
        torch.Size([5, 12])
    """

    name = "space_time"

    def __init__(
        self,
        dim: int,
        grid: str = "quintic",
        time_bands: int = 16,
        bounds: tuple | None = None,
        clamp: bool = True,
        **grid_options: Any,
    ) -> None:
        if not isinstance(time_bands, int) or time_bands < 1:
            raise ValueError(f"time_bands must be an integer >= 1, got {time_bands!r}")
        self.space = None
        super().__init__(dim + 1, bounds=None, clamp=clamp)
        self.grid_options = {**CPU_GRID, **grid_options}
        self.space = encodings.make(grid, dim=dim, clamp=True, **self.grid_options)
        self.time_bands = time_bands
        self.register_buffer(
            "omega", math.pi * torch.arange(1, time_bands + 1, dtype=torch.float64)
        )
        self.levels = self.space.levels
        self.resolutions = self.space.resolutions
        if bounds is not None:
            self.set_bounds(*bounds)

    def config(self) -> dict[str, Any]:
        """The constructor's options, the spatial grid's (``levels``, ``features``, ...)
        included, so that ``SpaceTimeEncoding(**config minus "name")`` rebuilds it."""
        return {**super().config(), **plain(self.grid_options)}

    @property
    def out_features(self) -> int:
        """The grid's ``L F`` plus ``2 B``."""
        return self.space.out_features + 2 * self.time_bands

    def set_bounds(self, lo, hi) -> None:
        """The space-time box; its spatial part becomes the grid's box."""
        super().set_bounds(lo, hi)
        if self.space is not None:
            d = self.dim - 1
            self.space.set_bounds(self.bounds[0, :d].tolist(), self.bounds[1, :d].tolist())

    def set_level_scale(self, scale: Sequence[float] | Tensor) -> None:
        """Per-level step scale of the spatial grid."""
        self.space.set_level_scale(scale)

    def cell_size(self) -> Tensor:
        """``(d + 1,)``: the grid's finest cell, and ``1 / (2 B)`` of the time span."""
        span = (self.bounds[1, -1] - self.bounds[0, -1]) / (2 * self.time_bands)
        return torch.cat([self.space.cell_size(), span.reshape(1).to(torch.float64)])

    def _box(self, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
        lo, hi = self.bounds.to(dtype)
        return lo, hi - lo

    def _time_features(self, tau: Jet) -> Jet:
        z = linear(tau, self.omega.to(tau.value.dtype)[:, None])
        return cat([sin(z), cos(z)])

    def encode_unit(self, unit: Tensor) -> Tensor:
        """``(B, d + 1)`` unit-box points -> ``(B, out_features)``."""
        lo, extent = self._box(unit.dtype)
        d = self.dim - 1
        space = self.space(lo[:d] + unit[:, :d] * extent[:d])
        return torch.cat([space, self._time_features(Jet(unit[:, d:])).value], 1)

    def jet(
        self,
        x: Tensor,
        order: int = 2,
        hessian: bool = False,
        lap_axes: Sequence[int] | None = None,
    ) -> Jet:
        """Features of ``x: (B, d + 1)`` with derivatives in space and time (domain units).

        The grid's derivatives along ``t`` are zero and the time features' along ``x`` are
        zero: the Hessian is block-diagonal and the Laplacian over ``lap_axes`` adds the
        grid's over the spatial ones and the time features' ``d^2 / dt^2`` if ``t`` is one.
        """
        lap_axes = self._check_lap_axes(lap_axes)
        lo, extent = self._box(x.dtype)
        xc = lo + self.to_unit(x) * extent
        d = self.dim - 1
        axes = tuple(range(d + 1)) if lap_axes is None else lap_axes
        space_axes = tuple(a for a in axes if a < d)
        space_order = 1 if order == 2 and not hessian and not space_axes else order
        s = self.space.jet(xc[:, :d], space_order, hessian, space_axes or None)
        grad = hess = lap = None
        if order >= 1:
            grad = torch.cat([s.grad, s.grad.new_zeros(*s.grad.shape[:2], 1)], -1)
        if order == 2 and hessian:
            hess = s.grad.new_zeros(*s.grad.shape[:2], d + 1, d + 1)
            hess[..., :d, :d] = s.hess
        elif order == 2:
            lap = s.lap if space_axes else s.value.new_zeros(s.value.shape)
        space = Jet(s.value, grad, hess, lap, lap_axes)
        tau = (Jet.coordinates(xc, order, hessian, lap_axes)[..., d] - lo[d]) * (1.0 / extent[d])
        return cat([space, self._time_features(tau)])

    def extra_repr(self) -> str:
        return f"dim={self.dim - 1}+1, time_bands={self.time_bands}"


class SmokeModel(nn.Module):
    """``(x, t) -> (rho, u)``: a field with ``1 + d`` outputs, ``rho = softplus(channel 0)``.

    Args:
        field: a :class:`~smoothgrid.Field` on ``d + 1`` inputs (time last) with ``1 + d``
            outputs, its box the space-time box.

    Attributes:
        field: as given; ``encoding`` is its encoding (the optimiser's grid group).
        dim: the spatial dimension ``d``.
        occupancy: the renderer's occupancy grid, set by the training task (``None`` until
            then). It is a sub-module so that its buffers are in every checkpoint and a
            resumed run goes on with the grid it had.
    """

    occupancy: OccupancyGrid | None

    def __init__(self, field: Field) -> None:
        super().__init__()
        if field.out != field.dim:
            raise ValueError(
                f"a smoke model maps (x, t) to (rho, u): a field on d + 1 = {field.dim} inputs "
                f"needs {field.dim} outputs, got {field.out}"
            )
        self.field = field
        self.dim = field.dim - 1
        self.occupancy = None

    @property
    def encoding(self) -> Encoding:
        """The field's encoding."""
        return self.field.encoding

    def forward(self, points: Tensor) -> Tensor:
        """``(N, d + 1)`` ``(x, t)`` -> ``(N, 1 + d)`` ``(rho, u)``."""
        raw = self.field(points)
        return torch.cat([nn.functional.softplus(raw[:, :1]), raw[:, 1:]], 1)

    def density(self, points: Tensor) -> Tensor:
        """``(N,)`` ``rho`` at ``(N, d + 1)`` points."""
        return self(points)[:, 0]

    def jet(
        self,
        points: Tensor,
        order: int = 1,
        hessian: bool = False,
        lap_axes: Sequence[int] | None = None,
        derivatives: str | None = None,
    ) -> Jet:
        """The jet of ``(rho, u)`` (see :meth:`smoothgrid.Field.jet`)."""
        raw = self.field.jet(points, order, hessian, lap_axes, derivatives)
        return cat([apply(raw[..., 0], ACTIVATIONS["softplus"]), raw[..., 1:]])

    def config(self) -> dict[str, Any]:
        """The field's :meth:`~smoothgrid.Field.config`."""
        return self.field.config()


def _start_faint(field: Field, rho: float) -> None:
    if not rho > 0:
        raise ValueError(f"the starting density must be > 0, got {rho!r}")
    last = field.decoder.layers[-1]
    with torch.no_grad():
        last.bias[0] = math.log(math.expm1(rho))


def smoke_model(
    dim: int,
    lo: Sequence[float],
    hi: Sequence[float],
    grid: str = "quintic",
    time_bands: int = 16,
    hidden: Sequence[int] = (64, 64),
    rho_init: float = RHO_INIT,
    **grid_options: Any,
) -> SmokeModel:
    """The blueprint's model on the space-time box ``[lo, hi]`` (``d + 1`` numbers each, time
    last): :class:`SpaceTimeEncoding` and a SiLU decoder of widths ``hidden`` (depth 2, width
    64), starting at ``rho ~ rho_init``. Seed torch first."""
    enc = SpaceTimeEncoding(dim, grid, time_bands, bounds=(lo, hi), **grid_options)
    field = Field(enc, hidden=hidden, out=1 + dim, activation="silu")
    _start_faint(field, rho_init)
    return SmokeModel(field)


def mlp_model(
    dim: int,
    lo: Sequence[float],
    hi: Sequence[float],
    size: str = "small",
    rho_init: float = RHO_INIT,
) -> SmokeModel:
    """Baseline B3: ``sg.baselines``' ``fourier_mlp`` (random Fourier features of ``(x, t)``, a
    tanh MLP; 64 frequencies and 3 x 128 on a CPU) as a smoke model on ``[lo, hi]``."""
    field = baselines.make("fourier_mlp", dim=dim + 1, out=1 + dim, size=size)
    field.set_bounds(list(lo), list(hi))
    field.derivatives = "jet"  # Fourier features have analytic jets: no double backward
    _start_faint(field, rho_init)
    return SmokeModel(field)


def build_field(config: Mapping[str, Any]) -> Field:
    """The (untrained) field of a smoke run's ``config.yaml``: ``sg.load``'s hook.

    A :class:`SpaceTimeEncoding` is rebuilt with its grid options (taken from the run's
    ``options`` when the encoding's record lacks them: runs written before it kept them);
    baseline B3's Fourier-feature field by :meth:`~smoothgrid.Field.from_config`.
    """
    encoding = dict(config["encoding"])
    if encoding.pop("name", None) != SpaceTimeEncoding.name:
        return Field.from_config(config)
    recorded = config.get("options") or {}
    grid = {k: recorded[k] for k in CPU_GRID if k in recorded}
    return Field(SpaceTimeEncoding(**{**grid, **encoding}), **config["field"])


def load_model(run_dir: str | os.PathLike, device: str | torch.device = "cpu") -> SmokeModel:
    """The trained ``(x, t) -> (rho, u)`` model of a ``fit_smoke`` / ``smoothgrid smoke`` run
    directory (its ``config.yaml`` and checkpoint; see :func:`smoothgrid.load`, whose
    ``field`` gives the raw outputs, channel 0 before the softplus). In evaluation mode.

    Raises:
        FileNotFoundError, CheckpointError: as :func:`smoothgrid.load`.
    """
    return SmokeModel(load(run_dir, device).field).eval()
