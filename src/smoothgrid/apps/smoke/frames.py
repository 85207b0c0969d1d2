"""Simulated frames: density and velocity on a grid over time, saved as ``.npz``, sampled at any
``(x, t)``, and the transport residual of the frames themselves (the floor).

Layout: ``rho[f, i_0, ..., i_{d-1}]`` is the density of cell ``(i_0, ..., i_{d-1})`` at
``times[f]``; index ``i_a`` runs along axis ``a`` (``x, y[, z]``, numpy's ``indexing="ij"``) and
the cell's centre is ``lo_a + (i_a + 1/2) h_a`` with ``h_a = (hi_a - lo_a) / n_a``.
``u[f, a, ...]`` is velocity component ``a`` (domain units per second) at the same centres.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .interp import interpolate

__all__ = ["Simulation", "TransportFloor", "transport_floor", "central_divergence"]


@dataclass
class Simulation:
    """Frames of a simulated (or any gridded) smoke: the ground truth of a reconstruction.

    Attributes:
        rho: ``(T, n_0, ..., n_{d-1})`` density at cell centres.
        u: ``(T, d, n_0, ..., n_{d-1})`` velocity at cell centres (domain units / s).
        times: ``(T,)`` float64 frame times (s), increasing and evenly spaced.
        lo, hi: ``(d,)`` float64 corners of the box the cells tile.
        source: ``(n_0, ..., n_{d-1})`` the source region's weight in ``[0, 1]`` (zeros when
            there is none); the floor leaves it out.
        config: the options that made it (JSON-able; e.g. ``SmokeConfig`` as a dict).
    """

    rho: Tensor
    u: Tensor
    times: Tensor
    lo: Tensor
    hi: Tensor
    source: Tensor
    config: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        T, d = self.rho.shape[0], self.rho.dim() - 1
        grid = tuple(self.rho.shape[1:])
        if self.u.shape != (T, d) + grid:
            raise ValueError(
                f"u must have shape (T, d, *grid) = {(T, d) + grid}, got {tuple(self.u.shape)}"
            )
        if self.times.shape != (T,):
            raise ValueError(f"times must have shape ({T},), got {tuple(self.times.shape)}")
        if T > 1 and not bool((self.times.diff() > 0).all()):
            raise ValueError("frame times must increase")
        if self.lo.shape != (d,) or self.hi.shape != (d,) or not bool((self.hi > self.lo).all()):
            raise ValueError(f"lo and hi must be ({d},) with hi > lo, got {self.lo}, {self.hi}")
        if tuple(self.source.shape) != grid:
            raise ValueError(f"source must have shape {grid}, got {tuple(self.source.shape)}")

    @property
    def dim(self) -> int:
        """Spatial dimension ``d``."""
        return self.rho.dim() - 1

    @property
    def grid(self) -> tuple[int, ...]:
        """Cells per axis."""
        return tuple(self.rho.shape[1:])

    @property
    def spacing(self) -> Tensor:
        """``(d,)`` cell edges."""
        return (self.hi - self.lo) / torch.tensor(self.grid, dtype=torch.float64)

    @property
    def frame_dt(self) -> float:
        """Time between frames (s); 0 for a single frame."""
        return float(self.times[1] - self.times[0]) if len(self.times) > 1 else 0.0

    def centres(self) -> list[Tensor]:
        """Per axis, the ``(n_a,)`` float64 cell-centre coordinates."""
        h = self.spacing
        return [self.lo[a] + (torch.arange(n) + 0.5) * h[a] for a, n in enumerate(self.grid)]

    # ------------------------------------------------------------------ sampling
    def sample(self, points: Tensor) -> Tensor:
        """``(N, 1 + d)`` = ``(rho, u_0, ..., u_{d-1})`` at space-time ``points``.

        Args:
            points: ``(N, d + 1)`` ``(x_0, ..., x_{d-1}, t)``, time last (s).

        Multilinear in space and linear in time between frames; points beyond the outermost
        cell centres or frames take the boundary values. A ``Simulation`` is thereby a model of
        the physics routes (:mod:`~smoothgrid.apps.smoke.physics`), values only.
        """
        d = self.dim
        if points.dim() != 2 or points.shape[1] != d + 1:
            raise ValueError(f"points must be (N, {d + 1}) = (x, t), got {tuple(points.shape)}")
        values = torch.cat([self.rho[:, None], self.u], dim=1).movedim(1, 0)  # (1+d, T, *grid)
        h = self.spacing
        origin = [float(self.times[0])] + [float(self.lo[a] + 0.5 * h[a]) for a in range(d)]
        spacing = [self.frame_dt or 1.0] + [float(s) for s in h]
        txyz = torch.cat([points[:, d:], points[:, :d]], dim=1)
        return interpolate(values.to(points.dtype), origin, spacing, txyz)

    __call__ = sample

    # ---------------------------------------------------------------------- files
    def save(self, path: str | os.PathLike) -> Path:
        """Write the frames to ``path`` (``.npz``, float32 fields, float64 times and box)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            path,
            rho=self.rho.detach().cpu().float().numpy(),
            u=self.u.detach().cpu().float().numpy(),
            times=self.times.cpu().double().numpy(),
            lo=self.lo.cpu().double().numpy(),
            hi=self.hi.cpu().double().numpy(),
            source=self.source.detach().cpu().float().numpy(),
            config=np.array(json.dumps(self.config)),
        )
        return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")

    @classmethod
    def load(cls, path: str | os.PathLike) -> Simulation:
        """Read frames written by :meth:`save`."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no simulation file at {path}")
        with np.load(path) as data:
            missing = {"rho", "u", "times", "lo", "hi", "source"} - set(data.files)
            if missing:
                raise ValueError(f"{path} lacks the arrays {sorted(missing)}")
            config = json.loads(str(data["config"])) if "config" in data.files else {}
            return cls(
                rho=torch.from_numpy(data["rho"]),
                u=torch.from_numpy(data["u"]),
                times=torch.from_numpy(data["times"]),
                lo=torch.from_numpy(data["lo"]),
                hi=torch.from_numpy(data["hi"]),
                source=torch.from_numpy(data["source"]),
                config=config,
            )


def _central(f: Tensor, axis: int, h: float) -> Tensor:
    """Central difference along ``axis`` on the interior (that axis shrinks by 2)."""
    n = f.shape[axis]
    return (f.narrow(axis, 2, n - 2) - f.narrow(axis, 0, n - 2)) / (2.0 * h)


def _interior(f: Tensor, axes: range) -> Tensor:
    for a in axes:
        f = f.narrow(a, 1, f.shape[a] - 2)
    return f


@dataclass(frozen=True)
class TransportFloor:
    """The frames' own residual ``R = d rho/dt + u . grad rho`` (central differences).

    Attributes:
        mean_abs: mean ``|R|`` (density units / s) over interior cells and frames 1..T-2, the
            source region left out: comparable to a reconstruction's mean residual.
        rms: root mean square of ``R``.
        relative: ``rms(R) / rms(d rho/dt)``: 0 when ``u`` explains all of the density's change,
            1 when it explains none of it (e.g. ``u = 0``).
        per_frame: ``(T - 2,)`` ``rms(R) / rms(d rho/dt)`` per interior frame.
    """

    mean_abs: float
    rms: float
    relative: float
    per_frame: Tensor


def transport_floor(sim: Simulation, source_cutoff: float = 1e-3) -> TransportFloor:
    """The transport residual of the simulated frames: the floor of any reconstruction.

    Time derivative by central differences between frames ``f - 1`` and ``f + 1``, the gradient
    by central differences between neighbouring cells, ``u`` at frame ``f``; cells on the box's
    faces, the first and last frames and cells where ``source > source_cutoff`` are left out.

    The floor is not zero: semi-Lagrangian advection is diffusive, the face-to-centre velocity
    average and the frame spacing add truncation error (the frame interval is ``substeps`` steps).
    """
    if sim.rho.shape[0] < 3:
        raise ValueError(f"the floor needs at least 3 frames, got {sim.rho.shape[0]}")
    d = sim.dim
    rho = sim.rho.double()
    h = sim.spacing.tolist()
    dt = sim.frame_dt
    space = range(1, d + 1)
    drho_dt = _interior((rho[2:] - rho[:-2]) / (2.0 * dt), space)  # (T-2, n-2..)
    u = _interior(sim.u[1:-1].double(), range(2, d + 2))
    grad = torch.stack(
        [
            _interior(_central(rho[1:-1], a + 1, h[a]), [b for b in space if b != a + 1])
            for a in range(d)
        ],
        dim=1,
    )
    residual = drho_dt + (u * grad).sum(1)
    keep = _interior(sim.source.double() <= source_cutoff, range(d)).expand_as(residual)
    r, dr = residual[keep], drho_dt[keep]
    rms = r.square().mean().sqrt()
    per_frame = torch.stack(
        [
            residual[f][keep[f]].square().mean().sqrt()
            / drho_dt[f][keep[f]].square().mean().sqrt().clamp_min(1e-30)
            for f in range(residual.shape[0])
        ]
    )
    return TransportFloor(
        mean_abs=float(r.abs().mean()),
        rms=float(rms),
        relative=float(rms / dr.square().mean().sqrt().clamp_min(1e-30)),
        per_frame=per_frame,
    )


def central_divergence(sim: Simulation) -> tuple[float, float]:
    """``(mean |div u|, mean |div u| / mean |grad u|)`` of the saved cell-centred velocity.

    Central differences on interior cells; ``|grad u|`` is the Frobenius norm of the velocity
    gradient, so the ratio says how far from divergence-free the saved ``u`` is, relative to
    how much it varies (0: divergence-free; of order 1: arbitrary).
    """
    d = sim.dim
    h = sim.spacing.tolist()
    u = sim.u.double()
    space = range(1, d + 1)
    jac = torch.stack(
        [
            torch.stack(
                [
                    _interior(_central(u[:, i], a + 1, h[a]), [b for b in space if b != a + 1])
                    for a in range(d)
                ],
                dim=1,
            )
            for i in range(d)
        ],
        dim=1,
    )  # (T, i, a, n-2..): d u_i / d x_a
    div = torch.diagonal(jac, dim1=1, dim2=2).sum(-1)
    frob = jac.square().sum((1, 2)).sqrt()
    return float(div.abs().mean()), float(div.abs().mean() / frob.mean().clamp_min(1e-30))
