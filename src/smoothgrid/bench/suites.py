"""Benchmark suites: which methods on which problems, with one batch and one budget for all.

* ``quick``: every method on ``poisson2d``, ``helmholtz2d`` (1, 4) and ``convection``
  (beta = 30), small models, a CPU budget of a few minutes.
* ``paper``: the rows of BENCHMARKS.md's published table that the problem zoo covers, at the
  papers' model sizes and batches, meant for a GPU; the published numbers go beside the table.
* ``derivatives``: each smoothgrid grid with the ``jet``, ``autograd`` and ``fd`` derivative methods
  (methods ``name:derivatives``) on ``helmholtz2d`` (1, 4): step time, memory and error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import baselines
from ..field import DERIVATIVES
from ..train.settings import SettingsError

__all__ = ["ProblemSpec", "Suite", "SUITES", "get_suite", "target_label"]


def target_label(target: float) -> str:
    """``1e-3 -> "1e-3"``: a target error as it appears in column names."""
    mantissa, exponent = f"{target:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


@dataclass(frozen=True)
class ProblemSpec:
    """A problem of a suite.

    Attributes:
        label: the name in tables and file names, e.g. ``helmholtz2d_1_4``.
        name: the registry name (:func:`smoothgrid.problems.make`).
        params: the problem's parameters.
        published: the published numbers to print beside the results (one line).
    """

    label: str
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    published: str = ""


@dataclass(frozen=True)
class Suite:
    """Methods x problems under one budget.

    Attributes:
        name: the suite's name.
        problems: the problems.
        methods: method names (:func:`smoothgrid.baselines.names`), or ``name:derivatives`` to
            override a method's derivative method.
        batch: interior collocation points per step, the same for every method.
        time_budget: default seconds of training per run (when neither time nor steps given).
        eval_every: steps between evaluations (the resolution of time-to-target).
        size: model size of :func:`smoothgrid.baselines.make`.
        targets: relative L2 errors whose time-to-reach is reported.
        description: one line.
    """

    name: str
    problems: tuple[ProblemSpec, ...]
    methods: tuple[str, ...]
    batch: int
    time_budget: float
    eval_every: int
    size: str = "small"
    targets: tuple[float, ...] = (1e-2, 1e-3)
    description: str = ""


_QUICK_PROBLEMS = (
    ProblemSpec("poisson2d", "poisson2d"),
    ProblemSpec(
        "helmholtz2d_1_4",
        "helmholtz2d",
        {"a1": 1, "a2": 4},
        "PIG 2.22e-5 (best run), 4.13e-5 mean",
    ),
    ProblemSpec("convection", "convection", {"beta": 30}, "Hermite-NGP 8.49e-5; PirateNet 8.54e-4"),
)

_PAPER_PROBLEMS = (
    ProblemSpec(
        "helmholtz2d_10_10",
        "helmholtz2d",
        # the residual form the published methods train (left unset, a = 10 picks the energy)
        {"a1": 10, "a2": 10, "formulation": "residual"},
        "Hermite-NGP 1.81e-5; closest baseline 3.57e-4; PIG 7.09e-3",
    ),
    ProblemSpec(
        "helmholtz2d_1_4",
        "helmholtz2d",
        {"a1": 1, "a2": 4},
        "PIG 2.22e-5 (best run), 4.13e-5 mean",
    ),
    ProblemSpec(
        "helmholtz2d_100_100",
        "helmholtz2d",
        {"a1": 100, "a2": 100},
        "Hermite-NGP 4.59e-2; all baselines fail",
    ),
    ProblemSpec(
        "helmholtz3d_10",
        "helmholtz3d",
        {"a1": 10, "a2": 10, "a3": 10},
        "Hermite-NGP 6e-3; I-NGP-FD 7.21e-2",
    ),
    ProblemSpec("convection", "convection", {"beta": 30}, "Hermite-NGP 8.49e-5; PirateNet 8.54e-4"),
    ProblemSpec("taylor_green", "taylor_green", {}, "Hermite-NGP 7.71e-5; PIG ~7e-4"),
    ProblemSpec(
        "flow_mixing", "flow_mixing", {}, "Hermite-NGP 2.35e-4; PIG 2.67e-4 (best); SPINN 2.9e-3"
    ),
)

_GRIDS = tuple(baselines.names(smoothgrid=True))

SUITES: dict[str, Suite] = {
    "quick": Suite(
        "quick",
        _QUICK_PROBLEMS,
        tuple(baselines.names()),
        batch=8192,
        time_budget=10.0,
        eval_every=20,
        description="every method on poisson2d, helmholtz2d (1,4), convection; CPU minutes",
    ),
    "paper": Suite(
        "paper",
        _PAPER_PROBLEMS,
        tuple(baselines.names()),
        batch=65536,
        time_budget=300.0,
        eval_every=100,
        size="paper",
        targets=(1e-2, 1e-3, 1e-4),
        description="BENCHMARKS.md's published rows at the papers' sizes; for a GPU",
    ),
    "derivatives": Suite(
        "derivatives",
        (_QUICK_PROBLEMS[1],),
        tuple(f"{m}:{b}" for m in _GRIDS for b in DERIVATIVES),
        batch=8192,
        time_budget=10.0,
        eval_every=20,
        description="jets vs autograd vs finite differences per grid encoding",
    ),
}
"""Suite name -> :class:`Suite`."""


def get_suite(name: str) -> Suite:
    """The suite called ``name`` (see :data:`SUITES`)."""
    try:
        return SUITES[name]
    except KeyError:
        raise SettingsError(f"unknown suite {name!r}; known: {', '.join(SUITES)}") from None
