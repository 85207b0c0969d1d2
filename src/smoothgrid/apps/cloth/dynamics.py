"""Cloth in time: backward-Euler steps, each an energy minimisation with an inertia term.

Backward Euler's positions ``x_{n+1}`` minimise the incremental potential (the static energy
plus inertia)

    rho h / (2 dt^2) int |x - (x_n + dt v_n)|^2 dA + membrane + bending + gravity,

with ``v_n = (x_n - x_{n-1}) / dt`` (Kharevych et al. 2006; the form neural cloth simulators
train on). Each frame trains the same position field from where the last one left it for a
budget of steps (:class:`~.simulate.ClothTask` with its ``inertia`` term); the two previous
frames are frozen copies of the field, so ``x_n + dt v_n = 2 x_n - x_{n-1}`` is evaluated at each
step's points. The cloth starts at rest, flat at ``X0``. Backward Euler damps (the energy drifts
down at large ``dt``), so the motion is a damped swing towards the static drape.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ...field import Field
from ...train import Budget, Schedule
from ...train.loop import run_task
from ...train.progress import progress_bar
from ...train.runs import write_history, write_metrics
from ...train.settings import SettingsError, check_count
from .material import GRAVITY, Material
from .scenes import Scene
from .scenes import scene as named_scene
from .simulate import (
    ClothResult,
    ClothTask,
    cloth_energies,
    cloth_field,
    corner_positions,
    midpoint_grid,
)

__all__ = ["animate_cloth", "kinetic_energy"]


def _frozen(field: Field) -> Field:
    twin = copy.deepcopy(field)
    twin.requires_grad_(False)
    return twin


def _values(field: Field) -> Callable[[Tensor], Tensor]:
    def f(x: Tensor) -> Tensor:
        with torch.no_grad():
            return field(x)

    return f


def kinetic_energy(
    now: Field, before: Field, dt: float, scene: Scene, material: Material, n: int = 32
) -> float:
    """``rho h / 2 int |(x_now - x_before) / dt|^2 dA`` (J), midpoint rule on ``n x n`` cells."""
    p = next(now.parameters())
    x = midpoint_grid(n, p.dtype, p.device)
    with torch.no_grad():
        v = (now(x) - before(x)) / dt
    return 0.5 * material.areal_density * scene.size**2 * float(v.square().sum(1).mean())


def animate_cloth(
    scene: Scene | str = "hang",
    material: Material | None = None,
    frames: int = 30,
    dt: float = 1.0 / 30.0,
    steps: int | None = None,
    time_budget: float | None = None,
    resolution: int = 32,
    batch: int = 2048,
    lr: float = 1e-2,
    final_lr_factor: float = 0.1,
    gravity: float = GRAVITY,
    mesh_resolution: int = 32,
    seed: int = 0,
    device: str | torch.device = "cpu",
    out: str | os.PathLike | None = None,
    progress: bool = False,
) -> ClothResult:
    """Simulate ``frames`` backward-Euler steps of ``dt`` seconds from rest (see the module
    docstring).

    Args:
        scene, material, resolution, batch, gravity, seed, device: as
            :func:`~.simulate.simulate_cloth`.
        frames: time steps.
        dt: the time step, s (> 0).
        steps: Adam steps per frame; or
        time_budget: training seconds per frame. Exactly one.
        lr, final_lr_factor: each frame's rate, cosine decay from ``lr`` to
            ``final_lr_factor * lr``.
        mesh_resolution: cells per axis of each frame's mesh.
        out: a directory for ``frames/frame_NNN.obj`` (every frame), ``cloth.obj``,
            ``cloth.ply`` and ``views.png`` (the last frame), ``trajectory.csv`` (per frame:
            time, energies, kinetic energy, free corners), ``metrics.json``.
        progress: a bar over the frames.

    Returns:
        A :class:`~.simulate.ClothResult` of the last frame; its ``history`` has one row per
        frame: ``frame``, ``t`` (s), the energies of :func:`~.simulate.cloth_energies` (32 x 32
        cells), ``kinetic_energy`` (J) and ``corner_x``, ``corner_y``, ``corner_z`` (m) of the
        first free corner.

    Raises:
        ValueError: a bad scene, material, budget, ``frames`` or ``dt``.
    """
    scene = named_scene(scene) if isinstance(scene, str) else scene
    material = Material() if material is None else material
    budget = Budget(steps=steps, time_budget=time_budget)
    _check_time_steps(frames, dt)
    schedule = Schedule(lr=lr, decoder_lr=lr, decay="cosine", final_lr_factor=final_lr_factor)
    torch.manual_seed(seed)
    field = cloth_field(scene, resolution)
    field.to(device=torch.device(device), dtype=torch.float32)
    weight = material.areal_density * scene.size**2 / (2.0 * dt * dt)
    before, now = _frozen(field), _frozen(field)  # at rest: x_{-1} = x_0
    rows: list[dict[str, Any]] = []
    out = None if out is None else Path(out)
    bar = progress_bar(progress, frames, 0, f"cloth {scene.name}")
    train_time, total_steps = 0.0, 0
    for frame in range(1, frames + 1):
        inertia = (_inertia_target(now, before), weight)
        task = ClothTask(field, scene, material, batch, gravity, inertia=inertia)
        state = run_task(task, field, budget, schedule, seed=seed + frame)
        train_time, total_steps = train_time + state.train_time, total_steps + state.step
        before, now = now, _frozen(field)
        rows.append(_frame_row(frame, dt, field, now, before, scene, material, gravity))
        if out is not None:
            _write_frame(out, frame, field, scene, mesh_resolution)
        bar.update(1)
    bar.close()
    metrics = cloth_energies(field, scene, material, mesh_resolution, gravity)
    metrics.update(
        free_corners=corner_positions(field, scene),
        kinetic_energy=rows[-1]["kinetic_energy"],
        scene=scene.name, size=scene.size, material=material.as_dict(), gravity=gravity,
        resolution=resolution, frames=frames, dt=dt, t=frames * dt,
        steps=total_steps, wall_time=train_time,
        ms_per_step=1000.0 * train_time / total_steps if total_steps else None,
    )  # fmt: skip
    if out is not None:
        _write(out, field, scene, metrics, rows, mesh_resolution)
    return ClothResult(metrics, field, rows, None if out is None else str(out))


def _check_time_steps(frames: int, dt: float) -> None:
    """Refuse ``frames`` below 1 or a time step ``dt`` (s) that is not a positive number."""
    check_count("frames", frames)
    if not (isinstance(dt, (int, float)) and dt > 0):
        raise SettingsError(f"dt must be > 0 (s), got {dt!r}")


def _inertia_target(now: Field, before: Field) -> Callable[[Tensor], Tensor]:
    """The inertial prediction ``predict: (B, 2) -> (B, 3)`` of :class:`~.simulate.ClothTask`:
    at reference points ``p``, ``x_n + dt v_n = 2 x_now(p) - x_before(p)`` (m), from the two
    frozen frames (no graph)."""
    x_now, x_before = _values(now), _values(before)

    def predict(p: Tensor) -> Tensor:
        return 2.0 * x_now(p) - x_before(p)

    return predict


def _frame_row(
    frame: int,
    dt: float,
    field: Field,
    now: Field,
    before: Field,
    scene: Scene,
    material: Material,
    gravity: float,
) -> dict[str, Any]:
    """The trajectory row of frame ``frame``: ``frame``, ``t`` (s), the energies (J, 32 x 32
    cells), ``kinetic_energy`` (J) and the first free corner's ``corner_x/y/z`` (m)."""
    corner = next(iter(corner_positions(field, scene).values()))
    return {
        "frame": frame, "t": frame * dt,
        **cloth_energies(field, scene, material, 32, gravity),
        "kinetic_energy": kinetic_energy(now, before, dt, scene, material),
        "corner_x": corner[0], "corner_y": corner[1], "corner_z": corner[2],
    }  # fmt: skip


