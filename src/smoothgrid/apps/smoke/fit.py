"""Reconstruct ``rho`` and ``u`` from a scene's images, physics by any combination of routes.

Each step of the :class:`SmokeTask` (run by :func:`smoothgrid.train.loop.run_task`):

1. ``rays`` random (training view, time, pixel) triples, rendered through the model's density
   (``sigma = alpha rho``, ``ray_samples`` jittered samples per ray clipped to the volume;
   samples in cells the occupancy grid marks empty are skipped);
2. ``physics_points`` space-time points, half uniform inside the box and half in occupied
   cells, where the chosen routes' transport residuals are taken (test-function centres for
   ``weak``);
3. loss ``= mean |C - C_hat| + lambda_phys(p) * sum_r mean R_r^2`` (plus ``divergence_weight
   * mean (div u)^2`` per route), with ``lambda_phys`` ramped linearly from 0 to its value over
   the first ``ramp`` fraction of the budget ``p``.

The methods (:func:`parse_method`): a route name of :data:`~.physics.ROUTES` or several joined
by ``+`` (weight 1 each, e.g. ``weak+fd``); ``no_physics`` (B2: images only); ``mlp`` (B3:
``sg.baselines``' Fourier-feature MLP, physics by ``jets``). ``double_backward`` is B1 (PINF).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ...render import OccupancyGrid, generate_rays, random_pixels, render_rays
from ...train import Budget, Schedule
from ...train.loop import Task, run_task
from ...train.runs import write_metrics
from ...train.settings import Output, SettingsError, check_count
from ...train.state import RunState, Samples
from .metrics import density_error, physics_scores, psnr, ssim
from .model import CPU_GRID, SmokeModel, mlp_model, smoke_model
from .options import TransportOptions
from .physics import ROUTES, physics_loss
from .scenes import Scene, render_density

__all__ = [
    "SmokeOptions",
    "SmokeResult",
    "SmokeTask",
    "METHODS",
    "parse_method",
    "build_model",
    "saved_megabytes",
    "transport_options",
    "start_density",
    "fit_smoke",
]

METHODS = (*ROUTES, "no_physics", "mlp")
"""The single-word methods; routes may also be joined by ``+``."""


@dataclass(frozen=True)
class SmokeOptions:
    """Every option of a reconstruction, declared once (written to ``config.yaml``).

    Attributes:
        grid: the spatial grid's interpolation (:func:`smoothgrid.encodings.names`).
        levels, features, min_res, max_res, log2_table: the spatial grid (default
            :data:`~.model.CPU_GRID`; the blueprint's is L = 16, F = 2, 16..512, 2^19).
        time_bands: Fourier bands of time ``B``.
        rays: rays per step.
        ray_samples: samples per ray (training and evaluation).
        physics_points: residual points per step.
        lambda_phys: the physics weight after the ramp.
        ramp: fraction of the budget over which the weight rises from 0.
        divergence_weight: weight of the divergence penalty on ``u`` (0: off).
        kappa: diffusivity of the transport equation (>= 0).
        occupancy: skip empty space (an occupancy grid over the volume, the union over time).
        lr: Adam's rate of the grid tables (the ``mlp`` baseline uses a tenth of it).
        decoder_lr: Adam's rate of the decoder (a lower rate keeps the L1 loss, pulled to 0 by
            the many dark pixels, from driving the softplus into its flat negative range).
        eval_every: steps between held-out evaluations (history rows).
        eval_frames: held-out frames rendered at each evaluation (all at the end).
    """

    grid: str = "quintic"
    levels: int = CPU_GRID["levels"]
    features: int = CPU_GRID["features"]
    min_res: int = CPU_GRID["min_res"]
    max_res: int = CPU_GRID["max_res"]
    log2_table: int = CPU_GRID["log2_table"]
    time_bands: int = 16
    rays: int = 256
    ray_samples: int = 64
    physics_points: int = 256
    lambda_phys: float = 0.1
    ramp: float = 0.05
    divergence_weight: float = 0.0
    kappa: float = 0.0
    occupancy: bool = True
    lr: float = 1e-2
    decoder_lr: float = 1e-3
    eval_every: int = 25
    eval_frames: int = 4

    def __post_init__(self) -> None:
        if self.kappa < 0:
            raise SettingsError(f"kappa must be >= 0 (a diffusivity), got {self.kappa}")
        for name in ("rays", "ray_samples", "physics_points", "eval_every", "eval_frames",
                     "time_bands"):  # fmt: skip
            check_count(name, getattr(self, name))
        if self.lambda_phys < 0 or self.divergence_weight < 0 or not 0 <= self.ramp <= 1:
            raise SettingsError(
                "need lambda_phys >= 0, divergence_weight >= 0 and 0 <= ramp <= 1; got "
                f"{self.lambda_phys}, {self.divergence_weight}, {self.ramp}"
            )
        if not (self.lr > 0 and self.decoder_lr > 0):
            raise SettingsError(f"lr and decoder_lr must be > 0, got {self.lr}, {self.decoder_lr}")

    def grid_options(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in CPU_GRID}


def parse_method(method: str) -> tuple[str, dict[str, float]]:
    """``(model kind, {route: weight})`` of a method name: ``"grid"`` or ``"mlp"``.

    Raises:
        SettingsError: an unknown name (the known ones listed).
    """
    if method == "no_physics":
        return "grid", {}
    if method == "mlp":
        return "mlp", {"jets": 1.0}
    routes = method.split("+")
    unknown = [r for r in routes if r not in ROUTES]
    if unknown or not method:
        raise SettingsError(
            f"unknown smoke method {method!r}; known: {', '.join(METHODS)} (routes may be "
            "joined by '+', e.g. weak+fd)"
        )
    return "grid", {r: 1.0 for r in routes}


def build_model(
    scene: Scene, method: str, options: SmokeOptions
) -> tuple[SmokeModel, dict[str, float], tuple[float, float]]:
    """A fresh model of ``method`` on the scene's space-time box (seed torch first), its
    routes, and its ``(grid, decoder)`` learning rates. It starts as a uniform fog whose
    images are 5 % of the emission away from the background (:func:`start_density`)."""
    kind, routes = parse_method(method)
    lo, hi = scene.spacetime
    rho = start_density(scene)
    if kind == "mlp":
        model = mlp_model(scene.dim, lo, hi, rho_init=rho)
        return model, routes, (0.1 * options.lr, 0.1 * options.lr)
    model = smoke_model(scene.dim, lo, hi, options.grid, options.time_bands, rho_init=rho,
                        **options.grid_options())  # fmt: skip
    return model, routes, (options.lr, options.decoder_lr)


def start_density(scene: Scene, share: float = 0.05) -> float:
    """The uniform density whose opacity along the volume's diagonal is ``share`` of the
    emission: ``-log(1 - share / emission) / (alpha * diagonal)`` (capped at opacity 1/2)."""
    opacity = min(0.5, share / max(scene.emission, 1e-12))
    diagonal = float((scene.hi - scene.lo).norm())
    return -math.log(1.0 - opacity) / (scene.alpha * diagonal)


def transport_options(scene: Scene, kappa: float, divergence: bool) -> TransportOptions:
    """The routes' steps for a scene: ``h`` = 1/64 of the smallest box edge, ``dt`` = half the
    frame interval, test functions 3 ``h`` wide and one frame interval long."""
    h = float((scene.hi - scene.lo).min()) / 64
    frame = float(scene.times[-1] - scene.times[0]) / max(len(scene.times) - 1, 1) or 0.04
    return TransportOptions(kappa=kappa, divergence=divergence, h=h, dt=0.5 * frame,
                            width=3 * h, duration=frame)  # fmt: skip


def _interior(scene: Scene, options: TransportOptions) -> tuple[Tensor, Tensor]:
    """``(d + 1,)`` corners of the region residual points are drawn from: the box less the
    routes' reach (test-function support, stencil) from its faces."""
    lo, hi = (torch.tensor(c, dtype=torch.float64) for c in scene.spacetime)
    reach = torch.full_like(lo, max(options.width, options.h))
    reach[-1] = max(options.duration, options.dt)
    reach = torch.minimum(reach, 0.25 * (hi - lo))
    return lo + reach, hi - reach


