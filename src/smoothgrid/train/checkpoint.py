"""Safe, atomic checkpoints: tensors in ``NAME.pt``, everything else in ``NAME.json``.

``NAME.pt`` is a ``torch.save`` of a flat ``dict[str, Tensor]`` (the field's ``state_dict`` under
``field.``, the optimiser's per-parameter state under ``optim.<index>.<key>``, any extra tensors
under ``extra.``, and ``meta.step``)
and is read back with ``torch.load(weights_only=True)``: no pickled code runs on load.
``NAME.json`` holds the metadata: step, training time, the sampling generator's state (a list of
bytes), the history and the run configuration. Each file is written to a temporary name and
renamed, so a crash never leaves a half-written checkpoint; the step stored in both is checked
on load.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["save_checkpoint", "load_checkpoint", "restore", "state_is_finite", "CheckpointError"]


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable, or does not fit the run resuming it; the
    message names the file and what to do."""


def _paths(path: str | os.PathLike) -> tuple[Path, Path]:
    pt = Path(path)
    return pt, pt.with_suffix(".json")


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> dict[str, Tensor]:
    return {
        f"optim.{index}.{key}": value
        for index, state in optimizer.state_dict()["state"].items()
        for key, value in state.items()
        if isinstance(value, Tensor)
    }


def state_is_finite(field: nn.Module, optimizer: torch.optim.Optimizer) -> bool:
    """Whether every floating parameter, buffer and optimiser state tensor is finite."""
    tensors = list(field.state_dict().values()) + list(_optimizer_tensors(optimizer).values())
    return all(bool(torch.isfinite(t).all()) for t in tensors if t.is_floating_point())


def save_checkpoint(
    path: str | os.PathLike,
    field: nn.Module,
    optimizer: torch.optim.Optimizer,
    meta: dict[str, Any],
    extra: dict[str, Tensor] | None = None,
) -> None:
    """Write ``path`` (tensors) and ``path`` with suffix ``.json`` (``meta``), atomically.

    Args:
        path: the ``.pt`` file.
        field: its ``state_dict`` is saved.
        optimizer: its per-parameter state tensors are saved (the param groups are rebuilt by
            the caller on resume).
        meta: JSON-serialisable metadata; must contain ``"step"`` (int).
        extra: more tensors to keep (e.g. the current collocation batch).
    """
    pt, js = _paths(path)
    pt.parent.mkdir(parents=True, exist_ok=True)
    tensors = {f"field.{k}": v.detach().cpu() for k, v in field.state_dict().items()}
    tensors.update({k: v.detach().cpu() for k, v in _optimizer_tensors(optimizer).items()})
    tensors.update({f"extra.{k}": v.detach().cpu() for k, v in (extra or {}).items()})
    tensors["meta.step"] = torch.tensor(int(meta["step"]))
    tmp_pt, tmp_js = pt.with_name(pt.name + ".tmp"), js.with_name(js.name + ".tmp")
    torch.save(tensors, tmp_pt)
    tmp_js.write_text(json.dumps(meta, indent=1))
    os.replace(tmp_pt, pt)
    os.replace(tmp_js, js)


def load_checkpoint(path: str | os.PathLike) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Returns:
        ``(tensors, meta)``.

    Raises:
        CheckpointError: a file is missing, truncated or malformed, or the two files belong to
            different steps (one line naming the file and what to do).
    """
    pt, js = _paths(path)
    for p in (pt, js):
        if not p.is_file():
            raise CheckpointError(f"checkpoint file {p} not found")
    try:
        tensors = torch.load(pt, map_location="cpu", weights_only=True)
        step = int(tensors["meta.step"])
    except Exception as error:  # truncated, not a zip archive, pickled code, missing keys
        raise CheckpointError(
            f"cannot read the checkpoint {pt} ({type(error).__name__}: "
            f"{str(error).splitlines()[0][:120]}); it is damaged or was not written by "
            "smoothgrid: delete it and the .json beside it to start the run afresh"
        ) from None
    try:
        meta = json.loads(js.read_text())
        int(meta["step"])
    except (ValueError, KeyError, TypeError) as error:
        raise CheckpointError(
            f"cannot read the checkpoint metadata {js} ({error}); it is damaged: delete it and "
            f"{pt.name} to start the run afresh"
        ) from None
    if step != int(meta["step"]):
        raise CheckpointError(
            f"checkpoint {pt} (step {int(tensors['meta.step'])}) and {js} (step {meta['step']}) "
            "do not match; the run was interrupted while writing them"
        )
    return tensors, meta


def restore(
    path: str | os.PathLike, field: nn.Module, optimizer: torch.optim.Optimizer
) -> tuple[dict[str, Any], dict[str, Tensor]]:
    """Load a checkpoint into ``field`` and ``optimizer`` (in place).

    Returns:
        ``(meta, extra)``: the metadata and the extra tensors (on the CPU).
    """
    tensors, meta = load_checkpoint(path)
    try:
        field.load_state_dict(
            {k[len("field.") :]: v for k, v in tensors.items() if k.startswith("field.")}
        )
    except RuntimeError as error:  # missing / unexpected keys, size mismatches
        first = next((line.strip() for line in str(error).splitlines()[1:] if line.strip()), "")
        raise CheckpointError(
            f"the checkpoint {path} does not fit this field ({first[:160]}); resume with the "
            "settings that wrote it (its config.yaml) or start afresh"
        ) from None
    state: dict[int, dict[str, Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    current = optimizer.state_dict()
    optimizer.load_state_dict({"state": state, "param_groups": current["param_groups"]})
    extra = {k[len("extra.") :]: v for k, v in tensors.items() if k.startswith("extra.")}
    return meta, extra
