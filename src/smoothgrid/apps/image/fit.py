"""Fit a field to an image from its values, its Sobel gradients or its Laplacian.

Each step draws a batch of pixel centres (interior pixels for derivative targets, see
:mod:`.data`), evaluates the field's jet of the order the supervision needs (analytic for
smoothgrid's grids, the method's own derivatives for a baseline: autograd for SIREN) and takes one
Adam step on the relative mean square error of that jet against its target. No double backward
for the grids: the derivatives are part of the forward pass.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ... import baselines
from ...field import Field
from ...jet import Jet
from ...train import Budget, Schedule
from ...train.loop import Task, run_task
from ...train.metrics import predict
from ...train.runs import write_metrics
from ...train.schedule import scale_levels
from ...train.settings import check_count
from ...train.state import Samples
from .data import (
    check_image,
    interior_mask,
    laplacian,
    load_image,
    pixel_coordinates,
    sobel_gradient,
)
from .metrics import check_supervision, fix_free_part, image_metrics
from .plots import plot_comparison, save_image

__all__ = ["ImageResult", "fit_image", "image_field", "image_grid"]

_ORDER = {"value": 0, "gradient": 1, "laplacian": 2}


@dataclass
class ImageResult:
    """The outcome of :func:`fit_image`.

    Attributes:
        metrics: ``psnr`` and ``ssim`` (after fixing the free part, see
            :func:`~smoothgrid.apps.image.metrics.fix_free_part`), ``psnr_raw``, ``loss`` (the
            last batch's relative mean square error), ``steps``, ``wall_time`` (training
            seconds, evaluation excluded), ``ms_per_step``, ``parameters``, ``method``,
            ``supervise``, ``height``, ``width``.
        prediction: ``(H, W)`` the field at the pixel centres, free part fixed.
        truth: ``(H, W)`` the image.
        field: the trained field.
        out: the directory written, or ``None``.
    """

    metrics: dict[str, Any]
    prediction: np.ndarray
    truth: np.ndarray
    field: Field
    out: str | None = None


def image_grid(shape: tuple[int, int]) -> dict[str, int]:
    """Grid options for an image: one level per octave from 8 cells up to the image's side,
    2 features, tables dense up to ``2^19`` rows (every level of a 512 x 512 image)."""
    side = max(shape)
    min_res = min(8, side)
    levels = max(2, round(math.log2(side / min_res)) + 1)
    log2_table = min(19, math.ceil(math.log2((side + 1) ** 2)))
    return dict(levels=levels, features=2, min_res=min_res, max_res=side, log2_table=log2_table)


def image_field(method: str, shape: tuple[int, int]) -> Field:
    """Method ``method``'s field (see :func:`smoothgrid.baselines.make`) on ``[-1, 1]^2``; a
    grid method gets the grid of :func:`image_grid`. Seed torch first for a reproducible init."""
    field = baselines.make(method, dim=2)
    if field.encoding.levels:
        field = baselines.make(method, dim=2, **image_grid(shape))
    field.set_bounds(-1.0, 1.0)
    return field


def _targets(image: np.ndarray, supervise: str) -> tuple[np.ndarray, np.ndarray]:
    """``(H * W, C)`` targets and the ``(H * W,)`` mask of pixels that may supervise."""
    if supervise == "value":
        return image.reshape(-1, 1), np.ones(image.size, dtype=bool)
    target = sobel_gradient(image) if supervise == "gradient" else laplacian(image)
    return target.reshape(image.size, -1), interior_mask(image.shape).ravel()


def _supervised(u: Jet, supervise: str) -> torch.Tensor:
    """The part of a one-channel jet ``u`` that ``supervise`` compares: ``(B, 1)`` value or
    Laplacian, ``(B, 2)`` gradient."""
    if supervise == "value":
        return u.value
    return u.grad[:, 0] if supervise == "gradient" else u.lap


class ImageTask(Task):
    """Pixels drawn with replacement from the supervised ones; the relative mean square error
    of the field's jet (of the supervision's order) against the target there.

    Args:
        field: the field on ``[-1, 1]^2`` (on its device).
        coords: ``(H * W, 2)`` pixel centres.
        target: ``(H * W, C)`` values, gradients or Laplacians (:func:`_targets`).
        pool: indices of the pixels that may supervise.
        batch: pixels per step.
        supervise: ``"value"``, ``"gradient"`` or ``"laplacian"``.
    """

    def __init__(self, field, coords, target, pool, batch: int, supervise: str) -> None:
        self.desc = f"image {supervise}"
        self.field, self.coords, self.target, self.pool = field, coords, target, pool
        self.batch, self.supervise = batch, supervise
        self.norm = float(target[pool].square().sum(1).mean()) or 1.0

    def sample(self, generator, previous, step: int) -> Samples:
        draw = torch.randint(len(self.pool), (self.batch,), generator=generator,
                             device=self.pool.device)  # fmt: skip
        return {"pixels": {"index": self.pool[draw]}}

    def loss(self, samples: Samples):
        pick = samples["pixels"]["index"]
        u = self.field.jet(self.coords[pick], order=_ORDER[self.supervise],
                           derivatives=self.field.derivatives)  # fmt: skip
        error = (_supervised(u, self.supervise) - self.target[pick]).square().sum(1).mean()
        return error / self.norm, {}


def fit_image(
    image: np.ndarray | str | os.PathLike,
    supervise: str = "gradient",
    field: Field | None = None,
    method: str = "hermite",
    steps: int | None = None,
    time_budget: float | None = None,
    batch: int = 8192,
    lr: float | None = None,
    decoder_lr: float | None = None,
    level_scale: str = "none",
    final_lr_factor: float = 0.1,
    seed: int = 0,
    device: str | torch.device = "cpu",
    out: str | os.PathLike | None = None,
    resume: bool = False,
    progress: bool = False,
    compile: bool = False,
) -> ImageResult:
    """Fit a field to ``image`` from one kind of supervision and score it.

    Args:
        image: ``(H, W)`` in ``[-1, 1]``, or a file / sample name for
            :func:`~smoothgrid.apps.image.data.load_image` (kept at its size).
        supervise: ``"gradient"`` (Sobel, ``(d/dx_0, d/dx_1)``), ``"laplacian"`` or
            ``"value"``; targets in the units of ``x`` in ``[-1, 1]^2`` (see :mod:`.data`).
        field: the field to train (its box is set to ``[-1, 1]^2``); default
            :func:`image_field` of ``method``.
        method: the method whose field is built and whose recommended ``lr`` and
            ``decoder_lr`` are the defaults (:func:`smoothgrid.baselines.settings`); the
            name recorded in the metrics (also when ``field`` is given).
        steps: Adam steps; or
        time_budget: training seconds (evaluation excluded). Exactly one; both totals.
        batch: pixels per step, drawn with replacement.
        lr, decoder_lr: learning rates of the encoding's tables and the rest; both decay
            exponentially to ``final_lr_factor`` times their start.
        level_scale: per-level step scale of a grid (see :func:`smoothgrid.train.level_scales`);
            ``"none"``: unlike a PDE residual, an image needs its fine levels to step fully
            (camera 128^2 from gradients, 400 steps: 25.6 dB against 24.8 with ``"inverse"``).
        seed: seeds the field's initialisation (when built here) and the pixel draws.
        device: ``"cpu"``, ``"cuda"``, ...
        out: a directory for ``checkpoint.pt`` (+ ``.json``), ``config.yaml``,
            ``metrics.json``, ``comparison.png`` (prediction, truth, error) and
            ``prediction.png``.
        resume: continue from ``out/checkpoint.pt`` (the same arguments otherwise).
        progress: show a progress bar.
        compile: run the decoder's jet through ``torch.compile`` (see
            :mod:`smoothgrid.train.compiled`).

    Returns:
        An :class:`ImageResult`.

    Raises:
        ValueError: unknown names, a bad budget or image. DivergedError: a non-finite loss.

    Example:
        >>> result = fit_image("camera", "gradient", time_budget=60)    # doctest: +SKIP
        >>> result.metrics["psnr"]                                      # doctest: +SKIP
    """
    check_supervision(supervise)
    budget = Budget(steps=steps, time_budget=time_budget)
    check_count("batch", batch)
    truth = check_image(image) if isinstance(image, np.ndarray) else load_image(image)
    lr, decoder_lr = baselines.rates(method, lr, decoder_lr)
    schedule = Schedule(lr=lr, decoder_lr=decoder_lr, decay="exp",
                        final_lr_factor=final_lr_factor, level_scale=level_scale)  # fmt: skip
    device = torch.device(device)
    if field is None:
        torch.manual_seed(seed)
        field = image_field(method, truth.shape)
    field.set_bounds(-1.0, 1.0)
    scale_levels(field, level_scale)
    field.to(device=device, dtype=torch.float32)
    task = _task(field, truth, supervise, batch, device)
    record = {"app": "image", "image": image if isinstance(image, str) else None,
              "supervise": supervise, "method": method, "batch": batch, "seed": seed,
              **field.config(), **budget.options(), **schedule.options()}  # fmt: skip
    state = run_task(task, field, budget, schedule, seed=seed, out=out, resume=resume,
                     progress=progress, record=record, compile=compile)  # fmt: skip
    raw = predict(field, task.coords).double().cpu().numpy().reshape(truth.shape)
    metrics: dict[str, Any] = image_metrics(raw, truth, supervise)
    metrics.update(state.summary(field), method=method, supervise=supervise,
                   height=truth.shape[0], width=truth.shape[1])  # fmt: skip
    prediction = fix_free_part(raw, truth, supervise)
    if out is not None:
        _write(Path(out), metrics, prediction, truth)
    return ImageResult(metrics, prediction, truth, field, None if out is None else str(out))


def _task(
    field: Field, truth: np.ndarray, supervise: str, batch: int, device: torch.device
) -> ImageTask:
    """The :class:`ImageTask` fitting ``field`` to the ``(H, W)`` image ``truth`` by
    ``supervise``: pixel centres, targets and the pool of supervising pixels on ``device``."""
    target, mask = _targets(truth, supervise)
    coords = pixel_coordinates(truth.shape).to(device)
    target = torch.as_tensor(target, dtype=torch.float32, device=device)
    pool = torch.as_tensor(np.flatnonzero(mask), device=device)
    return ImageTask(field, coords, target, pool, batch, supervise)


def _write(out: Path, metrics: dict[str, Any], prediction: np.ndarray, truth: np.ndarray) -> None:
    """Write ``metrics.json``, ``comparison.png`` (prediction, truth, error) and
    ``prediction.png`` into ``out``."""
    write_metrics(out, metrics)
    title = f"{metrics['method']} from {metrics['supervise']}: PSNR {metrics['psnr']:.2f} dB"
    plot_comparison(prediction, truth, out / "comparison.png", title)
    save_image(prediction, out / "prediction.png")
