"""The optimiser shared by every training loop: Adam with grid and decoder rates."""

from __future__ import annotations

import torch

from ..field import Field

__all__ = ["grid_decoder_adam", "set_rates"]


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


def set_rates(optimizer: torch.optim.Optimizer, factor: float) -> None:
    """Set every group's rate to ``base_lr * factor`` (in place where the rate is a tensor)."""
    for group in optimizer.param_groups:
        rate = group["base_lr"] * factor
        if isinstance(group["lr"], torch.Tensor):
            group["lr"].fill_(rate)
        else:
            group["lr"] = rate