def _write_frame(out: Path, frame: int, field: Field, scene: Scene, mesh_resolution: int) -> None:
    """Write frame ``frame``'s mesh (``mesh_resolution`` cells per axis) to
    ``out/frames/frame_NNN.obj``."""
    from .export import cloth_mesh, write_cloth_mesh

    (out / "frames").mkdir(parents=True, exist_ok=True)
    mesh = cloth_mesh(field, scene, mesh_resolution)
    write_cloth_mesh(out / "frames" / f"frame_{frame:03d}.obj", mesh)


def _write(
    out: Path,
    field: Field,
    scene: Scene,
    metrics: dict[str, Any],
    rows: list[dict[str, Any]],
    mesh_resolution: int,
) -> None:
    """Write ``metrics.json``, ``trajectory.csv`` (one row per frame), the last frame's mesh
    (``cloth.obj``, ``cloth.ply``) and ``views.png`` into ``out``."""
    from .export import cloth_mesh, write_cloth_mesh
    from .plots import plot_views

    write_metrics(out, metrics)
    write_history(out / "trajectory.csv", rows)
    mesh = cloth_mesh(field, scene, mesh_resolution)
    write_cloth_mesh(out / "cloth.obj", mesh)
    write_cloth_mesh(out / "cloth.ply", mesh)
    title = f"{scene.name} at t = {metrics['t']:.3g} s: corner z = {rows[-1]['corner_z']:.3f} m"
    plot_views(mesh, out / "views.png", title=title)
