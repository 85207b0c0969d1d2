"""PNG plots of a run: the solution (prediction, exact, error) and the training curves.

Figures are drawn with matplotlib's Agg canvas directly (no pyplot, no global backend change).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch import nn

from .metrics import has_reference, predict

__all__ = ["plot_solution", "plot_curves", "axis_labels"]


def axis_labels(problem) -> list[str]:
    """``x, y, z, w`` for the spatial axes, ``t`` for the time axis of a space-time domain."""
    dim = problem.domain.dim
    spacetime = hasattr(problem.domain, "sample_initial")
    spatial = dim - 1 if spacetime else dim
    return list("xyzw"[:spatial]) + (["t"] if spacetime else [])


def _save(fig: Figure, path: str | os.PathLike) -> None:
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=100)


def plot_solution(
    problem, field: nn.Module, path: str | os.PathLike, resolution: int = 128
) -> None:
    """Prediction, exact solution and absolute error of every output channel.

    1D: curves. 2D (also 1+1D space-time, the ``(x, t)`` plane): images over the domain (two
    space axes at the domain's aspect ratio). Higher
    dimensions: the plane of axes 0 and 1 with the other axes at the middle of their range
    (3D: ``z`` mid-slice; 2D + time: the mid-time slice). Points outside the domain (inside the
    solid of an :class:`~smoothgrid.geometry.ExteriorDomain`) are left blank.

    Args:
        problem: gives the domain box, outputs and reference solution.
        field: the trained field.
        path: the PNG file.
        resolution: points per plotted axis.
    """
    lo, hi = (np.asarray(b, dtype=np.float64) for b in problem.domain.bounds)
    dim = lo.shape[0]
    labels = axis_labels(problem)
    n = resolution if dim > 1 else 4 * resolution
    axes = [np.linspace(lo[i], hi[i], n) for i in range(min(dim, 2))]
    mesh = np.meshgrid(*axes, indexing="ij")
    columns = [m.reshape(-1) for m in mesh]
    columns += [np.full(columns[0].shape, 0.5 * (lo[i] + hi[i])) for i in range(2, dim)]
    x = torch.from_numpy(np.stack(columns, axis=1))
    u = predict(field, x).double().cpu().numpy()
    exact = None
    if has_reference(problem):
        exact = problem.reference(x).double().reshape(len(x), -1).numpy()
    outside = ~problem.domain.contains(x).numpy()  # e.g. inside the solid of an ExteriorDomain
    u[outside] = np.nan
    if exact is not None:
        exact[outside] = np.nan
    names = list(problem.outputs)
    kinds = ["prediction"] + (["exact", "|error|"] if exact is not None else [])
    # two space axes keep the domain's aspect ratio; a time axis has other units
    spatial = dim > 1 and "t" not in labels[:2]
    ratio = float(np.clip((hi[1] - lo[1]) / (hi[0] - lo[0]), 0.25, 4.0)) if spatial else 0.85
    fig = Figure(figsize=(4.2 * len(kinds), 0.5 + 3.7 * ratio * len(names)), layout="constrained")
    grid = fig.subplots(len(names), len(kinds), squeeze=False)
    slice_note = ", ".join(f"{labels[i]}={0.5 * (lo[i] + hi[i]):.3g}" for i in range(2, dim))
    for c, name in enumerate(names):
        panels = [u[:, c]]
        if exact is not None:
            panels += [exact[:, c], np.abs(u[:, c] - exact[:, c])]
        for k, (kind, values) in enumerate(zip(kinds, panels)):
            ax = grid[c, k]
            title = f"{name}: {kind}" + (f" ({slice_note})" if slice_note else "")
            ax.set_title(title, fontsize=9)
            if dim == 1:
                ax.plot(axes[0], values)
                ax.set_xlabel(labels[0])
                continue
            image = ax.imshow(
                values.reshape(n, n).T,
                origin="lower",
                extent=(lo[0], hi[0], lo[1], hi[1]),
                aspect="equal" if spatial else "auto",
                cmap="magma" if kind == "|error|" else "viridis",
            )
            ax.set_xlabel(labels[0])
            ax.set_ylabel(labels[1])
            fig.colorbar(image, ax=ax)
    _save(fig, path)


def plot_curves(history: Sequence[dict[str, Any]], path: str | os.PathLike) -> None:
    """Loss terms and errors against the step, log scale (the loss on a linear scale when it
    takes values <= 0: an energy).

    Args:
        history: rows with ``step``, ``loss``, ``loss_<term>`` and optionally ``rel_l2``.
        path: the PNG file.
    """
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    left, right = fig.subplots(1, 2)
    steps = [row["step"] for row in history]
    keys = [k for k in (history[0] if history else {}) if k == "loss" or k.startswith("loss_")]
    positive = True
    for key in keys:
        values = [row[key] for row in history]
        positive = positive and all(v is None or v > 0 for v in values)
        left.plot(steps, values, label=key)
    left.set(xlabel="step", title="loss", ylabel="mean square" if positive else "energy",
             yscale="log" if positive else "linear")  # fmt: skip
    for key in ("rel_l2", "max_abs_error"):
        values = [row.get(key) for row in history]
        if any(v is not None for v in values):
            right.plot(steps, [np.nan if v is None else v for v in values], label=key)
    right.set(xlabel="step", yscale="log", title="error vs reference")
    for ax in (left, right):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
    _save(fig, path)
