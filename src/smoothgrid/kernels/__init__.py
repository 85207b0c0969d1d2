"""Optional GPU kernels, with the PyTorch encodings as their reference.

The tensor-product encodings (``hermite``, ``linear``, ``smoothstep``, ``cosine``, ``quintic``) in
1 to 3 dimensions have a fused Triton kernel for their jet (value, gradient, Hessian or
Laplacian) and for the gradient of those components with respect to the table. An encoding's
``impl`` option (the implementation) picks the path:

* ``"auto"`` (default): the kernel for CUDA tensors when Triton is installed and the call is
  supported (:func:`unsupported_reason` is ``None``), the PyTorch path otherwise (CPU tensors
  always take it, even under the interpreter);
* ``"torch"``: always the PyTorch path;
* ``"triton"``: always the kernel; an unsupported call raises. On CPU tensors this needs
  Triton's interpreter (``TRITON_INTERPRET=1`` set before the first kernel is imported), which is
  how the parity tests run without a GPU.

The kernel computes no gradient with respect to the points: a call whose points require a
gradient (pose refinement, ``derivatives="autograd"``) takes the PyTorch path.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:
    from ..encodings.base import GridEncoding

__all__ = ["IMPLS", "triton_available", "interpreted", "unsupported_reason", "encode_jet"]

IMPLS = ("auto", "torch", "triton")
"""Values of an encoding's ``impl`` option (its implementation)."""

_BLOCK = 128
"""Points per program."""


def triton_available() -> bool:
    """Whether Triton can be imported."""
    return importlib.util.find_spec("triton") is not None


def interpreted() -> bool:
    """Whether Triton runs kernels in its CPU interpreter (``TRITON_INTERPRET=1``)."""
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


def unsupported_reason(encoding: GridEncoding, unit: Tensor) -> str | None:
    """Why the kernel cannot encode ``unit`` with ``encoding``, or ``None`` if it can.

    Args:
        encoding: the grid encoding.
        unit: ``(B, d)`` points in the unit box.
    """
    step = encoding.kernel_step()
    if step is None:
        return f"the {encoding.name!r} encoding with these options has no kernel"
    if not 1 <= encoding.dim <= 3:
        return f"the kernels cover 1 to 3 dimensions, not {encoding.dim}"
    if len(encoding.tables) != 1:
        return "the kernels need one table per encoding (not separate Hermite tables)"
    table = encoding.tables[0]
    if encoding.features & (encoding.features - 1):
        return f"the kernels need a power-of-two number of features, not {encoding.features}"
    if table.dtype not in (torch.float32, torch.float64, torch.float16, torch.bfloat16):
        return f"the kernels do not support {table.dtype} tables"
    if unit.requires_grad:
        return "the kernels compute no gradient with respect to the points"
    if not triton_available():
        return "Triton is not installed"
    if unit.device.type != "cuda" and not interpreted():
        return "the kernels run on CUDA tensors (on the CPU only under TRITON_INTERPRET=1)"
    return None


def _level_floats(encoding: GridEncoding, dtype: torch.dtype) -> Tensor:
    """``(La, 8)`` per active level: resolution, shift, feature scale, ``N_l / extent_i``.

    Built from the encoding's buffers on their device without host copies or synchronisation
    (so it can be captured in a CUDA graph), so a changed box or level scale takes effect at
    once.
    """
    index = _cached(encoding, "active_index", encoding._resolution.device, _active_index)
    res = encoding._resolution.index_select(0, index)
    extent = encoding.bounds[1] - encoding.bounds[0]
    columns = [
        res[:, None],
        encoding._offset.index_select(0, index)[:, None],
        encoding.level_scale.index_select(0, index)[:, None],
        res[:, None] / extent,
        res.new_zeros(len(index), 5 - encoding.dim),
    ]
    return torch.cat(columns, dim=1).to(dtype)


def _cached(encoding: GridEncoding, what: str, device: torch.device, build) -> Tensor:
    """A tensor that depends only on the encoding's active levels, built once per device."""
    cache = encoding.__dict__.setdefault("_kernel_cache", {})
    key = (what, tuple(encoding.active_levels), str(device))
    if key not in cache:
        cache[key] = build(encoding).to(device)
    return cache[key]


def _active_index(encoding: GridEncoding) -> Tensor:
    return torch.tensor(encoding.active_levels, dtype=torch.int64)


def _level_ints(encoding: GridEncoding) -> Tensor:
    """``(La, 8)`` int64 per active level: max cell, dense flag, first row, hashed rows ``T``,
    vertices per axis."""
    layout = encoding.layouts[0]
    rows = []
    for i in encoding.active_levels:
        max_cell = encoding.resolutions[i] - 1 + (encoding.offsets[i] > 0.0)
        row = [max_cell, int(layout.dense[i]), layout.start[i], layout.table_size]
        row += list(layout.vertices[i])
        rows.append(row + [0] * (8 - len(row)))
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
        )
        return grad_table.to(ctx.table_dtype), None, None, None, None


def encode_jet(
    encoding: GridEncoding,
    unit: Tensor,
    order: int,
    hessian: bool,
    lap_axes: Sequence[int] | None,
) -> Tensor:
    """The kernel twin of ``GridEncoding._encode`` restricted to the active levels.

    Args:
        encoding: a tensor-product grid encoding (see :func:`unsupported_reason`).
        unit: ``(B, d)`` points in the unit box.
        order, hessian, lap_axes: the jet wanted (see ``GridEncoding.jet``).

    Returns:
        ``(K, B, La, F)`` jet components of the active levels' features, float64 for a float64
        table and float32 otherwise (half-precision tables are read and accumulated in float32).
    """
    from .tensor_product import STEPS, component_spec

    table = encoding.tables[0]
    compute = torch.float64 if table.dtype == torch.float64 else torch.float32
    spec, K, NT = component_spec(encoding.dim, order, hessian, lap_axes)
    meta = dict(
        DIM=encoding.dim,
        M=encoding.coefficients,
        F=encoding.features,
        STEP=STEPS[encoding.kernel_step()],
        SPEC=spec,
        K=K,
        NT=NT,
        PERIODIC=sum(1 << axis for axis in encoding.periodic),
    )
    level_f = _level_floats(encoding, compute)
    level_i = _cached(encoding, "level_ints", unit.device, _level_ints)
    points = unit.detach().to(compute).contiguous()
    return _EncodeJet.apply(table, points, level_f, level_i, meta)
