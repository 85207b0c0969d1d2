"""Render a density / colour field along rays: box clipping, samples, empty-space skipping,
optional importance resampling and compositing, in chunks of rays.

The field is any callable ``field_fn(x, d, t) -> (sigma, rgb)`` with ``x: (K, 3)`` world points,
``d: (K, 3)`` unit ray directions, ``t: (K,)`` times (``None`` for a static scene), returning
``sigma: (K,)`` densities (>= 0, per world unit) and ``rgb: (K, C)`` colours. It is called only
on the kept samples (packed), so skipped samples cost nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from .cameras import Cameras
from .compositing import composite
from .occupancy import OccupancyGrid
from .rays import as_bounds, image_rays, ray_box
from .samplers import importance_intervals, merge_intervals, midpoints, stratified_intervals

__all__ = ["FieldFn", "RenderOutput", "render_rays", "render_views"]

FieldFn = Callable[[Tensor, Tensor, "Tensor | None"], "tuple[Tensor, Tensor]"]


@dataclass
class RenderOutput:
    """Rendered rays.

    Attributes:
        rgb: ``(R, C)`` colour including the background.
        opacity: ``(R,)`` accumulated opacity.
        depth: ``(R,)`` expected depth ``sum_i w_i t_i`` in world units (not normalised).
        samples: number of field evaluations (kept samples, all passes).
    """

    rgb: Tensor
    opacity: Tensor
    depth: Tensor
    samples: int


def _evaluate(
    field_fn: FieldFn,
    origins: Tensor,
    directions: Tensor,
    times: Tensor | None,
    t_starts: Tensor,
    t_ends: Tensor,
    bounds: tuple[Tensor, Tensor],
    occupancy: OccupancyGrid | None,
) -> tuple[Tensor, Tensor, int]:
    """``(R, S)`` densities and ``(R, S, C)`` colours, zero on skipped samples."""
    lo, hi = bounds
    x = origins[:, None] + directions[:, None] * midpoints(t_starts, t_ends)[..., None]
    x = torch.maximum(torch.minimum(x, hi), lo)  # rounding can step just outside the box
    keep = t_ends > t_starts
    if occupancy is not None:
        keep = keep & occupancy.occupied_at(x.reshape(-1, 3)).view(keep.shape)
    d = directions[:, None].expand_as(x)[keep]
    t = None if times is None else times[:, None].expand(keep.shape)[keep]
    xk = x[keep]
    if len(xk) == 0:
        # Nothing kept: still ask for one point (then dropped) to learn the colour channels,
        # and so that the field never sees an empty batch.
        xk, d = 0.5 * (lo + hi)[None], directions[:1]
        t = None if times is None else times[:1]
    sigma_k, rgb_k = field_fn(xk, d, t)
    if sigma_k.shape != (len(xk),) or rgb_k.ndim != 2 or len(rgb_k) != len(xk):
        raise ValueError(
            f"field_fn must return sigma ({len(xk)},) and rgb ({len(xk)}, C), got "
            f"{tuple(sigma_k.shape)} and {tuple(rgb_k.shape)}"
        )
    if not keep.any():
        sigma_k, rgb_k = sigma_k[:0], rgb_k[:0]
    sigma = sigma_k.new_zeros(keep.shape)
    rgb = rgb_k.new_zeros(*keep.shape, rgb_k.shape[1])
    sigma[keep] = sigma_k
    rgb[keep] = rgb_k
    return sigma, rgb, len(sigma_k)


def _render_chunk(
    field_fn: FieldFn,
    origins: Tensor,
    directions: Tensor,
    times: Tensor | None,
    bounds: tuple[Tensor, Tensor],
    opts: dict,
) -> RenderOutput:
    t_near, t_far, _ = ray_box(origins, directions, bounds, opts["near"], opts["far"])
    starts, ends = stratified_intervals(
        t_near, t_far, opts["n_samples"], opts["jitter"], opts["generator"]
    )
    args = (field_fn, origins, directions, times)
    count = 0
    if opts["n_importance"]:
        with torch.no_grad():
            sigma, _, n = _evaluate(*args, starts, ends, bounds, opts["occupancy"])
            count += n
            ones = sigma.new_ones(*sigma.shape, 1)
            coarse = composite(sigma, ones, starts, ends).weights
        fine = importance_intervals(
            starts, ends, coarse, opts["n_importance"], opts["jitter"], opts["generator"]
        )
        starts, ends = merge_intervals(starts, ends, *fine)
    sigma, rgb, n = _evaluate(*args, starts, ends, bounds, opts["occupancy"])
    out = composite(sigma, rgb, starts, ends, opts["background"])
    return RenderOutput(out.rgb, out.opacity, out.depth, count + n)


def render_rays(
    field_fn: FieldFn,
    origins: Tensor,
    directions: Tensor,
    box,
    n_samples: int = 64,
    *,
    times: Tensor | None = None,
    near: float = 0.0,
    far: float = float("inf"),
    background: Tensor | float | None = None,
    occupancy: OccupancyGrid | None = None,
    n_importance: int = 0,
    jitter: bool = False,
    generator: torch.Generator | None = None,
    chunk: int = 8192,
) -> RenderOutput:
    """Render ``R`` rays through the field inside ``box``.

    Args:
        field_fn: ``(x, d, t) -> (sigma, rgb)`` (see the module docstring).
        origins: ``(R, 3)`` world units; directions: ``(R, 3)`` unit vectors.
        box: ``(lo, hi)`` or a ``geometry.Box``: the field's support; rays are clipped to it.
        n_samples: stratified intervals per ray over the clipped segment.
        times: ``(R,)`` time of each ray, passed to ``field_fn`` per sample.
        near, far: the part of each ray considered (world units from its origin).
        background: ``(C,)`` or a number (``None``: black).
        occupancy: skip samples in cells it marks empty.
        n_importance: if > 0, a first pass (no gradient) over the ``n_samples`` intervals gives
            weights, ``n_importance`` intervals are drawn from them
            (:func:`importance_intervals`), and the union of both sets of edges
            (:func:`merge_intervals`, ``n_samples + n_importance - 1`` intervals) is rendered, as in
            NeRF's hierarchical sampling.
        jitter: random stratification (training); ``False`` gives equal intervals.
        generator: seeds the jitter.
        chunk: rays per pass; outputs are concatenated, so memory stays bounded by the chunk
            (without gradient; with gradient the graph of every chunk is kept).

    Returns:
        :class:`RenderOutput`.

    Example:
        >>> def fog(x, d, t):
        ...     return torch.ones(len(x)), torch.ones(len(x), 3)
        >>> o, d = torch.tensor([[-2.0, 0, 0]]), torch.tensor([[1.0, 0, 0]])
        >>> out = render_rays(fog, o, d, ((-1, -1, -1), (1, 1, 1)), 8)
        >>> abs(out.opacity.item() - (1 - torch.exp(torch.tensor(-2.0)).item())) < 1e-6
        True
    """
    if origins.shape != directions.shape or origins.ndim != 2 or origins.shape[1] != 3:
        raise ValueError(
            f"origins and directions must both be (R, 3), got {tuple(origins.shape)} and "
            f"{tuple(directions.shape)}"
        )
    if times is not None and times.shape != origins.shape[:1]:
        raise ValueError(f"times must be ({len(origins)},), got {tuple(times.shape)}")
    bounds = as_bounds(box, origins)
    opts = dict(
        near=near, far=far, n_samples=n_samples, n_importance=n_importance, jitter=jitter,
        generator=generator, occupancy=occupancy, background=background,
    )  # fmt: skip
    parts = []
    for i in range(0, len(origins), chunk):
        sl = slice(i, i + chunk)
        t = None if times is None else times[sl]
        parts.append(_render_chunk(field_fn, origins[sl], directions[sl], t, bounds, opts))
    if not parts:
        empty = origins.new_zeros(0)
        return RenderOutput(origins.new_zeros(0, 3), empty, empty, 0)
    return RenderOutput(
        torch.cat([p.rgb for p in parts]),
        torch.cat([p.opacity for p in parts]),
        torch.cat([p.depth for p in parts]),
        sum(p.samples for p in parts),
    )


def render_views(
    field_fn: FieldFn, cameras: Cameras, box, n_samples: int = 64, **options
) -> RenderOutput:
    """Render every pixel of every camera: ``rgb: (N, H, W, C)``, ``opacity`` and ``depth``
    ``(N, H, W)``. ``options`` are those of :func:`render_rays`; each frame passes its time."""
    rgb, opacity, depth, count = [], [], [], 0
    shape = (cameras.height, cameras.width)
    for i in range(len(cameras)):
        o, d = image_rays(cameras, i)
        t = None if cameras.times is None else cameras.times[i].expand(len(o))
        out = render_rays(field_fn, o, d, box, n_samples, times=t, **options)
        rgb.append(out.rgb.view(*shape, -1))
        opacity.append(out.opacity.view(shape))
        depth.append(out.depth.view(shape))
        count += out.samples
    return RenderOutput(torch.stack(rgb), torch.stack(opacity), torch.stack(depth), count)
