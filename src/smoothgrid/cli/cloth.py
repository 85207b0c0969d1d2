"""``smoothgrid cloth SCENE``: the static drape of a pinned cloth (see
:mod:`smoothgrid.apps.cloth`), its mesh, pictures and metrics in ``--out``; with ``--frames K``
its motion from rest, ``K`` backward-Euler steps of ``--dt`` seconds."""

from __future__ import annotations

import argparse
from dataclasses import replace

import torch

from ..train.settings import SettingsError
from .config import DEFAULT_STEPS, ConfigError

__all__ = ["add_parser", "run"]


def add_parser(commands) -> None:
    """The ``cloth`` sub-command's arguments."""
    from ..apps.cloth import SCENES, Material

    defaults = Material()
    parser = commands.add_parser(
        "cloth", help="the static drape of a pinned cloth by minimising its thin-shell energy"
    )
    parser.add_argument("scene", help=f"a scene: {', '.join(SCENES)}")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--time", type=float, help="training seconds (a total)")
    budget.add_argument(
        "--steps", type=int, help=f"training steps (a total; default {DEFAULT_STEPS})"
    )
    parser.add_argument("--out", default=None, help="output directory (default runs/cloth/SCENE)")
    parser.add_argument(
        "--resolution", type=int, default=32, help="cells per axis of the grid's finest level"
    )
    parser.add_argument(
        "--mesh-resolution", type=int, default=64, help="cells per axis of the output mesh"
    )
    parser.add_argument("--batch", type=int, default=4096, help="points per step")
    parser.add_argument("--lr", type=float, default=1e-2, help="learning rate (cosine decay)")
    parser.add_argument("--size", type=float, help="side of the square cloth, m (default 1)")
    parser.add_argument(
        "--pins", nargs="+", metavar="U,V",
        help="pinned points (reference coordinates in [0, 1]^2) replacing the scene's",
    )  # fmt: skip
    parser.add_argument("--young", type=float, default=defaults.young, help="Young's modulus E, Pa")
    parser.add_argument(
        "--poisson", type=float, default=defaults.poisson, help="Poisson's ratio, in (-1, 0.5)"
    )
    parser.add_argument(
        "--thickness", type=float, default=defaults.thickness, help="thickness h, m"
    )
    parser.add_argument(
        "--density", type=float, default=defaults.density, help="density rho, kg/m^3"
    )
    parser.add_argument("--gravity", type=float, default=9.81, help="g, m/s^2")
    parser.add_argument(
        "--frames", type=int,
        help="simulate this many backward-Euler time steps from rest instead of the static "
        "drape; --steps / --time are then per frame (default 100 steps)",
    )  # fmt: skip
    parser.add_argument("--dt", type=float, default=1 / 30, help="time step with --frames, s")
    parser.add_argument("--seed", type=int, default=0, help="random seed (init and draws)")
    parser.add_argument("--device", help="cpu or cuda")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


FRAME_STEPS = 100
"""Steps per frame of ``--frames`` when neither ``--steps`` nor ``--time`` is given."""


def _scene_and_material(args: argparse.Namespace):
    from ..apps import cloth

    scene = cloth.scene(args.scene, args.size)
    if args.pins:
        scene = replace(scene, pins=tuple(_pin(text) for text in args.pins))
    return scene, cloth.Material(args.young, args.poisson, args.thickness, args.density)


def _animate(args: argparse.Namespace, budget: dict, out: str, device: str) -> int:
    """``smoothgrid cloth SCENE --frames K``: backward-Euler frames from rest."""
    from ..apps.cloth.dynamics import animate_cloth

    try:
        scene, material = _scene_and_material(args)
        result = animate_cloth(
            scene, material, frames=args.frames, dt=args.dt, resolution=args.resolution,
            batch=args.batch, lr=args.lr, gravity=args.gravity,
            mesh_resolution=args.mesh_resolution, seed=args.seed, device=device, out=out,
            progress=not args.no_progress, **budget,
        )  # fmt: skip
    except (SettingsError, ValueError) as error:
        raise ConfigError(str(error)) from None
    last = result.history[-1]
    print(
        f"{scene.name}: {args.frames} frames of {args.dt:.4g} s, at t = {last['t']:.4g} s energy "
        f"{last['energy']:.5g} J + kinetic {last['kinetic_energy']:.5g} J, corner (0,0) at "
        f"[{last['corner_x']:.4f}, {last['corner_y']:.4f}, {last['corner_z']:.4f}] m, "
        f"{result.metrics['steps']} steps in {result.metrics['wall_time']:.1f} s"
    )
    print(f"results in {out}")
    return 0


def _pin(text: str) -> tuple[float, float]:
    try:
        u, v = (float(c) for c in text.split(","))
    except ValueError:
        raise ConfigError(f"a pin is U,V (two numbers), got {text!r}") from None
    return u, v


def run(args: argparse.Namespace) -> int:
    """``smoothgrid cloth``: bad input (scene, material, pins, budget) exits with code 2."""
    from ..apps import cloth

    device = args.device or "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for but CUDA is not available")
    default_steps = DEFAULT_STEPS if args.frames is None else FRAME_STEPS
    budget = (
        {"time_budget": args.time}
        if args.time is not None
        else {"steps": default_steps if args.steps is None else args.steps}
    )
    out = args.out or f"runs/cloth/{args.scene}"
    if args.frames is not None:
        return _animate(args, budget, out, device)
    try:
        scene, material = _scene_and_material(args)
        result = cloth.simulate_cloth(
            scene, material, resolution=args.resolution, batch=args.batch, lr=args.lr,
            gravity=args.gravity, mesh_resolution=args.mesh_resolution, seed=args.seed,
            device=device, out=out, resume=args.resume, progress=not args.no_progress,
            **budget,
        )  # fmt: skip
    except (SettingsError, ValueError) as error:
        raise ConfigError(str(error)) from None
    m = result.metrics
    corners = ", ".join(f"({k}) -> [{', '.join(f'{c:.4f}' for c in v)}]"
                        for k, v in m["free_corners"].items())  # fmt: skip
    print(
        f"{scene.name}: energy {m['energy']:.6g} J (membrane {m['membrane_energy']:.4g}, "
        f"bending {m['bending_energy']:.4g}, gravity {m['gravity_energy']:.4g}), max strain "
        f"{100 * m['max_strain']:.3g} % (99th percentile {100 * m['p99_strain']:.3g} %), "
        f"{m['steps']} steps in {m['wall_time']:.1f} s"
    )
    print(f"free corners (u,v) -> x (m): {corners}")
    print(f"results in {out}")
    return 0
