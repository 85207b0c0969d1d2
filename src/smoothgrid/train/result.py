"""What a solve returns, and the error it raises when training diverges."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import nn

__all__ = ["Result", "DivergedError"]


class DivergedError(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint (if any) is kept on disk.

    Attributes:
        step: the (0-based) step whose loss was not finite.
        checkpoint: path of the last good checkpoint, or ``None`` when none was written.
    """

    def __init__(self, message: str, step: int, checkpoint: str | None = None) -> None:
        super().__init__(message)
        self.step = step
        self.checkpoint = checkpoint


@dataclass
class Result:
    """The outcome of :func:`~smoothgrid.train.solve`.

    Attributes:
        metrics: ``rel_l2`` (at the end), ``best_rel_l2`` (the best seen at any evaluation),
            ``max_abs_error`` (at the end), ``residual`` (the mean square PDE residual of the
            last batch, summed over residual terms, without the terms' ``weights``; with
            ``causal`` or ``time_weight`` it is their weighted mean over time; an energy
            problem has ``energy`` instead: its Monte Carlo integral on the last batch),
            ``loss`` (the last weighted loss), ``wall_time`` (training seconds, evaluation and
            file output excluded), ``steps`` (steps done) and ``ms_per_step``. The error entries are
            ``None`` for a problem without a reference solution.
        history: one row per evaluation: ``step``, ``time`` (training seconds), ``loss``,
            ``loss_<term>`` (the unweighted mean square of each residual/condition term; an
            energy problem's ``loss_energy`` and boundary energies are integrals),
            ``lr``, ``levels`` (active levels), ``rel_l2``, ``max_abs_error``.
        field: the trained field (the same object that was passed in).
        out: the run directory, or ``None``.
    """

    metrics: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    field: nn.Module | None = None
    out: str | None = None
