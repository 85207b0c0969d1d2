"""Load a finished (or interrupted) run back: ``sg.load(run_dir)``.

A run directory written by ``sg.solve``, ``smoothgrid solve`` or an app holds ``config.yaml``
(every option of its field, its problem and settings) and ``checkpoint.pt``. :func:`load`
rebuilds the field from the first, fills it from the second, and gives back the problem (for a
zoo problem) ready for ``field(x)``, ``field.jet(x)`` and :meth:`Run.predict`.

>>> run = sg.load("runs/h2d")                       # doctest: +SKIP
>>> run.metrics["rel_l2"], run.predict(x).shape     # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import Tensor

from . import problems
from .field import Field
from .jet import Jet
from .train.checkpoint import CheckpointError, load_checkpoint

__all__ = ["Run", "load"]


@dataclass
class Run:
    """A run loaded from its directory.

    Attributes:
        path: the run directory.
        field: the trained field (in evaluation mode, on the device asked for).
        problem: the zoo problem it solved (``None`` for an app's run or a problem of one's
            own, which the config cannot rebuild).
        config: the run's ``config.yaml``.
        metrics: its ``metrics.json`` (``None`` if it was not finished).
        history: the history rows of its checkpoint.
    """

    path: Path
    field: Field
    problem: Any
    config: dict[str, Any]
    metrics: dict[str, Any] | None
    history: list[dict[str, Any]] = field(default_factory=list)

    @torch.no_grad()
    def predict(self, x: Tensor, chunk: int = 65536) -> Tensor:
        """The field's values at ``x`` without a graph.

        Args:
            x: ``(N, d)`` points in the domain's coordinates (converted to the field's dtype
                and device).
            chunk: points per forward pass.

        Returns:
            ``(N, C)`` on the CPU.
        """
        p = next(self.field.parameters())
        x = torch.as_tensor(x).to(dtype=p.dtype, device=p.device)
        parts = [self.field(x[i : i + chunk]).cpu() for i in range(0, len(x), chunk)]
        return torch.cat(parts) if parts else torch.empty(0, self.field.out)

    def jet(self, x: Tensor, order: int = 2, **options: Any) -> Jet:
        """``field.jet(x, order, ...)`` (see :meth:`smoothgrid.Field.jet`)."""
        p = next(self.field.parameters())
        return self.field.jet(torch.as_tensor(x).to(dtype=p.dtype, device=p.device), order,
                              **options)  # fmt: skip


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: give the directory of a run written with an output directory"
        )
    return yaml.safe_load(path.read_text()) or {}


def _problem(config: dict[str, Any]):
    section = dict(config.get("problem") or {})
    name = section.pop("name", None)
    if name not in problems.names():
        return None
    return problems.make(name, **section)


def load(run_dir: str | Path, device: str | torch.device = "cpu") -> Run:
    """Rebuild the trained field (and the zoo problem) of a run directory.

    The field is built from ``config.yaml`` (by the app's ``build_field(config)`` where it
    has one, e.g. the smoke app's space-time encoding) and filled from ``checkpoint.pt`` (its
    box and level scales included); a zoo problem's ready-made hard constraint is put back as
    ``sg.solve`` adopted it; an app's run gets what its app records (e.g. the SDF app's sphere
    prior) from the app's ``restore_field(field, config)``. A hard constraint of one's own is
    not recorded: set ``run.field.constraint`` again.

    Args:
        run_dir: the run directory.
        device: where the field goes.

    Raises:
        FileNotFoundError: no ``config.yaml`` or no checkpoint.
        CheckpointError: a damaged checkpoint, or one that does not fit the config.
    """
    path = Path(run_dir)
    config = _read_yaml(path / "config.yaml")
    if "encoding" not in config or "field" not in config:
        raise CheckpointError(f"{path / 'config.yaml'} records no field (no encoding / field)")
    problem = _problem(config)
    dtype = getattr(torch, str(config.get("dtype", "float32")))
    app = config.get("app")
    module = None if app is None else importlib.import_module(f"smoothgrid.apps.{app}")
    field_ = getattr(module, "build_field", Field.from_config)(config)
    if problem is not None and problem.constraint is not None:
        field_.constraint = problem.constraint
    getattr(module, "restore_field", lambda f, c: None)(field_, config)
    tensors, meta = load_checkpoint(path / "checkpoint.pt")
    state = {k[len("field.") :]: v for k, v in tensors.items() if k.startswith("field.")}
    if any(k.startswith("field.") for k in state):  # an app's container holding "field"
        state = {k[len("field.") :]: v for k, v in state.items() if k.startswith("field.")}
    try:
        field_.load_state_dict(state)
    except RuntimeError as error:
        raise CheckpointError(f"{path / 'checkpoint.pt'} does not fit its config.yaml: "
                              f"{str(error).splitlines()[0]}") from None  # fmt: skip
    field_.to(device=device, dtype=dtype).eval()
    metrics_path = path / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else None
    return Run(path, field_, problem, config, metrics, list(meta.get("history", [])))
