"""Optional GPU kernels on plain tensors, with the PyTorch encodings as their reference.

The tensor-product interpolations (``hermite``, ``linear``, ``smoothstep``, ``cosine``,
``quintic``) in 1 to 3 dimensions have a fused Triton kernel for their jet (value, gradient,
Hessian or Laplacian) and for the gradient of those components with respect to the table.
:func:`encode_jet` takes only tensors (points, the table, per-level numbers packed by
:func:`level_floats` and :func:`level_ints`) and compile-time options (the interpolation step,
the jet wanted, the periodic axes, the hash primes); an encoding builds them and calls it, so
this package imports nothing from :mod:`smoothgrid.encodings`.

An encoding's ``impl`` option (the implementation) picks the path:

* ``"auto"`` (default): the kernel for CUDA tensors when Triton is installed and the call is
  supported (:func:`unsupported_reason` is ``None``), the PyTorch path otherwise (CPU tensors
  always take it, even under the interpreter);
* ``"torch"``: always the PyTorch path;
* ``"triton"``: always the kernel; an unsupported call raises. On CPU tensors this needs
  Triton's interpreter (``TRITON_INTERPRET=1`` set before the first kernel is imported), which is
  how the parity tests run without a GPU.

The kernel computes no gradient with respect to the points: a call whose points require a
gradient (pose refinement, ``derivatives="autograd"``) takes the PyTorch path.

The table gradient adds one atomic per run of consecutive points on one table row when a block
has few runs (see :mod:`smoothgrid.kernels.tensor_product`), so points sorted by cell
(:func:`smoothgrid.kernels.ordering.cell_order`; in training ``Points.order="morton"``) make it
cheaper on the coarse levels; the launcher sorts nothing.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = [
    "IMPLS",
    "STEPS",
    "triton_available",
    "interpreted",
    "unsupported_reason",
    "level_floats",
    "level_ints",
    "encode_jet",
]

IMPLS = ("auto", "torch", "triton")
"""Values of an encoding's ``impl`` option (its implementation)."""

STEPS = ("linear", "smoothstep", "cosine", "quintic", "hermite")
"""Interpolations the kernels implement; a step's compile-time code is its index here."""

_BLOCK = 128
"""Points per program."""

_RUNS = 0
"""Most runs (consecutive points on one table row, per corner) a block of the table-gradient
kernel pre-reduces with a segmented scan; a block with more adds one atomic per point. 0 (one
atomic per point) until a GPU has measured the pre-reduction (``benchmarks/gpu.py``'s
point-order rows set it to 32, ``BLOCK / 4``): it costs compile time and, on unsorted points,
work that finds no runs. Read at each backward call."""

_COLUMNS = 8
"""Columns of the per-level tensors (3 + up to 3 axes, padded)."""


def triton_available() -> bool:
    """Whether Triton can be imported."""
    return importlib.util.find_spec("triton") is not None


def interpreted() -> bool:
    """Whether Triton runs kernels in its CPU interpreter (``TRITON_INTERPRET=1``)."""
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


def unsupported_reason(unit: Tensor, tables: Sequence[Tensor], step: str | None) -> str | None:
    """Why the kernel cannot encode ``unit``, or ``None`` if it can.

    Args:
        unit: ``(B, d)`` points in the unit box.
        tables: the encoding's tables, each ``(R, M, F)``; the kernel reads exactly one.
        step: the interpolation, one of :data:`STEPS`, or ``None`` for one no kernel
            implements.
    """
    if step not in STEPS:
        return "no kernel implements this interpolation with these options"
    dim = unit.shape[-1]
    if not 1 <= dim <= 3:
        return f"the kernels cover 1 to 3 dimensions, not {dim}"
    if len(tables) != 1:
        return "the kernels need one table per encoding (not separate Hermite tables)"
    features = tables[0].shape[-1]
    if features & (features - 1):
        return f"the kernels need a power-of-two number of features, not {features}"
    if tables[0].dtype not in (torch.float32, torch.float64, torch.float16, torch.bfloat16):
        return f"the kernels do not support {tables[0].dtype} tables"
    if unit.requires_grad:
        return "the kernels compute no gradient with respect to the points"
    if not triton_available():
        return "Triton is not installed"
    if unit.device.type != "cuda" and not interpreted():
        return "the kernels run on CUDA tensors (on the CPU only under TRITON_INTERPRET=1)"
    return None


def level_floats(
    resolution: Tensor, shift: Tensor, feature_scale: Tensor, cells_per_unit: Tensor
) -> Tensor:
    """Pack the floating-point facts of the levels a call encodes.

    Args:
        resolution: ``(La,)`` cells per axis ``N_l``.
        shift: ``(La,)`` the level's offset in cells.
        feature_scale: ``(La,)`` factor on the level's features.
        cells_per_unit: ``(La, d)`` cells per domain unit ``N_l / extent_i`` (the chain rule of
            the box map).

    Returns:
        ``(La, 8)``: those columns, zero-padded. Built on the inputs' device without host copies,
        so it can be captured in a CUDA graph.
    """
    La, d = cells_per_unit.shape
    columns = [
        resolution[:, None],
        shift[:, None],
        feature_scale[:, None],
        cells_per_unit,
        cells_per_unit.new_zeros(La, _COLUMNS - 3 - d),
    ]
    return torch.cat([c.to(cells_per_unit.dtype) for c in columns], dim=1)


