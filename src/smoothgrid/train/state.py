"""The mutable state of one training run: step, clock, history, batch, schedule and checkpoints."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .checkpoint import CheckpointError, restore, save_checkpoint, state_is_finite
from .distributed import SINGLE, World, tensors_to
from .result import DivergedError
from .settings import Budget

__all__ = ["RunState", "BudgetSpentError", "Samples"]

Samples = dict[str, dict[str, torch.Tensor]]
"""A step's batch: term name -> tensors (``{"x": (n, d), ...}``); checkpoints keep it."""


class BudgetSpentError(ValueError):
    """A resumed run's budget is already spent: there is nothing left to train."""


def _unpack(extra: Mapping[str, torch.Tensor], prefix: str) -> Samples | None:
    samples: Samples = {}
    for key, value in extra.items():
        if key.startswith(prefix):
            term, name = key[len(prefix) :].rsplit("/", 1)
            samples.setdefault(term, {})[name] = value
    return samples or None


class RunState:
    """The mutable state of one run: step, training clock, history, batch and checkpoint files.

    ``_boundary`` is the sampling generator's state and the batch at the end of the last
    completed step: a checkpoint always holds that state, so one written after an interrupt in
    the middle of a step resumes exactly where the step began.

    The schedule's progress is ``position / total`` (steps or seconds) unless a resumed run
    changed its budget: then it continues from the progress ``p0`` reached at the position
    ``s0`` of the checkpoint, ``p0 + (1 - p0) (position - s0) / (total - s0)``, so the learning
    rate goes on from where it was instead of jumping back up (a finished run, ``p0 = 1``,
    continues at its final rate).

    Args:
        field: the trained module (its ``state_dict`` is checkpointed).
        optimizer: its per-parameter state is checkpointed.
        generator: the sampling generator of this process.
        budget: the run's :class:`~smoothgrid.train.settings.Budget`.
        out: the run directory (``None``: no checkpoints).
        world: the processes of the run; process 0 writes, all restore.
        target_metric: the history entry that ``best`` and ``reached`` look at.
    """

    def __init__(
        self,
        field: nn.Module,
        optimizer: torch.optim.Optimizer,
        generator: torch.Generator,
        budget: Budget,
        out: str | Path | None = None,
        world: World = SINGLE,
        target_metric: str = "rel_l2",
    ) -> None:
        self.field, self.optimizer, self.generator = field, optimizer, generator
        self.budget, self.world, self.target_metric = budget, world, target_metric
        self.path = None if out is None else Path(out) / "checkpoint.pt"
        self.step = 0
        self.train_time = 0.0
        self.history: list[dict[str, Any]] = []
        self.best: float | None = None
        self.last_loss: float | None = None
        self.samples: Samples | None = None
        self.anchor = (0.0, 0.0)
        self._boundary = (generator.get_state(), None)
        self.saved_step: int | None = None

    # ------------------------------------------------------------------ schedule
    def position(self) -> float:
        """Steps done, or training seconds for a time budget."""
        return float(self.step) if self.budget.steps is not None else self.train_time

    def progress(self) -> float:
        """The fraction of the budget spent, in ``[0, 1]``, for schedules and curricula."""
        start, reached = self.anchor
        total = self.budget.total
        if total <= start:
            return 1.0
        return min(1.0, reached + (1.0 - reached) * (self.position() - start) / (total - start))

    @property
    def ms_per_step(self) -> float | None:
        """Mean training milliseconds per step so far; ``None`` before the first step."""
        return 1000.0 * self.train_time / self.step if self.step else None

    def summary(self, field: nn.Module | None = None) -> dict[str, Any]:
        """The entries the apps' metrics share: ``loss`` (the last step's), ``steps``,
        ``wall_time`` (training seconds), ``ms_per_step`` and, given ``field``, its
        ``parameters`` (a count), in this order."""
        entries = {
            "loss": self.last_loss,
            "steps": self.step,
            "wall_time": self.train_time,
            "ms_per_step": self.ms_per_step,
        }
        if field is not None:
            entries["parameters"] = sum(p.numel() for p in field.parameters())
        return entries

    # ------------------------------------------------------------------ steps
    def advance(self, seconds: float) -> None:
        """Close a completed step that took ``seconds``."""
        self.step += 1
        self.train_time += seconds
        self._boundary = (self.generator.get_state(), self.samples)

    def record(self, loss: float | None, terms: Mapping[str, torch.Tensor], evaluation) -> dict:
        """Append a history row at the current step: loss, its terms, the first group's rate
        and ``evaluation`` (a dict, e.g. active levels and errors)."""
        self.last_loss = loss
        row: dict[str, Any] = {"step": self.step, "time": round(self.train_time, 4), "loss": loss}
        row.update({f"loss_{k}": float(v.detach()) for k, v in terms.items()})
        row["lr"] = float(self.optimizer.param_groups[0]["lr"])
        row.update(evaluation)
        value = row.get(self.target_metric)
        if value is not None and (self.best is None or value < self.best):
            self.best = value
        self.history.append(row)
        return row

    def reached(self, target: float | None) -> bool:
        """Whether the latest evaluated ``target_metric`` is at or below ``target``."""
        if target is None or not self.history:
            return False
        value = self.history[-1].get(self.target_metric)
        return value is not None and value <= target

    def diverged(self, loss: float, terms: Mapping[str, torch.Tensor]) -> None:
        """Raise :class:`DivergedError` for a non-finite loss at the current step."""
        bad = [k for k, v in terms.items() if not bool(torch.isfinite(v).all())]
        if self.saved_step is not None:
            where = f"the last good checkpoint is {self.path} (step {self.saved_step})"
        elif self.path is not None:
            where = "no checkpoint had been written yet (raise checkpoint_every's frequency)"
        else:
            where = "no checkpoint was written (pass out= to keep one)"
        raise DivergedError(
            f"training diverged: the loss is {loss} at step {self.step} (non-finite terms: "
            f"{', '.join(bad) or 'none of the terms alone'}); {where}. Try a smaller lr / "
            "decoder_lr or level_scale.",
            step=self.step,
            checkpoint=None if self.saved_step is None else str(self.path),
        )

    # ------------------------------------------------------------------ checkpoints
    def save(self, config: Mapping[str, Any]) -> bool:
        """Write the checkpoint of the last completed step (process 0, with every process's
        sampling state), unless the state is not finite. Every process must call it."""
        rng, samples = self._boundary
        states = self.world.gather((rng.tolist(), tensors_to(samples, "cpu")))
        if self.path is None or not self.world.leader:
            return False
        if not state_is_finite(self.field, self.optimizer):
            return False
        meta = {
            "step": self.step,
            "train_time": self.train_time,
            "rng": states[0][0],
            "world_size": self.world.size,
            "rng_ranks": [s[0] for s in states[1:]],
            "progress": self.progress(),
            "anchor": list(self.anchor),
            "budget": {"steps": self.budget.steps, "time_budget": self.budget.time_budget},
            "history": self.history,
            "best": self.best,
            "last_loss": self.last_loss,
            "config": dict(config),
        }
        extra = {}
        for rank, (_, batch) in enumerate(states):
            prefix = "" if rank == 0 else f"rank{rank}:"
            for term, tensors in (batch or {}).items():
                extra.update({f"{prefix}{term}/{name}": t for name, t in tensors.items()})
        save_checkpoint(self.path, self.field, self.optimizer, meta, extra)
        self.saved_step = self.step
        return True

    def load(self) -> None:
        """Continue from ``out/checkpoint.pt`` (every process reads it).

        Raises:
            CheckpointError: no checkpoint, an unreadable one, or one written by a different
                number of processes.
            BudgetSpentError: the budget is already spent at the checkpoint's step.
        """
        if self.path is None or not self.path.is_file():
            raise CheckpointError(
                f"cannot resume: there is no checkpoint {self.path}; start the run without "
                "resume (or point out= at the run directory)"
            )
        meta, extra = restore(self.path, self.field, self.optimizer)
        size = int(meta.get("world_size", 1))
        if size != self.world.size:
            raise CheckpointError(
                f"{self.path} was written by a run of {size} processes; resume it with "
                f"{size} (this run has {self.world.size})"
            )
        self.step, self.train_time = int(meta["step"]), float(meta["train_time"])
        self.history, self.best = meta["history"], meta.get("best", meta.get("best_rel_l2"))
        self.last_loss = meta["last_loss"]
        rng = meta["rng"] if self.world.rank == 0 else meta["rng_ranks"][self.world.rank - 1]
        self.generator.set_state(torch.tensor(rng, dtype=torch.uint8))
        prefix = "" if self.world.rank == 0 else f"rank{self.world.rank}:"
        if self.world.rank == 0:
            extra = {k: v for k, v in extra.items() if not k.startswith("rank")}
        device = next(self.field.parameters()).device
        self.samples = tensors_to(_unpack(extra, prefix), device)
        self._boundary = (self.generator.get_state(), self.samples)
        self.saved_step = self.step
        self._continue_schedule(meta)

    def _continue_schedule(self, meta: Mapping[str, Any]) -> None:
        """Keep the saved anchor for the same budget; re-anchor at the progress reached for a
        changed one; refuse a budget already spent."""
        saved = meta.get("budget")
        now = {"steps": self.budget.steps, "time_budget": self.budget.time_budget}
        if saved is None or saved == now:
            self.anchor = tuple(meta.get("anchor", (0.0, 0.0)))
        else:
            self.anchor = (self.position(), float(meta["progress"]))
        if self.position() >= self.budget.total and (saved is not None and saved != now):
            unit = "steps" if self.budget.steps is not None else "seconds"
            done = self.step if self.budget.steps is not None else round(self.train_time, 1)
            raise BudgetSpentError(
                f"the budget of {self.budget.total:g} {unit} is already spent ({done} done at "
                f"the checkpoint {self.path}); give a larger total or more steps / seconds"
            )

    def finished(self) -> bool:
        """Whether the budget is spent."""
        return self.position() >= self.budget.total
