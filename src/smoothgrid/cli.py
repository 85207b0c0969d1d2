"""The ``smoothgrid`` command line.

``smoothgrid list`` prints the problems, encodings, methods (baselines and smoothgrid's) and
benchmark suites; ``smoothgrid solve PROBLEM`` builds a field from the problem's suggested
settings, overridden by ``--config FILE`` (YAML) and then by ``--set key=value`` (dotted keys for
the sections), solves and prints the final metrics; ``smoothgrid bench SUITE`` runs methods side
by side (see :mod:`smoothgrid.bench`) and writes their table and plots; ``smoothgrid image
IMAGE --supervise gradient|laplacian|value`` fits an image (a file or a scikit-image sample such
as ``camera``) from its values or derivatives with one or more methods (see
:mod:`smoothgrid.apps.image`) and writes ``metrics.json`` and PNGs per method; ``smoothgrid sdf
SOURCE --methods hermite,ingp_fd`` fits a signed distance field to a procedural shape
(``sphere``, ``torus``, ...), a watertight mesh or an oriented point cloud (see
:mod:`smoothgrid.apps.sdf`) and writes per method the field checkpoint, ``mesh.ply`` with normals
and curvature per vertex, ``metrics.json`` (Chamfer distance, normal angle, eikonal and curvature
errors) and PNG slices and renders.

A configuration has the settings of :func:`smoothgrid.train.solve` at the top level (``steps``,
``batch``, ``lr``, ...) and three sections::

    problem:  {a1: 10, a2: 10}              # options of sg.problems.make(PROBLEM, ...)
    encoding: {name: hermite, levels: 8, min_res: 4, max_res: 256, log2_table: 16}
    field:    {hidden: [64, 64], activation: tanh}

A run directory's ``config.yaml`` has this form, so ``--config runs/x/config.yaml`` repeats a run.
Exit codes: 0 done, 1 diverged, 2 bad input (unknown name or key, with the nearest suggestion),
130 interrupted (a checkpoint is kept; continue with ``--resume``).
"""

from __future__ import annotations

import argparse
import difflib
import inspect
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import yaml

from . import baselines, bench, problems
from . import encodings as encodings_module
from .apps import image as image_app
from .apps import sdf as sdf_app
from .field import Field
from .geometry import shape_names
from .problems.suggested import DECODER_KEYS
from .train import SOLVE_KEYS, DivergedError, solve

__all__ = ["main", "build_config", "ConfigError"]

SECTIONS = ("problem", "encoding", "field")


DEFAULT_STEPS = 2000
"""Steps when neither the problem, the config nor the command line sets a budget."""


class ConfigError(ValueError):
    """A configuration names something that does not exist (exit code 2)."""


def _nearest(word: str, known: Sequence[str]) -> str:
    near = difflib.get_close_matches(word, list(known), n=1)
    return f" Did you mean {near[0]!r}?" if near else ""


def _unknown(what: str, word: str, known: Sequence[str]) -> ConfigError:
    return ConfigError(
        f"unknown {what} {word!r}.{_nearest(word, known)} Known: {', '.join(sorted(known))}"
    )


def _parameters(obj: Any) -> set[str]:
    skip = {"self", "args", "kwargs", "dim", "name", "encoding", "out", "constraint"}
    return {
        p.name
        for p in inspect.signature(obj).parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name not in skip
    }


def _encoding_keys() -> set[str]:
    """Options any encoding takes: ``make``'s, the base class's and each encoding's own."""
    keys = {"name", "dim"} | _parameters(encodings_module.make)
    for obj in vars(encodings_module).values():
        if isinstance(obj, type) and issubclass(obj, encodings_module.GridEncoding):
            keys |= _parameters(obj.__init__)
    return keys


