"""Errors of a field against a problem's reference solution on its test grid."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["Evaluator", "has_reference", "predict"]


def has_reference(problem) -> bool:
    """Whether ``problem.reference`` can give errors (an exact solution or a computed one)."""
    exact = getattr(problem, "exact", None)
    return exact is not None or getattr(problem, "solution", None) is not None


@torch.no_grad()
def predict(field: nn.Module, x: Tensor, chunk: int = 65536) -> Tensor:
    """Values of ``field`` at ``x`` in chunks, without a graph.

    Args:
        field: maps ``(B, d) -> (B, C)``.
        x: ``(N, d)`` points, converted to the field's dtype and device.
        chunk: points per forward pass.

    Returns:
        ``(N, C)`` in the field's dtype, on the field's device.
    """
    p = next(field.parameters())
    x = x.to(dtype=p.dtype, device=p.device)
    return torch.cat([field(x[i : i + chunk]) for i in range(0, x.shape[0], chunk)])


class Evaluator:
    """Relative L2 and max error of a field on ``problem.test_points()``.

    The points and the reference ``problem.reference(x)`` (float64) are computed once.

    Args:
        problem: a :class:`~smoothgrid.problems.base.Problem` with a reference solution.
        chunk: points per forward pass.

    Example:
        >>> errors = Evaluator(problem)(field)      # {"rel_l2": ..., "max_abs_error": ...}
    """

    def __init__(self, problem, chunk: int = 65536) -> None:
        self.points = problem.test_points().to(torch.float64)
        channels = problem.error_outputs
        reference = problem.reference(self.points).to(torch.float64)
        if reference.dim() == 1:
            reference = reference[:, None]
        self.channels = list(range(reference.shape[1])) if channels is None else list(channels)
        self.reference = reference[:, self.channels]
        self.norm = float(self.reference.norm())
        self.chunk = chunk

    def __call__(self, field: nn.Module) -> dict[str, float]:
        """``{"rel_l2": ||u - u*|| / ||u*||, "max_abs_error": max |u - u*|}`` over the channels."""
        u = predict(field, self.points, self.chunk).to("cpu", torch.float64)[:, self.channels]
        diff = u - self.reference
        rel = float(diff.norm()) / self.norm if self.norm > 0 else float(diff.norm())
        err = float(diff.abs().max())
        if not math.isfinite(rel):
            rel = err = math.inf
        return {"rel_l2": rel, "max_abs_error": err}
