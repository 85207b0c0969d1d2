"""The smoke app's building blocks, measured: the simulated truth and the residual routes.

    python benchmarks/smoke_blocks.py            # both presets and the route table
    python benchmarks/smoke_blocks.py --skip-3d  # plume2d only

Prints, for each simulator preset, the seconds per frame (one intra-op thread; wall clock on
whatever machine runs it, so only a rough figure on a shared CPU), the frames' own transport
residual (the floor), the saved velocity's central-difference divergence and the mass added by
the source; then, for each route on an exactly transported rotating blob, the mean |residual|
relative to mean |d rho/dt| as its step halves, and the observed order.
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from smoothgrid.apps.smoke import (
    PRESETS,
    TransportOptions,
    central_divergence,
    residuals,
    rotating_blob,
    simulate,
    transport_floor,
)


def truth_table(names: list[str]) -> None:
    print(
        "| preset | grid x frames | s total | s / frame | floor mean abs | floor relative |"
        " mean abs div u / mean abs grad u | mass first -> last frame |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name in names:
        config = PRESETS[name]
        start = time.perf_counter()
        sim = simulate(config)
        seconds = time.perf_counter() - start
        floor = transport_floor(sim)
        _, div_ratio = central_divergence(sim)
        mass = sim.rho.flatten(1).sum(1) * float(sim.spacing.prod())
        frames = config.frames + config.warmup
        print(
            f"| {name} | {config.resolution}^{config.dim} x {config.frames} | {seconds:.1f} |"
            f" {seconds / frames:.3f} | {floor.mean_abs:.4f} | {floor.relative:.3f} |"
            f" {div_ratio:.3f} | {mass[0]:.4f} -> {mass[-1]:.4f} |"
        )


ROUTE_STEPS = {
    "fd (central)": ("fd", [dict(h=h, dt=h) for h in (0.02, 0.01, 0.005)], {}),
    "fd (upwind)": ("fd", [dict(h=h, dt=h) for h in (0.02, 0.01, 0.005)], {"scheme": "upwind"}),
    "semi_lagrangian (euler)": ("semi_lagrangian", [dict(dt=h) for h in (0.02, 0.01, 0.005)], {}),
    "semi_lagrangian (midpoint)": (
        "semi_lagrangian",
        [dict(dt=h) for h in (0.02, 0.01, 0.005)],
        {"backtrace": "midpoint"},
    ),
    "weak (gauss 3)": ("weak", [dict(width=w, duration=w) for w in (0.1, 0.05, 0.025)], {}),
    "weak (gauss 4)": (
        "weak",
        [dict(width=w, duration=w) for w in (0.1, 0.05, 0.025)],
        {"nodes": 4},
    ),
    "weak (mc 64, control variate)": (
        "weak",
        [dict(width=w, duration=w) for w in (0.1, 0.05, 0.025)],
        {"quadrature": "mc", "samples": 64},
    ),
    "jets": ("jets", [{}], {}),
    "double_backward": ("double_backward", [{}], {}),
}


def route_table() -> None:
    g = torch.Generator().manual_seed(0)
    x = 0.3 + 0.4 * torch.rand(300, 2, generator=g, dtype=torch.float64)
    t = 0.2 + 0.4 * torch.rand(300, 1, generator=g, dtype=torch.float64)
    points = torch.cat([x, t], 1)
    model = rotating_blob(2.0, [0.5, 0.5], [0.15, 0.0])
    scale = model.jet(points, order=1).grad[:, 0, -1].abs().mean().item()
    print("\n| route | steps | mean abs R / mean abs d rho/dt | observed order |")
    print("|---|---|---|---|")
    for label, (route, steps, fixed) in ROUTE_STEPS.items():
        errors = []
        for step in steps:
            options = TransportOptions(**fixed, **step)
            gen = torch.Generator().manual_seed(1)
            r = residuals(route, model, points, options, gen).transport
            errors.append(r.abs().mean().item() / scale)
        orders = [math.log2(a / b) for a, b in zip(errors[:-1], errors[1:])]
        shown = ", ".join(f"{list(s.values())[0]:g}" for s in steps) if steps[0] else "-"
        print(
            f"| {label} | {shown} | {', '.join(f'{e:.1e}' for e in errors)} |"
            f" {', '.join(f'{o:.2f}' for o in orders) or '-'} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-3d", action="store_true", help="simulate plume2d only")
    args = parser.parse_args()
    torch.set_num_threads(1)
    truth_table(["plume2d"] if args.skip_3d else ["plume2d", "plume3d"])
    route_table()


if __name__ == "__main__":
    main()
