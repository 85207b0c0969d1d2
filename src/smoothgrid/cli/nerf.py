"""``smoothgrid nerf [SOURCE]``: a radiance field with camera-pose refinement, one run per method
(see :mod:`smoothgrid.apps.nerf`), through :func:`~.apps.run_methods` like the other apps."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..geometry import shape_names
from .apps import add_app_options, budget_options, device_option, run_methods
from .config import ConfigError, unknown

__all__ = ["add_parser", "run_nerf"]


def run_nerf(args: argparse.Namespace) -> int:
    """``smoothgrid nerf``: the views are loaded (or rendered) once and shared by the methods."""
    from ..apps import nerf

    methods = [m for item in args.methods for m in item.split(",") if m]
    for method in methods:
        if method not in nerf.method_names():
            raise unknown("method", method, nerf.method_names())
    device = device_option(args)
    try:
        noise = nerf.parse_pose_noise(args.pose_noise)
        views = nerf.load_views(args.source, args.train_views, args.test_views, args.size)
    except (FileNotFoundError, ValueError) as error:
        raise ConfigError(str(error)) from None
    lr = {} if args.lr is None else {"lr": args.lr, "decoder_lr": args.lr}

    def fit(method: str, where: Path) -> Mapping[str, Any]:
        return nerf.fit_nerf(
            views, method=method, st_lambda=args.st_lambda, st_mode=args.st_mode,
            curriculum=args.curriculum == "on", pose_noise=noise, refine=args.refine == "on",
            batch=args.batch, seed=args.seed, device=device, out=where, resume=args.resume,
            progress=not args.no_progress, **lr, **budget_options(args),
        ).metrics  # fmt: skip

    def line(m: Mapping[str, Any]) -> str:
        return (
            f"rotation error {m['initial_rotation_error_deg']:.2f} -> "
            f"{m['rotation_error_deg']:.2f} deg, PSNR {m['psnr']:.2f} dB, "
            f"{m['ms_per_step']:.0f} ms/step"
        )

    return run_methods(methods, args.out, fit, line, nerf.markdown_table)


def add_parser(commands) -> None:
    """The ``nerf`` sub-command."""
    cmd = commands.add_parser(
        "nerf", help="fit a radiance field and refine noisy camera poses (Heo et al. 2023)"
    )
    cmd.add_argument(
        "source",
        nargs="?",
        help=f"a procedural scene (solids, {', '.join(shape_names())}; default solids) or a "
        "Blender / NeRF-synthetic folder",
    )
    add_app_options(
        cmd, "runs/nerf", 1024, "rays", methods="linear,cosine,st",
        methods_are="linear, cosine, st (straight-through) or another grid encoding",
    )  # fmt: skip
    options = (
        ("--st-lambda", dict(type=float, default=1.0,
                             help="straight-through weight of the smooth gradient (default 1)")),
        ("--st-mode", dict(choices=("axis", "corner"), default="axis",
                           help="straight-through smoothing of each axis factor or corner weight")),
        ("--pose-noise", dict(default="5,0.1",
                              help="DEG,UNITS: each training pose is turned and moved by exactly "
                              "this much (default 5,0.1; 0,0: the poses as given)")),
        ("--curriculum", dict(choices=("on", "off"), default="on",
                              help="BARF's coarse-to-fine level weights (default on)")),
        ("--refine", dict(choices=("on", "off"), default="on",
                          help="optimise the training poses (default on)")),
        ("--size", dict(type=int, help="image width in pixels (a scene: default 100; a folder: "
                                       "resampled to it)")),
        ("--train-views", dict(type=int, default=16, help="training views of a scene")),
        ("--test-views", dict(type=int, default=4, help="test views of a scene")),
    )  # fmt: skip
    for flag, spec in options:
        cmd.add_argument(flag, **spec)
