"""``smoothgrid smoke SOURCE``: simulate or read a scene, reconstruct it with each method.

``SOURCE`` is ``plume2d`` or ``plume3d`` (simulated here, seeded, and rendered from ``--views``
training cameras and one held-out camera; the observations are written to ``OUT/scene`` in the
folder format of :mod:`.scenes`) or such a folder. Each method of ``--methods`` (see
:func:`~.fit.parse_method`) writes ``metrics.json`` and its pictures (in ``OUT/METHOD`` when
there are several); ``OUT/results.md`` has one row per method.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ...train.settings import SettingsError
from .fit import METHODS, SmokeOptions, fit_smoke, parse_method
from .frames import transport_floor
from .metrics import markdown_table
from .scenes import Scene, observe, read_scene, write_scene
from .simulate import PRESETS, simulate

__all__ = ["add_arguments", "run", "load_source"]


def add_arguments(parser: argparse.ArgumentParser, common: Callable[..., None]) -> None:
    """The ``smoke`` sub-command's arguments (``common``: the app commands' shared ones)."""
    parser.add_argument(
        "source", help=f"a preset ({', '.join(PRESETS)}) or a smoke scene folder (scene.json, "
        "transforms_train.json, transforms_test.json)",
    )  # fmt: skip
    common(parser, "runs/smoke", SmokeOptions.rays, "rays", methods="jets,no_physics")
    parser.add_argument(
        "--views",
        type=int,
        default=3,
        help="training views of a preset (default 3; one more is held out)",
    )
    parser.add_argument(
        "--pixels", type=int, help="image width of a preset (default: its cells per axis)"
    )
    parser.add_argument("--resolution", type=int, help="a preset's cells per axis")
    parser.add_argument("--frames", type=int, help="a preset's frames")
    parser.add_argument("--kappa", type=float, default=0.0, help="diffusivity (>= 0; default 0)")
    parser.add_argument(
        "--divergence",
        type=float,
        default=0.0,
        help="weight of the divergence penalty on u (default 0: off)",
    )
    parser.add_argument(
        "--lambda-phys",
        type=float,
        default=SmokeOptions.lambda_phys,
        help="physics weight after its ramp (default 0.1)",
    )
    parser.add_argument(
        "--grid",
        default=SmokeOptions.grid,
        help="the spatial grid's encoding (default quintic, hashed)",
    )
    parser.add_argument("--eval-every", type=int, default=SmokeOptions.eval_every,
                        help="steps between held-out evaluations")  # fmt: skip


def load_source(source: str, views: int, seed: int, pixels: int | None = None,
                resolution: int | None = None, frames: int | None = None) -> Scene:  # fmt: skip
    """A preset simulated and observed, or a folder read (:func:`~.scenes.read_scene`).

    Raises:
        SettingsError: fewer than one view, a bad preset size.
        FileNotFoundError, ValueError: from reading a folder.
    """
    if source in PRESETS:
        if views < 1:
            raise SettingsError(f"--views must be >= 1 (training cameras), got {views}")
        changes: dict[str, Any] = {"seed": seed}
        if resolution is not None:
            changes["resolution"] = resolution
        if frames is not None:
            changes["frames"] = frames
        try:
            config = dataclasses.replace(PRESETS[source], **changes)
        except ValueError as error:
            raise SettingsError(str(error)) from None
        return observe(simulate(config), views=views, pixels=pixels, name=source)
    if not Path(source).exists():
        raise FileNotFoundError(
            f"{source!r} is neither a preset ({', '.join(PRESETS)}) nor a folder"
        )
    return read_scene(source)


def _line(m: Mapping[str, Any]) -> str:
    rel = m["density_rel_l2"]
    density = "" if rel is None else f", rho rel. L2 {rel:.3f}"
    start = "" if m["psnr_start"] is None else f" (start {m['psnr_start']:.2f})"
    speed = "" if m["ms_per_step"] is None else f", {m['ms_per_step']:.1f} ms/step"
    return f"held-out PSNR {m['psnr']:.2f} dB{start}{density}, mean |R| {m['residual']:.3g}{speed}"


def run(args: argparse.Namespace, run_methods, budget: dict[str, Any], device: str) -> int:
    """Run the command (``run_methods``: the CLI's runner of several methods)."""
    from ...cli.config import ConfigError

    methods = [m for item in args.methods for m in item.split(",") if m]
    try:
        for method in methods:
            parse_method(method)
        options = SmokeOptions(
            rays=args.batch, kappa=args.kappa, divergence_weight=args.divergence,
            lambda_phys=args.lambda_phys, grid=args.grid, eval_every=args.eval_every,
            **({"lr": args.lr, "decoder_lr": args.lr} if args.lr is not None else {}),
        )  # fmt: skip
        scene = load_source(args.source, args.views, args.seed, args.pixels, args.resolution,
                            args.frames)  # fmt: skip
    except (SettingsError, FileNotFoundError, ValueError) as error:
        raise ConfigError(str(error)) from None
    print(f"{scene.name}: {scene.dim}D, {len(scene.times)} frames, "
          f"{len(scene.train)} training images, {len(scene.test)} held-out images")  # fmt: skip
    if scene.simulation is not None and args.source in PRESETS:
        write_scene(scene, Path(args.out) / "scene")

    def fit(method: str, where: Path) -> Mapping[str, Any]:
        return fit_smoke(scene, method, options=options, seed=args.seed, device=device,
                         out=where, resume=args.resume, progress=not args.no_progress,
                         **budget).metrics  # fmt: skip

    def table(rows) -> str:
        text = markdown_table(rows)
        if scene.simulation is not None:
            floor = transport_floor(scene.simulation)
            text += (f"\n\nThe simulated truth's own mean |R| (its floor): "
                     f"{floor.mean_abs:.3g} rho/s. Methods: {', '.join(METHODS)}.")  # fmt: skip
        return text

    return run_methods(methods, args.out, fit, _line, table)
