"""Data-parallel training on ``torch.distributed`` (``torchrun``), and its one-process twin.

A run started by ``torchrun --nproc-per-node N -m smoothgrid solve ...`` (or ``sg.solve`` inside
an initialised process group) trains one copy of the field per process. Each step every process
draws its own share of the collocation points from its own seeded stream (or takes its block of
a fixed quadrature rule, :func:`~smoothgrid.train.losses.quadrature_share`) and computes its loss
and gradient; one all-reduce averages the gradients (flattened into one buffer, as
``DistributedDataParallel`` buckets them) and the loss, so every process takes the same Adam
step and sees the same (possibly non-finite) loss; a second, tiny all-reduce after the step
averages the step's duration and spreads an interrupt, so every process follows the same time
schedule and stops at the same step. Process 0 evaluates, writes files and checkpoints; a
checkpoint holds every process's sampling state, so a resumed run with the same number of
processes continues exactly.

Without a process group :data:`SINGLE` does nothing: a one-process run is unchanged bit for bit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

__all__ = ["World", "SINGLE", "current_world", "init_from_env", "leave", "stream_seed"]


def stream_seed(seed: int, rank: int) -> int:
    """The sampling seed of process ``rank``: ``seed`` itself for rank 0 (so a one-process run
    draws what it always drew), a distinct deterministic stream for the others."""
    return int(seed) + 1_000_003 * int(rank)


@dataclass(frozen=True)
class World:
    """The processes of a run: ``size`` of them, this one is ``rank``."""

    rank: int = 0
    size: int = 1

    @property
    def leader(self) -> bool:
        """Whether this process evaluates, writes and checkpoints (rank 0)."""
        return self.rank == 0

    @property
    def parallel(self) -> bool:
        """Whether there is more than one process."""
        return self.size > 1

    def broadcast_module(self, module: nn.Module) -> None:
        """Copy process 0's parameters and buffers into every process (a common start)."""
        if self.parallel:
            for tensor in [*module.parameters(), *module.buffers()]:
                dist.broadcast(tensor.data, src=0)

    def average_gradients(self, params: list[nn.Parameter], loss: float) -> float:
        """Average the gradients of ``params`` over the processes, in place, and the loss.

        One all-reduce of every gradient, flattened into one buffer with the loss appended (as
        ``DistributedDataParallel`` buckets them). Only parameters with a gradient take part,
        the same ones on every process (the same model and code path). Returns the mean loss:
        not finite on every process when it is not finite on one.
        """
        if not self.parallel:
            return loss
        grads = [p.grad for p in params if p.grad is not None]
        scalar = torch.tensor([loss], dtype=grads[0].dtype, device=grads[0].device)
        flat = torch.cat([g.reshape(-1) for g in grads] + [scalar])
        dist.all_reduce(flat)
        flat /= self.size
        offset = 0
        for g in grads:
            g.copy_(flat[offset : offset + g.numel()].view_as(g))
            offset += g.numel()
        return float(flat[offset])

    def agree_clock(self, seconds: float, interrupted: bool) -> tuple[float, bool]:
        """The mean of every process's step duration, and whether any was interrupted (so
        every process follows the same time schedule and stops at the same step)."""
        if not self.parallel:
            return seconds, interrupted
        both = torch.tensor([seconds, float(interrupted)], dtype=torch.float64)
        if dist.get_backend() == "nccl":
            both = both.cuda()
        dist.all_reduce(both)
        return float(both[0]) / self.size, float(both[1]) > 0.0

    def agree(self, flag: bool) -> bool:
        """Process 0's ``flag`` on every process (e.g. "the target error is reached")."""
        if not self.parallel:
            return flag
        value = [flag]
        dist.broadcast_object_list(value, src=0)
        return bool(value[0])

    def gather(self, obj: Any) -> list[Any]:
        """Every process's ``obj`` (picklable), in rank order, on every process."""
        if not self.parallel:
            return [obj]
        out: list[Any] = [None] * self.size
        dist.all_gather_object(out, obj)
        return out

    def from_leader(self, obj: Any) -> Any:
        """Process 0's ``obj`` on every process."""
        if not self.parallel:
            return obj
        value = [obj]
        dist.broadcast_object_list(value, src=0)
        return value[0]

    def barrier(self) -> None:
        """Wait until every process gets here (e.g. until process 0 has written the run's
        files, so that no process leaves, and tears its connections down, before then)."""
        if self.parallel:
            dist.barrier()


SINGLE = World()
"""A run of one process."""


def current_world() -> World:
    """The initialised default process group as a :class:`World` (:data:`SINGLE` if none)."""
    if dist.is_available() and dist.is_initialized():
        return World(dist.get_rank(), dist.get_world_size())
    return SINGLE


def init_from_env(device: str) -> tuple[World, str]:
    """Join the process group that ``torchrun`` describes in the environment, if any.

    With ``WORLD_SIZE > 1`` this initialises the default group (NCCL for CUDA devices, gloo
    otherwise) and, on CUDA, gives each process the GPU of its ``LOCAL_RANK``.

    Args:
        device: the run's device setting (``"cpu"``, ``"cuda"``, ...).

    Returns:
        ``(world, device)``: the device this process trains on.
    """
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return SINGLE, device
    cuda = device.startswith("cuda")
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    if cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        device = f"cuda:{local}"
    return current_world(), device


def leave(world: World) -> None:
    """Leave the process group that :func:`init_from_env` joined, all processes together (a
    process that exits with its group still open, or tears it down while another is still
    talking to it, can abort in gloo's teardown)."""
    if world.parallel and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def tensors_to(samples: dict[str, dict[str, Tensor]] | None, device: Any) -> Any:
    """A batch (term -> name -> tensor) moved to ``device``."""
    if samples is None:
        return None
    return {t: {k: v.to(device) for k, v in b.items()} for t, b in samples.items()}
