"""The mutable state of one solve: step, clock, history, batch and checkpoints."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .checkpoint import restore, save_checkpoint, state_is_finite
from .losses import Objective
from .result import DivergedError

__all__ = ["RunState"]


class RunState:
    """The mutable state of one solve: step, clock, history, batch and checkpoint files.

    ``_boundary`` is the sampling generator's state and the batch at the end of the last
    completed step: a checkpoint always holds that state, so one written after an interrupt
    in the middle of a step resumes exactly where the step began.
    """

    def __init__(
        self, field: nn.Module, optimizer: torch.optim.Optimizer, generator: torch.Generator, out
    ) -> None:
        self.field, self.optimizer, self.generator = field, optimizer, generator
        self.path = None if out is None else Path(out) / "checkpoint.pt"
        self.step = 0
        self.train_time = 0.0
        self.history: list[dict[str, Any]] = []
        self.best: float | None = None
        self.last_loss: float | None = None
        self.samples: dict[str, dict[str, torch.Tensor]] | None = None
        self._boundary = (generator.get_state(), None)
        self.saved_step: int | None = None

    def load(self) -> None:
        """Continue from ``out/checkpoint.pt``."""
        if not self.path.is_file():
            raise FileNotFoundError(f"resume=True but there is no checkpoint {self.path}")
        meta, extra = restore(self.path, self.field, self.optimizer)
        self.step, self.train_time = int(meta["step"]), float(meta["train_time"])
        self.history, self.best = meta["history"], meta["best_rel_l2"]
        self.last_loss = meta["last_loss"]
        self.generator.set_state(torch.tensor(meta["rng"], dtype=torch.uint8))
        device = next(self.field.parameters()).device
        samples: dict[str, dict[str, torch.Tensor]] = {}
        for key, value in extra.items():
            term, name = key.rsplit("/", 1)
            samples.setdefault(term, {})[name] = value.to(device)
        self.samples = samples or None
        self._boundary = (self.generator.get_state(), self.samples)
        self.saved_step = self.step

    def advance(self, seconds: float) -> None:
        """Close a completed step that took ``seconds``."""
        self.step += 1
        self.train_time += seconds
        self._boundary = (self.generator.get_state(), self.samples)

    def record(
        self, loss: float | None, terms: Mapping[str, torch.Tensor], evaluator
    ) -> dict[str, Any]:
        """Append a history row at the current step (evaluating the error if possible)."""
        self.last_loss = loss
        row: dict[str, Any] = {"step": self.step, "time": round(self.train_time, 4), "loss": loss}
        row.update({f"loss_{k}": float(v.detach()) for k, v in terms.items()})
        groups = self.optimizer.param_groups
        row["lr"] = float(groups[0]["lr"])
        row["levels"] = len(self.field.encoding.active_levels)
        if evaluator is not None:
            row.update(evaluator(self.field))
            if self.best is None or row["rel_l2"] < self.best:
                self.best = row["rel_l2"]
        self.history.append(row)
        return row

    def reached(self, target: float | None) -> bool:
        """Whether the latest evaluated error is at or below ``target``."""
        if target is None or not self.history or self.history[-1].get("rel_l2") is None:
            return False
        return self.history[-1]["rel_l2"] <= target

    def save(self, config: Mapping[str, Any]) -> bool:
        """Write the checkpoint of the last completed step, unless its state is not finite."""
        if self.path is None or not state_is_finite(self.field, self.optimizer):
            return False
        rng, samples = self._boundary
        meta = {
            "step": self.step,
            "train_time": self.train_time,
            "rng": rng.tolist(),
            "history": self.history,
            "best_rel_l2": self.best,
            "last_loss": self.last_loss,
            "config": dict(config),
        }
        extra = {
            f"{term}/{name}": tensor
            for term, batch in (samples or {}).items()
            for name, tensor in batch.items()
        }
        save_checkpoint(self.path, self.field, self.optimizer, meta, extra)
        self.saved_step = self.step
        return True

    def diverged(self, loss: float, terms: Mapping[str, torch.Tensor]) -> None:
        """Raise :class:`DivergedError` for a non-finite loss at the current step."""
        bad = [k for k, v in terms.items() if not bool(torch.isfinite(v))]
        where = (
            f"the last good checkpoint is {self.path} (step {self.saved_step})"
            if self.saved_step is not None
            else "no checkpoint was written (pass out= to keep one)"
        )
        raise DivergedError(
            f"training diverged: the loss is {loss} at step {self.step} (non-finite terms: "
            f"{', '.join(bad)}); {where}. Try a smaller lr / decoder_lr or level_scale.",
            step=self.step,
            checkpoint=None if self.saved_step is None else str(self.path),
        )

    def metrics(self, terms: Mapping[str, torch.Tensor], objective: Objective) -> dict[str, Any]:
        """The final metrics (see :class:`Result`)."""
        last = self.history[-1] if self.history else {}
        residual = [float(v.detach()) for k, v in terms.items() if k not in objective.conditions]
        return {
            "rel_l2": last.get("rel_l2"),
            "best_rel_l2": self.best,
            "max_abs_error": last.get("max_abs_error"),
            "residual": sum(residual) if residual else None,
            "loss": self.last_loss,
            "wall_time": self.train_time,
            "steps": self.step,
            "ms_per_step": 1000.0 * self.train_time / self.step if self.step else None,
        }
