"""PNG pictures of a fitted SDF: slices of the field and renders of its mesh by curvature.

Drawn with matplotlib's Agg canvas directly (no pyplot, no global backend change). The render
is orthographic with the painter's algorithm (back faces culled, far faces first) and Lambert
shading, fast enough for meshes of a few hundred thousand faces.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.collections import PolyCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from ...field import Field
from ...train.metrics import predict
from .curvature import field_curvature
from .data import Frame
from .export import SurfaceMesh

__all__ = ["plot_slices", "plot_curvature"]

_PLANES = (("x", (1, 2)), ("y", (0, 2)), ("z", (0, 1)))
"""``(normal axis, in-plane axes)`` of the slices through the origin."""


def _symmetric_limit(values: np.ndarray) -> float:
    """A colour range ``[-v, v]`` that ignores the 2 % most extreme values."""
    finite = values[np.isfinite(values)]
    return float(np.percentile(np.abs(finite), 98)) if finite.size else 1.0


def plot_slices(
    field: Field,
    path: str | os.PathLike,
    resolution: int = 96,
    band: float = 0.1,
    derivatives: str | None = None,
    title: str = "",
    frame: Frame | None = None,
) -> None:
    """The field and the mean curvature of its level sets on the box's middle planes.

    Top row: ``f`` (blue inside, red outside) with its zero contour. Bottom row: ``H`` where
    ``|f| < band`` (elsewhere blank), with the zero contour.

    Args:
        field: a one-channel field on ``[-1, 1]^3``.
        path: the PNG file.
        resolution: pixels per side of each slice.
        band: half-width of the ``|f|`` band where the curvature is shown (domain units).
        derivatives: derivative method for the curvature (``None``: the field's).
        title: the figure's title.
        frame: show the input's coordinates and units (distances divided by its ``scale``,
            curvature times it) instead of the box's.
    """
    frame = frame or Frame()
    axis = np.linspace(-1.0, 1.0, resolution)
    u, v = (m.ravel() for m in np.meshgrid(axis, axis, indexing="ij"))
    fig = Figure(figsize=(13, 8.4), layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.subplots(2, 3)
    for column, (name, (a, b)) in enumerate(_PLANES):
        points = np.zeros((u.size, 3))
        points[:, a], points[:, b] = u, v
        x = torch.from_numpy(points)
        f = predict(field, x, chunk=8192).double().cpu().numpy().reshape(resolution, resolution)
        mean = field_curvature(field, x, derivatives)[0].double().cpu().numpy()
        mean = np.where(np.abs(f.ravel()) < band, mean, np.nan).reshape(resolution, resolution)
        f, mean = f / frame.scale, mean * frame.scale
        corners = frame.to_input(np.array([[-1.0] * 3, [1.0] * 3]))
        extent = (corners[0, a], corners[1, a], corners[0, b], corners[1, b])
        labels = ("xyz"[a], "xyz"[b])
        name = f"{name} = {frame.centre['xyz'.index(name)]:.3g}"
        limit = float(np.abs(f).max()) or 1.0
        panels = (
            (grid[0, column], f, "RdBu_r", limit, f"f on {name}"),
            (grid[1, column], mean, "coolwarm", _symmetric_limit(mean), f"H on {name}"),
        )
        for ax, image, cmap, lim, label in panels:
            shown = ax.imshow(
                image.T, origin="lower", extent=extent, cmap=cmap, vmin=-lim, vmax=lim
            )
            ax.contour(np.linspace(*extent[:2], resolution), np.linspace(*extent[2:], resolution),
                       f.T, levels=[0.0], colors="black", linewidths=0.8)  # fmt: skip
            ax.set(title=label, xlabel=labels[0], ylabel=labels[1])
            fig.colorbar(shown, ax=ax, shrink=0.85)
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=90)


def _view(elevation: float, azimuth: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Orthonormal ``(right, up, towards the viewer)`` for a camera at these angles (degrees)."""
    e, a = np.deg2rad(elevation), np.deg2rad(azimuth)
    back = np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)])
    right = np.cross([0.0, 0.0, 1.0], back)
    right /= np.linalg.norm(right)
    return right, np.cross(back, right), back


def plot_curvature(
    mesh: SurfaceMesh,
    path: str | os.PathLike,
    elevation: float = 25.0,
    azimuth: float = 40.0,
    title: str = "",
) -> None:
    """Render the mesh twice, coloured by mean and by Gaussian curvature.

    Args:
        mesh: from :func:`~smoothgrid.apps.sdf.export.extract_mesh`.
        path: the PNG file.
        elevation, azimuth: the camera direction in degrees.
        title: the figure's title.
    """
    fig = Figure(figsize=(12, 5.6), layout="constrained")
    FigureCanvasAgg(fig)
    right, up, back = _view(elevation, azimuth)
    corners = mesh.vertices[mesh.faces]  # (F, 3, 3)
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-300)
    facing = normals @ back
    visible = np.flatnonzero(facing > 0)
    order = visible[np.argsort((corners[visible].mean(1)) @ back)]  # far faces first
    flat = np.stack([corners[order] @ right, corners[order] @ up], axis=-1)
    shade = (0.35 + 0.65 * facing[order])[:, None]
    panels = (
        ("mean curvature H", mesh.mean_curvature),
        ("Gaussian curvature K", mesh.gaussian_curvature),
    )
    for k, (name, values) in enumerate(panels):
        ax = fig.add_subplot(1, 2, k + 1)
        limit = _symmetric_limit(values)
        norm, cmap = Normalize(-limit, limit), colormaps["coolwarm"]
        colours = cmap(norm(values[mesh.faces[order]].mean(1)))
        colours[:, :3] *= shade
        ax.add_collection(
            PolyCollection(flat, facecolors=colours, edgecolors="none", antialiaseds=False)
        )
        ax.set(xlim=(-1.0, 1.0), ylim=(-1.0, 1.0), aspect="equal", title=name)
        ax.set_axis_off()
        fig.colorbar(ScalarMappable(norm, cmap), ax=ax, shrink=0.8)
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=90)
