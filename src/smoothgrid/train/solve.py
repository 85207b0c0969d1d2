"""Solve a problem: fit a field to its residual and conditions with the training loop.

Per step: the learning rates (decay) and the level mask (curriculum) follow the progress,
collocation points come from a dedicated, seeded ``torch.Generator``, the weighted loss is
evaluated with analytic jets (or ``autograd`` / ``fd`` derivatives), one backward pass, one Adam
step (see :mod:`.loop`). Every ``eval_every`` steps the error on the problem's test grid goes
into the history.

With ``out=DIR`` the run keeps ``DIR/checkpoint.pt`` (+ ``.json``) up to date and writes
``config.yaml``, ``metrics.json``, ``history.csv`` and plots at the end; ``resume=True`` continues
from the checkpoint and reproduces the uninterrupted run (same seed, same budget). A
non-finite loss raises :class:`DivergedError`; Ctrl-C finishes the current step, saves a
checkpoint and re-raises ``KeyboardInterrupt`` (a second Ctrl-C interrupts at once). Inside an
initialised ``torch.distributed`` process group (``torchrun``) the points of each step are split
across the processes (see :mod:`.distributed`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from ..field import Field
from .curriculum import level_mask
from .distributed import World, current_world, stream_seed
from .graph import check_graphable
from .loop import Loop, Task
from .losses import Objective
from .metrics import Evaluator, has_reference
from .optim import make_optimizer
from .result import Result
from .runs import write_results
from .schedule import level_scales, scale_levels
from .settings import Settings, SettingsError
from .state import RunState, Samples

__all__ = ["solve", "check_setup", "SolveTask"]


def check_setup(problem, field: Field, settings: Settings, world: World | None = None) -> None:
    """Refuse a problem, field and settings that cannot train together, before any training.

    Raises:
        SettingsError: a periodic problem on a non-periodic encoding, mismatched dimensions, a
            target without a reference solution, a curriculum or level scale the encoding
            cannot take, a CUDA graph where none can run, ``compile=True`` without jet
            derivatives, a batch that does not split evenly
            over the processes.
    """
    enc = field.encoding
    missing = sorted(set(problem.periodic) - set(enc.periodic))
    if missing:
        raise SettingsError(
            f"problem {problem.name!r} is periodic on axes {tuple(problem.periodic)} but the "
            f"encoding is not periodic on {tuple(missing)}; build the encoding with "
            f"periodic={tuple(problem.periodic)}"
        )
    if enc.dim != problem.domain.dim:
        raise SettingsError(
            f"the field is {enc.dim}-D but problem {problem.name!r} is {problem.domain.dim}-D"
        )
    if settings.output.target is not None and not has_reference(problem):
        raise SettingsError(
            f"target= needs a reference solution; problem {problem.name!r} has none"
        )
    schedule = settings.schedule
    if enc.levels:
        try:
            level_scales(schedule.level_scale, enc.resolutions)
        except ValueError as error:
            raise SettingsError(str(error)) from None
    elif schedule.curriculum is not None:
        raise SettingsError(
            f"curriculum={schedule.curriculum!r} needs a grid encoding; the "
            f"{enc.name!r} encoding has no levels"
        )
    runtime = settings.runtime
    derivatives = _derivatives(field, settings)
    if runtime.cuda_graph:
        try:
            check_graphable(torch.device(runtime.device), derivatives)
        except ValueError as error:
            raise SettingsError(str(error)) from None
    if runtime.compile and derivatives != "jet":
        raise SettingsError(
            f"compile=True compiles the decoder's jet and needs derivatives='jet', got "
            f"{derivatives!r} (autograd's double backward cannot be compiled; fd evaluates no jet)"
        )
    world = world or current_world()
    points = settings.points
    if settings.schedule.solver in ("cgls", "cg"):
        _check_conjugate_gradients(problem, settings, world)
    counts = (("batch", points.batch), ("boundary_batch", points.boundary))
    for name, count in counts[1:] if points.quadrature else counts:  # a rule is cut, not drawn
        if count % world.size:
            raise SettingsError(f"{name}={count} must be a multiple of the {world.size} processes")


def _check_conjugate_gradients(problem, settings: Settings, world: World) -> None:
    """Refuse what ``solver="cgls"`` (a plain sum of squares) or ``solver="cg"`` (an energy)
    cannot take: the other kind of loss, weights that change with the points, several
    processes, a curriculum, a CUDA graph or compilation. (Whether the residual is affine in
    the tables, or the energy quadratic, is measured at the first step.)"""
    points, runtime, solver = settings.points, settings.runtime, settings.schedule.solver
    energy = getattr(problem, "energy", None) is not None
    refused = {
        "an energy problem": solver == "cgls" and energy,
        "a problem not in energy form": solver == "cg" and not energy,
        f"adaptive={points.adaptive!r}": points.adaptive is not None,
        f"causal={points.causal}": points.causal > 0,
        f"time_weight={points.time_weight}": points.time_weight > 0,
        f"curriculum={settings.schedule.curriculum!r}": settings.schedule.curriculum is not None,
        f"{world.size} processes": world.size > 1,
        "cuda_graph=True": runtime.cuda_graph,
        "compile=True": runtime.compile,
    }
    found = [name for name, hit in refused.items() if hit]
    if found:
        kind = "least-squares problem" if solver == "cgls" else "quadratic energy"
        raise SettingsError(
            f"solver={solver!r} solves a fixed {kind} on one process and cannot take "
            f"{', '.join(found)}"
        )


def _derivatives(field: Field, settings: Settings) -> str:
    return settings.runtime.derivatives or getattr(field, "derivatives", "jet")


def _prepare_field(problem, field: Field, settings: Settings) -> None:
    """Adopt the problem's box, constraint and level scale (grid encodings); move the field."""
    enc = field.encoding
    if not enc.has_bounds:
        field.set_bounds(*problem.domain.bounds)
    if problem.constraint is not None and field.constraint is None:
        field.constraint = problem.constraint
    scale_levels(field, settings.schedule.level_scale)
    dtype = getattr(torch, settings.runtime.dtype)
    field.to(device=torch.device(settings.runtime.device), dtype=dtype)


