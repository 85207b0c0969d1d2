"""Emission-absorption compositing of samples along rays (padded ``(R, S)`` layout).

For interval ``i`` of a ray with density ``sigma_i`` (per world unit) and length ``ds_i``:

* optical depth ``tau_i = sigma_i ds_i``, opacity ``alpha_i = 1 - exp(-tau_i)``;
* transmittance ``T_i = prod_{j<i} (1 - alpha_j) = exp(-sum_{j<i} tau_j)``, computed as the exp
  of an exclusive cumulative sum (no product of many factors, no division);
* weight ``w_i = T_i alpha_i``; accumulated opacity ``A = sum_i w_i = 1 - T_{S}``;
* colour ``C = sum_i w_i c_i + (1 - A) c_bg``; expected depth ``D = sum_i w_i t_i`` with ``t_i``
  the interval midpoint (not divided by ``A``: a ray that sees nothing has depth 0; divide by the
  opacity for the depth given that the ray stopped).

This is exact when the density and colour are constant on each interval. The backward pass is
PyTorch autograd through ``cumsum`` and ``exp``: it stores a few ``(R, S)`` tensors, the same
order of memory a hand-written backward would need, so a custom ``autograd.Function`` would not
pay on the CPU; only a fused kernel (one pass per ray, as nerfacc's CUDA scan) would.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["Composite", "optical_depth", "transmittance", "render_weights", "composite"]


def optical_depth(sigmas: Tensor, t_starts: Tensor, t_ends: Tensor) -> Tensor:
    """``(R, S)`` ``tau = sigma * (t_end - t_start)``; ``sigmas`` must be non-negative."""
    return sigmas * (t_ends - t_starts)


def transmittance(tau: Tensor) -> Tensor:
    """``(R, S)`` light reaching the start of each interval: ``exp(-sum_{j<i} tau_j)``."""
    excl = torch.cumsum(tau[..., :-1], -1)
    return torch.exp(-torch.cat([torch.zeros_like(tau[..., :1]), excl], -1))


def render_weights(
    sigmas: Tensor, t_starts: Tensor, t_ends: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """Weights of the samples of each ray.

    Args:
        sigmas: ``(R, S)`` densities (>= 0) per world unit.
        t_starts, t_ends: ``(R, S)`` sample intervals along each ray, world units.

    Returns:
        weights: ``(R, S)`` ``T_i alpha_i``.
        trans: ``(R, S)`` transmittance ``T_i`` at the start of each interval.
        alphas: ``(R, S)`` ``1 - exp(-sigma_i ds_i)``.
    """
    tau = optical_depth(sigmas, t_starts, t_ends)
    alphas = -torch.expm1(-tau)
    trans = transmittance(tau)
    return trans * alphas, trans, alphas


@dataclass
class Composite:
    """Composited rays.

    Attributes:
        rgb: ``(R, C)`` colour including the background.
        opacity: ``(R,)`` accumulated opacity ``sum_i w_i`` in ``[0, 1]``.
        depth: ``(R,)`` expected depth ``sum_i w_i t_i`` (world units, not normalised).
        weights: ``(R, S)`` per-sample weights.
    """

    rgb: Tensor
    opacity: Tensor
    depth: Tensor
    weights: Tensor


def composite(
    sigmas: Tensor,
    colors: Tensor,
    t_starts: Tensor,
    t_ends: Tensor,
    background: Tensor | float | None = None,
) -> Composite:
    """Emission-absorption compositing of ``(R, S)`` samples.

    Args:
        sigmas: ``(R, S)`` densities (>= 0) per world unit.
        colors: ``(R, S, C)`` emitted colour of each sample (any ``C``: 3 for RGB, 1 for grey).
        t_starts, t_ends: ``(R, S)`` intervals along each ray, world units.
        background: ``(C,)``, ``(R, C)`` or a number: colour seen through the volume
            (``None``: black).

    Returns:
        :class:`Composite`, differentiable with respect to ``sigmas``, ``colors`` and the
        intervals.

    Example:
        >>> s, e = torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0, 2.0]])
        >>> out = composite(torch.ones(1, 2), torch.ones(1, 2, 3), s, e)
        >>> round(out.opacity.item(), 6) == round(1 - torch.exp(torch.tensor(-2.0)).item(), 6)
        True
    """
    if sigmas.ndim != 2 or colors.shape[:2] != sigmas.shape or colors.ndim != 3:
        raise ValueError(
            "composite needs sigmas (R, S) and colors (R, S, C), got "
            f"{tuple(sigmas.shape)} and {tuple(colors.shape)}"
        )
    weights, _, _ = render_weights(sigmas, t_starts, t_ends)
    opacity = weights.sum(-1)
    rgb = (weights[..., None] * colors).sum(-2)
    if background is not None:
        bg = torch.as_tensor(background, dtype=rgb.dtype, device=rgb.device)
        rgb = rgb + (1 - opacity)[:, None] * bg
    depth = (weights * 0.5 * (t_starts + t_ends)).sum(-1)
    return Composite(rgb, opacity, depth, weights)
