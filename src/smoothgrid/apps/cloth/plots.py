"""Pictures of a deformed cloth from two views, coloured by its strain."""

from __future__ import annotations

import os

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from mpl_toolkits.mplot3d.art3d import Poly3DCollection

from .export import ClothMesh

__all__ = ["plot_views", "VIEWS"]

VIEWS = {"front": (5.0, -90.0), "three-quarter": (25.0, -55.0)}
"""View name -> (elevation, azimuth) in degrees: ``front`` looks along ``+y`` at the pinned
edge's side, ``three-quarter`` from above and aside."""


def plot_views(mesh: ClothMesh, path: str | os.PathLike, title: str = "") -> None:
    """Draw ``mesh`` from the :data:`VIEWS` side by side (equal axes, m) into a PNG, faces
    coloured by the mean strain of their vertices (per cent) and shaded by a light from above."""
    fig = Figure(figsize=(11, 5), layout="constrained")
    FigureCanvasAgg(fig)
    v, f = mesh.vertices, mesh.faces
    strain = 100.0 * mesh.strain[f].mean(1)
    norm = Normalize(float(strain.min()), max(float(strain.max()), float(strain.min()) + 1e-6))
    cmap = colormaps["viridis"]
    triangles = v[f]
    normals = np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-30)
    light = np.array([0.3, -0.5, 0.8]) / np.linalg.norm([0.3, -0.5, 0.8])
    shade = 0.45 + 0.55 * np.abs(normals @ light)  # both sides of the cloth are lit
    colours = cmap(norm(strain))
    colours[:, :3] *= shade[:, None]
    lo, hi = v.min(0), v.max(0)
    centre, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2, 1e-9)
    for k, (name, (elev, azim)) in enumerate(VIEWS.items()):
        ax = fig.add_subplot(1, 2, k + 1, projection="3d")
        ax.add_collection3d(Poly3DCollection(triangles, facecolors=colours, linewidths=0.0))
        ax.view_init(elev=elev, azim=azim)
        for axis, c in zip("xyz", centre):
            getattr(ax, f"set_{axis}lim")(c - half, c + half)
        ax.set_box_aspect((1, 1, 1))
        ax.set(xlabel="x (m)", ylabel="y (m)", zlabel="z (m)", title=name)
    fig.colorbar(ScalarMappable(norm, cmap), ax=fig.axes, shrink=0.6,
                 label="larger principal strain (%)")  # fmt: skip
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=110)
