"""Fit a signed distance field to an oriented point cloud with the SIREN loss.

Each step draws ``batch`` surface points (with their normals) from the target's pool and
``batch`` points uniform in ``[-1, 1]^3``, evaluates the field's first-order jet on both (analytic
for smoothgrid's grids, the method's own derivatives for a baseline: finite differences for
``ingp_fd``), and takes one Adam step on the weighted SIREN loss (:mod:`.losses`). Then the zero
set is meshed with its curvature (:mod:`.export`) and scored (:mod:`.metrics`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ... import baselines
from ...field import Field, HardConstraint
from ...jet import Jet, sqrt
from ...train import Budget, Schedule
from ...train.loop import Task, run_task
from ...train.runs import write_metrics
from ...train.schedule import scale_levels
from ...train.settings import SettingsError, check_count
from ...train.state import RunState, Samples
from .data import Frame, SdfTarget, load_target
from .export import SurfaceMesh, extract_mesh, mesh_in_frame, write_ply
from .jumps import face_jump
from .losses import ALPHA, SDF_WEIGHTS, sdf_terms, total_loss
from .metrics import metrics_in_frame, sdf_metrics
from .plots import plot_curvature, plot_slices

__all__ = [
    "restore_field",
    "SdfResult",
    "SDF_GRID",
    "INIT_RADIUS",
    "sdf_field",
    "SpherePrior",
    "fit_sdf",
]

SDF_GRID = dict(levels=8, features=2, min_res=4, max_res=64, log2_table=16)
"""Grid of the grid methods for an SDF on ``[-1, 1]^3`` (the baselines' 3D CPU size)."""

INIT_RADIUS = 0.5
"""Radius of the sphere a field starts from (:class:`SpherePrior`), in domain units."""


@dataclass
class SdfResult:
    """The outcome of :func:`fit_sdf`.

    Attributes:
        metrics: the scores of :func:`~smoothgrid.apps.sdf.metrics.sdf_metrics` and ``loss``
            (the last batch's weighted loss), ``steps``, ``wall_time`` (training seconds),
            ``ms_per_step``, ``parameters``, ``method``, ``derivatives``, ``target``,
            ``resolution``.
        field: the trained field.
        mesh: its zero set with normals and curvature.
        out: the directory written, or ``None``.
    """

    metrics: dict[str, Any]
    field: Field
    mesh: SurfaceMesh
    out: str | None = None


class SpherePrior(HardConstraint):
    """``f = sqrt(|x|^2 + eps^2) - radius + N(x)``: the field starts near the distance to a
    sphere (IDR's and Neuralangelo's geometric initialisation) and the network ``N`` learns the
    difference. ``eps`` (domain units) keeps the offset smooth at the origin.

    Attributes:
        radius, eps: as given (recorded in the checkpoint, to rebuild the field).
    """

    def __init__(self, radius: float = INIT_RADIUS, eps: float = 0.1) -> None:
        self.radius, self.eps = float(radius), float(eps)

        def one(X: Jet) -> Jet:
            return X[..., 0] * 0.0 + 1.0

        def offset(X: Jet) -> Jet:
            square = X[..., 0] ** 2 + X[..., 1] ** 2 + X[..., 2] ** 2
            return sqrt(square + self.eps**2) - self.radius

        super().__init__(one, offset)


def sdf_field(method: str, init_radius: float | None = INIT_RADIUS, **grid: Any) -> Field:
    """Method ``method``'s field (:func:`smoothgrid.baselines.make`) on ``[-1, 1]^3``; a grid
    method gets :data:`SDF_GRID` updated by ``grid``. With ``init_radius`` the field starts as
    the distance to that sphere (:class:`SpherePrior`). Seed torch first for a reproducible
    init."""
    field = baselines.make(method, dim=3)
    if field.encoding.levels:
        field = baselines.make(method, dim=3, **{**SDF_GRID, **grid})
    elif grid:
        raise ValueError(f"method {method!r} has no grid; got grid options {sorted(grid)}")
    field.set_bounds(-1.0, 1.0)
    if init_radius is not None:
        field.constraint = SpherePrior(init_radius)
    return field


def restore_field(field: Field, config: dict) -> None:
    """Put back what a run's ``config.yaml`` records beside the field (``sg.load``): the sphere
    prior the field was trained with."""
    prior = config.get("sphere_prior")
    if prior:
        field.constraint = SpherePrior(prior["radius"], prior["eps"])


JUMP_SHARE = 4
"""With a ``face_jump`` weight, the first ``batch // JUMP_SHARE`` surface points of a step are
also snapped to cell faces (of a random active level each, along the axis that moves the point
least) for it."""


class SdfTask(Task):
    """Each step: ``batch`` surface points with their normals from the target's pool and
    ``batch`` points uniform in ``[-1, 1]^3``; the weighted SIREN loss of the field's first-order
    jet there (:mod:`.losses`), and the ``face_jump`` term if it has a weight."""

    def __init__(self, field: Field, target: SdfTarget, batch: int, weights, alpha: float) -> None:
        self.desc = "sdf"
        self.field, self.target, self.batch = field, target, batch
        self.weights, self.alpha = weights, alpha
        p = next(field.parameters())
        self.points = target.points.to(device=p.device, dtype=torch.float32)
        self.normals = target.normals.to(device=p.device, dtype=torch.float32)

    def sample(self, generator, previous, step: int) -> Samples:
        device = self.points.device
        pick = torch.randint(len(self.points), (self.batch,), generator=generator, device=device)
        box = torch.rand(self.batch, 3, generator=generator, device=device) * 2.0 - 1.0
        samples = {"surface": {"index": pick}, "box": {"x": box}}
        if self.weights.get("face_jump", 0.0) > 0.0:
            n = max(1, self.batch // JUMP_SHARE)
            active = torch.tensor(self.field.encoding.active_levels, device=device)
            which = torch.randint(len(active), (n,), generator=generator, device=device)
            samples["jump"] = {"level": active[which]}
        return samples

    def loss(self, samples: Samples):
        pick, box = samples["surface"]["index"], samples["box"]["x"]
        derivatives = self.field.derivatives
        surface = self.field.jet(self.points[pick], order=1, derivatives=derivatives)
        off_surface = self.field.jet(box, order=1, derivatives=derivatives)
        terms = sdf_terms(surface, self.normals[pick], off_surface, self.target.sign(box),
                          self.alpha)  # fmt: skip
        if "jump" in samples:
            level = samples["jump"]["level"]
            terms["face_jump"] = face_jump(self.field, self.points[pick[: len(level)]], level)
        return total_loss(terms, self.weights), {}


def fit_sdf(
    target: SdfTarget | str | os.PathLike,
    method: str = "hermite",
    field: Field | None = None,
    steps: int | None = None,
    time_budget: float | None = None,
    batch: int = 4096,
    lr: float | None = None,
    decoder_lr: float | None = None,
    level_scale: str | None = None,
    final_lr_factor: float = 0.1,
    weights: Mapping[str, float] | None = None,
    alpha: float = ALPHA,
    resolution: int = 96,
    seed: int = 0,
    device: str | torch.device = "cpu",
    out: str | os.PathLike | None = None,
    resume: bool = False,
    progress: bool = False,
    compile: bool = False,
) -> SdfResult:
    """Fit a signed distance field to ``target`` and score it.

    Args:
        target: an :class:`~smoothgrid.apps.sdf.data.SdfTarget`, or a shape name, mesh file or
            point cloud file for :func:`~smoothgrid.apps.sdf.data.load_target`.
        method: the method whose field is built (:func:`sdf_field`) and whose ``lr``,
            ``decoder_lr`` and ``level_scale`` are the defaults
            (:func:`smoothgrid.baselines.settings`); recorded also when ``field`` is given.
        field: the 3D field to train (its box is set to ``[-1, 1]^3``); default
            :func:`sdf_field` of ``method``.
        steps: Adam steps; or
        time_budget: training seconds (meshing and scoring excluded). Exactly one; totals.
        batch: surface points per step, and as many points in the box.
        lr, decoder_lr: learning rates of the encoding's tables and the rest; both decay
            exponentially to ``final_lr_factor`` times their start.
        level_scale: per-level step scale of a grid (:func:`smoothgrid.train.level_scales`).
        weights: loss term -> weight, updating :data:`~.losses.SDF_WEIGHTS`. The ``face_jump``
            regulariser (:mod:`.jumps`) has its default weight only on a grid with analytic
            jets (smoothgrid's methods; the baselines keep SIREN's loss); give ``0`` to turn
            it off, or a weight to add it to any grid.
        alpha: decay of the off-surface term (inverse domain units).
        resolution: marching-cubes nodes per axis of the output mesh.
        seed: seeds the field's initialisation (when built here) and the draws.
        device: ``"cpu"``, ``"cuda"``, ...
        out: a directory for ``checkpoint.pt`` (+ ``.json``), ``config.yaml``, ``mesh.ply``
            (normals and curvature per vertex), ``metrics.json``, ``slices.png`` and
            ``curvature.png``.
        resume: continue from ``out/checkpoint.pt`` (the same arguments otherwise).
        progress: show a progress bar.
        compile: run the decoder's jet through ``torch.compile`` (see
            :mod:`smoothgrid.train.compiled`).

    Returns:
        An :class:`SdfResult`.

    Raises:
        ValueError: unknown names, a bad budget or target. DivergedError: a non-finite loss.

    Example:
        >>> result = fit_sdf("torus", time_budget=60, out="runs/torus")    # doctest: +SKIP
        >>> result.metrics["mean_curvature_rel_error"]                    # doctest: +SKIP
    """
    budget = Budget(steps=steps, time_budget=time_budget)
    _check_options(batch, weights)
    if not isinstance(target, SdfTarget):
        target = load_target(target, seed=seed)
    schedule = _schedule(method, lr, decoder_lr, level_scale, final_lr_factor)
    device = torch.device(device)
    if field is None:
        torch.manual_seed(seed)
        field = sdf_field(method)
    weights = _loss_weights(field, method, weights)
    field.set_bounds(-1.0, 1.0)
    scale_levels(field, schedule.level_scale)
    field.to(device=device, dtype=torch.float32)
    record = _record(field, target, method, batch, seed, alpha, weights, budget, schedule)
    task = SdfTask(field, target, batch, weights, alpha)
    state = run_task(task, field, budget, schedule, seed=seed, out=out, resume=resume,
                     progress=progress, record=record, compile=compile)  # fmt: skip
    metrics, mesh = _evaluate(field, target, resolution)
    metrics.update(_run_metrics(state, field, method, target, resolution))
    if out is not None:
        _write(Path(out), field, mesh, metrics, target.frame)
    return SdfResult(metrics, field, mesh, None if out is None else str(out))


def _check_options(batch: int, weights: Mapping[str, float] | None) -> None:
    """Refuse a bad ``batch`` (an integer >= 1) or an unknown loss term of ``weights`` before
    anything is built."""
    check_count("batch", batch)
    unknown = sorted(set(weights or {}) - set(SDF_WEIGHTS))
    if unknown:
        raise SettingsError(f"unknown loss terms {unknown}; the terms are {sorted(SDF_WEIGHTS)}")


def _schedule(
    method: str,
    lr: float | None,
    decoder_lr: float | None,
    level_scale: str | None,
    final_lr_factor: float,
) -> Schedule:
    """Exponentially decaying rates: those given, the others ``method``'s recommended ones
    (:func:`smoothgrid.baselines.settings`)."""
    lr, decoder_lr = baselines.rates(method, lr, decoder_lr)
    if level_scale is None:
        level_scale = baselines.settings(method).get("level_scale", "none")
    return Schedule(lr=lr, decoder_lr=decoder_lr, decay="exp",
                    final_lr_factor=final_lr_factor, level_scale=level_scale)  # fmt: skip


def _loss_weights(
    field: Field, method: str, weights: Mapping[str, float] | None
) -> dict[str, float]:
    """:data:`~.losses.SDF_WEIGHTS` updated by ``weights``. ``face_jump`` keeps its default
    weight only on a grid with analytic jets (the baselines keep SIREN's loss) unless given.

    Raises:
        SettingsError: ``field`` is not 3D with one output, or ``face_jump`` is weighted on a
            field without a grid.
    """
    if field.dim != 3 or field.out != 1:
        raise SettingsError(
            f"an SDF needs a 3D field with one output, got d={field.dim}, C={field.out}"
        )
    given = dict(weights or {})
    weights = {**SDF_WEIGHTS, **given}
    if "face_jump" not in given and not (field.encoding.levels and field.derivatives == "jet"):
        weights["face_jump"] = 0.0  # the default is for smoothgrid's grids; baselines keep SIREN's
    if weights["face_jump"] > 0 and not field.encoding.levels:
        raise SettingsError(f"face_jump needs a grid method (cell faces); {method!r} has no grid")
    return weights


def _record(
    field: Field,
    target: SdfTarget,
    method: str,
    batch: int,
    seed: int,
    alpha: float,
    weights: dict[str, float],
    budget: Budget,
    schedule: Schedule,
) -> dict[str, Any]:
    """The run's configuration (``config.yaml`` and checkpoints), the sphere prior included so
    that :func:`restore_field` can rebuild the field."""
    prior = field.constraint
    return {
        "app": "sdf", "target": target.name, "method": method, "batch": batch, "seed": seed,
        "alpha": alpha, "weights": weights, "frame": target.frame.as_dict(), **field.config(),
        "sphere_prior": {"radius": prior.radius, "eps": prior.eps}
        if isinstance(prior, SpherePrior) else None,
        **budget.options(), **schedule.options(),
    }  # fmt: skip


def _evaluate(
    field: Field, target: SdfTarget, resolution: int
) -> tuple[dict[str, Any], SurfaceMesh]:
    """Mesh the zero set on ``resolution^3`` marching-cubes nodes of ``[-1, 1]^3`` and score it
    against ``target`` (:func:`~.metrics.sdf_metrics`); the scores and the mesh both in the
    target's own frame (its units)."""
    field.eval()
    derivatives = field.derivatives
    box_mesh = extract_mesh(field, resolution, derivatives)
    scores = sdf_metrics(
        field, target, box_mesh.vertices, box_mesh.faces, derivatives=derivatives,
        vertex_curvature=(box_mesh.mean_curvature, box_mesh.gaussian_curvature),
    )  # fmt: skip
    return metrics_in_frame(scores, target.frame), mesh_in_frame(box_mesh, target.frame)


def _run_metrics(
    state: RunState, field: Field, method: str, target: SdfTarget, resolution: int
) -> dict[str, Any]:
    """The run's entries of :attr:`SdfResult.metrics` beside the scores:
    :meth:`~smoothgrid.train.state.RunState.summary` (loss, steps, seconds, parameters) and
    the options."""
    return dict(
        **state.summary(field),
        method=method,
        derivatives=field.derivatives,
        target=target.name,
        resolution=resolution,
        frame=target.frame.as_dict(),
    )


def _write(
    out: Path, field: Field, mesh: SurfaceMesh, metrics: dict[str, Any], frame: Frame
) -> None:
    """Write ``metrics.json``, ``mesh.ply``, ``slices.png`` and (a non-empty mesh)
    ``curvature.png`` into ``out``."""
    write_metrics(out, metrics)
    write_ply(out / "mesh.ply", mesh)
    title = f"{metrics['method']} on {metrics['target']}: Chamfer {metrics['chamfer']:.2e}"
    plot_slices(field, out / "slices.png", derivatives=metrics["derivatives"], title=title,
                frame=frame)  # fmt: skip
    if len(mesh.faces):
        plot_curvature(mesh, out / "curvature.png", title=title)
