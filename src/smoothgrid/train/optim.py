"""The optimisers of the training loops: Adam with grid and decoder rates (every loop), least
squares by conjugate gradients on the grid tables (``solver="cgls"`` of ``sg.solve``) and
conjugate gradients on a quadratic energy (``solver="cg"``)."""

from __future__ import annotations

import torch

from ..field import Field
from .energy_cg import EnergyCG
from .lstsq import LeastSquaresCG
from .settings import Schedule

__all__ = ["grid_decoder_adam", "make_optimizer", "set_rates"]


def grid_decoder_adam(
    field: Field, lr: float, decoder_lr: float, capturable: bool = False
) -> torch.optim.Adam:
    """Adam with the encoding's parameters (the grid tables, at ``lr``) and everything else (at
    ``decoder_lr``); a group without parameters is left out. Each group keeps its starting rate
    as ``base_lr`` for the schedules (:func:`set_rates`). On CUDA parameters Adam runs fused (one
    kernel for all parameters). ``capturable``: Adam's state stays on the device and each rate
    is a 0-d tensor on the parameters' device, so a whole step (rate changes included) can be
    replayed from a CUDA graph."""
    grid = list(field.encoding.parameters())
    ids = {id(p) for p in grid}
    rest = [p for p in field.parameters() if id(p) not in ids]
    groups = []
    for params, rate in ((grid, lr), (rest, decoder_lr)):
        if params:
            current = torch.tensor(float(rate), device=params[0].device) if capturable else rate
            groups.append({"params": params, "lr": current, "base_lr": rate})
    fused = all(p.is_cuda and p.is_floating_point() for p in field.parameters())
    return torch.optim.Adam(groups, capturable=capturable, fused=fused or None)


def make_optimizer(
    field: Field, schedule: Schedule, capturable: bool = False, seed: int = 0
) -> torch.optim.Optimizer:
    """The optimiser of ``schedule.solver``: :func:`grid_decoder_adam` at ``schedule.rates``, or
    :class:`~smoothgrid.train.lstsq.LeastSquaresCG` (``cgls``) or
    :class:`~smoothgrid.train.energy_cg.EnergyCG` (``cg``) on the encoding's parameters (the
    decoder stays as initialised; ``seed`` seeds their random probes)."""
    if schedule.solver == "cgls":
        return LeastSquaresCG(field.encoding.parameters(), seed=seed)
    if schedule.solver == "cg":
        return EnergyCG(field.encoding.parameters(), seed=seed)
    return grid_decoder_adam(field, *schedule.rates, capturable=capturable)


def set_rates(optimizer: torch.optim.Optimizer, factor: float) -> None:
    """Set every group's rate to ``base_lr * factor`` (in place where the rate is a tensor)."""
    for group in optimizer.param_groups:
        rate = group["base_lr"] * factor
        if isinstance(group["lr"], torch.Tensor):
            group["lr"].fill_(rate)
        else:
            group["lr"] = rate
