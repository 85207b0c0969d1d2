"""Pose refinement in a grid NeRF: linear, cosine and straight-through grids, with and without
the coarse-to-fine curriculum, from the same noisy poses under the same step budget.

A procedural scene (``solids`` by default) is rendered once by smoothgrid's renderer from
``--train-views`` + ``--test-views`` cameras on the upper hemisphere at ``--size`` pixels, and
written as a Blender folder (``OUT/scene``) that every run reads back. For each seed the training
poses are perturbed by exactly ``--pose-noise DEG,UNITS`` (the same noisy poses for every
method), and each variant fits the field and the poses jointly for ``--steps`` steps. The true
poses row (the upper bound) fits the field on the true poses, without refinement.

Reported per variant (mean ± std over the seeds): rotation / translation error of the training
poses after Sim(3) alignment of the camera centres (BARF's protocol), test PSNR / SSIM from the
true test poses mapped into the refined frame by the inverse of that alignment (no test-time
pose optimisation), and ms/step. On a CPU every grid evaluation is the PyTorch path (the points
need a gradient for the poses, which the fused kernels do not give), so ms/step compares the
interpolations' PyTorch cost.

    python benchmarks/nerf_poses.py --steps 2000 --seeds 3 --out bench/nerf_poses
    python benchmarks/nerf_poses.py --steps 150 --seeds 1 --lambdas 1 --true-poses linear
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from smoothgrid import render
from smoothgrid.apps import nerf

COLUMNS = ("rotation_error_deg", "translation_error", "psnr", "ssim", "ms_per_step")
RECORDED = (*COLUMNS, "steps", "initial_rotation_error_deg", "initial_translation_error",
            "wall_time")  # fmt: skip


def variants(lambdas: list[float], true_poses: str) -> list[dict]:
    """The runs of one seed: each method with and without the curriculum, then the true-pose
    rows (``all`` methods, only ``linear``, or ``none``)."""
    methods = [dict(method="linear"), dict(method="cosine")]
    for mode in ("axis", "corner"):
        methods += [dict(method="st", st_mode=mode, st_lambda=lam) for lam in lambdas]
    runs = [{**m, "curriculum": c} for m in methods for c in (False, True)]
    chosen = {"all": methods, "linear": methods[:1], "none": []}[true_poses]
    runs += [{**m, "curriculum": False, "pose_noise": (0.0, 0.0), "refine": False} for m in chosen]
    return runs


def scene_folder(args: argparse.Namespace) -> Path:
    """Render the scene once into a folder of ``OUT`` (kept between invocations)."""
    folder = Path(args.out) / f"{args.scene}_{args.size}px_{args.train_views}+{args.test_views}"
    if not (folder / "transforms_test.json").is_file():
        start = time.perf_counter()
        views = nerf.procedural_views(args.scene, args.train_views, args.test_views, args.size)
        render.write_blender(folder, "train", views.train, views.train_images)
        render.write_blender(folder, "test", views.test, views.test_images)
        print(f"rendered {args.scene} in {time.perf_counter() - start:.0f} s -> {folder}")
    return folder


def label(run: dict) -> str:
    name = nerf.method_label(run["method"], run.get("st_lambda", 1.0), run.get("st_mode", "axis"),
                             run["curriculum"])  # fmt: skip
    return name + (" (true poses)" if not run.get("refine", True) else "")


def _mean_std(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3g}"
    return f"{statistics.mean(values):.3g} ± {statistics.stdev(values):.2g}"


def table(rows: list[dict]) -> str:
    """Markdown: one line per variant, mean ± std over the seeds (rows of one setup)."""
    lines = [
        "| variant | rotation error (deg) | translation error | test PSNR (dB) | SSIM | ms/step |"
        " seeds |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in dict.fromkeys(r["variant"] for r in rows):
        group = [r for r in rows if r["variant"] == name]
        cells = [_mean_std([r[k] for r in group]) for k in COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {len(group)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scene", default="solids")
    parser.add_argument("--size", type=int, default=100, help="image side in pixels")
    parser.add_argument("--train-views", type=int, default=16)
    parser.add_argument("--test-views", type=int, default=4)
    parser.add_argument("--pose-noise", default="6,0.1", help="DEG,UNITS (exact sizes)")
    parser.add_argument("--steps", type=int, default=2000, help="steps per run (the budget)")
    parser.add_argument("--batch", type=int, default=1024, help="rays per step")
    parser.add_argument("--samples", type=int, default=64, help="samples per ray")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--lambdas", default="0.1,1", help="straight-through lambdas")
    parser.add_argument("--true-poses", choices=("all", "linear", "none"), default="all")
    parser.add_argument("--pose-frame", choices=("camera", "world"), default="camera",
                        help="side of the pose correction (see docs/render.md)")  # fmt: skip
    parser.add_argument("--device", default="cpu", help="cpu, cuda, ...")
    parser.add_argument("--out", default="bench/nerf_poses")
    args = parser.parse_args()
    lambdas = [float(v) for v in args.lambdas.split(",") if v]
    views = nerf.load_views(scene_folder(args))
    setup = {k: getattr(args, k) for k in ("scene", "size", "train_views", "test_views",
                                           "pose_noise", "steps", "batch", "samples",
                                           "pose_frame")}  # fmt: skip
    rows_path = Path(args.out) / "rows.jsonl"
    old = rows_path.read_text().splitlines() if rows_path.is_file() else []
    rows = [r for r in map(json.loads, old) if r["setup"] == setup]  # earlier runs, same setup
    done = {(r["variant"], r["seed"]) for r in rows}
    for seed in range(args.seeds):
        for run in variants(lambdas, args.true_poses):
            name = label(run)
            if (name, seed) in done:
                continue
            options = {"pose_noise": args.pose_noise, "pose_frame": args.pose_frame, **run}
            result = nerf.fit_nerf(views, steps=args.steps, batch=args.batch,
                                   n_samples=args.samples, seed=seed, device=args.device,
                                   **options)  # fmt: skip
            m = result.metrics
            row = {"variant": name, "seed": seed, "setup": setup, **{k: m[k] for k in RECORDED}}
            rows.append(row)
            with rows_path.open("a") as handle:
                handle.write(json.dumps(row) + "\n")
            print(f"seed {seed} {name}: rotation {m['initial_rotation_error_deg']:.2f} -> "
                  f"{m['rotation_error_deg']:.2f} deg, translation "
                  f"{m['translation_error']:.3f}, PSNR {m['psnr']:.2f} dB, "
                  f"{m['ms_per_step']:.0f} ms/step", flush=True)  # fmt: skip
    noisy = [r for r in rows if "true poses" not in r["variant"]]
    text = table(rows)
    if noisy:
        rotation = _mean_std([r["initial_rotation_error_deg"] for r in noisy])
        translation = _mean_std([r["initial_translation_error"] for r in noisy])
        text += (f"\n\nStarting error of the noisy rows (after alignment): rotation {rotation} "
                 f"deg, translation {translation}.")  # fmt: skip
    (Path(args.out) / "table.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
