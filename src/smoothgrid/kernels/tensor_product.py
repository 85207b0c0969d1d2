"""Triton kernels of the tensor-product encodings' jets and their table gradient.

One program handles ``BLOCK`` points of one active level. It finds each point's cell and in-cell
position ``t``, visits the ``2**d`` corners, computes the corner's row (dense or hashed, with
periodic wrap), loads every stored coefficient ``m`` (one ``(BLOCK,)`` vector per feature) and
adds it, times each jet component's weight, into one accumulator per component and feature. The
weights are products of one-dimensional bases evaluated in registers (:func:`_basis`), never
stored: the kernel reads the points and the table rows and writes the ``(K, B, La, F)``
components once. Every tensor is one-dimensional over the block's points, so no product needs a
change of register layout.

The backward kernel revisits the same corners, contracts the incoming ``(K, B, La, F)`` gradient
with the same weights and adds it to the table rows with atomics. On a coarse level many points
share a row, and atomics on one address serialise, so the kernel pre-reduces: for each corner
it splits the block's points into runs of consecutive points on one row (comparing each point's
row with its neighbours' in the batch, whose cells it recomputes) and, when there are at most
``RUNS`` runs, sums each run with a segmented scan (``tl.associative_scan``) and adds the sum
with one atomic from the run's last point, per coefficient and feature; a block with more runs
(a fine level, or points in random order) adds one atomic per point. Points that arrive sorted
by cell (for instance along a Morton curve, :func:`smoothgrid.kernels.ordering.cell_order`, or
``Points.order="morton"`` in training) form long runs on the coarse levels; the kernel itself
sorts nothing, and every order of the points gives the same gradient up to the order of the
floating-point additions.

The components a call needs are a compile-time spec (see :func:`component_spec`): for each
component, up to ``NT`` derivative multi-indices whose weights are summed (one for the value,
the gradient and the Hessian entries; one per axis for the Laplacian).

This module imports Triton; :mod:`smoothgrid.kernels` imports it only when a kernel runs.
"""

from __future__ import annotations

from collections.abc import Sequence

import triton
import triton.language as tl

from ..jet import derivative_multi_indices
from . import STEPS

__all__ = ["component_spec", "forward_kernel", "backward_kernel"]

_HERMITE: tl.constexpr = tl.constexpr(STEPS.index("hermite"))


def component_spec(
    dim: int, order: int, hessian: bool, lap_axes: Sequence[int] | None
) -> tuple[tuple[int, ...], int, int]:
    """The jet components as a flat compile-time tuple.

    Components follow :func:`smoothgrid.jet.derivative_multi_indices`: the value, ``d/dx_i``
    per axis, then the Hessian's upper triangle, or one Laplacian whose terms are the
    ``d2/dx_i2`` of ``lap_axes``.

    Returns:
        ``(spec, K, NT)``: ``spec[(c * NT + n) * dim + i]`` is the derivative count on axis ``i``
        of term ``n`` of component ``c`` (``-1`` pads unused terms), ``K`` components, ``NT``
        terms per component.
    """
    multi = derivative_multi_indices(dim, order, hessian, lap_axes)
    components = [[beta] for beta in multi]
    if order == 2 and not hessian:
        first = 1 + dim
        components = components[:first] + [multi[first:]]
    terms = max(len(c) for c in components)
    spec: list[int] = []
    for comp in components:
        for n in range(terms):
            spec += list(comp[n]) if n < len(comp) else [-1] * dim
    return tuple(spec), len(components), terms


@triton.jit
def _step(t, K: tl.constexpr, STEP: tl.constexpr):
    """The blend ``s(t)`` of a two-vertex step, or its ``K``-th derivative."""
    if STEP == 0:  # linear
        if K == 0:
            r = t
        elif K == 1:
            r = t * 0.0 + 1.0
        else:
            r = t * 0.0
    elif STEP == 1:  # smoothstep
        if K == 0:
            r = t * t * (3.0 - 2.0 * t)
        elif K == 1:
            r = 6.0 * t * (1.0 - t)
        else:
            r = 6.0 - 12.0 * t
    elif STEP == 2:  # cosine
        # pi as a literal: Triton >= 3.7 cannot multiply a tensor by a global float constexpr
        pi_t = 3.141592653589793 * t
        if K == 0:
            r = 0.5 * (1.0 - tl.cos(pi_t))
        elif K == 1:
            r = 1.5707963267948966 * tl.sin(pi_t)
        else:
            r = 4.934802200544679 * tl.cos(pi_t)
    else:  # quintic
        t2 = t * t
        if K == 0:
            r = t2 * t * (t * (6.0 * t - 15.0) + 10.0)
        elif K == 1:
            r = 30.0 * t2 * (t2 - 2.0 * t + 1.0)
        else:
            r = 60.0 * t * (2.0 * t2 - 3.0 * t + 1.0)
    return r