def level_ints(
    max_cell: Sequence[int],
    dense: Sequence[bool],
    start: Sequence[int],
    table_size: int,
    vertices: Sequence[Sequence[int]],
) -> Tensor:
    """Pack the integer facts of the levels a call encodes.

    Args:
        max_cell: per level, the largest cell index on an axis.
        dense: per level, whether it is stored densely (else hashed into ``table_size`` rows).
        start: per level, its first row in the table.
        table_size: ``T``, the rows of a hashed level.
        vertices: per level, the vertices on each axis (the dense strides and the periodic wrap).

    Returns:
        ``(La, 8)`` int64 on the CPU: max cell, dense flag, first row, ``T``, vertices per axis.
    """
    rows = []
    for cell, is_dense, first, verts in zip(max_cell, dense, start, vertices):
        row = [int(cell), int(is_dense), int(first), int(table_size), *map(int, verts)]
        rows.append(row + [0] * (_COLUMNS - len(row)))
    return torch.tensor(rows, dtype=torch.int64)


class _EncodeJet(torch.autograd.Function):
    """Kernel forward ``(K, B, La, F)`` and kernel table gradient."""

    @staticmethod
    def forward(ctx, table: Tensor, unit: Tensor, level_f: Tensor, level_i: Tensor, meta: dict):
        from .tensor_product import forward_kernel

        B, La, F = unit.shape[0], level_f.shape[0], table.shape[-1]
        out = torch.empty(meta["K"], B, La, F, dtype=unit.dtype, device=table.device)
        grid = (-(-B // _BLOCK), La)
        forward_kernel[grid](unit, table, out, level_f, level_i, B, La, **meta, BLOCK=_BLOCK)
        ctx.save_for_backward(unit, level_f, level_i)
        ctx.meta = meta
        ctx.table_shape = table.shape
        ctx.table_dtype = table.dtype
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        from .tensor_product import backward_kernel

        unit, level_f, level_i = ctx.saved_tensors
        B, La = unit.shape[0], level_f.shape[0]
        grad_table = torch.zeros(ctx.table_shape, dtype=unit.dtype, device=unit.device)
        grid = (-(-B // _BLOCK), La)
        backward_kernel[grid](
            unit,
            grad_out.contiguous(),
            grad_table,
            level_f,
            level_i,
            B,
            La,
            **ctx.meta,
            BLOCK=_BLOCK,
            RUNS=_RUNS,
        )
        return grad_table.to(ctx.table_dtype), None, None, None, None


def encode_jet(
    unit: Tensor,
    table: Tensor,
    level_f: Tensor,
    level_i: Tensor,
    *,
    step: str,
    primes: Sequence[int],
    order: int,
    hessian: bool = False,
    lap_axes: Sequence[int] | None = None,
    periodic: Sequence[int] = (),
) -> Tensor:
    """Jet components of a tensor-product grid's features, fused (the kernel twin of
    ``GridEncoding._encode``).

    Args:
        unit: ``(B, d)`` points in the unit box, ``d`` in 1..3.
        table: ``(R, M, F)`` coefficients: ``M`` per vertex (1, or ``2**d`` for Hermite),
            ``F`` features (a power of two).
        level_f: ``(La, 8)`` from :func:`level_floats`, on ``unit``'s device.
        level_i: ``(La, 8)`` from :func:`level_ints`, on ``unit``'s device.
        step: the interpolation, one of :data:`STEPS`.
        primes: the spatial hash's primes, one per axis at least.
        order, hessian, lap_axes: the jet wanted, its components ordered by
            :func:`smoothgrid.jet.derivative_multi_indices` (the Laplacian summed into one).
        periodic: axes on which vertex coordinates wrap around.

    Returns:
        ``(K, B, La, F)`` jet components in domain units, float64 for a float64 table and
        float32 otherwise (half-precision tables are read and accumulated in float32);
        differentiable with respect to ``table`` only.
    """
    from .tensor_product import component_spec

    dim = unit.shape[1]
    compute = torch.float64 if table.dtype == torch.float64 else torch.float32
    spec, K, NT = component_spec(dim, order, hessian, lap_axes)
    meta = dict(
        DIM=dim,
        M=table.shape[1],
        F=table.shape[2],
        STEP=STEPS.index(step),
        SPEC=spec,
        K=K,
        NT=NT,
        PERIODIC=sum(1 << axis for axis in periodic),
        PRIMES=tuple(int(p) for p in primes[:dim]),
    )
    points = unit.detach().to(compute).contiguous()
    return _EncodeJet.apply(table, points, level_f.to(compute), level_i, meta)
