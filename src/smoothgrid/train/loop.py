"""The one training loop of smoothgrid: PDE solves and every app run through it.

A :class:`Task` says what is trained (its batch, its loss, its evaluation, what changes with
the progress); the :class:`Loop` does the rest, identically for all of them: the budget (steps or
seconds, validated once by :class:`~smoothgrid.train.settings.Budget`), the learning-rate
schedule, the progress fraction handed to the task's hooks, the step itself (eager, or replayed
from a CUDA graph), the gradient all-reduce of a data-parallel run, the NaN guard, evaluation
and history rows, checkpoints and exact resume, Ctrl-C (finish the step, save, re-raise) and the
progress bar.

Per step::

    p = state.progress()                 # fraction of the budget spent, in [0, 1]
    set the rates to base * lr_factor(decay, p, final_lr_factor)
    task.before_step(p)                  # curricula, loss-weight ramps, ...
    samples = task.sample(generator, previous samples, step)
    loss, terms = task.loss(samples); backward; all-reduce (several processes); NaN guard;
        the optimiser's step (Adam; a least-squares optimiser also gets task.residual, an
        energy CG optimiser task.loss and task.principal)
    every eval_every steps: a history row with task.evaluate() (process 0)
    every checkpoint_every steps: a checkpoint (with out=)
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from .compiled import CompiledDecoders
from .distributed import SINGLE, World, current_world, stream_seed
from .graph import GraphedStep
from .optim import grid_decoder_adam, set_rates
from .progress import progress_bar
from .runs import write_config
from .schedule import lr_factor
from .settings import Budget, Output, Schedule
from .state import RunState, Samples

__all__ = ["Task", "Loop", "run_task"]


class Task:
    """What a run trains: the hooks the :class:`Loop` calls. Subclass and override.

    Attributes:
        desc: the progress bar's label.
        target_metric: the entry of :meth:`evaluate` that ``target`` and ``best`` refer to
            (lower is better).
    """

    desc: str = "train"
    target_metric: str = "rel_l2"

    def before_step(self, progress: float) -> None:
        """Called before each step with the fraction of the budget spent (curricula, ramps)."""

    def sample(self, generator: torch.Generator, previous: Samples | None, step: int) -> Samples:
        """The batch of step ``step`` (``previous``: the last one), drawn from ``generator``.
        It is checkpointed with the generator's state, so a resumed run draws what the
        uninterrupted one would."""
        return {}

    def loss(self, samples: Samples) -> tuple[Tensor, dict[str, Tensor]]:
        """``(loss, terms)`` on ``samples``: the scalar to minimise and its named parts."""
        raise NotImplementedError

    def residual(self, samples: Samples) -> Tensor:
        """The residual vector ``(m,)`` on ``samples`` whose squared norm is the loss; only a
        least-squares optimiser (``takes_residual``, e.g.
        :class:`~smoothgrid.train.lstsq.LeastSquaresCG`) asks for it."""
        raise NotImplementedError(f"{type(self).__name__} has no residual vector")

    def principal(self, samples: Samples) -> Tensor:
        """The energy's principal part on ``samples`` as a vector (its squared column norms
        scale the tables); only an energy CG optimiser (``takes_energy``, e.g.
        :class:`~smoothgrid.train.energy_cg.EnergyCG`) asks for it."""
        raise NotImplementedError(f"{type(self).__name__} has no energy principal part")

    def evaluate(self) -> dict[str, Any]:
        """Entries of a history row beside the loss (errors, active levels, ...); called on
        process 0 only, every ``eval_every`` steps and at the end."""
        return {}


@contextmanager
def deferred_interrupt() -> Iterator[dict[str, bool]]:
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


class Loop:
    """Train ``field`` on ``task`` under a budget (see the module docstring).

    Args:
        task: the :class:`Task`.
        field: the trained module (checkpointed).
        optimizer: its param groups carry ``base_lr`` (see
            :func:`~smoothgrid.train.optim.grid_decoder_adam`).
        generator: the sampling generator of this process.
        budget, schedule, output: the settings groups (only ``decay`` and
            ``final_lr_factor`` of ``schedule`` are used here).
        world: the processes of a data-parallel run (default: this one alone).
        out: the run directory for ``config.yaml`` and the checkpoint, or ``None``.
        record: the run's configuration, written to ``config.yaml`` and into checkpoints.
        progress: show a progress bar (process 0).
        cuda_graph: replay loss, backward and Adam from a CUDA graph
            (:class:`~smoothgrid.train.graph.GraphedStep`; the optimiser must be capturable).
        compile: the field's MLP decoders run a ``torch.compile``-d jet
            (:class:`~smoothgrid.train.compiled.CompiledDecoders`), compiled outside the timed
            steps; eager, with a warning, where compilation fails.
        postfix_every: steps between progress-bar loss updates.
    """

    def __init__(
        self,
        task: Task,
        field: nn.Module,
        optimizer: torch.optim.Optimizer,
        generator: torch.Generator,
        budget: Budget,
        schedule: Schedule,
        output: Output,
        world: World = SINGLE,
        out: str | Path | None = None,
        record: Mapping[str, Any] | None = None,
        progress: bool = True,
        cuda_graph: bool = False,
        compile: bool = False,
        postfix_every: int = 1,
    ) -> None:
        if cuda_graph and world.parallel:
            raise ValueError("cuda_graph=True runs on one process; drop it for a torchrun run")
        self.task, self.field, self.optimizer = task, field, optimizer
        self.schedule, self.output, self.world = schedule, output, world
        self.record = dict(record or {})
        self.out, self.postfix_every = out, postfix_every
        self.compiled = CompiledDecoders(field) if compile else None
        self.graphed = GraphedStep(task.loss, optimizer) if cuda_graph else None
        self.show_progress = progress and world.leader
        self.params = [p for group in optimizer.param_groups for p in group["params"]]
        self.state = RunState(field, optimizer, generator, budget, out, world, task.target_metric)
        self.terms: dict[str, Tensor] = {}
        self._interrupt = {"hit": False}

    def run(self, resume: bool = False) -> RunState:
        """Train until the budget is spent or the target reached; returns the final state.

        Raises:
            DivergedError: a non-finite loss (every process).
            KeyboardInterrupt: after a checkpoint of the last completed step (with ``out``).
            CheckpointError, BudgetSpentError: from ``resume``.
        """
        state = self.state
        if resume:
            state.load()
        self.world.broadcast_module(self.field)
        if self.out is not None and self.world.leader:
            write_config(self.out, self.record)
        bar = progress_bar(self.show_progress, state.budget.steps, state.step, self.task.desc)
        with deferred_interrupt() as self._interrupt, self.compiled or nullcontext():
            try:
                while not state.finished() and not self._reached():
                    self._step(bar)
            except KeyboardInterrupt:
                state.save(self.record)
                raise
            finally:
                bar.close()
        if not state.history or state.history[-1]["step"] != state.step:
            self._record()
        state.save(self.record)
        return state

    def _warm_up(self, samples: Samples) -> float:
        """Seconds spent compiling what a step on this batch's shapes needs (0 if done)."""
        if self.compiled is None:
            return 0.0
        start = time.perf_counter()
        compiled = self.compiled.warm_up(self.task.loss, samples, self.params)
        return time.perf_counter() - start if compiled else 0.0

    def _reached(self) -> bool:
        """Whether the target is reached (decided by process 0 after each evaluation)."""
        state = self.state
        if self.output.target is None or not state.history:
            return False
        if state.history[-1]["step"] != state.step:
            return False
        return self.world.agree(state.reached(self.output.target))

    def _interrupted(self) -> bool:
        """Whether Ctrl-C came during the step just done (this process)."""
        return self._interrupt["hit"]

    def _step(self, bar) -> None:
        state, task = self.state, self.task
        start = time.perf_counter()
        progress = state.progress()
        set_rates(self.optimizer, lr_factor(self.schedule.decay, progress,
                                            self.schedule.final_lr_factor))  # fmt: skip
        task.before_step(progress)
        state.samples = task.sample(state.generator, state.samples, state.step)
        compiling = self._warm_up(state.samples)  # kept out of the step's time
        loss_value = self._train_step(state.samples)
        seconds = time.perf_counter() - start - compiling
        seconds, interrupted = self.world.agree_clock(seconds, self._interrupted())
        state.advance(seconds)
        state.last_loss = loss_value
        bar.update(1)
        if state.step % self.output.eval_every == 0 or state.finished():
            self._record(bar)
        elif state.step % self.postfix_every == 0 and self.show_progress:
            bar.set_postfix(loss=f"{loss_value:.3g}", refresh=False)
        if state.step % self.output.checkpoint_every == 0:
            state.save(self.record)
        if interrupted:
            raise KeyboardInterrupt

    def _train_step(self, samples: Samples) -> float:
        """One optimiser step on ``samples``; the loss before it (mean over the processes)."""
        if self.graphed is not None:
            # entries named "_..." (e.g. RAD's candidate pool) stay outside the graph
            batches = {k: v for k, v in samples.items() if not k.startswith("_")}
            active = getattr(getattr(self.field, "encoding", None), "active_levels", ())
            loss, self.terms = self.graphed(batches, tuple(active))
            loss_value = float(loss.detach())
            if not math.isfinite(loss_value):  # the replayed step has updated already
                self.state.diverged(loss_value, self.terms)
            return loss_value
        loss, self.terms = self.task.loss(samples)
        self.optimizer.zero_grad(set_to_none=True)
        loss_value = float(loss.detach())
        if math.isfinite(loss_value) or self.world.parallel:
            loss.backward()
            loss_value = self.world.average_gradients(self.params, loss_value)
        if not math.isfinite(loss_value):
            self.state.diverged(loss_value, self.terms)
        if getattr(self.optimizer, "takes_residual", False):
            self.optimizer.step(lambda: self.task.residual(samples))
        elif getattr(self.optimizer, "takes_energy", False):
            self.optimizer.step(lambda: self.task.loss(samples)[0],
                                lambda: self.task.principal(samples))  # fmt: skip
        else:
            self.optimizer.step()
        return loss_value

    def _record(self, bar=None) -> None:
        """A history row at the current step (process 0 evaluates)."""
        state = self.state
        evaluation = self.task.evaluate() if self.world.leader else {}
        row = state.record(state.last_loss, self.terms, evaluation)
        if bar is not None and self.show_progress:
            value = row.get(self.task.target_metric)
            postfix = {"loss": f"{row['loss']:.3g}"} if row["loss"] is not None else {}
            if self.task.target_metric in row or value is not None:
                postfix[self.task.target_metric] = "-" if value is None else f"{value:.3g}"
            bar.set_postfix(postfix, refresh=False)