class SmokeTask(Task):
    """One step: rendered rays against the training pixels, and the physics residuals."""

    desc = "smoke"
    target_metric = "loss"

    def __init__(
        self,
        model: SmokeModel,
        scene: Scene,
        routes: dict[str, float],
        options: SmokeOptions,
        transport: TransportOptions,
    ) -> None:
        p = next(model.parameters())
        self.model, self.scene, self.routes, self.options = model, scene, routes, options
        self.transport, self.device, self.dtype = transport, p.device, p.dtype
        self.cams = scene.train.to(p.device, p.dtype)
        self.images = scene.train_images.to(p.device, p.dtype)
        self.box = tuple(c.to(p.device, p.dtype) for c in scene.box)
        self.inner = tuple(c.to(p.device, p.dtype) for c in _interior(scene, transport))
        step = max(1, len(scene.test) // options.eval_frames)
        self.eval_index = list(range(0, len(scene.test), step))[: options.eval_frames]
        self.weight = 0.0
        self.samples_seen = 0
        self.steps_seen = 0
        self.occupancy = None
        self.history: list[dict[str, Any]] = []
        if options.occupancy:
            n = max(8, min(64 if scene.dim == 2 else 32, options.max_res))
            res = (n, n, n) if scene.dim == 3 else (n, n, 1)
            # half the starting fog: all of it is occupied at first, and what the model empties
            # below that is skipped (a fixed one under the fog skipped a random part of it)
            threshold = 0.5 * scene.alpha * start_density(scene)
            self.occupancy = OccupancyGrid(self.box, res, threshold=threshold, every=16,
                                           warmup=64).to(p.device)  # fmt: skip
        model.occupancy = self.occupancy  # checkpointed with the model, restored on resume
        g = torch.Generator(device=p.device).manual_seed(12345)
        self.eval_points = self._uniform(2048, g)

    # ------------------------------------------------------------------ helpers
    def _uniform(self, n: int, generator: torch.Generator) -> Tensor:
        lo, hi = self.inner
        u = torch.rand(n, len(lo), generator=generator, device=self.device, dtype=self.dtype)
        return lo + u * (hi - lo)

    def _occupied_points(self, n: int, generator: torch.Generator) -> Tensor | None:
        """``n`` points in random occupied cells at random times, or ``None``."""
        cells = torch.nonzero(self.occupancy.occupied.flatten()).flatten()
        if len(cells) == 0 or len(cells) == self.occupancy.n_cells:
            return None
        pick = cells[torch.randint(len(cells), (n,), generator=generator, device=self.device)]
        res = torch.tensor(self.occupancy.resolution, device=self.device)
        ijk = torch.stack([pick // (res[1] * res[2]), (pick // res[2]) % res[1], pick % res[2]], 1)
        u = torch.rand(n, 3, generator=generator, device=self.device, dtype=self.dtype)
        lo, hi = self.box
        x = lo + (ijk + u) / res * (hi - lo)
        points = self._uniform(n, generator)
        ilo, ihi = self.inner
        d = self.scene.dim
        points[:, :d] = torch.maximum(torch.minimum(x[:, :d], ihi[:d]), ilo[:d])
        return points

    def density_fn(self, points: Tensor) -> Tensor:
        """``(K,)`` ``rho`` at ``(K, d + 1)`` points."""
        return self.model.density(points)

    def field_fn(self, x: Tensor, d: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        rho = self.model.density(torch.cat([x[:, : self.scene.dim], t[:, None]], 1))
        return self.scene.alpha * rho, torch.full_like(rho, self.scene.emission)[:, None]

    # -------------------------------------------------------------------- hooks
    def before_step(self, progress: float) -> None:
        ramp = self.options.ramp
        self.weight = self.options.lambda_phys * (min(1.0, progress / ramp) if ramp else 1.0)

    def sample(self, generator, previous, step: int) -> Samples:
        if self.occupancy is not None:
            lo, hi = self.scene.spacetime

            def occupancy_density(x: Tensor) -> Tensor:
                t = lo[-1] + (hi[-1] - lo[-1]) * torch.rand(
                    len(x), generator=generator, device=self.device, dtype=self.dtype
                )
                with torch.no_grad():
                    return self.scene.alpha * self.density_fn(
                        torch.cat([x[:, : self.scene.dim], t[:, None]], 1)
                    )

            self.occupancy.update(occupancy_density, step=step, generator=generator)
        index, pixels = random_pixels(self.cams, self.options.rays, generator)
        seed = torch.randint(2**62, (1,), generator=generator, device=self.device)
        n = self.options.physics_points
        points = self._uniform(n, generator)
        if self.occupancy is not None:
            occupied = self._occupied_points(n // 2, generator)
            if occupied is not None:
                points = torch.cat([points[: n - n // 2], occupied])
        return {"rays": {"index": index, "pixels": pixels, "seed": seed},
                "physics": {"x": points}}  # fmt: skip

    def render(self, rays: dict[str, Tensor]) -> tuple[Tensor, int]:
        """``(R,)`` grey values of the rays of a sample, and the samples evaluated."""
        o, d = generate_rays(self.cams, rays["index"], rays["pixels"])
        generator = torch.Generator(device=self.device).manual_seed(int(rays["seed"]))
        out = render_rays(
            self.field_fn, o, d, self.box, self.options.ray_samples,
            times=self.cams.times[rays["index"]], background=self.scene.background,
            occupancy=self.occupancy, jitter=True, generator=generator,
        )  # fmt: skip
        return out.rgb[:, 0], out.samples

    def loss(self, samples: Samples):
        rays = samples["rays"]
        grey, count = self.render(rays)
        target = self.images[rays["index"], rays["pixels"][:, 1], rays["pixels"][:, 0]]
        pixels = (grey - target).abs().mean()
        terms = {"pixels": pixels}
        loss = pixels
        self.samples_seen += count
        self.steps_seen += 1
        if self.routes and self.weight > 0:
            points = samples["physics"]["x"]
            physics = physics_loss(self.model, points, self.routes, self.transport,
                                   self.options.divergence_weight)  # fmt: skip
            terms["physics"] = physics
            loss = loss + self.weight * physics
            self.samples_seen += len(points)
        return loss, terms

    @torch.no_grad()
    def render_test(self, index: list[int] | None = None) -> Tensor:
        """``(M, H, W)`` the model's images of the held-out frames ``index`` (default all)."""
        cams = self.scene.test.to(self.device, self.dtype)
        if index is not None:
            cams = cams[torch.tensor(index, device=self.device)]
        return render_density(self.density_fn, self.scene.dim, cams, self.box,
                              self.options.ray_samples, self.scene.alpha, self.scene.emission,
                              self.scene.background)  # fmt: skip

    def evaluate(self) -> dict[str, Any]:
        truth = self.scene.test_images[self.eval_index]
        pred = self.render_test(self.eval_index).cpu()
        scores = physics_scores(self.model, self.eval_points[:512], self.transport)
        return {"psnr": psnr(pred, truth), "residual": scores["residual"]}


@dataclass
class SmokeResult:
    """The outcome of :func:`fit_smoke`.

    Attributes:
        metrics: held-out ``psnr`` / ``ssim``, ``density_rel_l2`` (``None`` without a
            simulation), ``residual`` / ``divergence`` (means of ``|R|`` and ``|div u|`` by
            ``jets``), ``ms_per_step``, ``samples_per_s``, ``peak_memory_mb``, ``history``,
            the method and budget.
        model: the trained model.
        test_images: ``(M, H, W)`` the model's held-out images.
        task: the task (its scene, occupancy grid and renderer).
        out: the directory written, or ``None``.
    """

    metrics: dict[str, Any]
    model: SmokeModel
    test_images: Tensor
    task: SmokeTask
    out: str | None = None


def saved_megabytes(loss_fn: Callable[[], Tensor]) -> float:
    """Megabytes of the distinct storages the autograd graph of ``loss_fn()`` saves for
    backward (the CPU stand-in for peak memory: what a step holds beyond the parameters)."""
    storages: dict[int, int] = {}

    def pack(t: Tensor) -> Tensor:
        storage = t.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = loss_fn()
    del loss
    return sum(storages.values()) / 2**20


def fit_smoke(
    scene: Scene,
    method: str = "jets",
    steps: int | None = None,
    time_budget: float | None = None,
    options: SmokeOptions | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    out: str | os.PathLike | None = None,
    resume: bool = False,
    progress: bool = False,
) -> SmokeResult:
    """Reconstruct a scene's density and velocity.

    Args:
        scene: the observations (:func:`~.scenes.observe` or :func:`~.scenes.read_scene`).
        method: see :func:`parse_method`.
        steps: Adam steps; or
        time_budget: training seconds (evaluation excluded). Exactly one.
        options: :class:`SmokeOptions`.
        seed: seeds the model's initialisation and the draws.
        device: ``"cpu"``, ``"cuda"``, ...
        out: a directory for ``config.yaml``, the checkpoint, ``metrics.json`` and the pictures
            (:mod:`.plots`).
        resume: continue from ``out``'s checkpoint.
        progress: a progress bar.

    Raises:
        SettingsError: unknown method, bad budget or option.

    Example:
        >>> from smoothgrid.apps import smoke
        >>> sim = smoke.simulate(smoke.PRESETS["plume2d"])            # doctest: +SKIP
        >>> scene = smoke.observe(sim, views=2)                        # doctest: +SKIP
        >>> fit_smoke(scene, "weak", steps=200).metrics["psnr"]        # doctest: +SKIP
    """
    options = options or SmokeOptions()
    budget = Budget(steps=steps, time_budget=time_budget)
    transport = transport_options(scene, options.kappa, options.divergence_weight > 0)
    device = torch.device(device)
    torch.manual_seed(seed)
    model, routes, (lr, decoder_lr) = build_model(scene, method, options)
    model.to(device=device, dtype=torch.float32)
    schedule = Schedule(lr=lr, decoder_lr=decoder_lr, decay="exp", final_lr_factor=0.1)
    task = SmokeTask(model, scene, routes, options, transport)
    record = {
        "app": "smoke", "scene": scene.name, "method": method, "seed": seed,
        "routes": routes, "options": asdict(options),
        "transport": {f.name: getattr(transport, f.name) for f in fields(transport)},
        **model.config(), **budget.options(), **schedule.options(),
    }  # fmt: skip
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    start = None if resume else psnr(task.render_test().cpu(), scene.test_images)
    output = Output(eval_every=options.eval_every, checkpoint_every=10**9)
    state = run_task(task, model, budget, schedule, output=output, seed=seed, out=out,
                     resume=resume, progress=progress, record=record)  # fmt: skip
    metrics, pred = _metrics(task, state, method, start, device)
    if out is not None:
        from .plots import write_pictures

        write_pictures(task, pred, write_metrics(out, metrics), title=f"{method} on {scene.name}")
    return SmokeResult(metrics, model, pred, task, None if out is None else str(Path(out)))


def _samples_per_second(task: SmokeTask, state: RunState) -> float | None:
    """Samples (ray samples and residual points) per training second: the samples per step of
    this session (a resumed run counts from its restart) times steps per second."""
    per_step = task.samples_seen / max(task.steps_seen, 1)
    return per_step * state.step / state.train_time if state.train_time else None


def _peak_memory(task: SmokeTask, state: RunState, device: torch.device) -> tuple[float, str]:
    """``(megabytes, what they measure)``: CUDA's peak allocation, or on the CPU the autograd
    storages one step saves (:func:`saved_megabytes`; it runs one more loss on the last batch)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20, "cuda max allocated"
    peak = saved_megabytes(lambda: task.loss(state.samples)[0])
    return peak, "autograd saved tensors of one step (CPU)"


def _held_out_scores(task: SmokeTask, pred: Tensor, start: float | None) -> dict[str, Any]:
    """``psnr`` (and ``psnr_start``, before training), ``ssim`` of the ``(M, H, W)`` held-out
    images ``pred``, ``density_rel_l2`` against the simulation (``None`` without one) and the
    physics scores of :func:`~.metrics.physics_scores` at the task's evaluation points."""
    scene = task.scene
    truth = scene.test_images
    similarity = ssim(pred[:, 0], truth[:, 0]) if scene.dim == 2 else ssim(pred, truth)
    scores = physics_scores(task.model, task.eval_points, task.transport)
    return {
        "psnr": psnr(pred, truth), "psnr_start": start, "ssim": similarity,
        "density_rel_l2": None if scene.simulation is None
        else density_error(task.model, scene.simulation),
        **scores,
    }  # fmt: skip


def _metrics(
    task: SmokeTask, state: RunState, method: str, start: float | None, device: torch.device
) -> tuple[dict[str, Any], Tensor]:
    """:attr:`SmokeResult.metrics` after training, and the ``(M, H, W)`` held-out images the
    trained model renders."""
    throughput = _samples_per_second(task, state)  # before _peak_memory's extra loss
    peak, peak_kind = _peak_memory(task, state, device)
    task.history = state.history
    task.model.eval()
    pred = task.render_test().cpu()
    metrics: dict[str, Any] = {
        "method": method, "scene": task.scene.name, **_held_out_scores(task, pred, start),
        "steps": state.step, "wall_time": state.train_time, "ms_per_step": state.ms_per_step,
        "samples_per_s": throughput, "peak_memory_mb": peak, "peak_memory_kind": peak_kind,
        "loss": state.last_loss, "routes": task.routes, "kappa": task.options.kappa,
        "parameters": sum(p.numel() for p in task.model.parameters()),
        "history": state.history,
    }  # fmt: skip
    return metrics, pred
