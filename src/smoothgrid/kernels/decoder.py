"""A small MLP's jet in one fused kernel each way (the twin of :func:`smoothgrid.nn.mlp_jet`).

:func:`decoder_jet` takes the same arguments as :func:`smoothgrid.nn.mlp_jet`, the PyTorch
reference: the input jet's parts as plain tensors, the layers' weights and biases, the
activation. It packs the jet component-major, ``(K, B, C)`` (value, gradient per axis, then the
Laplacian or the Hessian's upper triangle), pads every layer to one width ``W`` (a power of two,
16 to :data:`MAX_WIDTH`), and runs :func:`~smoothgrid.kernels.decoder_kernels.forward_kernel`:
every layer of every component of a block of points in registers, one launch. Its backward is
one launch of :func:`~smoothgrid.kernels.decoder_kernels.backward_kernel`, giving the
gradients of the weights, the biases and the input jet (so the encoding's table gradient
follows).

An :class:`~smoothgrid.nn.MLP`'s ``impl`` option picks the path as an encoding's does:
``"auto"`` takes the kernel for CUDA tensors when :func:`decoder_unsupported_reason` is
``None``, ``"torch"`` never, ``"triton"`` always (on CPU tensors under ``TRITON_INTERPRET=1``,
as the parity tests run).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torch.nn import functional

from . import interpreted, triton_available

__all__ = ["MAX_WIDTH", "KERNEL_ACTIVATIONS", "decoder_unsupported_reason", "decoder_jet"]

MAX_WIDTH = 64
"""The widest layer (inputs, hidden and outputs) the fused kernel holds in registers."""

KERNEL_ACTIVATIONS = ("tanh", "silu", "sin")
"""The activations the fused kernel implements."""


def _block(x: Tensor) -> int:
    """Points per program: 32 on a GPU (fewer programs add their weight gradients with atomics),
    16 in the interpreter (the least ``tl.dot`` takes: faster tests)."""
    return 32 if x.device.type == "cuda" else 16


Parts = tuple[Tensor, Tensor | None, Tensor | None, Tensor | None]


def _cdiv(a: int, b: int) -> int:
    """``ceil(a / b)`` for a launch grid."""
    return -(-a // b)


def decoder_unsupported_reason(
    parts: Parts, weights: Sequence[Tensor], activation: str
) -> str | None:
    """Why the fused kernel cannot run this MLP jet, or ``None`` if it can.

    Args:
        parts: the input jet's ``(value, grad, hess, lap)``.
        weights: per layer ``(C_out, C_in)``.
        activation: the MLP's activation.
    """
    value, grad = parts[0], parts[1]
    if activation not in KERNEL_ACTIVATIONS:
        return f"the decoder kernel implements {', '.join(KERNEL_ACTIVATIONS)}, not {activation!r}"
    widest = max(max(w.shape) for w in weights)
    if widest > MAX_WIDTH:
        return f"the decoder kernel holds layers up to {MAX_WIDTH} wide, not {widest}"
    if grad is not None and grad.shape[-1] > 4:
        return f"the decoder kernel covers jets over 1 to 4 axes, not {grad.shape[-1]}"
    dtypes = {t.dtype for t in (*[p for p in parts if p is not None], *weights)}
    if dtypes != {torch.float32}:
        return f"the decoder kernel runs in float32, got {sorted(map(str, dtypes))}"
    if not triton_available():
        return "Triton is not installed"
    if value.device.type != "cuda" and not interpreted():
        return "the kernels run on CUDA tensors (on the CPU only under TRITON_INTERPRET=1)"
    return None


def _pairs(d: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(d) for j in range(i, d)]


class _DecoderJet(torch.autograd.Function):
    """``(K, B, CIN)``, ``(NL, W, W)``, ``(NL, W)`` -> ``(K, B, COUT)`` and back."""

    @staticmethod
    def forward(ctx, x: Tensor, w: Tensor, b: Tensor, omega: float, meta: dict) -> Tensor:
        from .decoder_kernels import forward_kernel

        K, B = x.shape[:2]
        save = any(ctx.needs_input_grad[:3])
        hidden = w.shape[0] - 1
        z = x.new_empty((hidden, K, B, meta["W"]) if save and hidden else (1,))
        out = x.new_empty(K, B, meta["COUT"])
        block = _block(x)
        grid = (_cdiv(B, block),)
        forward_kernel[grid](x, w, b, out, z, B, omega, **meta, SAVE=save, BLOCK=block)
        ctx.save_for_backward(x, w, z)
        ctx.omega, ctx.meta = omega, meta
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        from .decoder_kernels import backward_kernel

        x, w, z = ctx.saved_tensors
        B = x.shape[1]
        grad_x = torch.empty_like(x)
        grad_w = torch.zeros_like(w)
        grad_b = w.new_zeros(w.shape[:2])
        block = _block(x)
        grid = (_cdiv(B, block),)
        backward_kernel[grid](
            x, w, z, grad_out.contiguous(), grad_x, grad_w, grad_b, B, ctx.omega, **ctx.meta,
            BLOCK=block,
        )  # fmt: skip
        return grad_x, grad_w, grad_b, None, None


def decoder_jet(
    parts: Parts,
    weights: Sequence[Tensor],
    biases: Sequence[Tensor],
    activation: str,
    omega0: float = 30.0,
    lap_axes: tuple[int, ...] | None = None,
) -> Parts:
    """The MLP's jet by the fused kernels; arguments and result as
    :func:`smoothgrid.nn.mlp_jet` (differentiable in the parts, weights and biases).

    Args:
        parts: ``(value (B, C), grad (B, C, d) | None, hess (B, C, d, d) | None,
            lap (B, C) | None)``, float32.
        weights, biases: per layer ``(C_out, C_in)`` and ``(C_out,)``, every width at most
            :data:`MAX_WIDTH`.
        activation: one of :data:`KERNEL_ACTIVATIONS` (``sin`` is ``sin(omega0 z)``).
        omega0: SIREN's frequency factor.
        lap_axes: the Laplacian's axes (``None``: all).

    Returns:
        The output jet's ``(value, grad, hess, lap)`` (the parts the input carries).
    """
    value, grad, hess, lap = parts
    d = 0 if grad is None else grad.shape[-1]
    components = [value] + [grad[..., i] for i in range(d)]
    second = 0
    if lap is not None:
        components.append(lap)
        second = 1
    elif hess is not None:
        # the mean of (i, j) and (j, i): a symmetric Hessian is unchanged and its gradient
        # stays symmetric
        components += [0.5 * (hess[..., i, j] + hess[..., j, i]) for i, j in _pairs(d)]
        second = 2
    x = torch.stack(components).contiguous()
    widest = max(max(w.shape) for w in weights)
    width = max(16, 1 << (widest - 1).bit_length())
    w = torch.stack(
        [functional.pad(m, (0, width - m.shape[1], 0, width - m.shape[0])) for m in weights]
    )
    b = torch.stack([functional.pad(v, (0, width - v.shape[0])) for v in biases])
    axes = range(d) if lap_axes is None else lap_axes
    meta = dict(
        CIN=weights[0].shape[1],
        COUT=weights[-1].shape[0],
        NL=len(weights),
        W=width,
        D=d,
        SECOND=second,
        LAP=sum(1 << a for a in axes),
        K=len(components),
        ACT=_activation_code(activation),
    )
    omega = float(omega0) if activation == "sin" else 1.0
    out = _DecoderJet.apply(x, w.contiguous(), b.contiguous(), omega, meta)
    grad_out = out[1 : 1 + d].permute(1, 2, 0) if d else None
    lap_out = out[1 + d] if second == 1 else None
    hess_out = None
    if second == 2:
        position = {p: 1 + d + k for k, p in enumerate(_pairs(d))}
        index = [[position[(min(i, j), max(i, j))] for j in range(d)] for i in range(d)]
        hess_out = out[torch.tensor(index, device=out.device)].permute(2, 3, 0, 1)
    return out[0], grad_out, hess_out, lap_out


def _activation_code(activation: str) -> int:
    return KERNEL_ACTIVATIONS.index(activation)