@triton.jit
def _hermite(t, V: tl.constexpr, A: tl.constexpr, K: tl.constexpr):
    """``K``-th derivative of the cubic Hermite basis of vertex ``V``, kind ``A`` (0 value,
    1 derivative), as :func:`smoothgrid.encodings.tensor_product.hermite_basis`."""
    t2 = t * t
    if K == 0:
        t3 = t2 * t
        if A == 0:
            h01 = 3.0 * t2 - 2.0 * t3
            if V == 0:
                r = 1.0 - h01
            else:
                r = h01
        else:
            if V == 0:
                r = t3 - 2.0 * t2 + t
            else:
                r = t3 - t2
    elif K == 1:
        if A == 0:
            h01 = 6.0 * (t - t2)
            if V == 0:
                r = -h01
            else:
                r = h01
        else:
            if V == 0:
                r = 3.0 * t2 - 4.0 * t + 1.0
            else:
                r = 3.0 * t2 - 2.0 * t
    else:
        if A == 0:
            h01 = 6.0 - 12.0 * t
            if V == 0:
                r = -h01
            else:
                r = h01
        else:
            if V == 0:
                r = 6.0 * t - 4.0
            else:
                r = 6.0 * t - 2.0
    return r


@triton.jit
def _basis(t, V: tl.constexpr, A: tl.constexpr, K: tl.constexpr, STEP: tl.constexpr):
    """One axis's factor of a corner weight: vertex ``V``, coefficient kind ``A``, derivative
    ``K`` (cell units)."""
    if STEP == _HERMITE:
        r = _hermite(t, V, A, K)
    else:
        s = _step(t, K, STEP)
        if V == 1:
            r = s
        elif K == 0:
            r = 1.0 - s
        else:
            r = -s
    return r


@triton.jit
def _level_geometry(unit_ptr, level_f_ptr, level_i_ptr, offs, mask, lvl, DIM: tl.constexpr):
    """Cells, in-cell positions and cells-per-domain-unit of a block of points at one level.

    Returns ``(cells, ts, scales, level_scale)``: ``DIM``-tuples of ``(BLOCK,)`` int64 cells and
    float positions ``t in [0, 1]``, a ``DIM``-tuple of scalar ``N_l / extent_i`` and the level's
    feature scale.
    """
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
        ts = ts + (pos - cell,)
        scales = scales + (tl.load(level_f_ptr + lvl * 8 + 3 + i),)
    return cells, ts, scales, level_scale


@triton.jit
def _corner_row(
    cells,
    level_i_ptr,
    lvl,
    CORNER: tl.constexpr,
    DIM: tl.constexpr,
    PERIODIC: tl.constexpr,
    PRIMES: tl.constexpr,
):
    """``(BLOCK,)`` int64 table row of corner ``CORNER`` (bit ``i`` = offset on axis ``i``):
    dense, or the spatial hash ``XOR_i (c_i * PRIMES[i] mod 2**32) mod T``."""
    dense = tl.load(level_i_ptr + lvl * 8 + 1)
    start = tl.load(level_i_ptr + lvl * 8 + 2)
    table_size = tl.load(level_i_ptr + lvl * 8 + 3)
    dense_row = tl.zeros_like(cells[0])
    hashed = tl.zeros_like(cells[0])
    stride = 1
    for i in tl.static_range(DIM):
        n = tl.load(level_i_ptr + lvl * 8 + 4 + i)
        c = cells[i] + ((CORNER >> i) & 1)
        if (PERIODIC >> i) & 1:
            c = c % n
        dense_row += c * stride
        stride = stride * n
        hashed = hashed ^ ((c * PRIMES[i]) & 0xFFFFFFFF)
    return tl.where(dense != 0, dense_row, hashed % table_size) + start


