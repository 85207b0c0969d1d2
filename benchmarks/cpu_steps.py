"""Training-step time of one zoo problem under several settings, side by side in one process.

Each variant is a list of ``--set``-style overrides on top of the problem's suggested settings
(the same keys as ``smoothgrid solve --set``), after the ``--common`` ones every variant shares
(e.g. ``--common device=cuda --common batch=100000`` on a GPU). The variants run ``--steps``
steps each through ``sg.solve``, interleaved round by round; the table gives the median
ms/step over the rounds and its ratio to the first variant. The error after so few steps is not
a result: compare accuracy at equal step counts with ``smoothgrid solve --steps N``.

    python benchmarks/cpu_steps.py flow_mixing \\
        --variant default= --variant twist_free=encoding.mixed=false \\
        --variant 'small=encoding.mixed=false;field.hidden=[32,32]'
    python benchmarks/cpu_steps.py helmholtz3d --variant eager= --variant compile=compile=true

With ``compile=true`` the compilation happens outside the timed steps (see
``smoothgrid.train.compiled``); the untimed warm-up round compiles every variant once.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

import torch

from smoothgrid.cli.config import build_config
from smoothgrid.cli.solve import build_field
from smoothgrid.train import SOLVE_KEYS, solve


def step_ms(problem_name: str, sets: list[str], steps: int) -> float:
    """ms per training step of one fresh ``steps``-step run (evaluation excluded)."""
    problem, config = build_config(problem_name, None, sets, {"steps": steps})
    torch.manual_seed(0)
    field = build_field(problem, config)
    settings = {k: v for k, v in config.items() if k in SOLVE_KEYS}
    settings["eval_every"] = 10**9
    result = solve(problem, field, progress=False, **settings)
    return 1000.0 * result.metrics["wall_time"] / result.metrics["steps"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("problem")
    parser.add_argument(
        "--variant",
        action="append",
        required=True,
        metavar="NAME=KEY=VALUE;...",
        help="a named list of overrides (NAME= alone: the suggested settings)",
    )
    parser.add_argument(
        "--common", action="append", default=[], metavar="KEY=VALUE",
        help="an override every variant shares (repeatable)",
    )  # fmt: skip
    parser.add_argument("--steps", type=int, default=40, help="steps per run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    args = parser.parse_args()
    variants = {}
    for spec in args.variant:
        name, _, sets = spec.partition("=")
        variants[name] = args.common + [s for s in sets.split(";") if s]
    failed: dict[str, str] = {}
    for name, sets in variants.items():  # warm-up round, not timed; a failing variant is dropped
        try:
            step_ms(args.problem, sets, 5)
        except Exception as error:
            failed[name] = f"{type(error).__name__}: {str(error).strip()[:200]}"
            print(f"{name} failed: {failed[name]}", file=sys.stderr)
    variants = {name: sets for name, sets in variants.items() if name not in failed}
    times: dict[str, list[float]] = {name: [] for name in variants}
    for round_ in range(args.rounds):
        for name, sets in variants.items():
            times[name].append(step_ms(args.problem, sets, args.steps))
            print(f"round {round_}: {name} {times[name][-1]:.2f} ms/step", file=sys.stderr)
    first = statistics.median(next(iter(times.values()))) if times else float("nan")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"{args.problem}: {args.steps} steps x {args.rounds} rounds, {torch.get_num_threads()} "
        f"threads, load average {load:.1f} at the end"
    )
    print("| variant | overrides | ms/step (median) | ratio |")
    print("|---|---|---|---|")
    for name, sets in variants.items():
        median = statistics.median(times[name])
        print(
            f"| {name} | `{' '.join(sets) or '(suggested)'}` | {median:.1f} | "
            f"{median / first:.2f} |"
        )
    for name, why in failed.items():
        print(f"- {name} failed: {why}")


if __name__ == "__main__":
    main()
