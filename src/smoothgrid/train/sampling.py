"""Residual-adaptive collocation (RAD) and causal weights of time-dependent residuals.

* **RAD** (residual-based adaptive distribution, Wu et al. 2023, "A comprehensive study of
  non-adaptive and residual-based adaptive sampling for PINNs"): draw a candidate pool of uniform
  (or stratified) points, score each by its residual ``|r|``, and draw the batch from the pool
  with probability ``p(x) ∝ |r(x)|^k / mean(|r|^k) + c``. ``c`` keeps a uniform share
  (``c -> inf`` is uniform sampling); ``k`` sharpens the focus on the largest residuals.
* **Causal weights** (Wang, Sankaran & Perdikaris 2022, "Respecting causality is all you need
  for training physics-informed neural networks"): split the time interval into ``M`` chunks of
  mean square residual ``L_i``; chunk ``i`` is weighted by ``w_i = exp(-eps sum_{j<i} L_j)``
  (no gradient through ``w``), so later times count only once earlier ones are fitted.
* **Remaining-time weights** (``time_weight=p``): a residual at time ``t`` is weighted by
  ``w(t) = (p + 1) ((t1 - t) / (t1 - t0))^p`` (mean 1 over the interval). An error made at
  time ``t`` is carried to every later time (for transport, ``e(t) = -int_0^t r ds`` along the
  characteristics), so an early residual costs more final error than a late one: with ``p = 1``
  the weighted loss is the L2 error of white residuals. Unlike the causal weights these are fixed
  for the whole run; the two combine.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = [
    "ADAPTIVE",
    "rad_probabilities",
    "time_chunk_losses",
    "causal_weights",
    "remaining_time_weights",
]

ADAPTIVE = ("rad",)
"""Adaptive samplers accepted by :func:`~smoothgrid.train.solve` (besides ``None``)."""


def rad_probabilities(score: Tensor, k: float = 1.0, c: float = 1.0) -> Tensor:
    """RAD's draw probabilities of candidate points.

    Args:
        score: ``(P,)`` residual magnitudes ``|r| >= 0`` at the candidates.
        k: exponent, ``> 0``.
        c: uniform share, ``>= 0``.

    Returns:
        ``(P,)`` probabilities (summing to 1) ``∝ score^k / mean(score^k) + c``; uniform when
        every score is 0 (or not finite).

    Example:
        >>> rad_probabilities(torch.tensor([0.0, 1.0, 3.0]), k=1.0, c=0.0)
        tensor([0.0000, 0.2500, 0.7500])
    """
    w = score.clamp(min=0.0).pow(k)
    mean = w.mean()
    if not bool(torch.isfinite(mean)) or float(mean) <= 0.0:
        return torch.full_like(score, 1.0 / score.numel())
    w = w / mean + c
    return w / w.sum()


def time_chunk_losses(sq: Tensor, t: Tensor, t0: float, t1: float, chunks: int) -> Tensor:
    """Mean of ``sq`` over each of ``chunks`` equal time slices of ``[t0, t1]``.

    Args:
        sq: ``(n,)`` squared residuals.
        t: ``(n,)`` times of the points, in ``[t0, t1]``.
        t0, t1: the time interval.
        chunks: ``M >= 1``.

    Returns:
        ``(M,)`` chunk means (0 for a chunk without points), differentiable in ``sq``.
    """
    idx = ((t - t0) / (t1 - t0) * chunks).long().clamp(0, chunks - 1)
    total = sq.new_zeros(chunks).index_add(0, idx, sq)
    count = sq.new_zeros(chunks).index_add(0, idx, torch.ones_like(sq))
    return total / count.clamp(min=1.0)


def causal_weights(chunk_losses: Tensor, eps: float) -> Tensor:
    """``(M,)`` weights ``w_i = exp(-eps sum_{j<i} L_j)`` of ``(M,)`` chunk losses, detached.

    ``w_0 = 1``, the weights never increase with ``i``, and ``eps = 0`` gives all ones.

    Example:
        >>> causal_weights(torch.tensor([1.0, 1.0, 2.0]), eps=1.0)
        tensor([1.0000, 0.3679, 0.1353])
    """
    losses = chunk_losses.detach()
    before = torch.cumsum(losses, 0) - losses
    return torch.exp(-eps * before)


def remaining_time_weights(t: Tensor, t0: float, t1: float, power: float) -> Tensor:
    """``(n,)`` weights ``(p + 1) ((t1 - t) / (t1 - t0))^p`` of points at times ``t (n,)``.

    Their mean over uniform times in ``[t0, t1]`` is 1; ``power = 0`` gives all ones.

    Example:
        >>> remaining_time_weights(torch.tensor([0.0, 1.0, 2.0]), 0.0, 2.0, power=2.0)
        tensor([3.0000, 0.7500, 0.0000])
    """
    remaining = ((t1 - t) / (t1 - t0)).clamp(0.0, 1.0)
    return (power + 1.0) * remaining.pow(power)
