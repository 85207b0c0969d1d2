"""``smoothgrid bench``: methods side by side on problems, error against wall-clock.

>>> import smoothgrid as sg
>>> result = sg.bench.run("quick", time_budget=20, seeds=3, out="bench/quick")  # doctest: +SKIP

writes ``results.csv``, ``results.json``, ``results.md`` (one table per problem: final and best
relative L2, time to 1e-2 / 1e-3, ms/step, peak memory, parameters) and
``error_vs_time_<problem>.png``. Suites: ``quick`` (CPU), ``paper`` (GPU, the published rows),
``derivatives`` (jets vs autograd vs finite differences per grid).
"""

from .report import markdown, summarise, write_report
from .run import BenchResult, parse_method, run, time_to_target
from .suites import SUITES, ProblemSpec, Suite, get_suite

__all__ = [
    "run",
    "BenchResult",
    "Suite",
    "ProblemSpec",
    "SUITES",
    "get_suite",
    "time_to_target",
    "parse_method",
    "markdown",
    "summarise",
    "write_report",
]