@triton.jit
def _weight(
    ts,
    scales,
    level_scale,
    CORNER: tl.constexpr,
    COEFF: tl.constexpr,
    C: tl.constexpr,
    SPEC: tl.constexpr,
    NT: tl.constexpr,
    DIM: tl.constexpr,
    STEP: tl.constexpr,
):
    """``(BLOCK,)`` weight of corner ``CORNER``, coefficient ``COEFF`` in component ``C``, in
    domain units (the sum of the component's terms, each a product over axes)."""
    w = tl.zeros_like(ts[0])
    for n in tl.static_range(NT):
        if SPEC[(C * NT + n) * DIM] >= 0:
            term = tl.zeros_like(ts[0]) + level_scale
            for i in tl.static_range(DIM):
                # SPEC[(C * NT + n) * DIM + i]: derivatives on axis i (a constexpr cannot be
                # rebound inside a static loop, so it is spelled out).
                term = term * _basis(
                    ts[i], (CORNER >> i) & 1, (COEFF >> i) & 1, SPEC[(C * NT + n) * DIM + i], STEP
                )
                if SPEC[(C * NT + n) * DIM + i] == 1:
                    term = term * scales[i]
                elif SPEC[(C * NT + n) * DIM + i] == 2:
                    term = term * scales[i] * scales[i]
            w += term
    return w


@triton.jit
def _weights(
    ts,
    scales,
    level_scale,
    CORNER: tl.constexpr,
    COEFF: tl.constexpr,
    SPEC: tl.constexpr,
    K: tl.constexpr,
    NT: tl.constexpr,
    DIM: tl.constexpr,
    STEP: tl.constexpr,
):
    """The ``K``-tuple of :func:`_weight` over every jet component."""
    weights = ()
    for c in tl.static_range(K):
        weights = weights + (
            _weight(ts, scales, level_scale, CORNER, COEFF, c, SPEC, NT, DIM, STEP),
        )
    return weights