def _coerce(value: Any) -> Any:
    """YAML leaves ``1e-3`` a string (no dot); read number-like strings as numbers."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    if isinstance(value, Mapping):
        return {k: _coerce(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_coerce(v) for v in value]
    return value


def _merge(base: dict[str, Any], layer: Mapping[str, Any]) -> None:
    """Merge ``layer`` into ``base`` (sections key by key); a budget replaces the other one."""
    if "steps" in layer and "time_budget" not in layer:
        base.pop("time_budget", None)
    if "time_budget" in layer and "steps" not in layer:
        base.pop("steps", None)
    for key, value in layer.items():
        if key in SECTIONS and isinstance(value, Mapping):
            base.setdefault(key, {}).update(value)
        else:
            base[key] = value


def _validate(config: Mapping[str, Any], source: str) -> None:
    known = set(SOLVE_KEYS) | set(SECTIONS)
    for key, value in config.items():
        if key not in known:
            raise _unknown(f"setting in {source}", key, known)
        if key in SECTIONS and not isinstance(value, Mapping):
            raise ConfigError(f"{source}: {key!r} must be a mapping of options, got {value!r}")
    for key in config.get("encoding", {}):
        if key not in _encoding_keys():
            raise _unknown(f"encoding option in {source}", key, _encoding_keys())
    field_keys = _parameters(Field.__init__)
    for key in config.get("field", {}):
        if key not in field_keys:
            raise _unknown(f"field option in {source}", key, field_keys)


def _suggested(problem) -> dict[str, Any]:
    """The problem's ``suggested`` defaults in configuration form."""
    out: dict[str, Any] = {"encoding": {}, "field": {}}
    for key, value in problem.suggested.items():
        if key == "encoding_name":
            out["encoding"]["name"] = value
        elif key == "encoding":
            out["encoding"].update(value)
        elif key in DECODER_KEYS:  # the field section
            out["field"][key] = list(value) if key == "hidden" else value
        elif key in SOLVE_KEYS:
            out[key] = value
        else:
            raise ConfigError(f"problem {problem.name!r} suggests an unknown setting {key!r}")
    return out


