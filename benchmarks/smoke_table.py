"""Issue 14's table: every smoke method on one scene, same budget and seeds, one row each.

    python benchmarks/smoke_table.py --source plume2d --resolution 32 --frames 16 --time 20
    python benchmarks/smoke_table.py --source plume3d --time 60 --seeds 3

Writes ``OUT/results.md`` (held-out PSNR / SSIM, density rel. L2, mean |R| and |div u| on the
model's jets, ms/step, samples/s, peak memory, time to a target PSNR), each method's run folder
(metrics.json, pictures) and ``OUT/curves.png``: held-out PSNR and mean |R| against training
time for all methods. On a CPU "peak memory" is the autograd memory of one step (the storages
its graph saves for backward); on CUDA the allocator's peak.

With ``--seeds N`` the scene is simulated once (``--seed``) and every method is trained with
the training seeds ``0..N-1`` (model initialisation and draws; run folders
``OUT/seedS/METHOD``); ``results.md`` then gives each metric as ``mean ± s`` (``s`` the sample
standard deviation over the seeds) followed by every seed's own table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

from smoothgrid.apps.smoke.command import load_source
from smoothgrid.apps.smoke.fit import (
    SmokeOptions,
    SmokeTask,
    build_model,
    fit_smoke,
    saved_megabytes,
    transport_options,
)
from smoothgrid.apps.smoke.frames import transport_floor
from smoothgrid.apps.smoke.metrics import COLUMNS, markdown_table, time_to_psnr
from smoothgrid.apps.smoke.model import BLUEPRINT_GRID
from smoothgrid.apps.smoke.physics import physics_loss
from smoothgrid.train.optim import grid_decoder_adam

METHODS = "jets,weak,fd,semi_lagrangian,double_backward,no_physics,mlp"


def interleaved_ms(scene, methods, options, rounds: int = 5, steps: int = 4) -> dict[str, float]:
    """Median ms per training step (loss, backward, Adam) of each method on one fixed batch,
    the methods taking turns ``rounds`` times: a drift of the machine's load hits them alike
    (the fitted runs' ms/step are taken one after the other and do not have that)."""
    transport = transport_options(scene, options.kappa, options.divergence_weight > 0)
    runs = {}
    for method in methods:
        torch.manual_seed(0)
        model, routes, rates = build_model(scene, method, options)
        task = SmokeTask(model, scene, routes, options, transport)
        task.before_step(1.0)
        samples = task.sample(torch.Generator().manual_seed(0), None, 1)
        runs[method] = (task, samples, grid_decoder_adam(model, *rates))
    times = {m: [] for m in methods}
    for _ in range(rounds):
        for method, (task, samples, adam) in runs.items():
            start = time.perf_counter()
            for _ in range(steps):
                loss, _ = task.loss(samples)
                adam.zero_grad()
                loss.backward()
                adam.step()
            times[method].append(1000 * (time.perf_counter() - start) / steps)
    return {m: statistics.median(t) for m, t in times.items()}


def physics_only(scene, methods, options, n: int = 4096, rounds: int = 5) -> dict[str, tuple]:
    """``(ms, MB)`` of the physics term alone (loss of ``n`` points, backward) per method with
    physics, taken in turns: the part of a step the routes differ in. MB: the storages its
    autograd graph saves for backward."""
    transport = transport_options(scene, options.kappa, options.divergence_weight > 0)
    runs = {}
    for method in methods:
        torch.manual_seed(0)
        model, routes, _ = build_model(scene, method, options)
        if routes:
            task = SmokeTask(model, scene, routes, options, transport)
            runs[method] = (model, routes, task._uniform(n, torch.Generator().manual_seed(0)))
    times = {m: [] for m in runs}
    for _ in range(rounds):
        for method, (model, routes, points) in runs.items():
            start = time.perf_counter()
            physics_loss(model, points, routes, transport).backward()
            times[method].append(1000 * (time.perf_counter() - start))
    memory = {
        method: saved_megabytes(
            lambda m=model, r=routes, p=points: physics_loss(m, p, r, transport)
        )
        for method, (model, routes, points) in runs.items()
    }
    return {m: (statistics.median(times[m]), memory[m]) for m in runs}


AGGREGATED = (
    *(column for column in COLUMNS if column[0] not in ("method", "steps")),
    ("time_to_b1", "time to B1's PSNR (s)", "{:.1f}"),
    ("steps", "steps", "{:.0f}"),
)
"""The seed-aggregated table's columns: metric key, header, format of mean and spread."""


def last_psnr(metrics: dict) -> float:
    """The held-out PSNR of a run's last history row (the run's end)."""
    return [h["psnr"] for h in metrics["history"] if h.get("psnr") is not None][-1]


def mean_spread(values: list[float | None], fmt: str) -> str:
    """``"mean ± s"`` of the values that are not None (``s``: sample standard deviation),
    with ``(k/n)`` when only ``k`` of the ``n`` runs have a value; ``-`` when none has."""
    have = [v for v in values if v is not None]
    if not have:
        return "-"
    text = fmt.format(statistics.fmean(have))
    if len(have) > 1:
        text += " ± " + fmt.format(statistics.stdev(have))
    if len(have) < len(values):
        text += f" ({len(have)}/{len(values)})"
    return text


def aggregate(runs: dict[str, list[dict]]) -> str:
    """Markdown table of ``mean ± s`` over seeds, one row per method (``runs``: method ->
    each seed's metrics). Time to target: to the lowest best-history PSNR of all runs (every
    run reaches it); time to B1's PSNR: to the mean of ``double_backward``'s last history PSNR
    (the same held-out frames as every history row)."""
    best = [max(h["psnr"] for h in r["history"] if h.get("psnr") is not None)
            for rs in runs.values() for r in rs if r["history"]]  # fmt: skip
    target = min(best) if best else None
    b1 = runs.get("double_backward")
    b1_psnr = statistics.fmean(last_psnr(r) for r in b1) if b1 else None
    lines = ["| method | " + " | ".join(h for _, h, _ in AGGREGATED) + " |",
             "|" + "---|" * (len(AGGREGATED) + 1)]  # fmt: skip
    for method, rs in runs.items():
        for r in rs:
            r["time_to_target"] = time_to_psnr(r["history"], target) if target else None
            r["time_to_b1"] = time_to_psnr(r["history"], b1_psnr) if b1_psnr else None
        cells = [mean_spread([r.get(k) for r in rs], fmt) for k, _, fmt in AGGREGATED]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    seeds = len(next(iter(runs.values())))
    lines.append("")
    lines.append(f"mean ± sample standard deviation over {seeds} training seeds; `(k/n)`: only "
                 "k of the n runs reached the value (the mean is over those).")  # fmt: skip
    if target is not None:
        lines.append(f"time to target: training seconds to {target:.2f} dB held-out PSNR (the "
                     "lowest best-history PSNR of all runs).")  # fmt: skip
    if b1_psnr is not None:
        lines.append(f"time to B1's PSNR: training seconds to {b1_psnr:.2f} dB, the mean over "
                     "seeds of double_backward's last history PSNR. History rows are evaluated "
                     "every eval_every steps and at the end on up to 4 held-out frames (the "
                     "PSNR column: all held-out frames, so the two differ).")  # fmt: skip
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    colours = {}
    for r in rows:
        hist = [h for h in r["history"] if h.get("psnr") is not None]
        t = [h["time"] for h in hist]
        first = r["method"] not in colours
        colour = colours.setdefault(r["method"], f"C{len(colours)}")
        axes[0].plot(t, [h["psnr"] for h in hist], marker=".", color=colour, lw=1, ms=3,
                     label=r["method"] if first else None)  # fmt: skip
        axes[1].semilogy(t, [max(h["residual"], 1e-12) for h in hist], marker=".",
                         color=colour, lw=1, ms=3)  # fmt: skip
    axes[0].set_xlabel("training time (s)")
    axes[0].set_ylabel("held-out PSNR (dB)")
    axes[1].set_xlabel("training time (s)")
    axes[1].set_ylabel("mean |R| (jets)")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="plume3d")
    parser.add_argument("--views", type=int, default=3)
    parser.add_argument("--resolution", type=int)
    parser.add_argument("--frames", type=int)
    parser.add_argument("--pixels", type=int)
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--time", type=float)
    budget.add_argument("--steps", type=int)
    parser.add_argument("--methods", default=METHODS)
    parser.add_argument("--seed", type=int, default=0, help="the simulation's seed")
    parser.add_argument("--seeds", type=int, default=1,
                        help="training seeds 0..N-1 (default 1: train with --seed)")  # fmt: skip
    parser.add_argument("--eval-every", type=int, default=25)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--grid", choices=("cpu", "blueprint"), default="cpu",
                        help="the spatial grid: CPU_GRID (L=8, 4..64) or BLUEPRINT_GRID "
                        "(L=16, 16..512, 2^19 rows)")  # fmt: skip
    parser.add_argument("--out", default="bench/smoke")
    parser.add_argument("--physics-points", type=int, default=4096,
                        help="points of the physics-only timing")  # fmt: skip
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    scene = load_source(args.source, args.views, args.seed, args.pixels, args.resolution,
                        args.frames)  # fmt: skip
    budget = {"time_budget": args.time} if args.time else {"steps": args.steps or 200}
    grid = BLUEPRINT_GRID if args.grid == "blueprint" else {}
    options = SmokeOptions(eval_every=args.eval_every, **grid)
    methods = args.methods.split(",")
    seeds = list(range(args.seeds)) if args.seeds > 1 else [args.seed]
    runs: dict[str, list[dict]] = {m: [] for m in methods}
    for seed in seeds:
        for method in methods:
            where = Path(args.out) / (f"seed{seed}" if len(seeds) > 1 else "") / method
            m = fit_smoke(scene, method, options=options, seed=seed, device=args.device,
                          out=where, **budget).metrics  # fmt: skip
            runs[method].append(m)
            print(f"seed {seed} {method}: PSNR {m['psnr']:.2f} dB, {m['ms_per_step']:.1f} "
                  f"ms/step, {m['steps']} steps", file=sys.stderr, flush=True)  # fmt: skip
    rows = [r for seed_rows in zip(*runs.values()) for r in seed_rows]
    interleaved = interleaved_ms(scene, methods, options)
    if len(seeds) > 1:
        text = aggregate(runs)
        for i, seed in enumerate(seeds):
            text += f"\n\nSeed {seed}:\n\n" + markdown_table([runs[m][i] for m in methods])
    else:
        text = markdown_table(rows)
    text += (
        "\n\nms/step taken in turns (median of 5 rounds of 4 steps on one batch, nothing "
        "skipped): " + ", ".join(f"{m} {interleaved[m]:.1f}" for m in methods)
    )
    alone = physics_only(scene, methods, options, args.physics_points)
    text += f"\n\nphysics term alone ({args.physics_points} points, loss + backward, median "
    text += "of 5 in turns): "
    text += ", ".join(f"{m} {ms:.1f} ms / {mb:.1f} MB saved" for m, (ms, mb) in alone.items())
    if scene.simulation is not None:
        text += "\n\nfloor (the simulated truth's own mean |R|): "
        text += f"{transport_floor(scene.simulation).mean_abs:.3g} rho/s"
    command = "python benchmarks/smoke_table.py " + " ".join(sys.argv[1:] if argv is None else argv)
    text = (
        f"`{command}`: {scene.name}, {scene.dim}D, {len(scene.times)} frames, "
        f"{len(scene.train)} training images, {len(scene.test)} held-out images\n\n" + text
    )
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "results.md").write_text(text + "\n")
    plot(rows, Path(args.out) / "curves.png")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
