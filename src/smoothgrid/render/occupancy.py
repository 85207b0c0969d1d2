"""Instant-NGP style occupancy grid: skip samples in empty space.

A coarse ``(Nx, Ny, Nz)`` grid over the scene box keeps, per cell, a decaying maximum of the
density seen at random points in the cell, and a bit saying whether the cell may hold matter.
An update (every ``every`` steps):

1. every cell's value decays: ``g <- decay * g``;
2. a set of cells is evaluated, each at one uniformly jittered point: all cells during the first
   ``warmup`` steps, afterwards a random quarter of all cells and as many random occupied ones;
3. ``g <- max(g, sigma(point))`` at those cells (a maximum rather than an average keeps thin
   structures, as Instant-NGP does);
4. ``occupied = g > min(threshold, mean(g))``.

Before its first update every cell counts as occupied, so nothing is skipped. For a time-varying
density (smoke) pass a ``density_fn`` that draws a time per call, or takes the maximum over the
frames: the grid then holds the union over time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from .rays import as_bounds

__all__ = ["OccupancyGrid"]


class OccupancyGrid(nn.Module):
    """A bit- and density grid over the box ``[lo, hi]`` (buffers only, no parameters).

    Args:
        box: ``(lo, hi)`` or a ``geometry.Box`` in world units.
        resolution: cells per axis (a number or three).
        decay: per-update factor on the stored densities.
        threshold: density (per world unit) above which a cell is occupied (lowered to the mean
            density when that is smaller).
        every: update period in steps for :meth:`update` with a ``step``.
        warmup: steps during which every update evaluates every cell.

    Example:
        >>> grid = OccupancyGrid(((-1, -1, -1), (1, 1, 1)), resolution=8)
        >>> _ = grid.update(lambda x: (x.norm(dim=-1) < 0.5).float() * 10)
        >>> grid.occupied_at(torch.tensor([[0.0, 0, 0], [0.9, 0.9, 0.9]])).tolist()
        [True, False]
    """

    def __init__(
        self,
        box,
        resolution: int | Sequence[int] = 64,
        decay: float = 0.95,
        threshold: float = 0.01,
        every: int = 16,
        warmup: int = 256,
    ) -> None:
        super().__init__()
        res = [int(resolution)] * 3 if isinstance(resolution, (int, float)) else list(resolution)
        if len(res) != 3 or min(res) < 1:
            raise ValueError(f"resolution must be one or three positive ints, got {resolution!r}")
        if not 0.0 <= decay <= 1.0 or threshold < 0 or every < 1:
            raise ValueError(
                "need 0 <= decay <= 1, threshold >= 0, every >= 1; "
                f"got {decay}, {threshold}, {every}"
            )
        lo, hi = as_bounds(box, torch.zeros((), dtype=torch.float64))
        self.resolution = tuple(res)
        self.decay, self.threshold, self.every, self.warmup = decay, threshold, every, warmup
        self.register_buffer("lo", lo.float())
        self.register_buffer("hi", hi.float())
        self.register_buffer("density", torch.zeros(*res))
        self.register_buffer("occupied", torch.ones(*res, dtype=torch.bool))
        self.register_buffer("updates", torch.zeros((), dtype=torch.long))

    @property
    def n_cells(self) -> int:
        return self.density.numel()

    def fraction_occupied(self) -> float:
        """Share of cells marked occupied."""
        return self.occupied.float().mean().item()

    def cell_index(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Flat cell index ``(N,)`` of points ``x: (N, 3)`` and ``(N,)`` bool inside the box."""
        lo, hi = self.lo.to(x.dtype), self.hi.to(x.dtype)
        res = torch.tensor(self.resolution, device=x.device)
        unit = (x - lo) / (hi - lo)
        inside = ((unit >= 0) & (unit <= 1)).all(-1)
        ijk = (unit * res).long().clamp(torch.zeros_like(res), res - 1)
        flat = (ijk[:, 0] * res[1] + ijk[:, 1]) * res[2] + ijk[:, 2]
        return flat, inside

    def occupied_at(self, x: Tensor) -> Tensor:
        """``(N,)`` bool: ``x: (N, 3)`` lies in the box, in an occupied cell."""
        flat, inside = self.cell_index(x.detach())
        return self.occupied.flatten()[flat] & inside

    def _cells_to_update(self, step: int | None, generator: torch.Generator | None) -> Tensor:
        n = self.n_cells
        where = generator.device if generator is not None else self.density.device
        if step is None or step < self.warmup:
            return torch.arange(n, device=self.density.device)
        uniform = torch.randint(n, (n // 4,), generator=generator, device=where)
        occ = torch.nonzero(self.occupied.flatten()).flatten()
        picks = [uniform.to(self.density.device)]
        if len(occ):
            pick = torch.randint(len(occ), (n // 4,), generator=generator, device=where)
            picks.append(occ[pick.to(occ.device)])
        return torch.cat(picks)

    @torch.no_grad()
    def update(
        self,
        density_fn: Callable[[Tensor], Tensor],
        step: int | None = None,
        generator: torch.Generator | None = None,
        chunk: int = 65536,
    ) -> bool:
        """Update from ``density_fn: (N, 3) -> (N,)`` (world points, densities per world unit).

        With ``step`` given, updates only when ``step % every == 0`` and evaluates every cell only
        while ``step < warmup``; without it, updates now, every cell. Returns whether it updated.
        """
        if step is not None and step % self.every != 0:
            return False
        cells = self._cells_to_update(step, generator)
        res = torch.tensor(self.resolution, device=cells.device)
        ijk = torch.stack(
            [cells // (res[1] * res[2]), (cells // res[2]) % res[1], cells % res[2]], -1
        )
        where = generator.device if generator is not None else cells.device
        jitter = torch.rand(len(cells), 3, generator=generator, device=where).to(cells.device)
        x = self.lo + (ijk + jitter) / res * (self.hi - self.lo)
        values = torch.cat(
            [density_fn(x[i : i + chunk]).reshape(-1) for i in range(0, len(x), chunk)]
        )
        flat = self.density.flatten() * self.decay
        flat = flat.scatter_reduce(0, cells, values.to(flat.dtype), reduce="amax")
        self.density.copy_(flat.view(self.resolution))
        self.occupied.copy_(self.density > min(self.threshold, self.density.mean().item()))
        self.updates += 1
        return True
