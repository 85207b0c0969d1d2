"""Scores of a fitted SDF against its target.

All lengths are in the box's units (``[-1, 1]^3`` has side 2); :func:`metrics_in_frame` turns
them into the input's units (what ``fit_sdf`` reports):

* ``chamfer``: symmetric Chamfer distance ``(mean_a d(a, B) + mean_b d(b, A)) / 2`` between
  ``chamfer_points`` points on the extracted mesh and as many on the true surface (the target's
  points for a point cloud). Even two samples of the same surface are apart by about
  ``0.5 sqrt(area / n)`` (~3e-3 for the unit sphere with ``n = 1e5``): differences below that
  floor are noise;
* ``normal_angle``: mean angle in degrees between ``grad f`` and the true normal, at true
  surface points;
* ``eikonal``: mean ``||grad f| - 1|`` at points uniform in the box;
* ``sdf_error``: mean ``|f - sdf|`` at those points, where the true signed distance is known;
* ``mean_curvature_error`` / ``gaussian_curvature_error``: mean ``|H - H*|`` and ``|K - K*|`` at
  true surface points of a shape with exact curvature (``Solid.curvature``: closed forms on the
  sphere, torus and ellipsoid, away from the edges on ``csg``), and the same divided by
  ``mean |H*|`` / ``mean |K*|`` (``*_rel_error``). The field's curvature uses its own
  derivative method.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from scipy.spatial import cKDTree
from torch import Tensor

from ...field import Field
from ...geometry.mesh import sample_surface
from .curvature import field_curvature
from .data import Frame, SdfTarget

__all__ = ["chamfer_distance", "normal_angle", "sdf_metrics", "metrics_in_frame", "markdown_table"]

_LENGTHS = {
    "chamfer": -1,
    "sdf_error": -1,
    "mean_curvature_error": 1,
    "gaussian_curvature_error": 2,
}
"""Scores with a unit, by the power of the frame's ``scale`` that takes them to input units."""


def metrics_in_frame(metrics: Mapping[str, Any], frame: Frame) -> dict[str, Any]:
    """The scores of :func:`sdf_metrics` (box units) in the input's units: distances divided
    by the frame's ``scale``, curvature errors times ``scale`` (``K``: ``scale**2``); angles,
    the eikonal error and relative errors have no unit."""
    out = dict(metrics)
    for key, power in _LENGTHS.items():
        if out.get(key) is not None and math.isfinite(out[key]):
            out[key] = out[key] * frame.scale**power
    return out


def chamfer_distance(a: Tensor, b: Tensor) -> float:
    """Symmetric Chamfer distance between point sets ``a (N, 3)`` and ``b (M, 3)``: the mean
    distance from each point to the other set, averaged over both directions."""
    pa, pb = a.detach().double().cpu().numpy(), b.detach().double().cpu().numpy()
    to_b = cKDTree(pb).query(pa)[0]
    to_a = cKDTree(pa).query(pb)[0]
    return float(0.5 * (to_b.mean() + to_a.mean()))


def normal_angle(grad: Tensor, normals: Tensor) -> Tensor:
    """``(N,)`` angle in degrees between ``grad (N, 3)`` and ``normals (N, 3)``."""
    cosine = torch.nn.functional.cosine_similarity(grad, normals.to(grad), dim=1, eps=1e-12)
    return torch.rad2deg(torch.arccos(cosine.clamp(-1.0, 1.0)))


def _first_order(field: Field, x: Tensor, derivatives: str) -> tuple[Tensor, Tensor]:
    """``(f (N,), grad f (N, 3))`` at ``x`` without a graph, in float64 on the CPU."""
    parameter = next(field.parameters())
    x = x.to(dtype=parameter.dtype, device=parameter.device)
    with torch.set_grad_enabled(derivatives == "autograd"):
        u = field.jet(x, order=1, derivatives=derivatives)
    return u.value[:, 0].detach().double().cpu(), u.grad[:, 0].detach().double().cpu()


