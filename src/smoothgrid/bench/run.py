"""Run methods x problems side by side in one process, under one budget, with the same seeds.

Every run of a suite uses the same collocation batch size, the same sampling seed (so the same
points for every method), the same evaluation grid and the same time or step budget; only the
field, its recommended learning rates and its derivative method differ. Per run the record
holds the final and best relative L2 error, the training time at which each target error was
first reached (``inf`` when never), ms per step, peak memory and the parameter count.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import math
import multiprocessing
import os
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .. import baselines
from .. import problems as problem_zoo
from ..train import DivergedError, solve
from ..train.settings import Budget, SettingsError
from .report import write_report
from .suites import Suite, get_suite, target_label

__all__ = ["run", "BenchResult", "time_to_target", "parse_method"]


@dataclass
class BenchResult:
    """What :func:`run` measured.

    Attributes:
        suite: the suite run (after the method / problem selection).
        records: one dict per (problem, method, seed); see :func:`run`.
        meta: machine, budget and settings.
        out: the directory the files were written to, or ``None``.
    """

    suite: Suite
    records: list[dict[str, Any]]
    meta: dict[str, Any]
    out: str | None


def parse_method(spec: str) -> tuple[str, str | None]:
    """``"hermite"`` -> ``("hermite", None)``; ``"hermite:fd"`` -> ``("hermite", "fd")``."""
    name, _, derivatives = spec.partition(":")
    if name not in baselines.names():
        raise SettingsError(f"unknown method {name!r}; known: {', '.join(baselines.names())}")
    return name, derivatives or None


def time_to_target(history: Sequence[dict[str, Any]], target: float) -> float:
    """Training seconds at the first history row with ``rel_l2 <= target`` (``inf`` if none)."""
    for row in history:
        error = row.get("rel_l2")
        if error is not None and error <= target:
            return float(row["time"])
    return math.inf


def _memory_kib(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise OSError(f"{key} not in /proc/self/status")


def _memory_start(device: torch.device) -> float | None:
    """Reset the peak counter; the baseline in MiB (``None`` where it cannot be measured)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        return torch.cuda.memory_allocated(device) / 2**20
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset the peak resident set (VmHWM) to the current one
        return _memory_kib("VmRSS") / 1024.0
    except OSError:
        return None


def _memory_peak(device: torch.device, base: float | None) -> float | None:
    """Peak memory above ``base`` in MiB since :func:`_memory_start`."""
    if base is None:
        return None
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) / 2**20 - base
    return _memory_kib("VmHWM") / 1024.0 - base


def _machine(device: torch.device) -> str:
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = platform.processor() or platform.machine()
        name = f"CPU {name}, {os.cpu_count()} cores"
    return f"{name}, torch {torch.__version__}, {torch.get_num_threads()} threads"


def _method_field(name: str, derivatives: str | None, problem, size: str, seed: int):
    """Method ``name``'s field for ``problem`` (its dimension, outputs and periodic axes) at
    ``size``, initialised from ``seed``; ``derivatives`` (when given) replaces its own."""
    torch.manual_seed(seed)
    field = baselines.make(
        name, problem.domain.dim, out=len(problem.outputs), periodic=problem.periodic,
        size=size,
    )  # fmt: skip
    if derivatives is not None:
        field.derivatives = derivatives
    return field


def _diverged_entries(error: DivergedError, suite: Suite) -> dict[str, Any]:
    """A diverged run's record entries: infinite errors and times to target, no timing."""
    return {
        "final_rel_l2": math.inf, "best_rel_l2": math.inf, "steps": error.step,
        "ms_per_step": None, "train_time": None, "diverged": True, "history": [],
        **{f"time_to_{target_label(t)}": math.inf for t in suite.targets},
    }  # fmt: skip


def _make_problem(spec, test_resolution: int | None):
    """The problem of a suite's ``spec``, its test grid ``test_resolution`` points per axis
    when given."""
    problem = problem_zoo.make(spec.name, **spec.params)
    if test_resolution is not None:
        problem = dataclasses.replace(problem, test_resolution=test_resolution)
    return problem


