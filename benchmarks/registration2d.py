"""Joint 2D registration (BARF's planar image alignment, rigid): a grid image fitted from scratch
together with the poses of the crops it is seen through, from perturbed poses.

One grey image on ``[-1, 1]^2`` (scikit-image's ``astronaut`` or ``camera``, area-resampled to
``--image-size`` pixels, or a procedural ``texture``) is observed through ``--views`` crops of
``--crop-pixels``^2 pixels on ``[-h, h]^2`` (``h = --crop-half``): view ``k`` sees the image at
``R(theta_k) u + t_k`` (bilinear samples of the image). The true poses put the crop centres on a
centre + ring pattern with random rotations (``--spread`` degrees); the starting poses add to
every view a rotation of exactly ``DEG`` degrees (random sign) and a shift of exactly ``UNITS``
(random direction) (``--noise DEG,UNITS``). A multi-resolution grid (``smoothgrid.encodings``,
``--levels`` levels, ``--min-res``..``--max-res`` cells on ``[-1, 1]^2``) and a decoder (a ReLU
MLP, or a linear readout) are fitted from scratch, jointly with per-view pose corrections, by
Adam on the mean square error of all pixels of all views at every step (full batch).

Variants: ``linear``, ``cosine`` and the straight-through ``st`` (forward linear, gradient
linear + lambda smooth; ``axis`` or ``corner`` smoothing), each with and without BARF's
coarse-to-fine level weights (``alpha = L clamp((p - 0.1) / 0.4, 0, 1)``, as ``smoothgrid nerf``).
All variants of a seed share the image, the true poses, the starting poses and the initial
grid/decoder values (the same torch seed).

Scores: the global rigid gauge (a rotation and a shift of the whole image and all poses together
fit the data equally) is removed by the rigid Procrustes alignment of the crop corners placed by
the refined poses onto those placed by the true ones; then the rotation error (degrees), the
crop centre's error and the mean corner error (image units), means over the views, and the
fraction of views registered (corner error below one crop pixel). Results: docs/nerf.md.

    OMP_NUM_THREADS=1 python benchmarks/registration2d.py --seeds 5 --rows rows.jsonl
    OMP_NUM_THREADS=1 python benchmarks/registration2d.py --first-seed 5 --seeds 5 \
        --curriculum on --rows rows.jsonl
    python benchmarks/registration2d.py --table rows.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from smoothgrid import encodings
from smoothgrid.train.curriculum import barf_level_weights

CURRICULUM = (0.1, 0.5)
"""Fraction of training where BARF's ``alpha`` starts to rise and where it reaches ``L``."""


@dataclass
class Problem:
    """One seed's data: ``image (1, 1, S, S)``, ``truth``/``start (K, 3)`` poses
    ``(theta [rad], tx, ty)``, ``pixels (P, 2)`` and ``corners (4, 2)`` (crop-local
    coordinates)."""

    image: Tensor
    truth: Tensor
    start: Tensor
    pixels: Tensor
    corners: Tensor


def load_image(name: str, size: int, seed: int) -> Tensor:
    """``(1, 1, size, size)`` grey values in ``[0, 1]``: a scikit-image sample (centre square,
    area-resampled) or ``texture`` (random noise smoothed by a Gaussian of 1.5 % of the side,
    contrast-stretched; seeded)."""
    if name == "texture":
        g = torch.Generator().manual_seed(1000 + seed)
        noise = torch.rand(1, 1, size, size, generator=g)
        x = torch.arange(-8, 9, dtype=torch.float32)
        kernel = torch.exp(-0.5 * (x / (0.015 * size)) ** 2)
        kernel = kernel / kernel.sum()
        img = nn.functional.conv2d(noise, kernel.view(1, 1, 1, -1), padding=(0, 8))
        img = nn.functional.conv2d(img, kernel.view(1, 1, -1, 1), padding=(8, 0))
        return (img - img.min()) / (img.max() - img.min())
    from skimage import color, data, transform

    raw = getattr(data, name)()
    grey = color.rgb2gray(raw) if raw.ndim == 3 else raw / 255.0
    side = min(grey.shape)
    top, left = (grey.shape[0] - side) // 2, (grey.shape[1] - side) // 2
    square = grey[top : top + side, left : left + side]
    small = transform.resize(square, (size, size), anti_aliasing=True)
    return torch.tensor(np.asarray(small, dtype=np.float32))[None, None]