@triton.jit
def forward_kernel(
    unit_ptr,
    table_ptr,
    out_ptr,
    level_f_ptr,
    level_i_ptr,
    B,
    LA,
    DIM: tl.constexpr,
    M: tl.constexpr,
    F: tl.constexpr,
    STEP: tl.constexpr,
    SPEC: tl.constexpr,
    K: tl.constexpr,
    NT: tl.constexpr,
    PERIODIC: tl.constexpr,
    PRIMES: tl.constexpr,
    BLOCK: tl.constexpr,
):
    """Jet components ``out (K, B, LA, F)`` of points ``unit (B, DIM)`` in the unit box.

    ``table (R, M, F)``; ``level_f (LA, 8)`` float: resolution, shift, feature scale and
    ``N_l / extent_i``; ``level_i (LA, 8)`` int64: max cell, dense flag, first row, hashed
    rows ``T`` and vertices per axis (see :func:`smoothgrid.kernels.level_floats` and
    :func:`~smoothgrid.kernels.level_ints`); ``PRIMES`` the hash's primes, one per axis.
    Grid: ``(cdiv(B, BLOCK), LA)``.
    """
    lvl = tl.program_id(1)
    # One-dimensional (BLOCK,) tensors throughout, one per feature: 2D tiles would put the
    # weights and the coefficients in different layouts and pay a shuffle for every product.
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < B
    cells, ts, scales, level_scale = _level_geometry(
        unit_ptr, level_f_ptr, level_i_ptr, offs, mask, lvl, DIM
    )
    acc = ()  # acc[c * F + f]: component c of feature f
    for _ in tl.static_range(K * F):
        acc = acc + (tl.zeros_like(ts[0]),)
    for corner in tl.static_range(2**DIM):
        row = _corner_row(cells, level_i_ptr, lvl, corner, DIM, PERIODIC, PRIMES)
        for m in tl.static_range(M):
            weights = _weights(ts, scales, level_scale, corner, m, SPEC, K, NT, DIM, STEP)
            coeffs = ()
            for f in tl.static_range(F):
                value = tl.load(table_ptr + (row * M + m) * F + f, mask=mask, other=0.0)
                coeffs = coeffs + (value.to(ts[0].dtype),)
            new = ()
            for c in tl.static_range(K):
                for f in tl.static_range(F):
                    new = new + (acc[c * F + f] + weights[c] * coeffs[f],)
            acc = new
    out_rows = (offs.to(tl.int64) * LA + lvl) * F
    for c in tl.static_range(K):
        for f in tl.static_range(F):
            ptr = out_ptr + c * B * LA * F + out_rows + f
            tl.store(ptr, acc[c * F + f].to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _segmented_add(head_a, sum_a, head_b, sum_b):
    """Combine of a segmented sum scan: ``(head, sum)`` pairs, a head starting a new run."""
    return head_a | head_b, tl.where(head_b != 0, sum_b, sum_a + sum_b)


@triton.jit
def backward_kernel(
    unit_ptr,
    grad_out_ptr,
    grad_table_ptr,
    level_f_ptr,
    level_i_ptr,
    B,
    LA,
    DIM: tl.constexpr,
    M: tl.constexpr,
    F: tl.constexpr,
    STEP: tl.constexpr,
    SPEC: tl.constexpr,
    K: tl.constexpr,
    NT: tl.constexpr,
    PERIODIC: tl.constexpr,
    PRIMES: tl.constexpr,
    BLOCK: tl.constexpr,
    RUNS: tl.constexpr,
):
    """Add ``sum_c w_c * grad_out[c]`` to ``grad_table (R, M, F)`` at every corner's row.

    Same arguments as :func:`forward_kernel`, with ``grad_out (K, B, LA, F)`` in place of the
    table and output. Per corner, a block whose active points form at most ``RUNS`` runs of
    consecutive points on one row (``1 <= RUNS``) sums each run with a segmented scan and adds
    it with one atomic, from the run's last point; a block with more runs, or any block when
    ``RUNS == 0``, adds one atomic per point.
    """
    lvl = tl.program_id(1)
    lanes = tl.arange(0, BLOCK)
    offs = tl.program_id(0) * BLOCK + lanes  # (BLOCK,) as in forward_kernel
    mask = offs < B
    cells, ts, scales, level_scale = _level_geometry(
        unit_ptr, level_f_ptr, level_i_ptr, offs, mask, lvl, DIM
    )
    if RUNS > 0:
        # The cells of each lane's neighbours in the batch, for the runs' ends (a lane without
        # a neighbour in the block is an end; its neighbour's cells are never read).
        before = _level_geometry(
            unit_ptr, level_f_ptr, level_i_ptr, offs - 1, mask & (lanes > 0), lvl, DIM
        )[0]
        after = _level_geometry(
            unit_ptr, level_f_ptr, level_i_ptr, offs + 1, (offs + 1 < B) & (lanes < BLOCK - 1),
            lvl, DIM,
        )[0]  # fmt: skip
    out_rows = (offs.to(tl.int64) * LA + lvl) * F
    grads = ()  # grads[c * F + f]
    for c in tl.static_range(K):
        for f in tl.static_range(F):
            ptr = grad_out_ptr + c * B * LA * F + out_rows + f
            grads = grads + (tl.load(ptr, mask=mask, other=0.0).to(ts[0].dtype),)
    out_type = grad_table_ptr.dtype.element_ty
    for corner in tl.static_range(2**DIM):
        row = _corner_row(cells, level_i_ptr, lvl, corner, DIM, PERIODIC, PRIMES)
        if RUNS > 0:
            # Runs of consecutive lanes on one row: a head starts one, a tail ends one. The
            # last active lane is a tail (masked lanes follow every active one).
            row_before = _corner_row(before, level_i_ptr, lvl, corner, DIM, PERIODIC, PRIMES)
            row_after = _corner_row(after, level_i_ptr, lvl, corner, DIM, PERIODIC, PRIMES)
            head = ((lanes == 0) | (row != row_before)).to(tl.int32)
            tail = mask & ((lanes == BLOCK - 1) | (offs + 1 >= B) | (row != row_after))
            runs = tl.sum(tail.to(tl.int32), axis=0)  # a scalar, uniform over the block
        for m in tl.static_range(M):
            weights = _weights(ts, scales, level_scale, corner, m, SPEC, K, NT, DIM, STEP)
            for f in tl.static_range(F):
                total = weights[0] * grads[f]
                for c in tl.static_range(1, K):
                    total += weights[c] * grads[c * F + f]
                ptr = grad_table_ptr + (row * M + m) * F + f
                if RUNS > 0:
                    if runs <= RUNS:
                        # Few runs (a coarse level, points sorted by cell): each run's sum,
                        # accumulated up to its tail, with one atomic instead of one per point.
                        _, sums = tl.associative_scan((head, total), 0, _segmented_add)
                        tl.atomic_add(ptr, sums.to(out_type), mask=tail, sem="relaxed")
                    else:
                        tl.atomic_add(ptr, total.to(out_type), mask=mask, sem="relaxed")
                else:
                    tl.atomic_add(ptr, total.to(out_type), mask=mask, sem="relaxed")
