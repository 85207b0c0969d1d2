"""The training loop: fit a field to a problem's residual and conditions.

Per step: set the learning rates (decay) and the level mask (curriculum) from the progress,
draw collocation points from a dedicated, seeded ``torch.Generator``, evaluate the weighted loss
with analytic jets (or ``autograd`` / ``fd`` derivatives), one backward pass, one Adam step.
Every ``eval_every`` steps the error on the problem's test grid goes into the history.

With ``out=DIR`` the run keeps ``DIR/checkpoint.pt`` (+ ``.json``) up to date and writes
``config.yaml``, ``metrics.json``, ``history.csv`` and plots at the end; ``resume=True`` continues
from the checkpoint and reproduces the uninterrupted run (same seed, same step budget). A
non-finite loss raises :class:`DivergedError`; Ctrl-C finishes the current step, saves a
checkpoint and re-raises ``KeyboardInterrupt`` (a second Ctrl-C interrupts at once).
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from ..field import DERIVATIVES, Field
from .curriculum import level_mask
from .graph import GraphedStep, check_graphable
from .losses import POINT_KEYS, POOL, Objective
from .metrics import Evaluator, has_reference
from .optim import grid_decoder_adam, set_rates
from .result import Result
from .runs import describe_field, write_config, write_results
from .schedule import level_scales, lr_factor
from .state import RunState

__all__ = ["solve", "SOLVE_KEYS"]

SOLVE_KEYS = (
    "steps", "time_budget", "batch", "boundary_batch", "lr", "decoder_lr", "decay",
    "final_lr_factor", "weights", "resample_every", "stratified", "adaptive", "rad_pool",
    "rad_every", "rad_k", "rad_c", "causal", "causal_chunks", "time_weight", "level_scale",
    "curriculum", "eval_every", "target", "dtype", "device", "seed", "derivatives",
    "checkpoint_every", "tf32", "cuda_graph",
)  # fmt: skip
"""The settings of :func:`solve` recorded in ``config.yaml`` (and accepted by the CLI)."""

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _dtype(dtype: torch.dtype | str) -> torch.dtype:
    if isinstance(dtype, str):
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(_DTYPES)}, got {dtype!r}")
        return _DTYPES[dtype]
    if dtype not in _DTYPES.values():
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
    return dtype


def _prepare_field(problem, field: Field, level_scale, dtype, device) -> None:
    """Adopt the problem's box, constraint and level scale (grid encodings); move the field."""
    enc = field.encoding
    missing = sorted(set(problem.periodic) - set(enc.periodic))
    if missing:
        raise ValueError(
            f"problem {problem.name!r} is periodic on axes {tuple(problem.periodic)} but the "
            f"encoding is not periodic on {tuple(missing)}; build the encoding with "
            f"periodic={tuple(problem.periodic)}"
        )
    if enc.dim != problem.domain.dim:
        raise ValueError(
            f"the field is {enc.dim}-D but problem {problem.name!r} is {problem.domain.dim}-D"
        )
    if not enc.has_bounds:
        field.set_bounds(*problem.domain.bounds)
    if problem.constraint is not None and field.constraint is None:
        field.constraint = problem.constraint
    if enc.levels:
        enc.set_level_scale(level_scales(level_scale, enc.resolutions))
    field.to(device=device, dtype=dtype)