def rotation(theta: Tensor) -> Tensor:
    """``(K, 2, 2)`` rotation matrices of angles ``theta (K,)``."""
    c, s = torch.cos(theta), torch.sin(theta)
    return torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)


def warp(pixels: Tensor, poses: Tensor) -> Tensor:
    """``(K, P, 2)`` image points ``R(theta_k) u + t_k`` of crop pixels ``u: (P, 2)``."""
    return torch.einsum("kij,pj->kpi", rotation(poses[:, 0]), pixels) + poses[:, None, 1:]


def sample(image: Tensor, points: Tensor) -> Tensor:
    """Bilinear values ``(K, P)`` of ``image`` on ``[-1, 1]^2`` at ``points (K, P, 2)``
    (``x`` along the columns, ``y`` along the rows)."""
    grid = points[None].to(image.dtype)
    return nn.functional.grid_sample(image, grid, align_corners=False)[0, 0]


def make_problem(args: argparse.Namespace, seed: int) -> Problem:
    """The image, true poses, noisy starting poses and crop pixels of ``seed``."""
    g = torch.Generator().manual_seed(seed)
    k = args.views
    ring = torch.arange(k - 1) * 2 * math.pi / max(k - 1, 1)
    centres = torch.cat([torch.zeros(1, 2), args.ring * torch.stack([ring.cos(), ring.sin()], 1)])
    spread = math.radians(args.spread)
    theta = (torch.rand(k, generator=g) * 2 - 1) * spread
    truth = torch.cat([theta[:, None], centres], 1).double()
    deg, units = args.noise
    sign = torch.randint(0, 2, (k,), generator=g) * 2 - 1
    angle = torch.rand(k, generator=g) * 2 * math.pi
    offset = torch.stack([sign * math.radians(deg), units * angle.cos(), units * angle.sin()], 1)
    n, h = args.crop_pixels, args.crop_half
    v = (torch.arange(n, dtype=torch.float64) + 0.5) / n * 2 * h - h
    pixels = torch.stack(torch.meshgrid(v, v, indexing="xy"), -1).reshape(-1, 2)
    image = load_image(args.image, args.image_size, seed)
    corners = h * torch.tensor([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])
    return Problem(image, truth, truth + offset.double(), pixels, corners.double())


