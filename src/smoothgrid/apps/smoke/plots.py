"""Pictures of a smoke reconstruction (matplotlib, Agg) and the held-out view as a GIF (Pillow).

:func:`write_pictures` writes into a run's folder:

* ``heldout.png``: the held-out view at held-out times: truth / reconstruction / ``|error|``
  (a 2D scene's one-pixel-high views are stacked over time into one image per row);
* ``slices.png``: density slices (3D: the middle ``z`` slice) of the truth and the model at up
  to four frames;
* ``velocity.png``: the model's velocity (arrows) over its density at the middle frame, beside
  the simulated one;
* ``residual.png``: ``|R|`` of the strong-form residual on the model's jets on the same slices;
* ``curves.png``: held-out PSNR and mean ``|R|`` against training time;
* ``heldout.gif``: the held-out view over all held-out frames, truth beside reconstruction
  (2D: above the density slices). Without Pillow the GIF is skipped with a note on stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .options import TransportOptions
from .physics import jets

__all__ = ["write_pictures", "slice_points", "model_slice"]


def slice_points(scene, n: int, t: float) -> Tensor:
    """``(n * n, d + 1)`` float64 points of the ``(x, y)`` slice (3D: at the middle ``z``) at
    time ``t``, row-major with ``x`` along columns: ``.view(n, n)`` is an image with ``y``
    increasing along rows."""
    lo, hi = scene.lo, scene.hi
    xs = lo[0] + (torch.arange(n, dtype=torch.float64) + 0.5) / n * (hi[0] - lo[0])
    ys = lo[1] + (torch.arange(n, dtype=torch.float64) + 0.5) / n * (hi[1] - lo[1])
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    cols = [xx.reshape(-1), yy.reshape(-1)]
    if scene.dim == 3:
        cols.append(torch.full_like(cols[0], float(0.5 * (lo[2] + hi[2]))))
    cols.append(torch.full_like(cols[0], t))
    return torch.stack(cols, 1)


def model_slice(model, scene, n: int, t: float, residual: bool = False) -> dict[str, np.ndarray]:
    """``rho (n, n)``, ``u (n, n, 2)`` (the in-slice components) and, with ``residual``,
    ``|R| (n, n)`` of a model (or a simulation) on :func:`slice_points`."""
    p = next(model.parameters(), None) if hasattr(model, "parameters") else None
    points = slice_points(scene, n, t)
    if p is not None:
        points = points.to(p.device, p.dtype)
    with torch.no_grad():
        values = model(points).double().cpu()
    out = {
        "rho": values[:, 0].view(n, n).numpy(),
        "u": values[:, 1:3].view(n, n, 2).numpy(),
    }
    if residual:
        r = jets(model, points, TransportOptions()).transport.detach().abs()
        out["residual"] = r.double().cpu().view(n, n).numpy()
    return out


def _frames(scene, k: int = 4) -> list[int]:
    T = len(scene.times)
    return sorted({int(round(i * (T - 1) / max(k - 1, 1))) for i in range(min(k, T))})


def _show(ax, image: np.ndarray, title: str, **kw) -> None:
    im = ax.imshow(image, origin="lower", aspect="auto", **kw)
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    return im


def _heldout(plt, scene, pred: Tensor, path: Path, title: str) -> None:
    truth = scene.test_images.numpy()
    recon = pred.numpy()
    if scene.dim == 2:
        fig, axes = plt.subplots(1, 3, figsize=(10, 3.2))
        for ax, img, name in zip(axes, (truth[:, 0], recon[:, 0], np.abs(recon - truth)[:, 0]),
                                 ("truth", "reconstruction", "|error|")):  # fmt: skip
            _show(ax, img, f"{name} (rows: held-out times)", vmin=0, vmax=max(1e-6, truth.max()))
    else:
        idx = list(range(0, len(truth), max(1, len(truth) // 4)))[:4]
        fig, axes = plt.subplots(3, len(idx), figsize=(2.6 * len(idx), 7.5), squeeze=False)
        times = scene.test.times
        for j, i in enumerate(idx):
            error = np.abs(recon[i] - truth[i])
            for r, (img, name) in enumerate(((truth[i], "truth"), (recon[i], "recon"),
                                             (error, "|error|"))):  # fmt: skip
                ax = axes[r, j]
                ax.imshow(img, vmin=0, vmax=max(1e-6, truth.max()), cmap="gray")
                ax.set_title(f"{name}, t = {float(times[i]):.2f} s", fontsize=8)
                ax.axis("off")
    fig.suptitle(f"{title}: held-out view", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _slices(plt, task, n: int, out: Path, title: str) -> None:
    scene, model = task.scene, task.model
    frames = _frames(scene)
    sim = scene.simulation
    rows = [("model", model)] + ([("truth", sim)] if sim is not None else [])
    extent = [float(scene.lo[0]), float(scene.hi[0]), float(scene.lo[1]), float(scene.hi[1])]
    fig, axes = plt.subplots(len(rows), len(frames), figsize=(2.6 * len(frames), 2.6 * len(rows)),
                             squeeze=False)  # fmt: skip
    fig_r, axes_r = plt.subplots(1, len(frames), figsize=(2.6 * len(frames), 2.8), squeeze=False)
    vmax = float(sim.rho.max()) if sim is not None else None
    for j, f in enumerate(frames):
        t = float(scene.times[f])
        for i, (name, source) in enumerate(rows):
            s = model_slice(source, scene, n, t)
            axes[i, j].imshow(s["rho"], origin="lower", extent=extent, vmin=0, vmax=vmax)
            axes[i, j].set_title(f"{name} rho, t = {t:.2f} s", fontsize=8)
            axes[i, j].axis("off")
        r = model_slice(model, scene, n, t, residual=True)["residual"]
        im = axes_r[0, j].imshow(r, origin="lower", extent=extent, cmap="magma")
        axes_r[0, j].set_title(f"|R|, t = {t:.2f} s", fontsize=8)
        axes_r[0, j].axis("off")
        fig_r.colorbar(im, ax=axes_r[0, j], fraction=0.046)
    fig.suptitle(f"{title}: density slices" + (" (z = middle)" if scene.dim == 3 else ""),
                 fontsize=9)  # fmt: skip
    fig.tight_layout()
    fig.savefig(out / "slices.png", dpi=90)
    fig_r.suptitle(f"{title}: transport residual |R| (rho / s) on the model's jets", fontsize=9)
    fig_r.tight_layout()
    fig_r.savefig(out / "residual.png", dpi=90)
    plt.close(fig)
    plt.close(fig_r)


def _velocity(plt, task, n: int, path: Path, title: str) -> None:
    scene = task.scene
    t = float(scene.times[len(scene.times) // 2])
    sources = [("model", task.model)]
    if scene.simulation is not None:
        sources.append(("truth", scene.simulation))
    fig, axes = plt.subplots(1, len(sources), figsize=(4 * len(sources), 4), squeeze=False)
    m = max(8, n // 4)
    step = max(1, n // m)
    extent = [float(scene.lo[0]), float(scene.hi[0]), float(scene.lo[1]), float(scene.hi[1])]
    pts = slice_points(scene, n, t)
    x, y = pts[:, 0].view(n, n).numpy(), pts[:, 1].view(n, n).numpy()
    slices = [(name, model_slice(source, scene, n, t)) for name, source in sources]
    # one arrow scale for all panels: the fastest arrow is one arrow spacing long
    fastest = max(float(np.linalg.norm(s["u"][::step, ::step], axis=-1).max()) for _, s in slices)
    spacing = step * (extent[1] - extent[0]) / n
    for ax, (name, s) in zip(axes[0], slices):
        ax.imshow(s["rho"], origin="lower", extent=extent, cmap="gray")
        u = s["u"][::step, ::step]
        if fastest > 0:
            ax.quiver(x[::step, ::step], y[::step, ::step], u[..., 0], u[..., 1],
                      color="tab:orange", angles="xy", scale_units="xy",
                      scale=fastest / spacing)  # fmt: skip
        ax.set_title(f"{name}: u over rho, t = {t:.2f} s", fontsize=8)
        ax.axis("off")
    fig.suptitle(
        f"{title} (one arrow scale: the longest is |u| = {fastest:.2g} world units / s)", fontsize=9
    )
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _curves(plt, history: list[dict], path: Path, title: str) -> None:
    rows = [r for r in history if r.get("psnr") is not None]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    t = [r["time"] for r in rows]
    axes[0].plot(t, [r["psnr"] for r in rows], marker="o", ms=3)
    axes[0].set_xlabel("training time (s)")
    axes[0].set_ylabel("held-out PSNR (dB)")
    axes[1].semilogy(t, [max(r["residual"], 1e-12) for r in rows], marker="o", ms=3)
    axes[1].set_xlabel("training time (s)")
    axes[1].set_ylabel("mean |R| (jets)")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _to_uint8(image: np.ndarray, vmax: float) -> np.ndarray:
    return (np.clip(image / max(vmax, 1e-12), 0, 1) * 255).astype(np.uint8)


def _gif(task, pred: Tensor, path: Path, n: int) -> None:
    try:
        from PIL import Image
    except ImportError:
        print("smoothgrid: Pillow is not installed; heldout.gif skipped", file=sys.stderr)
        return
    scene = task.scene
    truth, recon = scene.test_images.numpy(), pred.numpy()
    vmax = float(truth.max())
    frames = []
    for i in range(len(truth)):
        pair = np.concatenate([truth[i], np.full((truth.shape[1], 2), vmax), recon[i]], 1)
        scale = max(1, 160 // pair.shape[1])
        tile = np.kron(_to_uint8(pair, vmax), np.ones((scale, scale), np.uint8))
        if scene.dim == 2:
            tile = np.repeat(tile, 12, 0)
            t = float(scene.test.times[i])
            slices = [model_slice(s, scene, n, t)["rho"] for s in (scene.simulation, task.model)
                      if s is not None]  # fmt: skip
            top = max(float(slices[0].max()), 1e-12)
            grid = np.concatenate([np.flipud(s) for s in slices], 1)
            grid = np.kron(_to_uint8(grid, top), np.ones((2, 2), np.uint8))
            width = max(grid.shape[1], tile.shape[1])
            tile, grid = (np.pad(a, ((0, 0), (0, width - a.shape[1]))) for a in (tile, grid))
            tile = np.concatenate([tile, np.zeros((4, width), np.uint8), grid], 0)
        frames.append(Image.fromarray(tile, "L"))
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=200, loop=0)


def write_pictures(task, pred: Tensor, out: Path, title: str) -> None:
    """Write every picture of the module docstring into ``out`` (``pred``: the model's
    held-out images ``(M, H, W)``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = 64 if task.scene.simulation is None else max(task.scene.simulation.grid)
    _heldout(plt, task.scene, pred, out / "heldout.png", title)
    _slices(plt, task, n, out, title)
    _velocity(plt, task, n, out / "velocity.png", title)
    history = getattr(task, "history", None)
    if history:
        _curves(plt, history, out / "curves.png", title)
    _gif(task, pred, out / "heldout.gif", n)
