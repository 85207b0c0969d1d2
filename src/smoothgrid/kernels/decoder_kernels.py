"""Triton kernels of a small MLP's jet: the forward pass and the backward pass, each one launch.

One program handles ``BLOCK`` points. The input jet arrives component-major, ``x (K, B, CIN)``:
the value, ``d/dx_i`` for each of ``D`` axes, then either one Laplacian or the Hessian's upper
triangle (pairs ``i <= j`` row by row). Every component is a ``(BLOCK, W)`` tile in registers;
a layer is one ``tl.dot`` per component with the layer's ``(W, W)`` weight tile (all widths
zero-padded to ``W``), and the activation's chain rule is elementwise on the tiles:

* value ``s(z)``, gradient ``s'(z) z_i``,
* Laplacian ``s''(z) sum_i z_i^2 + s'(z) lap z`` (``i`` in the Laplacian's axes),
* Hessian ``s''(z) z_i z_j + s'(z) z_ij``.

The forward kernel writes the output jet ``(K, B, COUT)`` and, for the backward pass, every
hidden layer's pre-activation jet ``(NL - 1, K, B, W)``. The backward kernel walks the layers in
reverse: it rebuilds each layer's input from the saved pre-activations, adds the weight and bias
gradients of its block with atomics, and pushes the gradient through ``W`` and the activation's
chain rule (which needs ``s'''``), down to the input jet's gradient ``(K, B, CIN)``.

This module imports Triton; :mod:`smoothgrid.kernels.decoder` imports it when a kernel runs.
"""

from __future__ import annotations

import triton
import triton.language as tl

__all__ = ["forward_kernel", "backward_kernel"]


@triton.jit
def _activation(z, ACT: tl.constexpr, omega):
    """``(s, s', s'', s''')`` at ``z``: tanh, SiLU or ``sin(omega z)``."""
    if ACT == 0:
        e = tl.exp(-2.0 * tl.abs(z))
        t = (1.0 - e) / (1.0 + e)
        s = tl.where(z < 0, -t, t)
        s1 = 1.0 - s * s
        s2 = -2.0 * s * s1
        s3 = -2.0 * s1 * (1.0 - 3.0 * s * s)
    elif ACT == 1:
        sig = 1.0 / (1.0 + tl.exp(-z))
        ds = sig * (1.0 - sig)
        q = 1.0 - 2.0 * sig
        s = z * sig
        s1 = sig + z * ds
        s2 = ds * (2.0 + z * q)
        s3 = ds * (q * (3.0 + z * q) - 2.0 * z * ds)
    else:
        wz = omega * z
        sn = tl.sin(wz)
        cs = tl.cos(wz)
        s = sn
        s1 = omega * cs
        s2 = -omega * omega * sn
        s3 = -omega * omega * omega * cs
    return s, s1, s2, s3


@triton.jit
def _activate(
    z, ACT: tl.constexpr, omega, D: tl.constexpr, SECOND: tl.constexpr, LAP: tl.constexpr
):
    """The activation's jet of the pre-activation jet ``z`` (a tuple of tiles)."""
    s, s1, s2, _ = _activation(z[0], ACT, omega)
    out = (s,)
    for i in tl.static_range(D):
        out = out + (s1 * z[1 + i],)
    if SECOND == 1:
        sq = tl.zeros_like(s)
        for i in tl.static_range(D):
            if (LAP >> i) & 1:
                sq += z[1 + i] * z[1 + i]
        out = out + (s2 * sq + s1 * z[1 + D],)
    elif SECOND == 2:
        for i in tl.static_range(D):
            for j in tl.static_range(i, D):
                # the pair (i, j), i <= j, is component 1 + D + i D - i (i - 1) / 2 + j - i
                p = 1 + D + i * D - i * (i - 1) // 2 + (j - i)
                out = out + (s2 * z[1 + i] * z[1 + j] + s1 * z[p],)
    return out


