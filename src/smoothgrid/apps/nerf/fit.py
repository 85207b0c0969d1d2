"""Fit a radiance field and the training cameras' poses jointly, from noisy poses.

Each step draws ``batch`` random pixels of the training views, builds their rays through the
refined poses ``c2w' = exp(xi_i) c2w_i`` (:class:`smoothgrid.render.PoseCorrection`, zero at
start), renders them (:func:`smoothgrid.render.render_rays`: stratified jittered samples,
occupancy skipping) and takes one Adam step on the photometric mean square error, with three
parameter groups: the grid tables (``lr``), the MLPs (``decoder_lr``) and the poses
(``pose_lr``); all rates decay together. The curriculum (``curriculum=True``) weighs the grid's
levels with BARF's schedule: level ``l`` fades in while ``alpha = L (p - 0.1) / 0.4`` runs from
``l`` to ``l + 1`` (``p``: the fraction of the budget spent), so all levels are on from 50 %.

Poses are scored as BARF does: the refined training poses are aligned to the true ones by the
similarity (Sim(3)) that best maps their centres onto the true centres; the rotation error is
the geodesic angle and the translation error the centre distance after that alignment
(means over the cameras). Test views are rendered from the true test poses mapped into the
refined frame by the inverse of that similarity (no test-time pose optimisation).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ... import render
from ...train import Budget, Output, Schedule
from ...train.curriculum import barf_level_weights
from ...train.distributed import stream_seed
from ...train.loop import Loop, Task
from ...train.runs import write_metrics
from ...train.settings import SettingsError, check_count
from ...train.state import RunState, Samples
from .data import NerfViews, load_views, noisy_poses, parse_pose_noise
from .metrics import psnr, ssim
from .model import RadianceField, method_names, radiance_field
from .plots import plot_cameras, plot_pose_history, plot_test_views

__all__ = ["CURRICULUM", "NerfModel", "NerfResult", "fit_nerf", "method_label"]

CURRICULUM = (0.1, 0.5)
"""Fractions of the budget over which the grid's levels fade in (BARF's schedule)."""

_RECORDED = ("scene", "method", "label", "st_lambda", "st_mode", "soft_curriculum",
             "pose_noise", "refine", "seed")  # fmt: skip
"""Options of a run copied into its metrics."""


def method_label(method: str, st_lambda: float, st_mode: str, curriculum: bool) -> str:
    """``st(axis, 1)`` for straight-through, the method's name otherwise; ``+c2f`` with the
    curriculum."""
    label = f"st({st_mode}, {st_lambda:g})" if method == "st" else method
    return label + (" +c2f" if curriculum else "")


class NerfModel(nn.Module):
    """What one run trains and checkpoints: the radiance field, the pose corrections of the
    ``n`` training cameras and the occupancy grid (buffers)."""

    def __init__(
        self, field: RadianceField, n: int, frame: str, occupancy: render.OccupancyGrid | None
    ) -> None:
        super().__init__()
        self.field = field
        self.poses = render.PoseCorrection(n, frame)
        self.occupancy = occupancy


@dataclass
class NerfResult:
    """The outcome of :func:`fit_nerf`.

    Attributes:
        metrics: ``psnr``, ``ssim`` (test views, means), ``rotation_error_deg`` and
            ``translation_error`` (after Sim(3) alignment, means over the training cameras),
            their ``initial_*`` values, ``loss``, ``steps``, ``wall_time`` (training seconds),
            ``ms_per_step`` and the run's options.
        history: one row per evaluation (step, loss, pose errors).
        model: the trained :class:`NerfModel`.
        refined: ``(N, 4, 4)`` refined training poses aligned to the true ones.
        test_rgb: ``(M, H, W, 3)`` rendered test views.
        out: the directory written, or ``None``.
    """

    metrics: dict[str, Any]
    history: list[dict[str, Any]]
    model: NerfModel
    refined: Tensor
    test_rgb: Tensor
    out: str | None = None


class NerfTask(Task):
    """Random pixels of the training views, rendered through the refined poses; the mean square
    error of their colours (see the module docstring)."""

    desc = "nerf"
    target_metric = "rotation_error_deg"

    def __init__(self, model: NerfModel, views: NerfViews, initial: Tensor, options: dict) -> None:
        self.model, self.views, self.initial, self.options = model, views, initial, options
        self.encoding = model.field.encoding

    def before_step(self, progress: float) -> None:
        if not self.options["curriculum"]:
            return
        start, end = CURRICULUM
        levels = self.encoding.levels
        alpha = levels * min(max((progress - start) / (end - start), 0.0), 1.0)
        self.encoding.set_level_weights(barf_level_weights(alpha, levels))

    def sample(self, generator: torch.Generator, previous, step: int) -> Samples:
        grid = self.model.occupancy
        if grid is not None:
            grid.update(self.model.field.sigma, step, generator)
        index, pixels = render.random_pixels(self.views.train, self.options["batch"], generator)
        seed = torch.randint(2**62, (1,), generator=generator)
        return {"rays": {"index": index, "pixels": pixels, "seed": seed}}

    def refined(self) -> Tensor:
        """``(N, 4, 4)`` the current training poses."""
        return self.model.poses(self.initial)

    def loss(self, samples: Samples) -> tuple[Tensor, dict[str, Tensor]]:
        rays = samples["rays"]
        index, pixels = rays["index"], rays["pixels"]
        cams = self.views.train.with_poses(self.refined())
        origins, directions = render.generate_rays(cams, index, pixels)
        jitter = torch.Generator(device=origins.device).manual_seed(int(rays["seed"]))
        out = render.render_rays(
            self.model.field, origins, directions, self.views.box, self.options["n_samples"],
            jitter=True, generator=jitter, background=1.0, occupancy=self.model.occupancy,
        )  # fmt: skip
        target = self.views.train_images[index, pixels[:, 1], pixels[:, 0]]
        return (out.rgb - target).square().mean(), {}

    @torch.no_grad()
    def evaluate(self) -> dict[str, Any]:
        rot, trans = render.pose_errors(self.refined().double(), self.views.train.c2w.double())
        return {"rotation_error_deg": rot.mean().item(), "translation_error": trans.mean().item()}


def _optimizer(model: NerfModel, schedule: Schedule, pose_lr: float, refine: bool):
    """Adam with the grid tables, the MLPs and (when refining) the poses in their own groups."""
    grid = list(model.field.encoding.parameters())
    ids = {id(p) for p in grid}
    mlps = [p for p in model.field.parameters() if id(p) not in ids]
    lr, decoder_lr = schedule.rates
    groups = [{"params": grid, "lr": lr, "base_lr": lr},
              {"params": mlps, "lr": decoder_lr, "base_lr": decoder_lr}]  # fmt: skip
    model.poses.xi.requires_grad_(refine)
    if refine:
        groups.append({"params": [model.poses.xi], "lr": pose_lr, "base_lr": pose_lr})
    return torch.optim.Adam(groups, betas=(0.9, 0.99), eps=1e-15)


@torch.no_grad()
def _render_test(model: NerfModel, views: NerfViews, sim: render.Sim3, n_samples: int) -> Tensor:
    """``(M, H, W, 3)`` test views from the true test poses mapped into the refined frame."""
    c2w = sim.inverse().apply_poses(views.test.c2w.double()).to(views.test.c2w.dtype)
    cams = views.test.with_poses(c2w)
    return render.render_views(model.field, cams, views.box, n_samples, background=1.0,
                               occupancy=model.occupancy).rgb.clamp(0, 1)  # fmt: skip


def _check(
    method: str, st_lambda: float, st_mode: str, batch: int, n_samples: int, pose_lr: float
) -> None:
    """Refuse a bad option of :func:`fit_nerf` before anything is built."""
    check_count("batch", batch)
    check_count("n_samples", n_samples)
    if not pose_lr > 0:
        raise SettingsError(f"pose_lr must be > 0, got {pose_lr!r}")
    if method not in method_names():
        raise SettingsError(f"unknown NeRF method {method!r}; known: {', '.join(method_names())}")
    if st_mode not in ("axis", "corner"):
        raise SettingsError(f"st_mode must be 'axis' or 'corner', got {st_mode!r}")
    if method == "st" and not st_lambda > 0:
        raise SettingsError(f"st_lambda must be > 0, got {st_lambda!r}")


def _score(
    model: NerfModel, task: NerfTask, views: NerfViews, initial: Tensor, n_samples: int
) -> tuple[dict[str, Any], Tensor, Tensor]:
    """Pose errors (initial and refined, after Sim(3) alignment to the true poses) and the test
    views' PSNR / SSIM rendered through the inverse alignment; also the aligned poses
    ``(N, 4, 4)`` and the test renderings ``(V, H, W, 3)``."""
    model.eval()
    with torch.no_grad():
        true = views.train.c2w.double()
        refined_raw = task.refined().double()
        rot, trans = render.pose_errors(refined_raw, true)
        rot0, trans0 = render.pose_errors(initial.double(), true)
        aligned, sim = render.align_poses(refined_raw, true)
    test_rgb = _render_test(model, views, sim, n_samples)
    predictions, truths = test_rgb.cpu().numpy(), views.test_images.cpu().numpy()
    scores = {
        "psnr": float(np.mean([psnr(p, t) for p, t in zip(predictions, truths)])),
        "ssim": float(np.mean([ssim(p, t) for p, t in zip(predictions, truths)])),
        "rotation_error_deg": rot.mean().item(),
        "translation_error": trans.mean().item(),
        "initial_rotation_error_deg": rot0.mean().item(),
        "initial_translation_error": trans0.mean().item(),
    }
    return scores, aligned, test_rgb


def fit_nerf(
    views: NerfViews | str | os.PathLike | None = None,
    method: str = "st",
    st_lambda: float = 1.0,
    st_mode: str = "axis",
    curriculum: bool = True,
    field: RadianceField | None = None,
    pose_noise: str | tuple[float, float] = (5.0, 0.1),
    refine: bool = True,
    pose_frame: str = "camera",
    steps: int | None = None,
    time_budget: float | None = None,
    batch: int = 1024,
    n_samples: int = 64,
    lr: float = 3e-2,
    decoder_lr: float = 1e-2,
    pose_lr: float = 3e-3,
    final_lr_factor: float = 0.1,
    occupancy: bool = True,
    grid: dict[str, Any] | None = None,
    eval_every: int = 25,
    seed: int = 0,
    device: str | torch.device = "cpu",
    out: str | os.PathLike | None = None,
    resume: bool = False,
    progress: bool = False,
) -> NerfResult:
    """Fit a radiance field, refining the training poses from noisy ones, and score it.

    Args:
        views: :class:`~.data.NerfViews`, or a SOURCE for :func:`~.data.load_views` (a
            procedural scene name or a Blender folder; ``None``: the default scene).
        method: ``linear``, ``cosine``, ``st`` or another grid encoding (:mod:`.model`).
        st_lambda, st_mode: the straight-through mix of ``st``.
        curriculum: BARF's soft coarse-to-fine level weights (:data:`CURRICULUM`).
        field: a radiance field to continue training (e.g. one fitted on the true poses), on
            ``views.box``; default a new one of ``method``. When given, ``method`` and the
            ``st_*`` options only label the run.
        pose_noise: ``(degrees, world units)`` or ``"DEG,UNITS"``: each training pose is turned
            and moved by exactly these amounts (seeded by ``seed``); ``(0, 0)``: the true poses.
        refine: optimise the pose corrections (``False``: the field alone, on the noisy poses).
        pose_frame: ``"camera"`` (``c2w exp(xi)``) or ``"world"`` (BARF's ``exp(xi) c2w``).
        steps: Adam steps; or
        time_budget: training seconds (scoring excluded). Exactly one; totals.
        batch: rays per step.
        n_samples: stratified samples per ray.
        lr, decoder_lr, pose_lr: the three groups' starting rates; all decay exponentially to
            ``final_lr_factor`` times their start. (On a tiny scene, 200 steps: grid rate 3e-2
            reached 22.4 dB test PSNR, 1e-2 17.9 dB; see ``docs/nerf.md``.)
        occupancy: skip empty space with an occupancy grid (32^3, updated every 16 steps).
        grid: grid options over :data:`~.model.NERF_GRID`.
        eval_every: steps between pose-error rows of the history.
        seed: seeds the pose noise, the field's initialisation and the draws.
        device: ``"cpu"``, ``"cuda"``, ...
        out: a directory for ``checkpoint.pt``, ``config.yaml``, ``metrics.json``,
            ``history.json``, ``test_views.png``, ``cameras.png`` and ``pose_error.png``.
        resume: continue from ``out/checkpoint.pt`` (the same arguments otherwise).
        progress: show a progress bar.

    Returns:
        A :class:`NerfResult`.

    Raises:
        SettingsError: a bad option. FileNotFoundError / ValueError: a bad source.
        DivergedError: a non-finite loss.

    Example:
        >>> result = fit_nerf("solids", pose_noise="5,0.1", steps=500)  # doctest: +SKIP
        >>> result.metrics["rotation_error_deg"]                        # doctest: +SKIP
    """
    budget = Budget(steps=steps, time_budget=time_budget)
    rotation_deg, translation = parse_pose_noise(pose_noise)
    _check(method, st_lambda, st_mode, batch, n_samples, pose_lr)
    if not isinstance(views, NerfViews):
        views = load_views(views)
    schedule = Schedule(lr=lr, decoder_lr=decoder_lr, decay="exp",
                        final_lr_factor=final_lr_factor)  # fmt: skip
    device = torch.device(device)
    views = _views_on(views, device)
    initial = noisy_poses(views.train.c2w, rotation_deg, translation, seed)
    torch.manual_seed(seed)
    if field is None:
        field = radiance_field(method, views.box, st_lambda, st_mode, grid)
    model = _model(field, views, pose_frame, occupancy, device)
    options = dict(batch=batch, n_samples=n_samples, curriculum=curriculum)
    task = NerfTask(model, views, initial, options)
    optimizer = _optimizer(model, schedule, pose_lr, refine)
    record = {
        "app": "nerf", "scene": views.name, "method": method,
        "label": method_label(method, st_lambda, st_mode, curriculum), "st_lambda": st_lambda,
        "st_mode": st_mode, "soft_curriculum": curriculum,
        "pose_noise": [rotation_deg, translation], "refine": refine, "pose_frame": pose_frame,
        "pose_lr": pose_lr, "batch": batch,
        "n_samples": n_samples, "occupancy": occupancy, "seed": seed,
        "field": field.config(), **budget.options(), **schedule.options(),
    }  # fmt: skip
    generator = torch.Generator(device=device).manual_seed(stream_seed(seed, 0))
    loop = Loop(task, model, optimizer, generator, budget, schedule, Output(eval_every=eval_every),
                out=out, record=record, progress=progress, postfix_every=10)  # fmt: skip
    state = loop.run(resume=resume)
    scores, aligned, test_rgb = _score(model, task, views, initial, n_samples)
    metrics = {**scores, **_run_metrics(state, record, views)}
    result = NerfResult(metrics, state.history, model, aligned.float(), test_rgb)
    if out is not None:
        _write(Path(out), result, views, initial)
        result.out = str(out)
    return result


def _views_on(views: NerfViews, device: torch.device) -> NerfViews:
    """``views`` with their cameras and ``(N, H, W, 3)`` images on ``device``."""
    return NerfViews(views.name, views.train.to(device), views.train_images.to(device),
                     views.test.to(device), views.test_images.to(device), views.box)  # fmt: skip


def _model(
    field: RadianceField, views: NerfViews, pose_frame: str, occupancy: bool, device: torch.device
) -> NerfModel:
    """The :class:`NerfModel` on ``device``: ``field``, zero pose corrections of the training
    cameras in ``pose_frame`` and (with ``occupancy``) a 32^3 occupancy grid over
    ``views.box``."""
    grid = render.OccupancyGrid(views.box, resolution=32) if occupancy else None
    return NerfModel(field, len(views.train), pose_frame, grid).to(device)


def _run_metrics(state: RunState, record: dict[str, Any], views: NerfViews) -> dict[str, Any]:
    """The run's entries of :attr:`NerfResult.metrics` beside the scores:
    :meth:`~smoothgrid.train.state.RunState.summary` (loss, steps, seconds), the options of
    :data:`_RECORDED`, the view counts and the image ``size`` (width, height in pixels)."""
    return {
        **state.summary(),
        **{k: record[k] for k in _RECORDED},
        "train_views": len(views.train),
        "test_views": len(views.test),
        "size": [views.train.width, views.train.height],
    }


def _write(out: Path, result: NerfResult, views: NerfViews, initial: Tensor) -> None:
    """Write ``metrics.json``, ``history.json``, ``test_views.png``, ``cameras.png`` and
    ``pose_error.png`` into ``out``."""
    m = result.metrics
    write_metrics(out, m)
    (out / "history.json").write_text(json.dumps(result.history, indent=1) + "\n")
    title = (f"{m['label']}: PSNR {m['psnr']:.2f} dB, rotation error "
             f"{m['rotation_error_deg']:.2f} deg")  # fmt: skip
    plot_test_views(result.test_rgb.cpu(), views.test_images.cpu(), out / "test_views.png", title)
    plot_cameras(views.train.c2w.cpu(), initial.cpu(), result.refined.cpu(), views.train.fx /
                 views.train.width, out / "cameras.png", title)  # fmt: skip
    start = {"rotation_error_deg": m["initial_rotation_error_deg"],
             "translation_error": m["initial_translation_error"]}  # fmt: skip
    plot_pose_history(result.history, out / "pose_error.png", title, start)
