"""``smoothgrid solve``: one problem, from its suggested settings, a file, ``--set`` and flags;
or a run continued from its own directory (``--out R --resume``)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

import torch

from .. import encodings as encodings_module
from ..field import Field
from ..train import BudgetSpentError, CheckpointError, SettingsError, check_setup, solve
from ..train.distributed import init_from_env, leave
from ..train.settings import SOLVE_KEYS, Settings
from .config import ConfigError, build_config, resume_config, unknown

__all__ = ["add_parser", "run"]


def add_parser(commands) -> None:
    """The ``solve`` sub-command's arguments."""
    run_ = commands.add_parser(
        "solve",
        help="solve a problem and report its error",
        description="Solve a problem. Settings: `smoothgrid options`. With --resume, the run in "
        "--out continues from its own config.yaml; only its budget may change.",
    )
    run_.add_argument("problem", nargs="?", help="a problem name (see `smoothgrid list`)")
    run_.add_argument("--encoding", help="encoding name (default: the problem's suggestion)")
    budget = run_.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, help="training steps in all (a total)")
    budget.add_argument("--time", type=float, help="training seconds in all (a total)")
    budget.add_argument("--more-steps", type=int, help="with --resume: steps to add")
    budget.add_argument("--more-time", type=float, help="with --resume: seconds to add")
    run_.add_argument("--device", help="cpu or cuda (under torchrun: each process its GPU)")
    run_.add_argument("--out", help="run directory (checkpoint, config, metrics, history, plots)")
    run_.add_argument("--config", help="YAML file of settings")
    run_.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a setting")
    run_.add_argument("--seed", type=int, help="random seed (field init and sampling)")
    run_.add_argument("--resume", action="store_true", help="continue the run in --out")
    run_.add_argument("--no-progress", action="store_true", help="no progress bar")


def _configure(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """The problem and configuration of this command: built from its layers, or the run's."""
    if args.resume:
        if args.out is None:
            raise ConfigError("--resume needs --out (the run directory)")
        for flag, value in (("--encoding", args.encoding), ("--config", args.config),
                            ("--set", args.set), ("--seed", args.seed)):  # fmt: skip
            if value:
                raise ConfigError(
                    f"{flag} cannot change a resumed run (it continues from "
                    f"{args.out}/config.yaml); only the budget may be extended"
                )
        budget = {"steps": args.steps, "time_budget": args.time,
                  "more_steps": args.more_steps, "more_time": args.more_time}  # fmt: skip
        problem, config = resume_config(args.out, budget)
        if args.problem is not None and args.problem != config["problem"]["name"]:
            raise ConfigError(
                f"the run in {args.out} solves {config['problem']['name']!r}, not {args.problem!r}"
            )
        if args.device is not None:
            config["device"] = args.device
        return problem, config
    if args.problem is None:
        raise ConfigError("give a problem (see `smoothgrid list`), or --out RUN --resume")
    if args.more_steps is not None or args.more_time is not None:
        raise ConfigError("--more-steps / --more-time add to a resumed run: give --resume")
    flags: dict[str, Any] = {}
    if args.encoding is not None:
        flags["encoding"] = {"name": args.encoding}
    for key, value in (("steps", args.steps), ("time_budget", args.time), ("seed", args.seed),
                       ("device", args.device)):  # fmt: skip
        if value is not None:
            flags[key] = value
    return build_config(args.problem, args.config, args.set or (), flags)


def build_field(problem, config: Mapping[str, Any]) -> Field:
    """The field of a configuration's ``encoding`` and ``field`` sections: all of a field's
    recorded options (a run's ``config.yaml``), or some of them, the rest from the problem
    (its dimension, periodic axes and outputs) and the defaults."""
    encoding = {"dim": problem.domain.dim, "periodic": list(problem.periodic),
                **config["encoding"]}  # fmt: skip
    name = encoding.get("name")
    known = encodings_module.names() + encodings_module.coordinate_names()
    if name not in known:
        raise unknown("encoding", str(name), known)
    field = {"out": len(problem.outputs), **config["field"]}
    try:
        return Field.from_config({"encoding": encoding, "field": field})
    except (TypeError, ValueError) as error:
        raise ConfigError(f"cannot build the {name!r} field: {error}") from None


def _print_metrics(metrics: Mapping[str, Any], out: str | None) -> None:
    for key, value in metrics.items():
        text = f"{value:.4g}" if isinstance(value, float) else str(value)
        print(f"  {key:>14}: {text}")
    if out is not None:
        print(f"  run directory: {out}")


def run(args: argparse.Namespace) -> int:
    """``smoothgrid solve``: every setting is checked before training starts."""
    problem, config = _configure(args)
    world, device = init_from_env(str(config.get("device", "cpu")))
    config["device"] = device
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for but CUDA is not available")
    try:
        settings = Settings.from_options(**{k: v for k, v in config.items() if k in SOLVE_KEYS})
    except SettingsError as error:
        raise ConfigError(str(error)) from None
    torch.manual_seed(settings.runtime.seed)
    field = build_field(problem, config)
    try:
        check_setup(problem, field, settings, world)
    except SettingsError as error:
        raise ConfigError(str(error)) from None
    try:
        result = solve(problem, field, settings, out=args.out, resume=args.resume,
                       progress=not args.no_progress)  # fmt: skip
    except (CheckpointError, BudgetSpentError, SettingsError) as error:
        raise ConfigError(str(error)) from None
    if world.leader:
        print(f"{problem.name}: done")
        _print_metrics(result.metrics, args.out)
    leave(world)
    return 0