@triton.jit
def _activate_backward(
    z,
    g,
    ACT: tl.constexpr,
    omega,
    D: tl.constexpr,
    SECOND: tl.constexpr,
    LAP: tl.constexpr,
    K: tl.constexpr,
):
    """The gradient on the pre-activation jet ``z`` from the gradient ``g`` on its activation."""
    s, s1, s2, s3 = _activation(z[0], ACT, omega)
    g0 = s1 * g[0]
    for i in tl.static_range(D):
        g0 += s2 * z[1 + i] * g[1 + i]
    if SECOND == 1:
        sq = tl.zeros_like(s)
        for i in tl.static_range(D):
            if (LAP >> i) & 1:
                sq += z[1 + i] * z[1 + i]
        g0 += (s3 * sq + s2 * z[1 + D]) * g[1 + D]
    elif SECOND == 2:
        for i in tl.static_range(D):
            for j in tl.static_range(i, D):
                p = 1 + D + i * D - i * (i - 1) // 2 + (j - i)
                g0 += (s3 * z[1 + i] * z[1 + j] + s2 * z[p]) * g[p]
    out = (g0,)
    for i in tl.static_range(D):
        gi = s1 * g[1 + i]
        if SECOND == 1:
            if (LAP >> i) & 1:
                gi += 2.0 * s2 * z[1 + i] * g[1 + D]
        elif SECOND == 2:
            for j in tl.static_range(D):
                if i == j:
                    p = 1 + D + i * D - i * (i - 1) // 2
                    gi += 2.0 * s2 * z[1 + i] * g[p]
                elif i < j:
                    p = 1 + D + i * D - i * (i - 1) // 2 + (j - i)
                    gi += s2 * z[1 + j] * g[p]
                else:
                    p = 1 + D + j * D - j * (j - 1) // 2 + (i - j)
                    gi += s2 * z[1 + j] * g[p]
        out = out + (gi,)
    for k in tl.static_range(1 + D, K):
        out = out + (s1 * g[k],)
    return out


@triton.jit
def _load_tiles(ptr, FIRST: tl.constexpr, rows, cols, B, WIDTH, K: tl.constexpr, STRIDE):
    """``K`` tiles ``(BLOCK, W)``, components ``FIRST ..`` of a ``(.., B, STRIDE)`` tensor, zero
    beyond ``WIDTH`` and ``B`` (int64 offsets: the saved pre-activations may pass 2**31)."""
    mask = (rows[:, None] < B) & (cols[None, :] < WIDTH)
    tiles = ()
    for c in tl.static_range(K):
        at = ptr + ((FIRST + c) * B + rows[:, None].to(tl.int64)) * STRIDE + cols[None, :]
        tiles = tiles + (tl.load(at, mask=mask, other=0.0),)
    return tiles


@triton.jit
def _store_tiles(ptr, FIRST: tl.constexpr, tiles, rows, cols, B, WIDTH, K: tl.constexpr, STRIDE):
    """Store ``K`` tiles as components ``FIRST ..`` (see :func:`_load_tiles`)."""
    mask = (rows[:, None] < B) & (cols[None, :] < WIDTH)
    for c in tl.static_range(K):
        at = ptr + ((FIRST + c) * B + rows[:, None].to(tl.int64)) * STRIDE + cols[None, :]
        tl.store(at, tiles[c], mask=mask)