def align(poses: Tensor, truth: Tensor, corners: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Errors ``(K,)`` after the global rigid gauge is removed: the rotation ``phi`` and shift
    that best map the crop corners ``corners (4, 2)`` warped by ``poses`` onto those warped by
    ``truth`` (Procrustes, all views together). Returns the rotation error (deg), the error of
    the crop centre and the mean corner error (image units), per view."""
    a, b = warp(corners, poses).reshape(-1, 2), warp(corners, truth).reshape(-1, 2)
    ca, cb = a - a.mean(0), b - b.mean(0)
    cross = (ca[:, 0] * cb[:, 1] - ca[:, 1] * cb[:, 0]).sum()
    phi = torch.atan2(cross, (ca * cb).sum())
    turn = rotation(phi[None])[0]
    shift = b.mean(0) - a.mean(0) @ turn.T
    moved = torch.cat([poses[:, :1] + phi, poses[:, 1:] @ turn.T + shift], 1)
    corner = (warp(corners, moved) - warp(corners, truth)).norm(dim=-1).mean(1)
    angle = moved[:, 0] - truth[:, 0]
    angle = torch.atan2(torch.sin(angle), torch.cos(angle))
    return angle.abs().rad2deg(), (moved[:, 1:] - truth[:, 1:]).norm(dim=1), corner


def scores(poses: Tensor, problem: Problem) -> dict[str, float]:
    """Mean rotation (deg), centre and corner errors of ``poses`` over the views (:func:`align`),
    and the fraction of views registered (mean corner error below one crop pixel)."""
    rot, centre, corner = align(poses, problem.truth, problem.corners)
    pixel = 2 * problem.corners[0, 0].abs() / math.isqrt(len(problem.pixels))
    registered = (corner < pixel).double().mean().item()
    return dict(rotation=rot.mean().item(), shift=centre.mean().item(),
                corner=corner.mean().item(), registered=registered)  # fmt: skip


def grid(variant: str, args: argparse.Namespace) -> nn.Module:
    """The encoding of ``variant``: ``linear``, ``cosine`` or ``st:MODE:LAMBDA``."""
    name, options = variant, {}
    if variant.startswith("st"):
        _, mode, lam = variant.split(":")
        name, options = "linear", dict(st_mode=mode, st_lambda=float(lam))
    return encodings.make(name, dim=2, levels=args.levels, features=args.features,
                          min_res=args.min_res, max_res=args.max_res, log2_table=args.log2_table,
                          bounds=(-1, 1), clamp=True, **options)  # fmt: skip


def decoder(width: int, inputs: int) -> nn.Module:
    """A linear readout (``width == 0``) or a one-hidden-layer ReLU MLP, one output."""
    if width == 0:
        return nn.Linear(inputs, 1)
    return nn.Sequential(nn.Linear(inputs, width), nn.ReLU(), nn.Linear(width, 1))


def fit(problem: Problem, variant: str, curriculum: bool, args: argparse.Namespace,
        seed: int) -> dict:  # fmt: skip
    """Fit grid, decoder and pose corrections jointly; the scores after ``args.steps`` steps."""
    torch.manual_seed(seed)
    enc = grid(variant, args)
    head = decoder(args.width, enc.out_features)
    correction = torch.zeros_like(problem.start, requires_grad=True)
    adam = torch.optim.Adam([
        {"params": enc.parameters(), "lr": args.lr_grid},
        {"params": head.parameters(), "lr": args.lr_mlp},
        {"params": [correction], "lr": args.lr_pose},
    ], betas=(0.9, 0.99))  # fmt: skip
    decay = torch.optim.lr_scheduler.ExponentialLR(adam, 0.1 ** (1 / args.steps))
    target = sample(problem.image, warp(problem.pixels, problem.truth))
    clock = time.perf_counter()
    for step in range(args.steps):
        if curriculum:
            start, end = CURRICULUM
            p = step / args.steps
            alpha = args.levels * min(max((p - start) / (end - start), 0.0), 1.0)
            enc.set_level_weights(barf_level_weights(alpha, args.levels))
        points = warp(problem.pixels, problem.start + correction).float()
        prediction = head(enc(points.reshape(-1, 2))).view_as(target)
        loss = (prediction - target).square().mean()
        adam.zero_grad()
        loss.backward()
        adam.step()
        decay.step()
    ms = (time.perf_counter() - clock) / args.steps * 1e3
    return dict(**scores(problem.start + correction.detach(), problem), loss=loss.item(),
                ms_per_step=ms)  # fmt: skip


def label(variant: str, curriculum: bool) -> str:
    """``st(axis, 1)`` for ``st:axis:1``; ``+c2f`` with the curriculum."""
    if variant.startswith("st"):
        _, mode, lam = variant.split(":")
        variant = f"st({mode}, {float(lam):g})"
    return variant + (" +c2f" if curriculum else "")


def table(rows: list[dict]) -> str:
    """Markdown: one line per variant, over the seeds: rotation, shift and corner error (mean
    and median), the fraction of views registered (corner error below a crop pixel), the seeds
    where the variant ends closer (corner error) than linear with the same curriculum setting,
    the final loss (median) and ms/step (median)."""
    lines = [
        "| variant | rotation error (deg) | shift error | corner error | views registered |"
        " closer than linear | final loss | ms/step |",
        "|---|---|---|---|---|---|---|---|",
    ]
    by = {(r["variant"], r["seed"]): r for r in rows}
    for name in dict.fromkeys(r["variant"] for r in rows):
        group = [r for r in rows if r["variant"] == name]
        reference = "linear +c2f" if name.endswith("+c2f") else "linear"
        wins = sum(r["corner"] < by[(reference, r["seed"])]["corner"] for r in group
                   if (reference, r["seed"]) in by)  # fmt: skip
        cells = [_mean_median([r[k] for r in group]) for k in ("rotation", "shift", "corner")]
        registered = statistics.mean(r["registered"] for r in group)
        loss = statistics.median(r["loss"] for r in group)
        ms = statistics.median(r["ms_per_step"] for r in group)
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {registered:.0%} | "
                     f"{wins}/{len(group)} | {loss:.2g} | {ms:.0f} |")  # fmt: skip
    return "\n".join(lines)


def _mean_median(values: list[float]) -> str:
    return f"{statistics.mean(values):.3g} / {statistics.median(values):.3g}"


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--image", default="astronaut", help="astronaut, camera, ... (skimage.data) or texture")
    add("--image-size", type=int, default=128, help="pixels of the resampled image")
    add("--views", type=int, default=5, help="crops: one at the centre, the others on a ring")
    add("--ring", type=float, default=0.35, help="radius of the ring of crop centres")
    add("--crop-pixels", type=int, default=32, help="pixels per crop side")
    add("--crop-half", type=float, default=0.35, help="half side of a crop")
    add("--spread", type=float, default=20.0, help="true rotations uniform in +-SPREAD degrees")
    add("--noise", default="10,0.1", help="DEG,UNITS: exact start perturbation per view")
    add("--levels", type=int, default=8)
    add("--features", type=int, default=2)
    add("--min-res", type=int, default=16)
    add("--max-res", type=int, default=128)
    add("--log2-table", type=int, default=14)
    add("--width", type=int, default=64, help="hidden width of the decoder; 0: linear readout")
    add("--steps", type=int, default=600)
    add("--lr-grid", type=float, default=1e-2)
    add("--lr-mlp", type=float, default=1e-2)
    add("--lr-pose", type=float, default=3e-3)
    add("--variants", default="linear,cosine,st:axis:1,st:corner:1")
    add("--curriculum", default="off,on", help="off, on or off,on")
    add("--seeds", type=int, default=5)
    add("--first-seed", type=int, default=0)
    add("--rows", default="", help="append one JSON line per run to this file")
    add("--table", default="", help="only print the table of the runs in this rows file")
    args = parser.parse_args()
    args.noise = tuple(float(v) for v in args.noise.split(","))
    return args


def main() -> None:
    torch.set_num_threads(1)
    args = parse()
    if args.table:
        with open(args.table) as handle:
            print(table([json.loads(line) for line in handle]))
        return
    variants = args.variants.split(",")
    settings = [c == "on" for c in args.curriculum.split(",")]
    rows = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        problem = make_problem(args, seed)
        start = scores(problem.start, problem)
        print(f"seed {seed}: start {start['rotation']:.2f} deg, shift {start['shift']:.3f}, "
              f"corner {start['corner']:.3f}", flush=True)  # fmt: skip
        for curriculum in settings:
            for variant in variants:
                row = {"variant": label(variant, curriculum), "seed": seed,
                       **{f"start_{k}": v for k, v in start.items()},
                       **fit(problem, variant, curriculum, args, seed)}  # fmt: skip
                rows.append(row)
                print(f"  {row['variant']}: {row['rotation']:.3f} deg, shift {row['shift']:.4f}, "
                      f"corner {row['corner']:.4f}, registered {row['registered']:.2f}, "
                      f"loss {row['loss']:.2e}", flush=True)  # fmt: skip
                if args.rows:
                    with open(args.rows, "a") as handle:
                        handle.write(json.dumps({**row, "args": vars(args)}) + "\n")
    print(table(rows))


if __name__ == "__main__":
    main()
