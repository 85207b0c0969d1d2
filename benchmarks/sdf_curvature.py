"""Where an SDF's blocky curvature comes from, and which field fixes it (issue 18).

    python benchmarks/sdf_curvature.py --shape torus --time 25 --seed 0
    python benchmarks/sdf_curvature.py --configs hermite,quintic,ingp_fd --time 90 --seed 1
    python benchmarks/sdf_curvature.py --configs hermite,hermite_jump10 --steps 150
    python benchmarks/sdf_curvature.py --configs hermite,default --steps 150 --during 3

Fits one SDF per configuration (``smoothgrid.apps.sdf.fit_sdf``, the same budget each; the
pictures land in ``OUT/CONFIG/curvature.png``) and prints two tables:

1. **Where the Hessian comes from** (at the end, and with ``--during K`` after each ``K``-th of
   the steps: ``CONFIG@STEPS``), at 1000 exact surface points, per grid level ``l`` (``N_l``
   cells per axis): the level's share ``mean ||D_l Hess z_l||_F / mean ||Hess f||_F`` (``z_l``
   its features, ``D_l`` the decoder's derivative with respect to them: the level's first-order
   part of the Hessian; the decoder's own curvature and the sphere prior are the rest); the
   jump of the field's Hessian across the level's faces (``smoothgrid.apps.sdf.jumps``) and its
   change over the middle half of one of the level's cells, both over ``mean ||Hess f||_F``.
   For ``ingp_fd`` (a linear grid, whose analytic Hessian is zero inside cells) the jump and the
   change use its finite-difference Hessian, and the shares are left out.
2. **The comparison**: mean and Gaussian curvature errors (relative) and their roughness (the
   mean jump of the curvature error along mesh edges, see ``smoothgrid.apps.sdf.metrics``),
   Chamfer, steps and ms per step.

Configurations (:data:`CONFIGS`) differ only in the field, the ``face_jump`` weight or the level
scale; all
use the SDF app's loss, batch 4096, the sphere prior and the method's learning rates. Wall-clock
budgets: on a shared CPU the step counts in the table are what a run got.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch

from smoothgrid.apps import sdf
from smoothgrid.apps.sdf.jumps import across_face, hessian_jump, snap_to_faces
from smoothgrid.field import Field
from smoothgrid.jet import Jet

OFF = {"weights": {"face_jump": 0.0}}
JUMP10 = {"weights": {"face_jump": 10.0}}

CONFIGS: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "default": ("hermite", {}, {}),
    "hermite": ("hermite", {}, OFF),
    "hermite_offset": ("hermite", {"offset": True}, OFF),
    "hermite_jump": ("hermite", {}, {"weights": {"face_jump": 1.0}}),
    "hermite_jump3": ("hermite", {}, {"weights": {"face_jump": 3.0}}),
    "hermite_jump10": ("hermite", {}, JUMP10),
    "hermite_offset_jump": ("hermite", {"offset": True}, {"weights": {"face_jump": 1.0}}),
    "hermite_invsq": ("hermite", {}, {**OFF, "level_scale": "inverse_square"}),
    "hermite_invsq_jump10": ("hermite", {}, {**JUMP10, "level_scale": "inverse_square"}),
    "quintic": ("quintic", {}, OFF),
    "quintic_offset": ("quintic", {"offset": True}, OFF),
    "rbf_bump": ("rbf", {"window": "bump", "log2_table": 19}, OFF),
    "ingp_fd": ("ingp_fd", {}, {}),
}
"""Name -> (method, grid options over ``SDF_GRID``, ``fit_sdf`` options). ``default`` is the SDF
app's default (Hermite with the ``face_jump`` term at weight 10), ``hermite`` the old default
(no ``face_jump`` term), ``hermite_jump*`` the term at weight 1, 3 or 10 with the old default's
other settings (``hermite_jump10`` is ``default``, named for the table); ``rbf_bump`` is dense
(every level fits ``2^19`` rows, the ∂∞-Grid setting); ``ingp_fd`` keeps SIREN's loss."""