class SolveTask(Task):
    """A PDE problem as a :class:`~smoothgrid.train.loop.Task`: the curriculum before each
    step, fresh collocation points every ``resample_every`` steps (once with
    ``solver="cgls"`` or ``"cg"``), the problem's weighted loss (and its residual vector or
    its energy's principal part), and its errors (with the active levels) in each history
    row."""

    def __init__(self, problem, field: Field, objective: Objective, settings: Settings) -> None:
        self.desc = problem.name
        self.field, self.objective = field, objective
        self.curriculum = settings.schedule.curriculum
        self.resample_every = settings.points.resample_every
        # least squares by CG needs the same points at every step: they are drawn once
        self.fixed_points = settings.schedule.solver in ("cgls", "cg")
        self.levels = field.encoding.levels
        self.evaluator = Evaluator(problem) if has_reference(problem) else None

    def before_step(self, progress: float) -> None:
        if self.levels:
            mask = level_mask(self.curriculum, self.levels, progress)
            if sum(mask) != len(self.field.encoding.active_levels):
                self.field.encoding.set_level_mask(mask)

    def sample(self, generator, previous: Samples | None, step: int) -> Samples:
        if previous is None or (not self.fixed_points and step % self.resample_every == 0):
            return self.objective.sample(generator, previous, step)
        return previous

    def loss(self, samples: Samples):
        return self.objective.loss_and_terms(samples)

    def residual(self, samples: Samples):
        return self.objective.residual_vector(samples)

    def principal(self, samples: Samples):
        return self.objective.principal_vector(samples)

    def evaluate(self) -> dict[str, Any]:
        row: dict[str, Any] = {"levels": len(self.field.encoding.active_levels)}
        if self.evaluator is not None:
            row.update(self.evaluator(self.field))
        return row


@contextmanager
def _tf32(enabled: bool) -> Iterator[None]:
    matmul, cudnn = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = enabled
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = matmul, cudnn


