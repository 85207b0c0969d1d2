"""Scores of a smoke reconstruction: images, density against the truth, physics.

* :func:`psnr` and :func:`ssim` on grey images in ``[0, 1]`` (data range 1). SSIM uses the
  usual Gaussian window (11 taps, sigma 1.5, Wang et al. 2004) cut to the image's size, so a
  2D scene's one-pixel-high images are compared along their width only.
* :func:`density_error`: relative L2 error of ``rho`` at the simulation's cell centres and frames.
* :func:`physics_scores`: mean ``|R|`` of the strong-form transport residual and mean
  ``|div u|`` on the model's analytic jets (the same yardstick for every method) at fixed
  points inside the space-time box.
* :func:`markdown_table`: one row per method.

LPIPS is not computed: it needs pretrained network weights, which the project does not download.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor
from torch.nn import functional

from .frames import Simulation
from .options import TransportOptions
from .physics import jets

__all__ = [
    "psnr",
    "ssim",
    "density_error",
    "physics_scores",
    "time_to_psnr",
    "markdown_table",
    "COLUMNS",
]


def psnr(prediction: Tensor, truth: Tensor) -> float:
    """``10 log10(1 / MSE)`` over all pixels of ``(..., H, W)`` images in ``[0, 1]`` (dB)."""
    mse = float((prediction.double() - truth.double()).square().mean())
    return math.inf if mse == 0 else -10.0 * math.log10(mse)


def _window(size: int, sigma: float = 1.5, taps: int = 11) -> Tensor:
    n = min(taps, size if size % 2 else size - 1)
    x = torch.arange(n, dtype=torch.float64) - (n - 1) / 2
    w = torch.exp(-0.5 * (x / sigma) ** 2)
    return w / w.sum()


def ssim(prediction: Tensor, truth: Tensor) -> float:
    """Mean structural similarity of ``(H, W)`` or ``(N, H, W)`` grey images in ``[0, 1]``
    (averaged over the images), constants ``(0.01, 0.03)^2``, valid windows only."""
    a = prediction.double().reshape(-1, 1, *prediction.shape[-2:])
    b = truth.double().reshape(-1, 1, *truth.shape[-2:])
    H, W = a.shape[-2:]
    wy, wx = _window(H), _window(W)
    kernel = (wy[:, None] * wx[None, :])[None, None]

    def blur(z: Tensor) -> Tensor:
        return functional.conv2d(z, kernel)

    c1, c2 = 0.01**2, 0.03**2
    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    den = (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    return float((num / den).mean())


@torch.no_grad()
def density_error(model, sim: Simulation, frames: Sequence[int] | None = None) -> float:
    """``||rho_model - rho_sim|| / ||rho_sim||`` at the cell centres of ``frames`` (default
    all)."""
    frames = range(len(sim.times)) if frames is None else frames
    grids = torch.meshgrid(*sim.centres(), indexing="ij")
    x = torch.stack([g.reshape(-1) for g in grids], 1)
    dtype = next(model.parameters()).dtype
    device = next(model.parameters()).device
    num = den = 0.0
    for f in frames:
        t = torch.full((len(x), 1), float(sim.times[f]), dtype=torch.float64)
        rho = model(torch.cat([x, t], 1).to(device, dtype))[:, 0].double().cpu()
        truth = sim.rho[f].reshape(-1).double()
        num += float((rho - truth).square().sum())
        den += float(truth.square().sum())
    return math.sqrt(num / max(den, 1e-300))


def physics_scores(
    model, points: Tensor, options: TransportOptions, chunk: int = 4096
) -> dict[str, float]:
    """``{"residual": mean |R|, "divergence": mean |div u|}`` of the ``jets`` route at
    ``points (N, d + 1)`` (density units / s and 1 / s)."""
    options = TransportOptions(kappa=options.kappa, divergence=True)
    r_sum = div_sum = 0.0
    for i in range(0, len(points), chunk):
        res = jets(model, points[i : i + chunk], options)
        r_sum += float(res.transport.detach().abs().sum())
        div_sum += float(res.divergence.detach().abs().sum())
    return {"residual": r_sum / len(points), "divergence": div_sum / len(points)}


def time_to_psnr(history: Sequence[Mapping[str, Any]], target: float) -> float | None:
    """Training seconds of the first history row whose held-out ``psnr`` reaches ``target``
    (``None`` if none does)."""
    for row in history:
        if row.get("psnr") is not None and row["psnr"] >= target:
            return float(row["time"])
    return None


COLUMNS = (
    ("method", "method", "{}"),
    ("psnr", "PSNR (dB)", "{:.2f}"),
    ("ssim", "SSIM", "{:.3f}"),
    ("density_rel_l2", "rho rel. L2", "{:.3f}"),
    ("residual", "mean abs R", "{:.3g}"),
    ("divergence", "mean abs div u", "{:.3g}"),
    ("ms_per_step", "ms/step", "{:.1f}"),
    ("samples_per_s", "samples/s", "{:.3g}"),
    ("peak_memory_mb", "peak memory (MB)", "{:.1f}"),
    ("time_to_target", "time to target (s)", "{:.1f}"),
    ("steps", "steps", "{}"),
)
"""The table's columns: metric key, header, format."""


def markdown_table(rows: Sequence[Mapping[str, Any]], target: float | None = None) -> str:
    """A Markdown table of several methods' metrics, one row each. ``time_to_target`` is the
    time to ``target`` dB held-out PSNR in the history (default: the lowest among the rows of
    each one's best history PSNR, so that every method reaches it)."""
    rows = [dict(r) for r in rows]
    best = [
        max(h["psnr"] for h in r["history"] if h.get("psnr") is not None)
        for r in rows
        if any(h.get("psnr") is not None for h in r.get("history", []))
    ]
    if target is None and best:
        target = min(best)
    for r in rows:
        r["time_to_target"] = time_to_psnr(r.get("history", []), target) if target else None
    lines = ["| " + " | ".join(h for _, h, _ in COLUMNS) + " |",
             "|" + "---|" * len(COLUMNS)]  # fmt: skip
    for r in rows:
        cells = []
        for key, _, fmt in COLUMNS:
            value = r.get(key)
            cells.append("-" if value is None else fmt.format(value))
        lines.append("| " + " | ".join(cells) + " |")
    if target is not None:
        lines.append("")
        lines.append(f"time to target: training seconds to {target:.2f} dB held-out PSNR "
                     "(evaluated every eval_every steps on up to 4 held-out frames).")  # fmt: skip
    return "\n".join(lines)
