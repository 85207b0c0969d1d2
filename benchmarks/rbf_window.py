"""The RBF encoding with and without its window, on a PDE and an image, at equal steps.

``window="none"`` truncates the normalised Gaussian to the ring neighbourhood (a field that jumps
across cell faces); ``window="bump"`` multiplies each Gaussian by a bump that reaches zero with all
its derivatives at the truncation radius (C-infinity everywhere). Same seed, same steps, same
settings (the ``rbf`` method's); the two variants alternate, and the table gives the error and the
median ms per step of each.

    python benchmarks/rbf_window.py --steps 600 --image-steps 600
"""

from __future__ import annotations

import argparse
import time

import torch

import smoothgrid as sg
from smoothgrid import baselines
from smoothgrid.apps import image as im

WINDOWS = ("none", "bump")


def solve_row(problem: str, window: str, steps: int, batch: int) -> tuple[float, float]:
    """(rel L2, ms/step) of ``problem`` with the ``rbf`` method's settings and ``window``."""
    torch.manual_seed(0)
    field = baselines.make("rbf", dim=2, window=window)
    run = sg.solve(sg.problems.make(problem), field, steps=steps, batch=batch, progress=False,
                   **baselines.settings("rbf"))  # fmt: skip
    return run.metrics["rel_l2"], run.metrics["ms_per_step"]


def image_row(window: str, steps: int, size: int) -> tuple[float, float]:
    """(PSNR, ms/step) of the camera image fitted from its gradient with ``window``."""
    truth = im.load_image("camera", size)
    torch.manual_seed(0)
    field = baselines.make("rbf", dim=2, window=window, **im.image_grid(truth.shape))
    field.set_bounds(-1.0, 1.0)
    start = time.perf_counter()
    result = im.fit_image(truth, "gradient", field=field, method="rbf", steps=steps, batch=4096)
    return result.metrics["psnr"], 1e3 * (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=600, help="steps per PDE run")
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--image-steps", type=int, default=600)
    parser.add_argument("--size", type=int, default=128, help="image side in pixels")
    args = parser.parse_args()
    print(f"| benchmark | metric | {' | '.join(WINDOWS)} | ms/step {' | '.join(WINDOWS)} |")
    print("|---|---|---|---|---|---|")
    for problem in ("poisson2d", "helmholtz2d"):
        rows = [solve_row(problem, window, args.steps, args.batch) for window in WINDOWS]
        errors = " | ".join(f"{e:.3e}" for e, _ in rows)
        times = " | ".join(f"{t:.1f}" for _, t in rows)
        print(f"| {problem}, {args.steps} steps x {args.batch} | rel L2 | {errors} | {times} |",
              flush=True)  # fmt: skip
    rows = [image_row(window, args.image_steps, args.size) for window in WINDOWS]
    psnr = " | ".join(f"{p:.2f}" for p, _ in rows)
    times = " | ".join(f"{t:.1f}" for _, t in rows)
    print(f"| camera {args.size}px from its gradient, {args.image_steps} steps x 4096 | PSNR (dB) "
          f"| {psnr} | {times} |")  # fmt: skip


if __name__ == "__main__":
    main()