def _one_run(
    spec,
    problem,
    method: str,
    seed: int,
    suite: Suite,
    budget: dict[str, Any],
    device: torch.device,
) -> dict[str, Any]:
    """Train method ``method`` (``name[:derivatives]``) on ``problem`` with ``seed`` under the
    suite's batch and evaluation interval and ``budget``; the run's record (see :func:`run`)."""
    name, derivatives = parse_method(method)
    field = _method_field(name, derivatives, problem, suite.size, seed)
    settings = {**baselines.settings(name), **budget, "batch": suite.batch, "seed": seed}
    record: dict[str, Any] = {
        "problem": spec.label,
        "method": method,
        "derivatives": field.derivatives,
        "seed": seed,
        "params": sum(p.numel() for p in field.parameters()),
    }
    base = _memory_start(device)
    try:
        result = solve(
            problem, field, eval_every=suite.eval_every, device=device, progress=False,
            **settings,
        )  # fmt: skip
    except DivergedError as error:
        record.update(_diverged_entries(error, suite))
        record["peak_memory_mib"] = _memory_peak(device, base)
        return record
    record["peak_memory_mib"] = _memory_peak(device, base)
    metrics = result.metrics
    history = [
        {"step": r["step"], "time": r["time"], "rel_l2": r.get("rel_l2")} for r in result.history
    ]
    record.update(
        final_rel_l2=metrics["rel_l2"],
        best_rel_l2=metrics["best_rel_l2"],
        steps=metrics["steps"],
        ms_per_step=metrics["ms_per_step"],
        train_time=metrics["wall_time"],
        diverged=False,
        history=history,
    )
    for t in suite.targets:
        record[f"time_to_{target_label(t)}"] = time_to_target(history, t)
    return record


def _isolated_run(
    spec,
    method: str,
    seed: int,
    suite: Suite,
    budget: dict[str, Any],
    device: str,
    test_resolution: int | None,
) -> dict[str, Any]:
    """:func:`_one_run` in a fresh process: the problem is rebuilt there from its spec."""
    problem = _make_problem(spec, test_resolution)
    return _one_run(spec, problem, method, seed, suite, budget, torch.device(device))


