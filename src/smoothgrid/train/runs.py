"""Files of a run directory: ``config.yaml``, ``metrics.json``, ``history.csv`` and plots."""

from __future__ import annotations

import csv
import json
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from torch import nn

__all__ = ["write_config", "write_metrics", "write_history", "write_results"]


def write_config(out: str | os.PathLike, config: Mapping[str, Any]) -> None:
    """Write ``out/config.yaml`` (plain YAML, readable with ``yaml.safe_load``)."""
    Path(out).mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(dict(config), sort_keys=False, default_flow_style=None)
    (Path(out) / "config.yaml").write_text(text)


def write_metrics(out: str | os.PathLike, metrics: Mapping[str, Any]) -> Path:
    """Write ``out/metrics.json`` (indented by 2, a final newline), creating ``out``; returns
    ``out`` as a :class:`~pathlib.Path`. The apps' run directories use it."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(dict(metrics), indent=2) + "\n")
    return out


def write_history(path: str | os.PathLike, history: Sequence[Mapping[str, Any]]) -> None:
    """Write the rows ``history`` as CSV to ``path``: the columns in order of first
    appearance, a missing or ``None`` entry left empty."""
    columns: list[str] = []
    for row in history:
        columns += [k for k in row if k not in columns]
    with Path(path).open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, restval="")
        writer.writeheader()
        for row in history:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})


def write_results(
    out: str | os.PathLike,
    metrics: Mapping[str, Any],
    history: Sequence[Mapping[str, Any]],
    problem,
    field: nn.Module,
) -> None:
    """Write ``metrics.json``, ``history.csv``, ``solution.png`` and ``curves.png`` into ``out``.

    A plotting failure only warns: the numbers are written first.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(dict(metrics), indent=1))
    write_history(out / "history.csv", history)
    try:
        from .plots import plot_curves, plot_solution  # matplotlib: only when a run writes plots

        plot_solution(problem, field, out / "solution.png")
        plot_curves(history, out / "curves.png")
    except Exception as error:  # plots are a convenience; the numbers are already saved
        warnings.warn(f"could not draw the plots in {out}: {error}", stacklevel=2)
