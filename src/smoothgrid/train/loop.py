"""The plain budgeted training loop of the apps (images, SDFs): schedule, step, guard, timing."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch
from torch import Tensor
from tqdm.auto import tqdm

from .optim import set_rates
from .result import DivergedError
from .schedule import lr_factor

__all__ = ["budgeted_loop"]


def budgeted_loop(
    optimizer: torch.optim.Optimizer,
    loss_of_step: Callable[[], Tensor],
    steps: int | None,
    time_budget: float | None,
    final_lr_factor: float,
    device: torch.device,
    progress: bool,
    what: str,
    desc: str,
    postfix_every: int = 50,
) -> tuple[int, float, float]:
    """Adam steps on ``loss_of_step()`` for ``steps`` steps or ``time_budget`` seconds.

    Each step sets every group's rate to ``base_lr`` times the exponential decay to
    ``final_lr_factor`` over the budget, evaluates the loss, raises
    :class:`~smoothgrid.train.DivergedError` if it is not finite, and steps the optimiser.

    Args:
        optimizer: with ``base_lr`` in each group (see ``grid_decoder_adam``).
        loss_of_step: draws a batch and returns the scalar loss.
        steps, time_budget: exactly one is given.
        final_lr_factor: the rate's factor at the end of the budget.
        device: timings wait for it on CUDA.
        progress: show a progress bar.
        what: names the loss in the divergence message.
        desc: the progress bar's label.
        postfix_every: steps between loss updates of the bar.

    Returns:
        ``(steps done, training seconds, last loss)``.
    """
    step, train_time, loss_value = 0, 0.0, math.nan
    bar = tqdm(total=steps, disable=not progress, desc=desc, unit="step")
    while (step < steps) if steps is not None else (train_time < time_budget):
        start = time.perf_counter()
        fraction = step / steps if steps is not None else train_time / time_budget
        set_rates(optimizer, lr_factor("exp", fraction, final_lr_factor))
        loss = loss_of_step()
        loss_value = float(loss.detach())
        if not math.isfinite(loss_value):
            raise DivergedError(f"the {what} loss became {loss_value} at step {step}", step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        train_time += time.perf_counter() - start
        step += 1
        bar.update(1)
        if step % postfix_every == 0:
            bar.set_postfix(loss=f"{loss_value:.3g}")
    bar.close()
    return step, train_time, loss_value