@triton.jit
def forward_kernel(
    x_ptr,
    w_ptr,
    b_ptr,
    out_ptr,
    z_ptr,
    B,
    omega,
    CIN: tl.constexpr,
    COUT: tl.constexpr,
    NL: tl.constexpr,
    W: tl.constexpr,
    D: tl.constexpr,
    SECOND: tl.constexpr,
    LAP: tl.constexpr,
    K: tl.constexpr,
    ACT: tl.constexpr,
    SAVE: tl.constexpr,
    BLOCK: tl.constexpr,
):
    """``out (K, B, COUT)``: the MLP's jet of ``x (K, B, CIN)``.

    ``w (NL, W, W)`` and ``b (NL, W)``: the layers' weights ``(out, in)`` and biases,
    zero-padded; ``z (NL - 1, K, B, W)``: the hidden pre-activation jets, written if ``SAVE``.
    ``D`` derivative axes, ``SECOND`` 0 (none), 1 (Laplacian over the axes set in the bit mask
    ``LAP``) or 2 (Hessian pairs); ``ACT`` the activation's index in
    :data:`smoothgrid.kernels.decoder.KERNEL_ACTIVATIONS`.
    Grid: ``(cdiv(B, BLOCK),)``.
    """
    rows = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    cols = tl.arange(0, W)
    h = _load_tiles(x_ptr, 0, rows, cols, B, CIN, K, CIN)
    for layer in tl.static_range(NL):
        # wt[i, o] = W[o, i]
        wt = tl.load(w_ptr + layer * W * W + cols[None, :] * W + cols[:, None])
        bias = tl.load(b_ptr + layer * W + cols)
        z = ()
        for c in tl.static_range(K):
            zc = tl.dot(h[c], wt, input_precision="ieee")
            if c == 0:
                zc += bias[None, :]
            z = z + (zc,)
        if layer < NL - 1:
            if SAVE:
                _store_tiles(z_ptr, layer * K, z, rows, cols, B, W, K, W)
            h = _activate(z, ACT, omega, D, SECOND, LAP)
        else:
            h = z
    _store_tiles(out_ptr, 0, h, rows, cols, B, COUT, K, COUT)


@triton.jit
def backward_kernel(
    x_ptr,
    w_ptr,
    z_ptr,
    grad_out_ptr,
    grad_x_ptr,
    grad_w_ptr,
    grad_b_ptr,
    B,
    omega,
    CIN: tl.constexpr,
    COUT: tl.constexpr,
    NL: tl.constexpr,
    W: tl.constexpr,
    D: tl.constexpr,
    SECOND: tl.constexpr,
    LAP: tl.constexpr,
    K: tl.constexpr,
    ACT: tl.constexpr,
    BLOCK: tl.constexpr,
):
    """Gradients of :func:`forward_kernel`: ``grad_x (K, B, CIN)`` written, ``grad_w (NL, W, W)``
    and ``grad_b (NL, W)`` added to (zeroed by the caller), from ``grad_out (K, B, COUT)`` and
    the saved pre-activations ``z``. Same compile-time arguments; grid ``(cdiv(B, BLOCK),)``."""
    rows = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    cols = tl.arange(0, W)
    g = _load_tiles(grad_out_ptr, 0, rows, cols, B, COUT, K, COUT)
    for back in tl.static_range(NL):
        layer = NL - 1 - back
        if layer == 0:
            h = _load_tiles(x_ptr, 0, rows, cols, B, CIN, K, CIN)
        else:
            z_in = _load_tiles(z_ptr, (layer - 1) * K, rows, cols, B, W, K, W)
            h = _activate(z_in, ACT, omega, D, SECOND, LAP)
        weight = tl.load(w_ptr + layer * W * W + cols[:, None] * W + cols[None, :])  # [o, i]
        grad_w = tl.dot(tl.trans(g[0]), h[0], input_precision="ieee")
        for c in tl.static_range(1, K):
            grad_w += tl.dot(tl.trans(g[c]), h[c], input_precision="ieee")
        tl.atomic_add(grad_w_ptr + layer * W * W + cols[:, None] * W + cols[None, :], grad_w)
        tl.atomic_add(grad_b_ptr + layer * W + cols, tl.sum(g[0], axis=0))
        gh = ()
        for c in tl.static_range(K):
            gh = gh + (tl.dot(g[c], weight, input_precision="ieee"),)
        if layer == 0:
            _store_tiles(grad_x_ptr, 0, gh, rows, cols, B, CIN, K, CIN)
        else:
            g = _activate_backward(z_in, gh, ACT, omega, D, SECOND, LAP, K)