def _run_in_fresh_process(*args: Any) -> dict[str, Any]:
    """:func:`_isolated_run` of ``args`` in a spawned process; its record."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(_isolated_run, *args).result()


def run(
    suite: str | Suite,
    time_budget: float | None = None,
    steps: int | None = None,
    seeds: int = 1,
    device: str | torch.device = "cpu",
    out: str | os.PathLike | None = None,
    methods: Sequence[str] | None = None,
    problems: Sequence[str] | None = None,
    batch: int | None = None,
    eval_every: int | None = None,
    test_resolution: int | None = None,
    log: Callable[[str], None] | None = print,
    command: str | None = None,
    isolate: bool = False,
) -> BenchResult:
    """Run a suite: every method on every problem for every seed, one process.

    Args:
        suite: a suite name (``quick``, ``paper``, ``derivatives``) or a :class:`Suite`.
        time_budget: training seconds per run; or
        steps: Adam steps per run (neither: the suite's default time budget).
        seeds: seeds ``0 .. seeds-1`` per (method, problem): field initialisation and points.
        device: ``"cpu"`` or ``"cuda"``.
        out: directory for ``results.csv``, ``results.json``, ``results.md`` and the plots.
        methods: a subset of the suite's methods (or other method specs, ``name[:derivatives]``).
        problems: a subset of the suite's problems, by label or registry name.
        batch, eval_every: override the suite's collocation batch / evaluation interval.
        test_resolution: override every problem's test grid (points per axis).
        log: called with one line per finished run (``None``: quiet).
        command: the command line to record with the results.
        isolate: run each (problem, method, seed) in a fresh process (a few seconds more per
            run), so that the CPU peak-memory column is each run's own: in one process a later
            run reuses memory an earlier one freed and its growth reads near zero.

    Returns:
        A :class:`BenchResult`. Each record has ``problem``, ``method``, ``derivatives``, ``seed``,
        ``params``, ``final_rel_l2``, ``best_rel_l2``, ``time_to_<target>`` (seconds, ``inf``
        if never reached), ``ms_per_step``, ``peak_memory_mib`` (CPU: peak resident-set growth
        over the run; CUDA: peak allocated above the start), ``steps``, ``train_time``,
        ``diverged`` and ``history`` (``step``, ``time``, ``rel_l2`` rows).
    """
    suite = get_suite(suite) if isinstance(suite, str) else suite
    _check_budget(time_budget, steps, seeds)
    suite = _select(suite, methods, problems, batch, eval_every)
    if steps is None and time_budget is None:
        time_budget = suite.time_budget
    budget: dict[str, Any] = {"steps": steps} if steps is not None else {"time_budget": time_budget}
    device = torch.device(device)
    meta = _meta(suite, device, budget, seeds, test_resolution, isolate, command)
    records = _run_all(suite, seeds, budget, device, test_resolution, isolate, log)
    if out is not None:
        write_report(out, suite, records, meta)
    return BenchResult(suite, records, meta, None if out is None else str(Path(out)))


def _check_budget(time_budget: float | None, steps: int | None, seeds: int) -> None:
    """Refuse both budgets at once, a bad one, or ``seeds`` below 1."""
    if time_budget is not None and steps is not None:
        raise SettingsError("give time_budget or steps, not both")
    if time_budget is not None or steps is not None:
        Budget(steps=steps, time_budget=time_budget)  # validates the numbers
    if not isinstance(seeds, int) or seeds < 1:
        raise SettingsError(f"seeds must be an integer >= 1, got {seeds!r}")


def _select(
    suite: Suite,
    methods: Sequence[str] | None,
    problems: Sequence[str] | None,
    batch: int | None,
    eval_every: int | None,
) -> Suite:
    """``suite`` narrowed to ``methods`` (any method specs) and ``problems`` (labels or
    registry names), with ``batch`` and ``eval_every`` over its own when given.

    Raises:
        SettingsError: an unknown method, or a problem the suite does not have.
    """
    chosen_methods = tuple(methods) if methods else suite.methods
    for method in chosen_methods:
        parse_method(method)
    specs = suite.problems
    if problems:
        known = {s.label for s in specs} | {s.name for s in specs}
        unknown = sorted(set(problems) - known)
        if unknown:
            raise SettingsError(
                f"suite {suite.name!r} has no problems {unknown}; known: {sorted(known)}"
            )
        specs = tuple(s for s in specs if s.label in problems or s.name in problems)
    return Suite(
        suite.name, specs, chosen_methods,
        batch=batch or suite.batch, time_budget=suite.time_budget,
        eval_every=eval_every or suite.eval_every, size=suite.size, targets=suite.targets,
        description=suite.description,
    )  # fmt: skip


def _meta(
    suite: Suite,
    device: torch.device,
    budget: dict[str, Any],
    seeds: int,
    test_resolution: int | None,
    isolate: bool,
    command: str | None,
) -> dict[str, Any]:
    """The settings and machine recorded with the results (:attr:`BenchResult.meta`)."""
    return {
        "suite": suite.name,
        "machine": _machine(device),
        "device": str(device),
        "budget": budget,
        "seeds": seeds,
        "batch": suite.batch,
        "eval_every": suite.eval_every,
        "size": suite.size,
        "targets": list(suite.targets),
        "test_resolution": test_resolution,
        "memory": "peak CUDA memory" if device.type == "cuda" else "peak RSS growth",
        "memory_note": (
            ""
            if device.type == "cuda"
            else "each run in a fresh process"
            if isolate
            else "all runs in one process: after the first, a run reuses memory freed by the "
            "ones before and its growth reads low (--isolate measures each run alone)"
        ),
        "command": command,
    }


def _run_all(
    suite: Suite,
    seeds: int,
    budget: dict[str, Any],
    device: torch.device,
    test_resolution: int | None,
    isolate: bool,
    log: Callable[[str], None] | None,
) -> list[dict[str, Any]]:
    """Every (problem, method, seed) of ``suite``, in that order (each in a fresh process with
    ``isolate``); one record each, and a line to ``log`` after each."""
    records = []
    for spec in suite.problems:
        problem = _make_problem(spec, test_resolution)
        for method in suite.methods:
            for seed in range(seeds):
                if isolate:
                    record = _run_in_fresh_process(
                        spec, method, seed, suite, budget, str(device), test_resolution
                    )
                else:
                    record = _one_run(spec, problem, method, seed, suite, budget, device)
                records.append(record)
                if log is not None:
                    log(
                        f"{spec.label} {method} seed {seed}: rel L2 {record['final_rel_l2']:.3g} "
                        f"after {record['steps']} steps"
                    )
    return records
