"""The optimiser shared by every training loop: Adam with grid and decoder rates."""

from __future__ import annotations

import torch

from ..field import Field

__all__ = ["grid_decoder_adam"]


def grid_decoder_adam(
    field: Field, lr: float, decoder_lr: float, capturable: bool = False
) -> torch.optim.Adam:
    """Adam with the encoding's parameters (the grid tables, at ``lr``) and everything else (at
    ``decoder_lr``); a group without parameters is left out. Each group keeps its starting rate
    as ``base_lr`` for the schedules. On CUDA parameters Adam runs fused (one kernel for all
    parameters). ``capturable``: Adam's state stays on the device so a whole step can be
    captured in a CUDA graph."""
    grid = list(field.encoding.parameters())
    ids = {id(p) for p in grid}
    rest = [p for p in field.parameters() if id(p) not in ids]
    groups = [
        {"params": params, "lr": rate, "base_lr": rate}
        for params, rate in ((grid, lr), (rest, decoder_lr))
        if params
    ]
    fused = all(p.is_cuda and p.is_floating_point() for p in field.parameters())
    return torch.optim.Adam(groups, capturable=capturable, fused=fused or None)