def run_task(
    task: Task,
    field: nn.Module,
    budget: Budget,
    schedule: Schedule,
    output: Output | None = None,
    seed: int = 0,
    out: str | Path | None = None,
    resume: bool = False,
    progress: bool = False,
    record: Mapping[str, Any] | None = None,
    compile: bool = False,
) -> RunState:
    """Train ``field`` (already on its device) on an app's ``task``: Adam at ``schedule``'s
    rates (:func:`~smoothgrid.train.optim.grid_decoder_adam`), a sampling generator seeded with
    ``seed`` (each process of a ``torchrun`` run its own stream), the :class:`Loop` (with
    ``compile``: the decoder's jet through ``torch.compile``, see :mod:`.compiled`).

    Returns:
        The final :class:`~smoothgrid.train.state.RunState` (step, clock, history, last loss).
    """
    world = current_world()
    device = next(field.parameters()).device
    optimizer = grid_decoder_adam(field, *schedule.rates)
    generator = torch.Generator(device=device).manual_seed(stream_seed(seed, world.rank))
    loop = Loop(
        task, field, optimizer, generator, budget, schedule, output or Output(), world=world,
        out=out, record=record, progress=progress, compile=compile, postfix_every=50,
    )  # fmt: skip
    return loop.run(resume=resume)
