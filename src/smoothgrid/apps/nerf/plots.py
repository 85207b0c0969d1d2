"""Pictures of a NeRF run: test views, camera frusta and pose error over training.

Figures are drawn with matplotlib's Agg canvas directly (no pyplot, no global backend change).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["plot_test_views", "plot_cameras", "plot_pose_history", "frustum_lines"]


def _save(fig: Figure, path: str | os.PathLike) -> None:
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=100)


def plot_test_views(
    prediction: torch.Tensor, truth: torch.Tensor, path: str | os.PathLike, title: str,
    views: int = 3,
) -> None:  # fmt: skip
    """Columns of up to ``views`` test views: prediction, truth and ``|error|`` (grey, mean over
    the channels, scale 0..0.5). ``prediction, truth: (M, H, W, 3)`` in ``[0, 1]``."""
    n = min(views, len(truth))
    fig = Figure(figsize=(3 * n, 9))
    fig.suptitle(title)
    for j in range(n):
        error = (prediction[j] - truth[j]).abs().mean(-1)
        for i, (image, name) in enumerate(
            ((prediction[j], "prediction"), (truth[j], "truth"), (error, "|error|"))
        ):
            ax = fig.add_subplot(3, n, i * n + j + 1)
            if name == "|error|":
                ax.imshow(image.numpy(), cmap="magma", vmin=0.0, vmax=0.5)
            else:
                ax.imshow(image.clamp(0, 1).numpy())
            ax.set_title(f"{name} {j}", fontsize=9)
            ax.axis("off")
    _save(fig, path)


def frustum_lines(c2w: torch.Tensor, half_width: float, depth: float) -> np.ndarray:
    """``(N, 8, 2, 3)`` segments of a pyramid per camera ``c2w: (N, 4, 4)``: four edges from
    the centre to the corners of an image plane at ``depth`` (world units) looking down ``-z``
    with ``half_width`` (tangent of half the field of view), and the plane's four sides."""
    corners = torch.tensor([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]]) * half_width
    local = torch.cat([corners, -torch.ones(4, 1)], 1) * depth
    world = (c2w[:, None, :3, :3].double() @ local.double()[None, :, :, None])[..., 0]
    world = world + c2w[:, None, :3, 3].double()
    centre = c2w[:, None, :3, 3].double().expand(-1, 4, -1)
    edges = torch.stack([centre, world], 2)
    sides = torch.stack([world, world.roll(-1, 1)], 2)
    return torch.cat([edges, sides], 1).numpy()


def plot_cameras(
    true: torch.Tensor, initial: torch.Tensor, refined: torch.Tensor, focal_over_width: float,
    path: str | os.PathLike, title: str,
) -> None:  # fmt: skip
    """Camera frusta in 3D: true (green), initial noisy (red), refined and aligned (blue), with
    a line from each refined centre to its true centre. Poses are ``(N, 4, 4)``."""
    fig = Figure(figsize=(7, 7))
    ax = fig.add_subplot(1, 1, 1, projection="3d")
    half = 0.5 / focal_over_width
    for poses, colour in ((true, "tab:green"), (initial, "tab:red"), (refined, "tab:blue")):
        for camera in frustum_lines(poses, half, 0.4):
            for a, b in camera:
                ax.plot(*zip(a, b), color=colour, lw=0.8)
    for r, t in zip(refined[:, :3, 3].numpy(), true[:, :3, 3].numpy()):
        ax.plot(*zip(r, t), color="k", lw=0.6)
    ax.set_title(title, fontsize=9)
    handles = [ax.plot([], [], color=c)[0] for c in ("tab:green", "tab:red", "tab:blue")]
    ax.legend(handles, ["true", "initial", "refined (aligned)"], loc="upper left")
    _save(fig, path)


def plot_pose_history(
    history: Sequence[Mapping[str, Any]],
    path: str | os.PathLike,
    title: str,
    initial: Mapping[str, float] | None = None,
) -> None:
    """Mean rotation error (degrees) and translation error (world units) after alignment over
    the training steps; ``initial`` (the same keys as a history row) is drawn at step 0."""
    rows = ([{"step": 0, **initial}] if initial else []) + list(history)
    steps = [row["step"] for row in rows]
    fig = Figure(figsize=(10, 4))
    fig.suptitle(title)
    panels = (("rotation_error_deg", "rotation error (deg)"),
              ("translation_error", "translation error (units)"))  # fmt: skip
    for i, (key, label) in enumerate(panels):
        ax = fig.add_subplot(1, 2, i + 1)
        values = [row[key] for row in rows]
        ax.plot(steps, values)
        ax.set_xlabel("step")
        ax.set_ylabel(label)
        if values and min(values) > 0:
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
    _save(fig, path)