def solve(
    problem,
    field: Field,
    settings: Settings | None = None,
    *,
    out: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    config: dict[str, Any] | None = None,
    **options: Any,
) -> Result:
    """Train ``field`` on ``problem`` and report its error.

    Args:
        problem: a :class:`~smoothgrid.problems.base.Problem`.
        field: the field to train, in place. It is moved to ``device`` / ``dtype``; an encoding
            built without a box takes the problem's domain box; the problem's ready-made
            ``constraint`` is adopted if the field has none (and the conditions marked ``hard``
            are then dropped from the loss); ``level_scale`` is applied to the encoding.
        settings: a :class:`~smoothgrid.train.settings.Settings` (``options`` change it).
        out: run directory for the checkpoint, config, metrics, history and plots.
        resume: continue from ``out/checkpoint.pt``; the budget is a total (a larger one
            extends the run, the learning-rate schedule continuing from where it was).
        progress: show a progress bar.
        config: extra entries for ``config.yaml`` (the CLI records its problem here; the
            field records itself).
        **options: the settings by name, e.g. ``steps=2000``, ``time_budget=60``,
            ``batch=8192``, ``lr=1e-2``, ``decay="cosine"``, ``causal=100``, ``seed=1``,
            ``device="cuda"``: every option of :class:`~smoothgrid.train.settings.Settings`
            (``docs/options.md``, ``smoothgrid options``). Exactly one of ``steps`` and
            ``time_budget`` in all.

    Returns:
        A :class:`Result`; its ``metrics`` are also in ``out/metrics.json``.

    Raises:
        SettingsError: an unknown option (with the nearest name), a bad value, or settings
            this problem and field cannot train with (see :func:`check_setup`); with
            ``solver="cgls"``, a residual that is not affine in the grid tables (at the first
            step); with ``solver="cg"``, an energy that is not a convex quadratic in them.
        CheckpointError, BudgetSpentError: ``resume`` without a usable checkpoint or budget.
        DivergedError: the loss became NaN or infinite.
        KeyboardInterrupt: after saving a checkpoint (with ``out``).
    """
    settings = Settings.from_options(**options) if settings is None else settings.replace(**options)
    world = current_world()
    check_setup(problem, field, settings, world)
    if resume and out is None:
        raise SettingsError("resume=True needs out= (the run directory holding checkpoint.pt)")
    runtime = settings.runtime
    derivatives = _derivatives(field, settings)
    params = getattr(problem, "params", {})
    record = {"problem": {"name": problem.name, **params}, **field.config(),
              **settings.options()}  # fmt: skip
    record["derivatives"] = derivatives
    record.update(config or {})
    _prepare_field(problem, field, settings)
    device = torch.device(runtime.device)
    dtype = getattr(torch, runtime.dtype)
    optimizer = make_optimizer(field, settings.schedule, runtime.cuda_graph, runtime.seed)
    objective = Objective(problem, field, settings.points, derivatives, dtype, device,
                          share=world.size, rank=world.rank)  # fmt: skip
    task = SolveTask(problem, field, objective, settings)
    generator = torch.Generator(device=device).manual_seed(stream_seed(runtime.seed, world.rank))
    loop = Loop(
        task, field, optimizer, generator, settings.budget, settings.schedule, settings.output,
        world=world, out=out, record=record, progress=progress, cuda_graph=runtime.cuda_graph,
        compile=runtime.compile,
    )  # fmt: skip
    with _tf32(runtime.tf32):
        state = loop.run(resume=resume)
    metrics = world.from_leader(_metrics(state, loop.terms, objective))
    history = world.from_leader(state.history)
    if out is not None and world.leader:
        write_results(out, metrics, history, problem, field)
    world.barrier()  # every process returns once the run's files are written
    return Result(metrics, history, field, None if out is None else str(out))


def _metrics(state: RunState, terms, objective: Objective) -> dict[str, Any]:
    """The final metrics (see :class:`Result`); an energy problem's ``energy`` (the last step's
    loss: its terms are integrals) stands where a residual problem's ``residual`` sum does."""
    last = state.history[-1] if state.history else {}
    if objective.energy:
        summary = {"energy": state.last_loss}
    else:
        residual = [float(v.detach()) for k, v in terms.items() if k not in objective.conditions]
        summary = {"residual": sum(residual) if residual else None}
    return {
        "rel_l2": last.get("rel_l2"),
        "best_rel_l2": state.best,
        "max_abs_error": last.get("max_abs_error"),
        **summary,
        "loss": state.last_loss,
        "wall_time": state.train_time,
        "steps": state.step,
        "ms_per_step": state.ms_per_step,
    }
