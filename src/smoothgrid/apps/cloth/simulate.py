"""Static cloth by energy minimisation: a grid field of the deformed position, Adam on the
shell energy plus gravity, pins held exactly.

The field maps the reference coordinates ``(u, v) in [0, 1]^2`` to the position
``x = X0 + L B N`` (:mod:`.scenes`): ``N`` is a Hermite grid with a small decoder, whose value,
gradient and Hessian in ``(u, v)`` are analytic jets, so the fundamental forms (:mod:`.shell`) and
the energy need no autograd; one backward pass per step trains the field. Each step draws
``batch`` stratified points of the unit square and minimises the Monte Carlo estimate of
``int (membrane + bending + gravity) du dv`` (the square has area 1). The decoder's last layer
starts at zero, so the cloth starts flat.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ... import encodings
from ...field import Field, HardConstraint
from ...geometry.box import stratified_unit
from ...train import Budget, Schedule
from ...train.loop import Task, run_task
from ...train.runs import write_history, write_metrics
from ...train.settings import SettingsError, check_count
from ...train.state import Samples
from .material import GRAVITY, Material
from .scenes import Scene
from .scenes import scene as named_scene
from .shell import flat_reference, fundamental_forms, principal_strains, shell_densities

__all__ = ["ClothResult", "cloth_field", "simulate_cloth", "cloth_energies", "CLOTH_GRID"]

CLOTH_GRID = dict(levels=4, features=2, min_res=4, max_res=32, log2_table=12)
"""The default Hermite grid of the position field (``max_res`` is ``--resolution``)."""


@dataclass
class ClothResult:
    """The outcome of :func:`simulate_cloth`.

    Attributes:
        metrics: energies (J), strain statistics, free corners' positions (m), run figures.
        field: the trained position field ``(u, v) -> x`` (m).
        history: one row per evaluation (``step``, ``time``, ``loss``, ``energy``, ...).
        out: the directory written, or ``None``.
    """

    metrics: dict[str, Any]
    field: Field
    history: list[dict[str, Any]]
    out: str | None = None


def cloth_field(scene: Scene, max_res: int = 32, hidden: Sequence[int] = (32, 32), **grid) -> Field:
    """The position field of ``scene``: a Hermite grid on ``[0, 1]^2`` (:data:`CLOTH_GRID`,
    finest level ``max_res`` cells), a tanh decoder with 3 outputs whose last layer is zero (the
    cloth starts flat at ``X0``), and the pins' hard constraint. Seed torch first."""
    options = {**CLOTH_GRID, "max_res": int(max_res), **grid}
    if options["min_res"] > options["max_res"]:
        options["min_res"] = options["max_res"]
    enc = encodings.make("hermite", dim=2, **options)
    factor, offset = scene.constraint_parts()
    field = Field(enc, hidden=hidden, out=3, constraint=HardConstraint(factor, offset))
    field.set_bounds([0.0, 0.0], [1.0, 1.0])
    with torch.no_grad():
        last = field.decoder.layers[-1]
        last.weight.zero_()
        last.bias.zero_()
    return field


def midpoint_grid(n: int, dtype: torch.dtype, device) -> Tensor:
    """``(n^2, 2)`` centres of an ``n x n`` grid of cells of the unit square."""
    t = (torch.arange(n, dtype=dtype, device=device) + 0.5) / n
    return torch.stack(torch.meshgrid(t, t, indexing="ij"), -1).reshape(-1, 2)


