"""The ``smoothgrid`` command line.

* ``smoothgrid list``: the problems, encodings, methods (baselines and smoothgrid's) and
  benchmark suites.
* ``smoothgrid options``: every setting of ``solve`` (``--set key=value``), with its default.
* ``smoothgrid solve PROBLEM``: a field from the problem's suggested settings, overridden by
  ``--config FILE`` (YAML) and then by ``--set key=value`` (dotted keys for the sections), solved,
  the final metrics printed (see :mod:`.config`); ``--out R --resume`` continues the run in ``R``
  from its own ``config.yaml``. Under ``torchrun --nproc-per-node N -m smoothgrid solve ...``
  the points of each step are split across the processes.
* ``smoothgrid bench SUITE``: methods side by side (see :mod:`smoothgrid.bench`), their table
  and plots.
* ``smoothgrid image IMAGE`` / ``smoothgrid sdf SOURCE`` / ``smoothgrid smoke SOURCE``: the
  applications (see :mod:`.apps`); ``smoothgrid nerf [SOURCE]``: radiance fields with pose
  refinement (see :mod:`.nerf`).
* ``smoothgrid cloth SCENE``: a pinned cloth's static drape (see :mod:`.cloth`).

Every setting is checked before training starts. Exit codes: 0 done, 1 diverged, 2 bad input (an
unknown name or key, with the nearest suggestion; a bad value; an unusable checkpoint), 130
interrupted (a checkpoint is kept; continue with ``--resume``). Any other error is the program's
and shows its traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from .. import baselines, problems
from .. import encodings as encodings_module
from ..train import DivergedError
from ..train.settings import SettingsError, options_markdown
from . import apps, cloth, nerf, solve
from .config import ConfigError, build_config

__all__ = ["main", "build_config", "ConfigError"]


def _list() -> int:
    from .. import bench

    tables = {
        "problems": problems.describe(),
        "encodings": encodings_module.describe(),
        "methods (smoothgrid bench; baselines first)": baselines.describe(),
        "bench suites": {name: s.description for name, s in bench.SUITES.items()},
    }
    for title, table in tables.items():
        print(f"{title}:")
        width = max(len(name) for name in table)
        for name, text in table.items():
            print(f"  {name:<{width}}  {text}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from .. import bench

    if args.device is not None and args.device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError("--device cuda was asked for but CUDA is not available")
    try:
        result = bench.run(
            args.suite, time_budget=args.time, steps=args.steps, seeds=args.seeds,
            device=args.device or "cpu", out=args.out, methods=args.methods,
            problems=args.problems, batch=args.batch, eval_every=args.eval_every,
            test_resolution=args.test_resolution, log=None if args.quiet else print,
            command="smoothgrid " + " ".join(args.argv), isolate=args.isolate,
        )  # fmt: skip
    except SettingsError as error:  # unknown suite, method or problem; bad budget
        raise ConfigError(str(error)) from None
    print(bench.markdown(result.suite, result.records, result.meta))
    print(f"results in {result.out}")
    return 0


def _bench_parser(commands) -> None:
    side = commands.add_parser("bench", help="run methods side by side on a benchmark suite")
    side.add_argument("suite", help="a suite: quick, paper, derivatives (see `smoothgrid list`)")
    budget = side.add_mutually_exclusive_group()
    budget.add_argument("--time", type=float, help="training seconds per run")
    budget.add_argument("--steps", type=int, help="training steps per run")
    side.add_argument("--seeds", type=int, default=1, help="seeds per run (mean ± std)")
    side.add_argument("--out", default=None, help="results directory (default bench/SUITE)")
    side.add_argument("--methods", nargs="+", help="methods, name or name:derivatives")
    side.add_argument("--problems", nargs="+", help="problems of the suite, label or name")
    side.add_argument("--device", help="cpu or cuda")
    side.add_argument("--batch", type=int, help="collocation points per step (all methods)")
    side.add_argument("--eval-every", type=int, help="steps between evaluations")
    side.add_argument("--test-resolution", type=int, help="test grid points per axis")
    side.add_argument("--quiet", action="store_true", help="no line per finished run")
    side.add_argument(
        "--isolate", action="store_true", help="each run in a fresh process (CPU peak memory)"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smoothgrid", description="Physics-informed neural fields on smooth grids."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list the problems, encodings, methods and bench suites")
    commands.add_parser("options", help="list every setting of solve (--set key=value)")
    solve.add_parser(commands)
    _bench_parser(commands)
    apps.add_parsers(commands)
    nerf.add_parser(commands)
    cloth.add_parser(commands)
    return parser


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "list":
        return _list()
    if args.command == "options":
        print(options_markdown(), end="")
        return 0
    if args.command == "bench":
        if args.out is None:
            args.out = str(Path("bench") / args.suite)
        return _bench(args)
    if args.command == "image":
        return apps.run_image(args)
    if args.command == "sdf":
        return apps.run_sdf(args)
    if args.command == "nerf":
        return nerf.run_nerf(args)
    if args.command == "cloth":
        return cloth.run(args)
    if args.command == "smoke":
        return apps.run_smoke(args)
    return solve.run(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    args.argv = argv
    try:
        return _dispatch(args)
    except ConfigError as error:
        print(f"smoothgrid: error: {error}", file=sys.stderr)
        return 2
    except DivergedError as error:
        print(f"smoothgrid: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        out = getattr(args, "out", None)
        where = f"; the checkpoint is in {out}, continue with --resume" if out else ""
        print(f"smoothgrid: interrupted{where}", file=sys.stderr)
        return 130
