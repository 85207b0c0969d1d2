"""Samples along rays: stratified intervals and importance (inverse-CDF) intervals.

**Layout: padded.** Samples are ``(R, S)`` intervals ``[t_starts, t_ends]`` per ray (world
units along the unit direction) that tile the ray's segment ``[t_near, t_far]`` exactly, in
order; the field is evaluated at the interval midpoints. A ray that misses the box has
zero-length intervals. Compositing then runs along a row (a plain ``cumsum``), and skipping
samples is a boolean ``(R, S)`` mask: :func:`pack` gives nerfacc's packed layout (flat samples
with their ray indices) for evaluating only the kept samples.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = [
    "unit_edges",
    "stratified_intervals",
    "importance_intervals",
    "merge_intervals",
    "midpoints",
    "pack",
]


def unit_edges(
    rays: int,
    n: int,
    jitter: bool = True,
    generator: torch.Generator | None = None,
    device=None,
    dtype=None,
) -> Tensor:
    """``(R, n + 1)`` increasing edges in ``[0, 1]`` with ``e_0 = 0`` and ``e_n = 1``.

    Interior edge ``i`` is ``(i - 1/2 + u_i) / n`` with ``u_i`` uniform in ``[0, 1)`` (or ``1/2``
    without jitter: ``n`` equal intervals). Each edge stays within its own half-cell, so the edges
    are increasing and the intervals tile ``[0, 1]``.
    """
    if n < 1:
        raise ValueError(f"need at least one sample per ray, got {n}")
    dtype = dtype or torch.get_default_dtype()
    i = torch.arange(1, n, device=device, dtype=dtype)
    if jitter:
        where = generator.device if generator is not None else device
        u = torch.rand(rays, n - 1, generator=generator, device=where, dtype=dtype).to(device)
    else:
        u = torch.full((rays, n - 1), 0.5, device=device, dtype=dtype)
    inner = (i - 0.5 + u) / n
    zero = torch.zeros(rays, 1, device=device, dtype=dtype)
    return torch.cat([zero, inner, zero + 1], 1)


def stratified_intervals(
    t_near: Tensor,
    t_far: Tensor,
    n: int,
    jitter: bool = True,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """``n`` stratified intervals per ray tiling ``[t_near, t_far]``.

    Args:
        t_near, t_far: ``(R,)`` segment of each ray, world units.
        n: samples per ray.
        jitter: random interior edges (training) or ``n`` equal intervals (evaluation).
        generator: seeds the jitter.

    Returns:
        t_starts, t_ends: ``(R, n)``.

    Example:
        >>> s, e = stratified_intervals(torch.zeros(2), torch.ones(2), 4, jitter=False)
        >>> e[0].tolist()
        [0.25, 0.5, 0.75, 1.0]
    """
    edges = unit_edges(len(t_near), n, jitter, generator, t_near.device, t_near.dtype)
    t = t_near[:, None] + (t_far - t_near)[:, None] * edges
    return t[:, :-1], t[:, 1:]


def importance_intervals(
    t_starts: Tensor,
    t_ends: Tensor,
    weights: Tensor,
    n: int,
    jitter: bool = True,
    generator: torch.Generator | None = None,
    eps: float = 1e-3,
) -> tuple[Tensor, Tensor]:
    """``n`` intervals per ray whose edges are inverse-CDF samples of the coarse weights.

    The density along a ray is piecewise constant: interval ``k`` of ``[t_starts, t_ends]`` gets
    mass ``w_k + eps * len_k / sum(len)`` (the ``eps`` part is uniform along the segment, so no
    part of it has zero probability). Edges are the inverse CDF at :func:`unit_edges`, linear
    within an interval, so the new intervals tile the same segment and are short where the
    weights are large.

    Args:
        t_starts, t_ends: ``(R, S)`` coarse intervals tiling each ray's segment.
        weights: ``(R, S)`` non-negative coarse weights (not differentiated: detached here).
        n: new intervals per ray.
        eps: share of uniform mass added (relative to the total weight, at least 1e-12).

    Returns:
        t_starts, t_ends: ``(R, n)``.
    """
    w = weights.detach().clamp_min(0)
    length = (t_ends - t_starts).detach()
    total = length.sum(1, keepdim=True).clamp_min(torch.finfo(length.dtype).tiny)
    scale = w.sum(1, keepdim=True).clamp_min(1e-12)
    mass = w + eps * scale * length / total
    cdf = torch.cumsum(mass, 1)
    # A ray that misses the box has no mass at all; its edges then all collapse onto t_near.
    cdf = cdf / cdf[:, -1:].clamp_min(torch.finfo(cdf.dtype).tiny)
    cdf = torch.cat([torch.zeros_like(cdf[:, :1]), cdf], 1)
    u = unit_edges(len(w), n, jitter, generator, w.device, w.dtype)
    k = torch.searchsorted(cdf.contiguous(), u.contiguous(), right=True).clamp(1, w.shape[1]) - 1
    c0, c1 = cdf.gather(1, k), cdf.gather(1, k + 1)
    frac = ((u - c0) / (c1 - c0).clamp_min(torch.finfo(w.dtype).tiny)).clamp(0, 1)
    s0, e0 = t_starts.detach().gather(1, k), t_ends.detach().gather(1, k)
    t = s0 + frac * (e0 - s0)
    t = torch.cummax(t, 1).values
    t = torch.cat([t_starts.detach()[:, :1], t[:, 1:-1], t_ends.detach()[:, -1:]], 1)
    return t[:, :-1], t[:, 1:]


def merge_intervals(
    t_starts: Tensor, t_ends: Tensor, other_starts: Tensor, other_ends: Tensor
) -> tuple[Tensor, Tensor]:
    """The common refinement of two tilings of the same segments: ``(R, S)`` and ``(R, n)``
    intervals -> ``(R, S + n - 1)`` intervals whose edges are both sets of edges, sorted (the
    shared end points once; an interior edge in both gives a zero-length interval).

    NeRF's hierarchical sampling renders the union of its coarse and importance samples: every
    coarse interval stays resolved, so a region the coarse weights missed (a tail of the density
    beyond the bins that caught it) is never covered by one long importance interval.
    """
    edges = torch.cat([t_starts, t_ends[:, -1:], other_starts[:, 1:]], 1)
    edges = torch.sort(edges, 1).values
    return edges[:, :-1], edges[:, 1:]


def midpoints(t_starts: Tensor, t_ends: Tensor) -> Tensor:
    """Interval midpoints, same shape as the inputs."""
    return 0.5 * (t_starts + t_ends)


def pack(mask: Tensor) -> tuple[Tensor, Tensor]:
    """nerfacc's packed layout of the kept samples of an ``(R, S)`` mask.

    Returns ``ray_indices: (K,)`` and ``sample_indices: (K,)`` (long) of the ``K`` true entries,
    row-major, so ``x[mask]`` and ``x[ray_indices, sample_indices]`` are the same ``(K, ...)``.
    """
    ray, sample = torch.nonzero(mask, as_tuple=True)
    return ray, sample