def hessian(field: Field, x: torch.Tensor) -> torch.Tensor:
    """``(N, 3, 3)`` the field's Hessian by its own derivative method, detached."""
    with torch.set_grad_enabled(field.derivatives == "autograd"):
        return field.jet(x, order=2, hessian=True).hess[:, 0].detach()


def level_shares(field: Field, x: torch.Tensor) -> list[float]:
    """Each level's first-order part of the Hessian, ``mean ||D_l Hess z_l||_F`` (see the
    module docstring), over ``mean ||Hess f||_F``."""
    enc = field.encoding
    z = enc.jet(x, order=2, hessian=True)
    features = z.value.detach().requires_grad_(True)
    with torch.enable_grad():
        (slope,) = torch.autograd.grad(field.decoder(features)[:, 0].sum(), features)
    total = hessian(field, x).flatten(1).norm(dim=1).mean()
    F = enc.features
    shares = []
    for level in range(enc.levels):
        part = torch.einsum(
            "bc,bcij->bij",
            slope[:, level * F : (level + 1) * F],
            z.hess[:, level * F : (level + 1) * F].detach(),
        )
        shares.append(float(part.flatten(1).norm(dim=1).mean() / total))
    return shares


def prior_share(field: Field, x: torch.Tensor) -> float:
    """The sphere prior's ``mean ||Hess g||_F`` over the field's."""
    if field.constraint is None or field.constraint.offset is None:
        return 0.0
    prior = field.constraint.offset(Jet.coordinates(x, order=2, hessian=True)).hess[:, 0]
    return float(
        prior.flatten(1).norm(dim=1).mean() / hessian(field, x).flatten(1).norm(dim=1).mean()
    )


def jumps_and_changes(
    field: Field, x: torch.Tensor, generator: torch.Generator
) -> list[tuple[float, float]]:
    """Per level: the Hessian's mean jump across its faces and its mean change over the middle
    half of its cells (from 1/4 to 3/4 of a cell along the same axis), over ``mean ||Hess f||``."""
    enc = field.encoding
    total = hessian(field, x).flatten(1).norm(dim=1).mean()
    axis = torch.randint(3, (len(x),), generator=generator)
    jet = lambda p: field.jet(p, order=2, hessian=True)  # noqa: E731
    out = []
    for level in range(enc.levels):
        levels = torch.full((len(x),), level)
        on = snap_to_faces(enc, x, levels, axis)
        with torch.set_grad_enabled(field.derivatives == "autograd"):
            jump = hessian_jump(jet, on, across_face(enc, axis)).detach().mean()
            quarter = across_face(enc, axis, 0.25 * enc.resolutions[-1] / enc.resolutions[level])
            inward = -torch.sign(on[torch.arange(len(x)), axis]).to(x.dtype)[:, None]
            middle = on + 2 * quarter.to(x.dtype) * inward
            change = hessian_jump(jet, middle, quarter).detach().mean()
        out.append((float(jump / total), float(change / total)))
    return out


def diagnose(field: Field, target: sdf.SdfTarget, seed: int) -> dict[str, Any]:
    """Table 1's numbers for one fitted field."""
    generator = torch.Generator().manual_seed(seed + 7)
    points, _ = target.solid.sample_surface(1000, generator)
    x = points.to(torch.float32)
    grid = field.encoding
    shares = level_shares(field, x) if field.derivatives == "jet" else [None] * grid.levels
    return {
        "resolutions": list(grid.resolutions),
        "level_share": shares,
        "prior_share": prior_share(field, x),
        "jump_change": jumps_and_changes(field, x, generator),
        "hessian_norm": float(hessian(field, x).flatten(1).norm(dim=1).mean()),
    }