def cloth_energies(
    field: Field,
    scene: Scene,
    material: Material,
    n: int = 64,
    gravity: float = GRAVITY,
) -> dict[str, float]:
    """Energies (J, midpoint rule on ``n x n`` cells) and strain statistics of the field.

    Returns:
        ``energy``, ``membrane_energy``, ``bending_energy``, ``gravity_energy``;
        ``max_strain`` (the largest principal engineering strain), ``mean_strain`` (the mean of
        the larger principal strain), ``p99_strain``, ``min_strain`` (the most compressed).
    """
    p = next(field.parameters())
    x = midpoint_grid(n, p.dtype, p.device)
    rows = {k: [] for k in ("membrane", "bending", "gravity")}
    strains = []
    with torch.no_grad():
        for chunk in x.split(8192):
            jet = field.jet(chunk, order=2, hessian=True)
            reference = flat_reference(scene.size, len(chunk), p.dtype, p.device)
            for k, d in shell_densities(jet, reference, material, gravity).items():
                rows[k].append(d)
            strains.append(principal_strains(fundamental_forms(jet), reference))
    energies = {f"{k}_energy": float(torch.cat(v).mean()) for k, v in rows.items()}
    s = torch.cat(strains).double()
    return {
        "energy": sum(energies.values()),
        **energies,
        "max_strain": float(s[:, 1].max()),
        "mean_strain": float(s[:, 1].mean()),
        "p99_strain": float(torch.quantile(s[:, 1].cpu(), 0.99)),
        "min_strain": float(s[:, 0].min()),
    }


class ClothTask(Task):
    """Each step: ``batch`` stratified points of the unit square, the Monte Carlo shell energy
    and gravity there (terms ``membrane``, ``bending``, ``gravity``, in J).

    With ``inertia = (predict, weight)`` (a time step of :mod:`.dynamics`) the term
    ``inertia``, ``weight * mean |x - predict(p)|^2``, is added: ``predict: (B, 2) -> (B, 3)``
    the inertial prediction of the positions (no graph), ``weight = rho h L^2 / (2 dt^2)``.
    """

    desc = "cloth"
    target_metric = "energy"

    def __init__(
        self,
        field: Field,
        scene: Scene,
        material: Material,
        batch: int,
        gravity: float,
        inertia: tuple[Callable[[Tensor], Tensor], float] | None = None,
    ) -> None:
        self.field, self.scene, self.material = field, scene, material
        self.batch, self.gravity, self.inertia = batch, gravity, inertia
        p = next(field.parameters())
        self.dtype, self.device = p.dtype, p.device

    def sample(self, generator, previous, step: int) -> Samples:
        x = stratified_unit(self.batch, 2, generator, self.device).to(self.dtype)
        return {"interior": {"x": x}}

    def loss(self, samples: Samples):
        x = samples["interior"]["x"]
        jet = self.field.jet(x, order=2, hessian=True)
        reference = flat_reference(self.scene.size, len(x), self.dtype, self.device)
        terms = {
            k: d.mean()
            for k, d in shell_densities(jet, reference, self.material, self.gravity).items()
        }
        if self.inertia is not None:
            predict, weight = self.inertia
            terms["inertia"] = weight * (jet.value - predict(x)).square().sum(1).mean()
        return sum(terms.values()), terms

    def evaluate(self) -> dict[str, Any]:
        return cloth_energies(self.field, self.scene, self.material, 32, self.gravity)


def corner_positions(field: Field, scene: Scene) -> dict[str, list[float]]:
    """``"u,v" -> [x, y, z]`` (m) of the scene's free corners."""
    p = next(field.parameters())
    corners = scene.free_corners
    points = torch.tensor(corners, dtype=p.dtype, device=p.device)
    with torch.no_grad():
        x = field(points).double().cpu()
    return {f"{u:g},{v:g}": [float(c) for c in xi] for (u, v), xi in zip(corners, x)}


