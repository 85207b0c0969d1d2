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
  derivative method;
* ``mean_curvature_roughness`` / ``gaussian_curvature_roughness``: how blocky the curvature
  picture is (:func:`curvature_roughness`): the mean jump of the curvature *error* between the
  two ends of an edge of the extracted mesh, over ``mean |H*|`` (``|K*|``). An exact field
  scores ~0 and so does a smooth error of any size; steps of the curvature at cell faces,
  which a picture shows as blocks, score their height times the share of edges that cross a
  face. The exact curvature at a vertex is the shape's at the vertex projected onto the true
  surface; vertices farther than :data:`ROUGHNESS_BAND` from it (a spurious piece of surface)
  are left out. Comparable between fields meshed at the same resolution.
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
from ...geometry import project_to_surface
from ...geometry.mesh import sample_surface
from .curvature import field_curvature
from .data import Frame, SdfTarget

__all__ = [
    "chamfer_distance",
    "normal_angle",
    "mesh_edges",
    "curvature_roughness",
    "ROUGHNESS_BAND",
    "sdf_metrics",
    "metrics_in_frame",
    "markdown_table",
]

ROUGHNESS_BAND = 0.02
"""Mesh vertices farther than this from the true surface (domain units; under a cell of the
default grid's finest level) are left out of the roughness: no true curvature belongs to them."""

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


def mesh_edges(faces: np.ndarray) -> np.ndarray:
    """``(E, 2)`` vertex pairs of the distinct edges of triangles ``faces (F, 3)``."""
    faces = np.asarray(faces, dtype=np.int64)
    pairs = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    return np.unique(np.sort(pairs, axis=1), axis=0)


def curvature_roughness(
    faces: np.ndarray, found: np.ndarray, exact: np.ndarray, defined: np.ndarray | None = None
) -> float:
    """Mean jump of the curvature error along the edges of a mesh, relative to the curvature.

    ``mean_edges |(c_i - c_j) - (c*_i - c*_j)| / mean_vertices |c*|`` over the edges ``(i, j)``
    of ``faces`` whose ends are both ``defined``: the part of the error that changes from one
    vertex to the next. A smooth error (a bias, a slow drift) adds only its gradient times an
    edge length; a step of height ``s`` at cell faces adds ``s`` on every edge that crosses one.

    Args:
        faces: ``(F, 3)`` triangles.
        found: ``(V,)`` the field's curvature at the vertices.
        exact: ``(V,)`` the true curvature there.
        defined: ``(V,)`` where ``exact`` exists (``None``: everywhere).

    Returns:
        The roughness (no unit), ``nan`` without an edge or curvature to score.
    """
    found, exact = np.asarray(found, np.float64), np.asarray(exact, np.float64)
    defined = np.ones(len(exact), bool) if defined is None else np.asarray(defined, bool)
    edges = mesh_edges(faces) if len(faces) else np.zeros((0, 2), np.int64)
    edges = edges[defined[edges].all(1)]
    scale = np.abs(exact[defined]).mean() if defined.any() else 0.0
    if len(edges) == 0 or not scale > 0:
        return math.nan
    error = found - exact
    return float(np.abs(error[edges[:, 0]] - error[edges[:, 1]]).mean() / scale)


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
    vertex_curvature: tuple[np.ndarray, np.ndarray] | None = None,
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
        vertex_curvature: ``(H (V,), K (V,))`` of the field at ``vertices`` if already known
            (:class:`~.export.SurfaceMesh`), else computed here.

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
        "mean_curvature_roughness": None,
        "gaussian_curvature_roughness": None,
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
        if len(faces):
            metrics.update(_roughness(field, solid, vertices, faces, derivatives, vertex_curvature))
    metrics["mesh_vertices"], metrics["mesh_faces"] = len(vertices), len(faces)
    return metrics


def _roughness(field, solid, vertices, faces, derivatives, vertex_curvature) -> dict[str, float]:
    """The ``*_curvature_roughness`` scores of a mesh of the field (see the module docstring)."""
    if vertex_curvature is None:
        h, k, _ = field_curvature(field, torch.from_numpy(np.asarray(vertices)), derivatives)
        vertex_curvature = (h.double().cpu().numpy(), k.double().cpu().numpy())
    mesh = torch.from_numpy(np.asarray(vertices, dtype=np.float64))
    on_surface, _ = project_to_surface(solid.sdf, mesh)
    *exact, defined = solid.curvature(on_surface)
    defined = defined & ((on_surface - mesh).norm(dim=1) < ROUGHNESS_BAND)
    return {
        f"{name}_curvature_roughness": curvature_roughness(
            faces, found, star.numpy(), defined.numpy()
        )
        for name, found, star in zip(("mean", "gaussian"), vertex_curvature, exact)
    }


def _number(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def markdown_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """One Markdown row per fitted SDF: shape, method, Chamfer, normal angle, eikonal, curvature
    errors and roughness, steps, wall time and ms per step.

    Args:
        rows: the ``metrics`` of :class:`~smoothgrid.apps.sdf.SdfResult` s.
    """
    lines = [
        "| shape | method | Chamfer | normal angle (deg) | eikonal | mean curv. rel. err. "
        "| Gauss curv. rel. err. | H roughness | K roughness | steps | wall time (s) | ms/step |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in rows:
        lines.append(
            f"| {m['target']} | {m['method']} | {m['chamfer']:.2e} | {m['normal_angle']:.2f} | "
            f"{m['eikonal']:.3f} | {_number(m['mean_curvature_rel_error'], '.3f')} | "
            f"{_number(m['gaussian_curvature_rel_error'], '.3f')} | "
            f"{_number(m.get('mean_curvature_roughness'), '.4f')} | "
            f"{_number(m.get('gaussian_curvature_roughness'), '.4f')} | {m['steps']} | "
            f"{m['wall_time']:.1f} | {m['ms_per_step']:.1f} |"
        )
    return "\n".join(lines)