def _f(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_tables(rows: dict[str, dict[str, Any]]) -> str:
    lines = ["| config | level | N_l | Hessian share | jump / mean norm | half-cell change / "
             "mean norm |", "|---|---|---|---|---|---|"]  # fmt: skip
    for name, row in rows.items():
        d = row["diagnosis"]
        for level, res in enumerate(d["resolutions"]):
            jump, change = d["jump_change"][level]
            lines.append(f"| {name} | {level} | {res} | {_f(d['level_share'][level], '.3f')} | "
                         f"{jump:.3f} | {change:.3f} |")  # fmt: skip
        lines.append(f"| {name} | prior | - | {d['prior_share']:.3f} | mean norm "
                     f"{d['hessian_norm']:.2f} | |")  # fmt: skip
    lines += ["", "| config | steps | ms/step | Chamfer | H rel. err. | K rel. err. | H roughness "
              "| K roughness |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for name, row in rows.items():
        m = row["metrics"]
        lines.append(
            f"| {name} | {m['steps']} | {m['ms_per_step']:.0f} | {m['chamfer']:.2e} | "
            f"{m['mean_curvature_rel_error']:.3f} | {m['gaussian_curvature_rel_error']:.3f} | "
            f"{m['mean_curvature_roughness']:.4f} | {m['gaussian_curvature_roughness']:.4f} |"
        )
    return "\n".join(lines)


def side_by_side(out: Path, names: list[str]) -> None:
    """``OUT/side_by_side.png``: each config's ``curvature.png`` in one column, titled."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.image import imread

    shown = [n for n in names if (out / n / "curvature.png").is_file()]
    if not shown:
        return
    figure = Figure(figsize=(10, 4.2 * len(shown)))
    for row, name in enumerate(shown):
        axes = figure.add_subplot(len(shown), 1, row + 1)
        axes.imshow(imread(out / name / "curvature.png"))
        axes.set_title(name)
        axes.axis("off")
    figure.tight_layout()
    FigureCanvasAgg(figure).print_png(str(out / "side_by_side.png"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="torus", help="a procedural shape with exact curvature")
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated CONFIGS")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--time", type=float, help="training seconds per fit (default 25)")
    budget.add_argument("--steps", type=int, help="training steps per fit (fair on a busy CPU)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resolution", type=int, default=64, help="marching-cubes nodes per axis")
    parser.add_argument(
        "--during", type=int, default=1,
        help="with --steps: measure after each of this many equal parts of the training too",
    )  # fmt: skip
    parser.add_argument("--out", default="/tmp/sdf_curvature", help="runs and results.json")
    args = parser.parse_args()
    names = [n for n in args.configs.split(",") if n]
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        raise SystemExit(f"unknown configs {unknown}; known: {', '.join(CONFIGS)}")
    target = sdf.load_target(args.shape, seed=args.seed)
    rows: dict[str, dict[str, Any]] = {}
    for name in names:
        method, grid, options = CONFIGS[name]
        torch.manual_seed(args.seed)
        field = sdf.sdf_field(method, **grid)
        parts = args.during if args.steps else 1
        for part in range(1, parts + 1):  # each part resumes the checkpoint of the one before
            steps = None if args.steps is None else args.steps * part // parts
            result = sdf.fit_sdf(target, method=method, field=field, steps=steps,
                                 time_budget=None if args.steps else args.time or 25.0,
                                 seed=args.seed, resolution=args.resolution, **options,
                                 out=Path(args.out) / name, resume=part > 1)  # fmt: skip
            if part < parts:
                rows[f"{name}@{steps}"] = {
                    "metrics": result.metrics,
                    "diagnosis": diagnose(result.field, target, args.seed),
                }
        rows[name] = {
            "metrics": result.metrics,
            "diagnosis": diagnose(result.field, target, args.seed),
        }
        m = result.metrics
        print(f"{name}: {m['steps']} steps, H {m['mean_curvature_rel_error']:.3f}, "
              f"K {m['gaussian_curvature_rel_error']:.3f}", flush=True)  # fmt: skip
    table = print_tables(rows)
    print(table)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "results.json").write_text(json.dumps(rows, indent=1, default=str) + "\n")
    (Path(args.out) / "results.md").write_text(table + "\n")
    side_by_side(Path(args.out), names)


if __name__ == "__main__":
    main()
