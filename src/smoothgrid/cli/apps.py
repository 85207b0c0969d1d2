"""The application commands: ``smoothgrid image``, ``smoothgrid sdf`` and ``smoothgrid smoke``.

Each runs one or more methods one after the other through :func:`run_methods`, which writes
every method's files (in ``OUT/METHOD/`` when there are several), prints one line per method and
writes the table of all of them to ``OUT/results.md``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from .. import baselines
from ..geometry import shape_names
from ..train.settings import SettingsError, nearest
from .config import DEFAULT_STEPS, ConfigError, unknown

__all__ = [
    "add_parsers",
    "add_app_options",
    "budget_options",
    "device_option",
    "method_names",
    "run_image",
    "run_methods",
    "run_sdf",
    "run_smoke",
]


def method_names(items: Sequence[str]) -> list[str]:
    """Method names from ``--methods a,b c``: split on commas, checked against the registry."""
    methods = [m for item in items for m in item.split(",") if m]
    for method in methods:
        if method not in baselines.names():
            raise unknown("method", method, baselines.names())
    return methods


def budget_options(args: argparse.Namespace) -> dict[str, Any]:
    """``{"time_budget": --time}`` or ``{"steps": --steps}`` (default :data:`DEFAULT_STEPS`)."""
    if args.time is not None:
        return {"time_budget": args.time}
    return {"steps": DEFAULT_STEPS if args.steps is None else args.steps}


def device_option(args: argparse.Namespace) -> str:
    """``--device`` (default ``cpu``); CUDA asked for where there is none is bad input."""
    device = args.device or "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for but CUDA is not available")
    return device


def run_methods(
    methods: Sequence[str],
    out: str,
    fit: Callable[[str, Path], Mapping[str, Any]],
    line: Callable[[Mapping[str, Any]], str],
    table: Callable[[list[Mapping[str, Any]]], str],
) -> int:
    """Fit every method, one after the other, and write their table.

    Args:
        methods: method names.
        out: the output directory (``OUT/METHOD`` per method when there are several).
        fit: ``(method, directory) -> metrics``; a :class:`SettingsError` it raises is bad
            input (exit code 2), anything else an error of the program.
        line: the one-line summary printed after each method.
        table: the Markdown table of all methods' metrics, written to ``OUT/results.md``.
    """
    rows = []
    for method in methods:
        where = Path(out) / method if len(methods) > 1 else Path(out)
        try:
            metrics = fit(method, where)
        except SettingsError as error:
            raise ConfigError(str(error)) from None
        rows.append(metrics)
        print(f"{method}: {line(metrics)} -> {where}")
    text = table(rows)
    Path(out).mkdir(parents=True, exist_ok=True)
    Path(out, "results.md").write_text(text + "\n")
    print(text)
    return 0


def run_image(args: argparse.Namespace) -> int:
    """``smoothgrid image``."""
    from ..apps import image

    methods, device = method_names(args.methods), device_option(args)
    try:
        truth = image.load_image(args.image, args.size)
    except (FileNotFoundError, ValueError) as error:
        hint = "" if Path(args.image).suffix else nearest(args.image, image.SAMPLES)
        raise ConfigError(f"{error}{hint}") from None

    def fit(method: str, where: Path) -> Mapping[str, Any]:
        return image.fit_image(
            truth, args.supervise, method=method, batch=args.batch, lr=args.lr,
            decoder_lr=args.lr, seed=args.seed, device=device, out=where,
            resume=args.resume, progress=not args.no_progress, **budget_options(args),
        ).metrics  # fmt: skip

    def line(m: Mapping[str, Any]) -> str:
        return f"PSNR {m['psnr']:.2f} dB, SSIM {m['ssim']:.3f}, {m['wall_time']:.1f} s"

    return run_methods(methods, args.out, fit, line, image.markdown_table)


def run_sdf(args: argparse.Namespace) -> int:
    """``smoothgrid sdf``."""
    from ..apps import sdf

    methods, device = method_names(args.methods), device_option(args)
    try:
        target = sdf.load_target(args.source, points=args.points, seed=args.seed, fill=args.fill)
    except (FileNotFoundError, ValueError, ImportError) as error:
        raise ConfigError(str(error)) from None

    def fit(method: str, where: Path) -> Mapping[str, Any]:
        return sdf.fit_sdf(
            target, method=method, batch=args.batch, lr=args.lr, decoder_lr=args.lr,
            resolution=args.resolution, seed=args.seed, device=device, out=where,
            weights=None if args.face_jump is None else {"face_jump": args.face_jump},
            resume=args.resume, progress=not args.no_progress, **budget_options(args),
        ).metrics  # fmt: skip

    def line(m: Mapping[str, Any]) -> str:
        curvature = m["mean_curvature_rel_error"]
        note = "" if curvature is None else f", mean curvature rel. error {curvature:.3f}"
        return f"Chamfer {m['chamfer']:.2e}{note}, {m['wall_time']:.1f} s"

    return run_methods(methods, args.out, fit, line, sdf.markdown_table)


def run_smoke(args: argparse.Namespace) -> int:
    """``smoothgrid smoke`` (see :mod:`smoothgrid.apps.smoke.command`)."""
    from ..apps.smoke import command

    return command.run(args, run_methods, budget_options(args), device_option(args))


def add_app_options(
    parser: argparse.ArgumentParser,
    default_out: str,
    batch: int,
    what: str,
    methods: str = "hermite",
    methods_are: str = "methods",
) -> None:
    """The arguments every app command shares: the budget, ``--methods`` (default ``methods``;
    ``methods_are`` says what they are in the help), ``--batch`` (of ``what``), ``--lr``,
    ``--seed``, ``--device``, ``--out``, ``--resume``, ``--no-progress``."""
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--time", type=float, help="training seconds per method (a total)")
    budget.add_argument(
        "--steps", type=int, help=f"training steps per method (a total; default {DEFAULT_STEPS})"
    )
    parser.add_argument(
        "--methods", "--method", nargs="+", default=[methods], dest="methods",
        help=f"{methods_are}, comma- or space-separated, run one after the other "
        f"(default {methods})",
    )  # fmt: skip
    parser.add_argument("--batch", type=int, default=batch, help=f"{what} per step")
    parser.add_argument(
        "--lr", type=float, help="learning rate of all parameters (default: the method's)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (init and draws)")
    parser.add_argument("--device", help="cpu or cuda")
    parser.add_argument(
        "--out", default=default_out, help="output directory (METHOD/ per method when several)"
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue each method's checkpoint in --out"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_parsers(commands) -> None:
    """The ``image``, ``sdf`` and ``smoke`` sub-commands."""
    from ..apps.image.data import SAMPLES
    from ..apps.image.metrics import SUPERVISION

    pic = commands.add_parser("image", help="fit an image from its values, gradients or Laplacian")
    pic.add_argument("image", help=f"an image file or a sample: {', '.join(SAMPLES)}")
    pic.add_argument(
        "--supervise", choices=SUPERVISION, default="gradient",
        help="what the field is fitted to (default gradient)",
    )  # fmt: skip
    pic.add_argument("--size", type=int, help="crop to a square and resize to SIZE pixels")
    add_app_options(pic, "runs/image", 8192, "pixels")
    dist = commands.add_parser(
        "sdf", help="fit a signed distance field to a shape, a mesh or an oriented point cloud"
    )
    dist.add_argument(
        "source",
        help=f"a shape ({', '.join(shape_names())}), a watertight mesh (.obj .ply .off .stl) or "
        "a point cloud with normals (.xyz .txt .npy, rows x y z nx ny nz)",
    )
    add_app_options(dist, "runs/sdf", 4096, "surface (and box) points")
    dist.add_argument(
        "--resolution", type=int, default=96, help="marching-cubes nodes per axis (default 96)"
    )
    dist.add_argument(
        "--points", type=int, default=100_000, help="surface points drawn from a shape or mesh"
    )
    dist.add_argument(
        "--fill", type=float, default=0.8,
        help="the share of the box a mesh or point cloud spans (its longest side; default 0.8); "
        "outputs are in the input's coordinates",
    )  # fmt: skip
    dist.add_argument(
        "--face-jump", type=float, metavar="W",
        help="weight of the loss on the Hessian's jump across cell faces (default 10 for "
        "smoothgrid's grids, off for the baselines; 0 turns it off)",
    )  # fmt: skip
    from ..apps.smoke.command import add_arguments

    add_arguments(commands.add_parser(
        "smoke", help="reconstruct smoke density and velocity from a few views"
    ), add_app_options)  # fmt: skip