def simulate_cloth(
    scene: Scene | str = "drape",
    material: Material | None = None,
    steps: int | None = None,
    time_budget: float | None = None,
    resolution: int = 32,
    batch: int = 4096,
    lr: float = 1e-2,
    final_lr_factor: float = 0.01,
    gravity: float = GRAVITY,
    mesh_resolution: int = 64,
    seed: int = 0,
    device: str | torch.device = "cpu",
    out: str | os.PathLike | None = None,
    resume: bool = False,
    progress: bool = False,
) -> ClothResult:
    """Find the static shape of a pinned cloth under gravity by minimising its energy.

    Args:
        scene: a :class:`~.scenes.Scene` or a scene name (``drape``, ``hang``).
        material: the :class:`~.material.Material` (default: the soft default sheet).
        steps: Adam steps; or
        time_budget: training seconds. Exactly one; totals (``resume`` extends).
        resolution: cells per axis of the grid's finest level.
        batch: points per step.
        lr: the rate of grid and decoder, cosine decay to ``final_lr_factor`` times it.
        gravity: ``g``, m/s^2 (>= 0).
        mesh_resolution: cells per axis of the output mesh and of the energy quadrature.
        seed: seeds the initialisation and the draws.
        device: ``"cpu"``, ``"cuda"``, ...
        out: a directory for ``checkpoint.pt``, ``config.yaml``, ``cloth.obj``, ``cloth.ply``
            (engineering strain per vertex), ``views.png``, ``metrics.json``, ``history.csv``.
        resume: continue from ``out/checkpoint.pt``.
        progress: show a progress bar.

    Returns:
        A :class:`ClothResult`.

    Raises:
        ValueError: an unknown scene, a bad material, budget or size.

    Example:
        >>> result = simulate_cloth("drape", time_budget=60, out="runs/drape")  # doctest: +SKIP
        >>> result.metrics["max_strain"]                                        # doctest: +SKIP
    """
    scene = named_scene(scene) if isinstance(scene, str) else scene
    material = Material() if material is None else material
    budget = Budget(steps=steps, time_budget=time_budget)
    _check_options(batch, resolution, mesh_resolution, gravity)
    schedule = Schedule(lr=lr, decoder_lr=lr, decay="cosine", final_lr_factor=final_lr_factor)
    torch.manual_seed(seed)
    field = cloth_field(scene, resolution)
    field.to(device=torch.device(device), dtype=torch.float32)
    record = {
        "app": "cloth", "scene": scene.name, "size": scene.size,
        "pins": [list(p) for p in scene.pins],
        "edges": [e if isinstance(e, str) else list(e) for e in scene.edges],
        "material": material.as_dict(), "gravity": gravity,
        "batch": batch, "seed": seed, **field.config(), **budget.options(), **schedule.options(),
    }  # fmt: skip
    task = ClothTask(field, scene, material, batch, gravity)
    state = run_task(task, field, budget, schedule, seed=seed, out=out, resume=resume,
                     progress=progress, record=record)  # fmt: skip
    metrics = cloth_energies(field, scene, material, mesh_resolution, gravity)
    metrics.update(
        free_corners=corner_positions(field, scene),
        scene=scene.name,
        size=scene.size,
        material=material.as_dict(),
        gravity=gravity,
        resolution=resolution,
        **state.summary(field),
    )
    if out is not None:
        _write(Path(out), field, scene, material, metrics, state.history, mesh_resolution)
    return ClothResult(metrics, field, state.history, None if out is None else str(out))


def _check_options(batch: int, resolution: int, mesh_resolution: int, gravity: float) -> None:
    """Refuse ``batch`` below 1, a ``resolution`` or ``mesh_resolution`` (cells per axis)
    below 2, or a negative ``gravity`` (m/s^2)."""
    check_count("batch", batch)
    check_count("resolution", resolution, 2)
    check_count("mesh_resolution", mesh_resolution, 2)
    if not gravity >= 0:
        raise SettingsError(f"gravity must be >= 0 (m/s^2), got {gravity!r}")


def _write(
    out: Path,
    field: Field,
    scene: Scene,
    material: Material,
    metrics: Mapping[str, Any],
    history: Sequence[Mapping[str, Any]],
    mesh_resolution: int,
) -> None:
    """Write ``metrics.json``, ``history.csv``, the mesh (``cloth.obj``, ``cloth.ply``) and
    ``views.png`` into ``out``."""
    from .export import cloth_mesh, write_cloth_mesh
    from .plots import plot_views

    write_metrics(out, metrics)
    write_history(out / "history.csv", history)
    mesh = cloth_mesh(field, scene, mesh_resolution)
    write_cloth_mesh(out / "cloth.obj", mesh)
    write_cloth_mesh(out / "cloth.ply", mesh)
    title = (f"{scene.name}: E = {metrics['energy']:.4g} J, max strain "
             f"{100 * metrics['max_strain']:.2f} %")  # fmt: skip
    plot_views(mesh, out / "views.png", title=title)
