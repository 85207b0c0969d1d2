"""The fused decoder-jet kernel against :func:`smoothgrid.nn.mlp_jet`: forward and backward for
each activation, with the Laplacian, the Hessian or first derivatives only, and its dispatch.

Without a GPU the kernels run in Triton's interpreter (``TRITON_INTERPRET=1``, set by
conftest.py) on a few points, so these tests check the code a GPU compiles.
"""

from __future__ import annotations

import pytest
import torch

import smoothgrid as sg
from smoothgrid.nn import MLP, mlp_jet

pytest.importorskip("triton")
from smoothgrid.kernels.decoder import decoder_jet, decoder_unsupported_reason  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
TOL = 1e-5  # relative to the largest entry, float32 kernel vs float64 reference


def _problem(activation: str, second: str, d: int, gen: torch.Generator):
    """Float64 parts, weights and biases of a 6 -> 24 -> 16 -> 2 MLP jet over ``d`` axes."""

    def rand(*shape, scale=1.0):
        return (torch.randn(*shape, generator=gen, dtype=torch.float64) * scale).to(DEVICE)

    widths = [6, 24, 16, 2]
    scale = 0.3 if activation == "sin" else 0.6
    weights = [rand(o, i, scale=scale) for i, o in zip(widths[:-1], widths[1:])]
    biases = [rand(o, scale=0.2) for o in widths[1:]]
    B, C = 37, widths[0]  # B not a multiple of the block: masked rows
    hess = rand(B, C, d, d)
    parts = (
        rand(B, C),
        rand(B, C, d),
        hess + hess.transpose(-1, -2) if second == "hess" else None,
        rand(B, C) if second == "lap" else None,
    )
    return parts, weights, biases


def _rel(actual: torch.Tensor, expected: torch.Tensor) -> float:
    scale = expected.abs().max().clamp_min(1e-30)
    return ((actual.double() - expected).abs().max() / scale).item()


def _sym(t: torch.Tensor) -> torch.Tensor:
    return t + t.transpose(-1, -2)


@pytest.mark.parametrize("activation", ["tanh", "silu", "sin"])
@pytest.mark.parametrize("second,d", [("lap", 2), ("hess", 3), ("none", 2)])
def test_decoder_kernel_matches_reference_forward_and_backward(activation, second, d, gen):
    parts, weights, biases = _problem(activation, second, d, gen)
    lap_axes = (0,) if second == "lap" else None  # a partial Laplacian (space-time style)
    leaves = [t.requires_grad_() for t in (*weights, *biases, *parts) if t is not None]
    ref = mlp_jet(parts, weights, biases, activation, 3.0, lap_axes)

    def f32(ts):
        return [None if t is None else t.float() for t in ts]

    out = decoder_jet(tuple(f32(parts)), f32(weights), f32(biases), activation, 3.0, lap_axes)
    assert [a is None for a in out] == [e is None for e in ref]
    for a, e in zip(out, ref):
        if e is not None:
            assert a.dtype == torch.float32 and a.shape == e.shape
            assert _rel(a, e) < TOL
    upstream = [torch.randn(e.shape, generator=gen, dtype=e.dtype).to(DEVICE) for e in ref
                if e is not None]  # fmt: skip
    present = [(a, e) for a, e in zip(out, ref) if e is not None]
    loss_ref = sum((e * u).sum() for (_, e), u in zip(present, upstream))
    loss_ker = sum((a.double() * u).sum() for (a, _), u in zip(present, upstream))
    grads_ref = torch.autograd.grad(loss_ref, leaves)
    grads_ker = torch.autograd.grad(loss_ker, leaves)
    for leaf, g_k, g_r in zip(leaves, grads_ker, grads_ref):
        if second == "hess" and leaf is parts[2]:
            # the kernel reads a symmetric Hessian; what reaches the encoding is g + g^T
            g_k, g_r = _sym(g_k), _sym(g_r)
        assert _rel(g_k, g_r) < TOL, tuple(leaf.shape)


def test_mlp_dispatch_and_field_option(gen):
    enc = sg.encodings.make("hermite", 2, levels=2, features=2, min_res=4, max_res=8)
    x = torch.rand(20, 2, generator=gen)
    torch.manual_seed(0)
    reference = sg.Field(enc, hidden=(16,), decoder_impl="torch").to(DEVICE)
    torch.manual_seed(0)
    kernel = sg.Field(enc, hidden=(16,), decoder_impl="triton").to(DEVICE)
    assert kernel.config()["field"]["decoder_impl"] == "triton"
    u_ref, u_ker = reference.jet(x.to(DEVICE), 2), kernel.jet(x.to(DEVICE), 2)
    assert _rel(u_ker.lap, u_ref.lap) < 1e-4 and _rel(u_ker.grad, u_ref.grad) < 1e-4
    if DEVICE == "cpu":  # auto keeps CPU tensors on the PyTorch path
        auto = MLP(4, (8,), activation="tanh")
        assert not auto._use_kernel(
            (torch.zeros(3, 4), None, None, None), [layer.weight for layer in auto.layers]
        )


def test_decoder_kernel_refuses_what_it_does_not_cover():
    parts = (torch.zeros(4, 8), None, None, None)
    assert "gelu" in decoder_unsupported_reason(parts, [torch.zeros(8, 8)], "gelu")
    assert "64" in decoder_unsupported_reason(parts, [torch.zeros(128, 8)], "tanh")
    double = (torch.zeros(4, 8, dtype=torch.float64), None, None, None)
    assert "float32" in decoder_unsupported_reason(double, [torch.zeros(8, 8)], "tanh")
    mlp = MLP(8, (8,), activation="gelu", impl="triton")
    with pytest.raises(ValueError, match="impl='triton' cannot run this decoder"):
        mlp.jet(sg.Jet(torch.zeros(4, 8)))
    with pytest.raises(ValueError, match="impl must be one of"):
        MLP(8, (8,), impl="cuda")