def _parse_sets(items: Sequence[str]) -> dict[str, Any]:
    """``["a=1", "encoding.levels=8"]`` -> ``{"a": 1, "encoding": {"levels": 8}}``."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set expects key=value, got {item!r}")
        value = _coerce(yaml.safe_load(text)) if text else None
        if "." in key:
            section, option = key.split(".", 1)
            if section not in SECTIONS:
                raise _unknown("section in --set", section, SECTIONS)
            out.setdefault(section, {})[option] = value
        else:
            out[key] = value
    return out


def build_config(
    problem_name: str,
    config_file: str | None = None,
    sets: Sequence[str] = (),
    flags: Mapping[str, Any] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """The problem and the merged configuration: defaults < suggested < file < --set < flags.

    Returns:
        ``(problem, config)``.

    Raises:
        ConfigError: an unknown problem, setting or option, or a malformed file.
    """
    if problem_name not in problems.describe():
        raise _unknown("problem", problem_name, list(problems.describe()))
    layers: list[tuple[str, dict[str, Any]]] = []
    if config_file is not None:
        path = Path(config_file)
        if not path.is_file():
            raise ConfigError(f"config file {config_file} not found")
        loaded = yaml.safe_load(path.read_text()) or {}
        if not isinstance(loaded, Mapping):
            raise ConfigError(f"config file {config_file} must hold a mapping of settings")
        layers.append((config_file, _coerce(dict(loaded))))
    layers.append(("--set", _parse_sets(sets)))
    layers.append(("the command line", dict(flags or {})))
    for source, layer in layers:
        _validate(layer, source)
    options: dict[str, Any] = {}
    for _, layer in layers:
        options.update(layer.get("problem", {}))
    options.pop("name", None)
    try:
        problem = problems.make(problem_name, **options)
    except (TypeError, ValueError) as error:
        raise ConfigError(str(error)) from None
    config: dict[str, Any] = {"encoding": {"name": "hermite"}, "field": {}}
    _merge(config, _suggested(problem))
    for _, layer in layers:
        _merge(config, layer)
    config["problem"] = {"name": problem_name, **options}
    if config.get("steps") is not None and config.get("time_budget") is not None:
        raise ConfigError("give steps or time_budget, not both")
    if config.get("steps") is None and config.get("time_budget") is None:
        config["steps"] = DEFAULT_STEPS
    return problem, config


def _build_field(problem, config: Mapping[str, Any]) -> Field:
    options = dict(config["encoding"])
    name = options.pop("name")
    if name not in encodings_module.names():
        raise _unknown("encoding", name, encodings_module.names())
    options.setdefault("periodic", tuple(problem.periodic))
    options.setdefault("dim", problem.domain.dim)
    try:
        enc = encodings_module.make(name, **options)
        return Field(enc, out=len(problem.outputs), **config["field"])
    except (TypeError, ValueError) as error:
        raise ConfigError(f"cannot build the {name!r} field: {error}") from None


def _print_metrics(metrics: Mapping[str, Any], out: str | None) -> None:
    for key, value in metrics.items():
        text = f"{value:.4g}" if isinstance(value, float) else str(value)
        print(f"  {key:>14}: {text}")
    if out is not None:
        print(f"  run directory: {out}")


def _solve(args: argparse.Namespace) -> int:
    flags: dict[str, Any] = {}
    if args.encoding is not None:
        flags["encoding"] = {"name": args.encoding}
    for key, value in (("steps", args.steps), ("time_budget", args.time), ("seed", args.seed)):
        if value is not None:
            flags[key] = value
    if args.device is not None:
        flags["device"] = args.device
    problem, config = build_config(args.problem, args.config, args.set or (), flags)
    device = str(config.get("device", "cpu"))
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for but CUDA is not available")
    torch.manual_seed(int(config.get("seed", 0)))
    field = _build_field(problem, config)
    settings = {k: v for k, v in config.items() if k in SOLVE_KEYS}
    extra = {k: config[k] for k in SECTIONS}
    try:
        result = solve(
            problem,
            field,
            out=args.out,
            resume=args.resume,
            progress=not args.no_progress,
            config=extra,
            **settings,
        )
    except (ValueError, FileNotFoundError) as error:  # bad settings, no checkpoint to resume
        raise ConfigError(str(error)) from None
    print(f"{args.problem}: done")
    _print_metrics(result.metrics, args.out)
    return 0


def _bench(args: argparse.Namespace) -> int:
    if args.device is not None and args.device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError("--device cuda was asked for but CUDA is not available")
    command = "smoothgrid " + " ".join(args.argv)
    try:
        result = bench.run(
            args.suite,
            time_budget=args.time,
            steps=args.steps,
            seeds=args.seeds,
            device=args.device or "cpu",
            out=args.out,
            methods=args.methods,
            problems=args.problems,
            batch=args.batch,
            eval_every=args.eval_every,
            test_resolution=args.test_resolution,
            log=None if args.quiet else print,
            command=command,
            isolate=args.isolate,
        )
    except ValueError as error:  # unknown suite, method or problem; bad budget
        raise ConfigError(str(error)) from None
    print(bench.markdown(result.suite, result.records, result.meta))
    print(f"results in {result.out}")
    return 0


def _image(args: argparse.Namespace) -> int:
    if args.device is not None and args.device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError("--device cuda was asked for but CUDA is not available")
    for method in args.method:
        if method not in baselines.names():
            raise _unknown("method", method, baselines.names())
    try:
        truth = image_app.load_image(args.image, args.size)
    except (FileNotFoundError, ValueError) as error:
        hint = "" if Path(args.image).suffix else _nearest(args.image, image_app.SAMPLES)
        raise ConfigError(f"{error}{hint}") from None
    budget = {"time_budget": args.time} if args.time is not None else {"steps": args.steps}
    if args.time is None and args.steps is None:
        budget = {"steps": DEFAULT_STEPS}
    rows = []
    for method in args.method:
        out = Path(args.out) / method if len(args.method) > 1 else Path(args.out)
        try:
            result = image_app.fit_image(
                truth,
                args.supervise,
                method=method,
                batch=args.batch,
                lr=args.lr,
                decoder_lr=args.lr,
                seed=args.seed,
                device=args.device or "cpu",
                out=out,
                progress=not args.no_progress,
                **budget,
            )
        except ValueError as error:  # bad budget, batch or learning rate
            raise ConfigError(str(error)) from None
        m = result.metrics
        rows.append(m)
        print(f"{method}: PSNR {m['psnr']:.2f} dB, SSIM {m['ssim']:.3f}, {m['wall_time']:.1f} s")
    table = image_app.markdown_table(rows)
    Path(args.out, "results.md").write_text(table + "\n")
    print(table)
    return 0


def _methods(items: Sequence[str]) -> list[str]:
    """Method names from ``--methods a,b c``: split on commas, checked against the registry."""
    methods = [m for item in items for m in item.split(",") if m]
    for method in methods:
        if method not in baselines.names():
            raise _unknown("method", method, baselines.names())
    return methods


def _sdf(args: argparse.Namespace) -> int:
    if args.device is not None and args.device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError("--device cuda was asked for but CUDA is not available")
    methods = _methods(args.methods)
    try:
        target = sdf_app.load_target(args.source, points=args.points, seed=args.seed)
    except (FileNotFoundError, ValueError, ImportError) as error:
        raise ConfigError(str(error)) from None
    budget = {"time_budget": args.time} if args.time is not None else {"steps": args.steps}
    if args.time is None and args.steps is None:
        budget = {"steps": DEFAULT_STEPS}
    rows = []
    for method in methods:
        out = Path(args.out) / method if len(methods) > 1 else Path(args.out)
        try:
            result = sdf_app.fit_sdf(
                target,
                method=method,
                batch=args.batch,
                lr=args.lr,
                decoder_lr=args.lr,
                resolution=args.resolution,
                seed=args.seed,
                device=args.device or "cpu",
                out=out,
                progress=not args.no_progress,
                **budget,
            )
        except ValueError as error:  # bad budget, batch, learning rate or resolution
            raise ConfigError(str(error)) from None
        m = result.metrics
        rows.append(m)
        curvature = m["mean_curvature_rel_error"]
        note = "" if curvature is None else f", mean curvature rel. error {curvature:.3f}"
        print(f"{method}: Chamfer {m['chamfer']:.2e}{note}, {m['wall_time']:.1f} s -> {out}")
    table = sdf_app.markdown_table(rows)
    Path(args.out, "results.md").write_text(table + "\n")
    print(table)
    return 0


def _list() -> int:
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smoothgrid", description="Physics-informed neural fields on smooth grids."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list the problems, encodings, methods and bench suites")
    run = commands.add_parser("solve", help="solve a problem and report its error")
    run.add_argument("problem", help="a problem name (see `smoothgrid list`)")
    run.add_argument("--encoding", help="encoding name (default: the problem's suggestion)")
    budget = run.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, help="number of training steps")
    budget.add_argument("--time", type=float, help="training time budget in seconds")
    run.add_argument("--device", help="cpu or cuda")
    run.add_argument("--out", help="run directory (checkpoint, config, metrics, history, plots)")
    run.add_argument("--config", help="YAML file of settings")
    run.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a setting")
    run.add_argument("--seed", type=int, help="random seed (field init and sampling)")
    run.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    side = commands.add_parser("bench", help="run methods side by side on a benchmark suite")
    side.add_argument("suite", help=f"a suite: {', '.join(bench.SUITES)}")
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
    pic = commands.add_parser("image", help="fit an image from its values, gradients or Laplacian")
    pic.add_argument("image", help=f"an image file or a sample: {', '.join(image_app.SAMPLES)}")
    pic.add_argument(
        "--supervise",
        choices=image_app.SUPERVISION,
        default="gradient",
        help="what the field is fitted to (default gradient)",
    )
    pic.add_argument("--size", type=int, help="crop to a square and resize to SIZE pixels")
    budget = pic.add_mutually_exclusive_group()
    budget.add_argument("--time", type=float, help="training seconds per method")
    budget.add_argument("--steps", type=int, help=f"training steps (default {DEFAULT_STEPS})")
    pic.add_argument(
        "--method",
        nargs="+",
        default=["hermite"],
        help="methods run one after the other (default hermite)",
    )
    pic.add_argument("--batch", type=int, default=8192, help="pixels per step")
    pic.add_argument(
        "--lr", type=float, help="learning rate of all parameters (default: the method's)"
    )
    pic.add_argument("--seed", type=int, default=0, help="random seed (init and pixel draws)")
    pic.add_argument("--device", help="cpu or cuda")
    pic.add_argument(
        "--out", default="runs/image", help="output directory (METHOD/ per method when several)"
    )
    pic.add_argument("--no-progress", action="store_true", help="no progress bar")
    dist = commands.add_parser(
        "sdf", help="fit a signed distance field to a shape, a mesh or an oriented point cloud"
    )
    dist.add_argument(
        "source",
        help=f"a shape ({', '.join(shape_names())}), a watertight mesh (.obj .ply .off .stl) or "
        "a point cloud with normals (.xyz .txt .npy, rows x y z nx ny nz)",
    )
    budget = dist.add_mutually_exclusive_group()
    budget.add_argument("--time", type=float, help="training seconds per method")
    budget.add_argument("--steps", type=int, help=f"training steps (default {DEFAULT_STEPS})")
    dist.add_argument(
        "--methods",
        nargs="+",
        default=["hermite"],
        help="methods, comma- or space-separated, run one after the other (default hermite), "
        "e.g. hermite,ingp_fd",
    )
    dist.add_argument("--batch", type=int, default=4096, help="surface (and box) points per step")
    dist.add_argument(
        "--resolution", type=int, default=96, help="marching-cubes nodes per axis (default 96)"
    )
    dist.add_argument(
        "--points", type=int, default=100_000, help="surface points drawn from a shape or mesh"
    )
    dist.add_argument(
        "--lr", type=float, help="learning rate of all parameters (default: the method's)"
    )
    dist.add_argument("--seed", type=int, default=0, help="random seed (init and draws)")
    dist.add_argument("--device", help="cpu or cuda")
    dist.add_argument(
        "--out", default="runs/sdf", help="output directory (METHOD/ per method when several)"
    )
    dist.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    args.argv = argv
    try:
        if args.command == "list":
            return _list()
        if args.command == "bench":
            if args.out is None:
                args.out = str(Path("bench") / args.suite)
            return _bench(args)
        if args.command == "image":
            return _image(args)
        if args.command == "sdf":
            return _sdf(args)
        return _solve(args)
    except ConfigError as error:
        print(f"smoothgrid: error: {error}", file=sys.stderr)
        return 2
    except DivergedError as error:
        print(f"smoothgrid: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        where = f"; the checkpoint is in {args.out}, continue with --resume" if args.out else ""
        print(f"smoothgrid: interrupted{where}", file=sys.stderr)
        return 130