def sdf_metrics(
    field: Field,
    target: SdfTarget,
    vertices: np.ndarray,
    faces: np.ndarray,
    samples: int = 20_000,
    chamfer_points: int = 100_000,
    seed: int = 1,
    derivatives: str | None = None,
) -> dict[str, Any]:
    """Every score of the module docstring for a field whose zero set meshes to
    ``(vertices, faces)``.

    Args:
        field: the fitted field on ``[-1, 1]^3``.
        target: what it was fitted to.
        vertices, faces: the field's extracted zero set (see :mod:`.export`).
        samples: true surface points and box points where the field's derivatives are scored.
        chamfer_points: points per set of the Chamfer distance.
        seed: seeds the draws (a different one from training's).
        derivatives: the derivative method (``None``: the field's).

    Returns:
        The scores; those without a ground truth are ``None``; ``chamfer`` is ``inf`` for an
        empty mesh.
    """
    derivatives = derivatives or field.derivatives
    generator = torch.Generator().manual_seed(seed)
    solid = target.solid
    if solid is not None:
        dense, dense_normals = solid.sample_surface(chamfer_points, generator)
    else:
        pick = torch.randperm(len(target.points), generator=generator)[:chamfer_points]
        dense, dense_normals = target.points[pick], target.normals[pick]
    truth, normals = dense[:samples], dense_normals[:samples]
    chamfer = math.inf
    if len(faces):
        on_mesh, _ = sample_surface(vertices, faces, len(dense), generator)
        chamfer = chamfer_distance(on_mesh, dense)
    _, grad = _first_order(field, truth, derivatives)
    box = torch.rand(samples, 3, generator=generator, dtype=torch.float64) * 2.0 - 1.0
    value, box_grad = _first_order(field, box, derivatives)
    metrics: dict[str, Any] = {
        "chamfer": chamfer,
        "normal_angle": float(normal_angle(grad, normals).mean()),
        "eikonal": float((box_grad.norm(dim=1) - 1.0).abs().mean()),
        "sdf_error": None,
        "mean_curvature_error": None,
        "mean_curvature_rel_error": None,
        "gaussian_curvature_error": None,
        "gaussian_curvature_rel_error": None,
    }
    if solid is not None and solid.exact:
        metrics["sdf_error"] = float((value - solid.sdf(box)).abs().mean())
    if solid is not None and solid.curvature is not None:
        *exact, defined = solid.curvature(truth)
        found = field_curvature(field, truth[defined], derivatives)
        for name, h, h_star in zip(("mean", "gaussian"), found, exact):
            h_star = h_star[defined]
            error = float((h.double().cpu() - h_star).abs().mean())
            metrics[f"{name}_curvature_error"] = error
            metrics[f"{name}_curvature_rel_error"] = error / float(h_star.abs().mean())
    metrics["mesh_vertices"], metrics["mesh_faces"] = len(vertices), len(faces)
    return metrics


def _number(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def markdown_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """One Markdown row per fitted SDF: shape, method, Chamfer, normal angle, eikonal, curvature
    errors, steps, wall time and ms per step.

    Args:
        rows: the ``metrics`` of :class:`~smoothgrid.apps.sdf.SdfResult` s.
    """
    lines = [
        "| shape | method | Chamfer | normal angle (deg) | eikonal | mean curv. rel. err. "
        "| Gauss curv. rel. err. | steps | wall time (s) | ms/step |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in rows:
        lines.append(
            f"| {m['target']} | {m['method']} | {m['chamfer']:.2e} | {m['normal_angle']:.2f} | "
            f"{m['eikonal']:.3f} | {_number(m['mean_curvature_rel_error'], '.3f')} | "
            f"{_number(m['gaussian_curvature_rel_error'], '.3f')} | {m['steps']} | "
            f"{m['wall_time']:.1f} | {m['ms_per_step']:.1f} |"
        )
    return "\n".join(lines)
