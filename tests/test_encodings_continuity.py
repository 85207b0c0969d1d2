"""Smoothness across cell faces: C0 (linear), C1 (smoothstep, cosine, hermite), C2 (quintic)."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import cell_positions, make_encoding, random_points

TENSOR_PRODUCT = ["linear", "smoothstep", "cosine", "quintic", "hermite"]
C1 = ["smoothstep", "cosine", "quintic", "hermite"]
H = 1e-12  # step to either side of the face, in unit-box coordinates

# (grid options, level of the face, vertex index k of the face)
CONFIGS = {
    "single": (dict(levels=1, min_res=5, max_res=5), 0, 2),
    "offset": (dict(levels=2, min_res=3, max_res=7, offset=True), 1, 3),
}


def straddle(name: str, d: int, config: str, gen):
    """Jets just below and above a cell face on axis 0, and typical magnitudes of each part."""
    options, level, k = CONFIGS[config]
    enc = make_encoding(name, d, gen, **options)
    n, o = enc.resolutions[level], enc.offsets[level]
    u_face = (k - o) / n
    lo, hi = enc.bounds
    x = random_points(enc, 12, gen)
    below, above = x.clone(), x.clone()
    below[:, 0] = lo[0] + (hi[0] - lo[0]) * (u_face - H)
    above[:, 0] = lo[0] + (hi[0] - lo[0]) * (u_face + H)
    # The two sides really lie in neighbouring cells of that level.
    cells_below = cell_positions(enc, below)[:, level, 0].floor()
    cells_above = cell_positions(enc, above)[:, level, 0].floor()
    assert torch.all(cells_below == k - 1) and torch.all(cells_above == k)
    typical = enc.jet(random_points(enc, 64, gen), order=2, hessian=True)
    scale = {
        "value": typical.value.abs().max().item(),
        "grad": typical.grad.abs().max().item(),
        "hess": typical.hess.abs().max().item(),
    }
    return enc.jet(below, 2, hessian=True), enc.jet(above, 2, hessian=True), scale


def jump(a: torch.Tensor, b: torch.Tensor, scale: float) -> float:
    assert scale > 0
    return (a - b).abs().max().item() / scale


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("name", TENSOR_PRODUCT)
def test_values_are_continuous(name, d, config, gen):
    below, above, scale = straddle(name, d, config, gen)
    assert jump(below.value, above.value, scale["value"]) <= 1e-10


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("name", C1)
def test_gradients_are_continuous(name, d, config, gen):
    below, above, scale = straddle(name, d, config, gen)
    assert jump(below.grad, above.grad, scale["grad"]) <= 1e-10


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("d", [1, 2, 3])
def test_quintic_hessian_is_continuous(d, config, gen):
    below, above, scale = straddle("quintic", d, config, gen)
    assert jump(below.hess, above.hess, scale["hess"]) <= 1e-6
    assert jump(below.lap, above.lap, scale["hess"]) <= 1e-6


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("name", ["smoothstep", "cosine", "hermite"])
def test_second_derivative_jumps_for_c1_encodings(name, d, config, gen):
    """Only C1: d2/dx0^2 jumps by an O(1) fraction of its typical size (so C1 and C2 differ)."""
    below, above, scale = straddle(name, d, config, gen)
    assert jump(below.d2(0, 0), above.d2(0, 0), scale["hess"]) > 1e-2


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("d", [1, 2, 3])
def test_linear_gradient_jumps(d, config, gen):
    below, above, scale = straddle("linear", d, config, gen)
    assert jump(below.d(0), above.d(0), scale["grad"]) > 0.1


@pytest.mark.parametrize("offset", [False, True])
@pytest.mark.parametrize("name", TENSOR_PRODUCT)
def test_periodic_axis_wraps_smoothly(name, offset, gen):
    """With periodic=(0,), the jets at x0 = lo and x0 = hi agree (to the encoding's order)."""
    enc = make_encoding(name, 2, gen, periodic=(0,), offset=offset)
    lo, hi = enc.bounds
    x = random_points(enc, 12, gen)
    left, right = x.clone(), x.clone()
    left[:, 0], right[:, 0] = lo[0], hi[0]
    a, b = enc.jet(left, 2, hessian=True), enc.jet(right, 2, hessian=True)
    assert jump(a.value, b.value, a.value.abs().max().item()) <= 1e-12
    if name in C1:
        assert jump(a.grad, b.grad, a.grad.abs().max().item()) <= 1e-12
    if name == "quintic":
        assert jump(a.hess, b.hess, a.hess.abs().max().item()) <= 1e-12
    if name == "linear" and not offset:  # the box faces are cell faces: a kink
        assert jump(a.d(0), b.d(0), a.grad.abs().max().item()) > 0.1
    # Not periodic on axis 1: the two faces of axis 1 differ.
    bottom, top = x.clone(), x.clone()
    bottom[:, 1], top[:, 1] = lo[1], hi[1]
    assert (enc(bottom) - enc(top)).abs().max() > 1e-3


@pytest.mark.parametrize("d", [1, 2])
def test_rbf_jumps_little_at_faces(d, gen):
    """RBF is smooth inside cells; at faces its value jumps by about exp(-(eps * rings)**2)."""
    jumps = []
    for rings in (1, 2, 3):
        enc = make_encoding("rbf", d, gen, levels=1, min_res=5, max_res=5, rings=rings)
        lo, hi = enc.bounds
        x = random_points(enc, 12, gen)
        below, above = x.clone(), x.clone()
        below[:, 0] = lo[0] + (hi[0] - lo[0]) * (0.4 - H)
        above[:, 0] = lo[0] + (hi[0] - lo[0]) * (0.4 + H)
        gap = (enc(below) - enc(above)).abs().max().item()
        assert 0 < gap <= 4 * math.exp(-((enc.eps * rings) ** 2))
        jumps.append(gap)
    assert jumps[0] > jumps[1] > jumps[2]
