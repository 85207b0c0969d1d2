"""Issue 14's table: every smoke method on one scene, same budget and seed, one row each.

    python benchmarks/smoke_table.py --source plume2d --resolution 32 --frames 16 --time 20

Writes ``OUT/results.md`` (held-out PSNR / SSIM, density rel. L2, mean |R| and |div u| on the
model's jets, ms/step, samples/s, peak memory, time to a target PSNR), each method's run folder
(metrics.json, pictures) and ``OUT/curves.png``: held-out PSNR and mean |R| against training
time for all methods. On a CPU "peak memory" is the autograd memory of one step (the storages
its graph saves for backward); on CUDA the allocator's peak.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from smoothgrid.apps.smoke.command import load_source
from smoothgrid.apps.smoke.fit import SmokeOptions, fit_smoke
from smoothgrid.apps.smoke.frames import transport_floor
from smoothgrid.apps.smoke.metrics import markdown_table

METHODS = "jets,weak,fd,semi_lagrangian,double_backward,no_physics,mlp"


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for r in rows:
        hist = [h for h in r["history"] if h.get("psnr") is not None]
        t = [h["time"] for h in hist]
        axes[0].plot(t, [h["psnr"] for h in hist], marker=".", label=r["method"])
        axes[1].semilogy(t, [max(h["residual"], 1e-12) for h in hist], marker=".")
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
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-every", type=int, default=25)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default="bench/smoke")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    scene = load_source(args.source, args.views, args.seed, args.pixels, args.resolution,
                        args.frames)  # fmt: skip
    budget = {"time_budget": args.time} if args.time else {"steps": args.steps or 200}
    options = SmokeOptions(eval_every=args.eval_every)
    rows = []
    for method in args.methods.split(","):
        m = fit_smoke(scene, method, options=options, seed=args.seed, device=args.device,
                      out=Path(args.out) / method, **budget).metrics  # fmt: skip
        rows.append(m)
        print(f"{method}: PSNR {m['psnr']:.2f} dB, {m['ms_per_step']:.1f} ms/step", file=sys.stderr)
    text = markdown_table(rows)
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
