"""Shared helpers: autograd reference derivatives, relative errors and small test encodings."""

from __future__ import annotations

import os

import pytest
import torch

if not torch.cuda.is_available():
    # The Triton kernels' parity tests run in Triton's CPU interpreter; the flag must be set
    # before the first kernel is imported.
    os.environ.setdefault("TRITON_INTERPRET", "1")

import smoothgrid as sg

DTYPE = torch.float64

# Per-axis boxes other than the unit box, so the box chain rule is exercised (extents differ).
LO = (-1.0, 0.5, -2.0, 0.0)
HI = (2.0, 1.5, -0.5, 3.0)

# Small multi-resolution grid: resolutions 3, 6, 12.
GRID = dict(levels=3, features=2, min_res=3, max_res=12)


@pytest.fixture
def gen() -> torch.Generator:
    """A seeded CPU generator (each test gets a fresh one)."""
    return torch.Generator().manual_seed(20240607)


def _grad(out: torch.Tensor, x: torch.Tensor, create_graph: bool) -> torch.Tensor:
    if not out.requires_grad:
        return torch.zeros_like(x)
    (g,) = torch.autograd.grad(
        out.sum(),
        x,
        create_graph=create_graph,
        retain_graph=True,
        allow_unused=True,
        materialize_grads=True,
    )
    return g


def autograd_derivatives(f, x: torch.Tensor, order: int = 2):
    """Value ``(B, C)``, gradient ``(B, C, d)`` and Hessian ``(B, C, d, d)`` of ``f`` at ``x``.

    ``f`` maps ``(B, d)`` to ``(B, C)`` point by point (rows independent), so the gradient of the
    batch sum of channel ``c`` is the per-point gradient of channel ``c``.
    """
    x = x.detach().clone().requires_grad_(True)
    y = f(x)
    d = x.shape[1]
    grads, hessians = [], []
    for c in range(y.shape[1]):
        g = _grad(y[:, c], x, create_graph=order == 2)
        grads.append(g.detach())
        if order == 2:
            rows = [_grad(g[:, i], x, create_graph=False) for i in range(d)]
            hessians.append(torch.stack(rows, 1).detach())
    grad = torch.stack(grads, 1)
    hess = torch.stack(hessians, 1) if order == 2 else None
    return y.detach(), grad, hess


def rel_err(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """``max |actual - expected| / max |expected|`` (absolute error if ``expected`` is 0)."""
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    err = (actual.detach() - expected.detach()).abs().max().item()
    scale = expected.detach().abs().max().item()
    return err / scale if scale > 0 else err


def assert_rel(actual: torch.Tensor, expected: torch.Tensor, tol: float, what: str = "") -> None:
    err = rel_err(actual, expected)
    assert err <= tol, f"{what}: relative error {err:.3e} > {tol:.1e}"


def randomize_tables(enc, gen: torch.Generator, scale: float = 1.0) -> None:
    """O(1) random table entries, so every coefficient kind matters."""
    with torch.no_grad():
        for table in enc.tables:
            table.copy_((torch.rand(table.shape, generator=gen, dtype=DTYPE) * 2 - 1) * scale)


def box(d: int, scalar: bool = False) -> tuple:
    """``(lo, hi)``: ``(-1, 2)`` on every axis, or different per-axis boxes."""
    if scalar:
        return (-1.0, 2.0)
    return (list(LO[:d]), list(HI[:d]))


def make_encoding(name: str, d: int, gen: torch.Generator, log2_table: int = 16, **options):
    """A float64 test encoding with random O(1) tables."""
    options.setdefault("bounds", box(d))
    grid = {**GRID, **{k: options.pop(k) for k in list(options) if k in GRID}}
    enc = sg.encodings.make(name, d, log2_table=log2_table, **grid, **options).double()
    randomize_tables(enc, gen)
    return enc


def random_points(enc, n: int, gen: torch.Generator, margin: float = 0.0) -> torch.Tensor:
    """``(n, d)`` float64 points uniform in the encoding's box (shrunk by ``margin`` of it)."""
    lo, hi = enc.bounds[0], enc.bounds[1]
    u = margin + (1 - 2 * margin) * torch.rand(n, enc.dim, generator=gen, dtype=DTYPE)
    return lo + (hi - lo) * u


def cell_positions(enc, x: torch.Tensor) -> torch.Tensor:
    """``(B, L, d)`` positions of ``x`` in cell units at every level."""
    lo, hi = enc.bounds[0], enc.bounds[1]
    unit = (x - lo) / (hi - lo)
    res = torch.tensor(enc.resolutions, dtype=DTYPE)[:, None]
    off = torch.tensor(enc.offsets, dtype=DTYPE)[:, None]
    return unit[:, None, :] * res + off


def away_from_faces(enc, x: torch.Tensor, margin: float = 0.05) -> torch.Tensor:
    """The points of ``x`` whose in-cell coordinates are farther than ``margin`` from any face."""
    frac = torch.frac(cell_positions(enc, x))
    keep = (torch.minimum(frac, 1 - frac) > margin).flatten(1).all(1)
    return x[keep]
