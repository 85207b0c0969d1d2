"""A design experiment for the encoding kernel's register layout, measured on a GPU.

The library's forward kernel (:mod:`smoothgrid.kernels.tensor_product`) keeps every tensor
one-dimensional over the block's points: each thread owns one point and issues one 4-byte load
per stored coefficient and feature (Hermite 2D, F = 2: eight loads of the same 32-byte row per
corner). :func:`forward_row_tiles` below loads each corner's whole row as one ``(BLOCK, M*F)``
tile instead (Triton spreads a row over several threads: one request per 32-byte sector), and
computes the weights on that tile, at the price of a few register-layout changes per point and
redundant weight arithmetic. Which is faster is a question for the hardware:

    python benchmarks/kernel_layouts.py                 # on a CUDA machine: parity, then ms
    TRITON_INTERPRET=1 python benchmarks/kernel_layouts.py --device cpu --batch 64 --levels 2

It prints the largest relative difference between the two kernels' outputs and, on CUDA, the
device time of each (``triton.testing.do_bench``) for Hermite 2D and 3D at Laplacian order.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import triton
import triton.language as tl

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import smoothgrid as sg  # noqa: E402
from smoothgrid import kernels  # noqa: E402
from smoothgrid.encodings import HASH_PRIMES  # noqa: E402
from smoothgrid.kernels.tensor_product import (  # noqa: E402
    _basis,
    _corner_row,
    component_spec,
    forward_kernel,
)


@triton.jit
def forward_row_tiles(
    unit_ptr, table_ptr, out_ptr, level_f_ptr, level_i_ptr, B, LA,
    DIM: tl.constexpr, M: tl.constexpr, F: tl.constexpr, STEP: tl.constexpr,
    SPEC: tl.constexpr, K: tl.constexpr, NT: tl.constexpr, PERIODIC: tl.constexpr,
    PRIMES: tl.constexpr, BLOCK: tl.constexpr,
):  # fmt: skip
    """Same arguments and result as ``forward_kernel``; rows loaded as ``(BLOCK, M*F)`` tiles."""
    lvl = tl.program_id(1)
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)[:, None]
    mask = offs < B
    cols = tl.arange(0, M * F)[None, :]
    kind = cols // F  # the coefficient m of each tile column
    res = tl.load(level_f_ptr + lvl * 8 + 0)
    shift = tl.load(level_f_ptr + lvl * 8 + 1)
    level_scale = tl.load(level_f_ptr + lvl * 8 + 2)
    max_cell = tl.load(level_i_ptr + lvl * 8 + 0)
    cells = ()
    ts = ()
    scales = ()
    for i in tl.static_range(DIM):
        u = tl.load(unit_ptr + offs * DIM + i, mask=mask, other=0.0)
        pos = u * res + shift
        cell = tl.minimum(tl.maximum(tl.floor(pos), 0.0), max_cell.to(pos.dtype))
        cells = cells + (cell.to(tl.int64),)
        ts = ts + (tl.broadcast_to(pos - cell, (BLOCK, M * F)),)
        scales = scales + (tl.load(level_f_ptr + lvl * 8 + 3 + i),)
    acc = ()
    for _ in tl.static_range(K):
        acc = acc + (tl.zeros((BLOCK, M * F), dtype=tl.float32),)
    for corner in tl.static_range(2**DIM):
        row = _corner_row(cells, level_i_ptr, lvl, corner, DIM, PERIODIC, PRIMES)
        coeff = tl.load(table_ptr + row * (M * F) + cols, mask=mask, other=0.0)
        new = ()
        for c in tl.static_range(K):
            w = tl.zeros((BLOCK, M * F), dtype=tl.float32)
            for n in tl.static_range(NT):
                if SPEC[(c * NT + n) * DIM] >= 0:
                    term = tl.zeros((BLOCK, M * F), dtype=tl.float32) + level_scale
                    for i in tl.static_range(DIM):
                        k = SPEC[(c * NT + n) * DIM + i]
                        v = (corner >> i) & 1
                        if M == 1:
                            b = _basis(ts[i], v, 0, k, STEP)
                        else:
                            value_kind = _basis(ts[i], v, 0, k, STEP)
                            b = tl.where(
                                (kind >> i) & 1 == 0, value_kind, _basis(ts[i], v, 1, k, STEP)
                            )
                        term = term * b
                        if SPEC[(c * NT + n) * DIM + i] == 1:
                            term = term * scales[i]
                        elif SPEC[(c * NT + n) * DIM + i] == 2:
                            term = term * scales[i] * scales[i]
                    w += term
            new = new + (acc[c] + w * coeff,)
        acc = new
    out_rows = (offs.to(tl.int64) * LA + lvl) * F + tl.arange(0, F)[None, :]
    for c in tl.static_range(K):
        total = tl.sum(tl.reshape(acc[c], (BLOCK, M, F)), axis=1)
        tl.store(out_ptr + c * B * LA * F + out_rows, total, mask=mask)


def _launch(kernel, enc, unit, spec, K, NT, block):
    table = enc.tables[0]
    level_f, level_i = enc._kernel_levels(unit.device)
    level_f = level_f.float()
    out = torch.empty(K, unit.shape[0], enc.levels, enc.features, device=unit.device)
    grid = (triton.cdiv(unit.shape[0], block), enc.levels)
    meta = dict(DIM=enc.dim, M=enc.coefficients, F=enc.features,
                STEP=kernels.STEPS.index("hermite"), SPEC=spec, K=K, NT=NT, PERIODIC=0,
                PRIMES=HASH_PRIMES[: enc.dim], BLOCK=block)  # fmt: skip
    return lambda: kernel[grid](
        unit, table, out, level_f, level_i, unit.shape[0], enc.levels, **meta
    ), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--levels", type=int, default=16)
    args = parser.parse_args()
    for dim in (2, 3):
        enc = sg.encodings.make(
            "hermite", dim, levels=args.levels, features=2, min_res=16,
            max_res=2048 if dim == 2 else 512, log2_table=19,
        ).to(args.device)  # fmt: skip
        with torch.no_grad():
            enc.tables[0].uniform_(-1, 1)
        unit = torch.rand(args.batch, dim, device=args.device)
        spec, K, NT = component_spec(dim, 2, False, None)
        row = {}
        outs = {}
        for name, kernel in (("points", forward_kernel), ("row tiles", forward_row_tiles)):
            run, out = _launch(kernel, enc, unit, spec, K, NT, 128)
            run()
            outs[name] = out
            if args.device == "cuda":
                row[name] = triton.testing.do_bench(run)
        diff = (outs["points"] - outs["row tiles"]).abs().max() / outs["points"].abs().max()
        times = ", ".join(f"{k} {v:.3f} ms" for k, v in row.items())
        print(f"hermite {dim}D: max relative difference {diff:.1e}; {times}", flush=True)


if __name__ == "__main__":
    main()