@contextmanager
def _deferred_interrupt() -> Iterator[dict[str, bool]]:
    """Turn the first Ctrl-C into a flag checked between steps; a second one raises at once."""
    flag = {"hit": False}
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame) -> None:
        if flag["hit"]:
            raise KeyboardInterrupt
        flag["hit"] = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


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
    steps: int | None = None,
    time_budget: float | None = None,
    batch: int = 8192,
    boundary_batch: int | None = None,
    lr: float = 1e-2,
    decoder_lr: float | None = None,
    decay: str | None = "exp",
    final_lr_factor: float = 0.1,
    weights: Mapping[str, float] | None = None,
    resample_every: int = 1,
    stratified: bool = False,
    adaptive: str | None = None,
    rad_pool: int = 8,
    rad_every: int = 25,
    rad_k: float = 1.0,
    rad_c: float = 1.0,
    causal: float = 0.0,
    causal_chunks: int = 16,
    time_weight: float = 0.0,
    level_scale: str | Sequence[float] = "inverse",
    curriculum: str | None = None,
    eval_every: int = 100,
    target: float | None = None,
    dtype: torch.dtype | str = torch.float32,
    device: str | torch.device = "cpu",
    seed: int = 0,
    derivatives: str | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    checkpoint_every: int = 1000,
    tf32: bool = False,
    cuda_graph: bool = False,
    config: Mapping[str, Any] | None = None,
) -> Result:
    """Train ``field`` on ``problem`` and report its error.

    Args:
        problem: a :class:`~smoothgrid.problems.base.Problem`.
        field: the field to train, in place. It is moved to ``device`` / ``dtype``; an encoding
            built without a box takes the problem's domain box; the problem's ready-made
            ``constraint`` is adopted if the field has none (and the conditions marked ``hard``
            are then dropped from the loss); ``level_scale`` is applied to the encoding.
        steps: number of Adam steps; or
        time_budget: seconds of training (evaluation and file output excluded). Exactly one.
        batch: interior collocation points per step.
        boundary_batch: points per condition per step (default ``batch // 4``).
        lr: learning rate of the encoding's parameters (the grid tables).
        decoder_lr: learning rate of the decoder (default ``lr``; the only rate of a field
            whose encoding has no parameters).
        decay: ``"exp"``, ``"cosine"`` or ``None``: both rates decay over the budget to
            ``final_lr_factor`` times their start.
        final_lr_factor: see ``decay``.
        weights: loss term name -> weight (terms: ``"residual"`` or the residual dict's keys,
            and the condition names); unknown names raise ``ValueError``.
        resample_every: draw fresh points every this many steps.
        stratified: stratified instead of uniform interior points (the candidates of RAD).
        adaptive: ``None`` or ``"rad"``: residual-based adaptive interior points (Wu et al.
            2023): a pool of ``rad_pool * batch`` candidates is scored by the residual every
            ``rad_every`` steps and the batch is drawn from it with probability
            ``∝ |r|^rad_k / mean(|r|^rad_k) + rad_c`` (see :mod:`.sampling`). Scoring costs a
            forward pass on the pool, about ``rad_pool / rad_every`` of a step's forward pass.
        rad_pool, rad_every, rad_k, rad_c: RAD's pool size (per interior point, ``>= 1``),
            pool age in steps (``>= 1``), exponent (``> 0``) and uniform share (``>= 0``).
        causal: ``eps >= 0`` of causal training (Wang et al. 2022) for a space-time problem:
            each residual term becomes ``mean_i w_i L_i`` over ``causal_chunks`` time slices,
            ``w_i = exp(-eps sum_{j<i} L_j)`` without gradient; 0 is off.
        causal_chunks: time slices of ``causal`` (``>= 1``).
        time_weight: power ``p >= 0`` of fixed remaining-time weights for a space-time
            problem: a residual at time ``t`` counts ``(p + 1) ((t1 - t) / (t1 - t0))^p`` times
            (mean 1), because an early error is carried to all later times (see
            :mod:`.sampling`); 0 is off. Combines with ``causal``.
        level_scale: per-level feature scale, ``"inverse"`` (``N_0 / N_l``),
            ``"inverse_square"``, ``"none"`` or ``L`` numbers (see :mod:`.schedule`); unused
            by an encoding without grid levels.
        curriculum: ``None``, ``"coarse_to_fine"`` or ``"vcycle"`` (see :mod:`.curriculum`);
            needs a grid encoding.
        eval_every: steps between evaluations on the test grid (history rows).
        target: stop once the relative L2 error is at or below this.
        dtype: ``torch.float32`` / ``torch.float64`` (or their names).
        device: ``"cpu"``, ``"cuda"``, ...
        seed: seeds the sampling generator (the field's initialisation is the caller's).
        derivatives: derivative method, ``"jet"``, ``"autograd"`` or ``"fd"`` (``None``: the
            field's ``derivatives``, ``"jet"`` unless it is a baseline's).
        out: run directory for the checkpoint, config, metrics, history and plots.
        resume: continue from ``out/checkpoint.pt``.
        progress: show a progress bar.
        checkpoint_every: steps between checkpoints (with ``out``).
        tf32: allow TF32 matrix products on CUDA (off: it ruins errors near 1e-5).
        cuda_graph: replay each step (loss, backward, Adam) from a CUDA graph (see
            :mod:`.graph`): fewer kernel launches; needs CUDA and ``derivatives="jet"``. A
            change of the active levels (``curriculum``) records the step again. A diverged
            step has already updated the field in memory (the checkpoint is the last good one).
        config: extra entries for ``config.yaml`` (the CLI records its problem, encoding and
            field options here).

    Returns:
        A :class:`Result`; its ``metrics`` are also in ``out/metrics.json``.

    Raises:
        ValueError: bad settings (both or neither of ``steps`` / ``time_budget``, a periodic
            problem on a non-periodic encoding, unknown names, ...).
        DivergedError: the loss became NaN or infinite.
        KeyboardInterrupt: after saving a checkpoint (with ``out``).
    """
    if (steps is None) == (time_budget is None):
        raise ValueError("give exactly one of steps= and time_budget= (seconds)")
    if steps is not None and (not isinstance(steps, int) or steps < 0):
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    if time_budget is not None and not time_budget > 0:
        raise ValueError(f"time_budget must be > 0 seconds, got {time_budget!r}")
    if derivatives is None:
        derivatives = getattr(field, "derivatives", "jet")
    if derivatives not in DERIVATIVES:
        raise ValueError(f"unknown derivatives {derivatives!r}; known: {', '.join(DERIVATIVES)}")
    counts = {"batch": batch, "resample_every": resample_every, "eval_every": eval_every}
    counts["checkpoint_every"] = checkpoint_every
    for name, value in counts.items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if resume and out is None:
        raise ValueError("resume=True needs out= (the run directory holding checkpoint.pt)")
    reference = has_reference(problem)
    if target is not None and not reference:
        raise ValueError(f"target= needs a reference solution; problem {problem.name!r} has none")
    lr_factor(decay, 0.0, final_lr_factor)  # validates decay and final_lr_factor
    levels = field.encoding.levels
    if levels:
        level_mask(curriculum, levels, 0.0)  # validates the curriculum
    elif curriculum is not None:
        raise ValueError(
            f"curriculum={curriculum!r} needs a grid encoding; the "
            f"{field.encoding.name!r} encoding has no levels"
        )
    dtype = _dtype(dtype)
    device = torch.device(device)
    if cuda_graph:
        check_graphable(device, derivatives)
    decoder_lr = lr if decoder_lr is None else decoder_lr
    boundary_batch = max(1, batch // 4) if boundary_batch is None else int(boundary_batch)
    settings = dict(zip(SOLVE_KEYS, (
        steps, time_budget, batch, boundary_batch, lr, decoder_lr, decay, final_lr_factor,
        None if weights is None else dict(weights), resample_every, stratified, adaptive,
        rad_pool, rad_every, rad_k, rad_c, causal, causal_chunks, time_weight,
        level_scale if isinstance(level_scale, str) else [float(s) for s in level_scale],
        curriculum, eval_every, target, str(dtype).removeprefix("torch."), str(device), seed,
        derivatives, checkpoint_every, tf32, cuda_graph,
    )))  # fmt: skip
    record = {"problem": {"name": problem.name}, **describe_field(field), **settings}
    record.update(config or {})

    _prepare_field(problem, field, level_scale, dtype, device)
    optimizer = grid_decoder_adam(field, lr, decoder_lr, capturable=cuda_graph)
    objective = Objective(
        problem, field, batch, boundary_batch, weights, derivatives, stratified, dtype, device,
        **{key: settings[key] for key in POINT_KEYS},
    )  # fmt: skip
    generator = torch.Generator(device=device).manual_seed(int(seed))
    evaluator = Evaluator(problem) if reference else None
    run = RunState(field, optimizer, generator, out)
    graphed = GraphedStep(objective.loss_and_terms, optimizer) if cuda_graph else None

    def train_step(samples) -> tuple[float, dict[str, torch.Tensor]]:
        """One Adam step on ``samples``: the loss before the step and its terms. An eager step
        checks the loss before updating; a replayed one has updated already (see ``cuda_graph``)."""
        if graphed is not None:
            batches = {k: v for k, v in samples.items() if k != POOL}  # the pool stays outside
            loss, terms = graphed(batches, tuple(field.encoding.active_levels))
        else:
            loss, terms = objective.loss_and_terms(samples)
        loss_value = float(loss.detach())
        if not math.isfinite(loss_value):
            run.diverged(loss_value, terms)
        if graphed is None:
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return loss_value, terms

    if resume:
        run.load()
    if out is not None:
        write_config(out, record)

    def fraction() -> float:
        if steps is not None:
            return run.step / steps if steps else 1.0
        return run.train_time / time_budget

    bar = tqdm(
        total=steps if steps is not None else None,
        initial=run.step,
        disable=not progress,
        desc=problem.name,
        unit="step",
        dynamic_ncols=True,
    )
    terms: dict[str, torch.Tensor] = {}
    with _tf32(tf32), _deferred_interrupt() as interrupt:
        try:
            while fraction() < 1.0 and not run.reached(target):
                start = time.perf_counter()
                p = fraction()
                set_rates(optimizer, lr_factor(decay, p, final_lr_factor))
                if levels:
                    mask = level_mask(curriculum, levels, p)
                    if sum(mask) != len(field.encoding.active_levels):
                        field.encoding.set_level_mask(mask)
                if run.samples is None or run.step % resample_every == 0:
                    run.samples = objective.sample(generator, run.samples, run.step)
                loss_value, terms = train_step(run.samples)
                run.advance(time.perf_counter() - start)
                bar.update(1)
                last = fraction() >= 1.0
                if run.step % eval_every == 0 or last:
                    row = run.record(loss_value, terms, evaluator)
                    bar.set_postfix(
                        loss=f"{loss_value:.3g}",
                        rel_l2="-" if row.get("rel_l2") is None else f"{row['rel_l2']:.3g}",
                    )
                if run.step % checkpoint_every == 0:
                    run.save(record)
                if interrupt["hit"]:
                    raise KeyboardInterrupt
        except KeyboardInterrupt:
            run.save(record)
            raise
        finally:
            bar.close()
    if not run.history or run.history[-1]["step"] != run.step:
        run.record(run.last_loss, terms, evaluator)
    run.save(record)
    metrics = run.metrics(terms, objective)
    if out is not None:
        write_results(out, metrics, run.history, problem, field)
    return Result(metrics, run.history, field, None if out is None else str(out))
