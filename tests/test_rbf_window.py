"""The windowed RBF (``window="bump"``): analytic jets, smooth across cell faces, and finite
differences that converge at second order where the truncated Gaussian's do not."""

from __future__ import annotations

import pytest
import torch
from conftest import DTYPE, assert_rel, autograd_derivatives, make_encoding, random_points

import smoothgrid as sg

N_FINEST = 16  # levels of 4, 8 and 16 cells on the unit box: faces at multiples of 1/16


def face_encoding(window: str, gen: torch.Generator, rings: int = 2):
    return make_encoding(
        "rbf",
        2,
        gen,
        bounds=(0.0, 1.0),
        levels=3,
        min_res=4,
        max_res=N_FINEST,
        rings=rings,
        window=window,
    )


def face_points(gen: torch.Generator, axis: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Points on faces normal to ``axis`` (faces of every level among them) and their
    neighbours one float64 step below: the two sides of each face."""
    k = torch.tensor([1, 2, 4, 5, 8, 11, 12, 15], dtype=DTYPE)
    on = torch.rand(len(k), 2, generator=gen, dtype=DTYPE) * 0.9 + 0.05
    on[:, axis] = k / N_FINEST
    below = on.clone()
    below[:, axis] = torch.nextafter(on[:, axis], torch.zeros_like(on[:, axis]))
    return on, below


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("rings", [1, 2, 3])
def test_bump_jets_match_autograd(d, rings, gen):
    enc = make_encoding("rbf", d, gen, window="bump", rings=rings, offset=True)
    x = random_points(enc, 20, gen)
    value, grad, hess = autograd_derivatives(enc, x)
    jet = enc.jet(x, order=2, hessian=True)
    assert_rel(jet.value, value, 1e-12, "value")
    assert_rel(jet.grad, grad, 1e-10, "grad")
    assert_rel(jet.hess, hess, 1e-10, "hessian")
    lap = enc.jet(x, order=2).lap
    assert_rel(lap, torch.diagonal(hess, dim1=-2, dim2=-1).sum(-1), 1e-10, "laplacian")


@pytest.mark.parametrize("axis", [0, 1])
def test_bump_value_gradient_and_laplacian_are_continuous_across_faces(axis, gen):
    bump = face_encoding("bump", gen)
    plain = face_encoding("none", gen)
    plain.load_state_dict(bump.state_dict())
    on, below = face_points(gen, axis)
    a, b = bump.jet(on, order=2), bump.jet(below, order=2)
    assert a.grad.abs().max() > 1.0 and a.lap.abs().max() > 10.0  # not trivially flat
    for what, x, y in (
        ("value", a.value, b.value),
        ("grad", a.grad, b.grad),
        ("lap", a.lap, b.lap),
    ):
        jump = (x - y).abs().max().item()
        assert jump < 1e-10, f"{what} jumps by {jump:.2e} across a face"
    # The truncated Gaussian on the same table jumps there.
    value_jump = (plain(on) - plain(below)).abs().max().item()
    assert value_jump > 1e-4


def _central_differences(enc, x: torch.Tensor, h: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(grad (B, C, d), lap (B, C))`` of ``enc`` by central differences of step ``h``."""
    centre = enc(x)
    grads, lap = [], torch.zeros_like(centre)
    for i in range(x.shape[1]):
        e = torch.zeros_like(x[:1])
        e[0, i] = h
        plus, minus = enc(x + e), enc(x - e)
        grads.append((plus - minus) / (2 * h))
        lap = lap + (plus - 2 * centre + minus) / h**2
    return torch.stack(grads, -1), lap


def test_finite_differences_converge_at_second_order_across_faces(gen):
    bump = face_encoding("bump", gen)
    plain = face_encoding("none", gen)
    plain.load_state_dict(bump.state_dict())
    x, _ = face_points(gen, 0)  # every stencil straddles a face
    steps = [2.0**-k for k in (8, 9, 10)]  # 1/16 down to 1/64 of the finest cell
    for enc, second_order in ((bump, True), (plain, False)):
        exact = enc.jet(x, order=2)
        grad_err, lap_err = [], []
        for h in steps:
            grad, lap = _central_differences(enc, x, h)
            grad_err.append((grad - exact.grad).abs().max().item())
            lap_err.append((lap - exact.lap).abs().max().item())
        grad_ratio = [grad_err[k] / grad_err[k + 1] for k in range(2)]
        lap_ratio = [lap_err[k] / lap_err[k + 1] for k in range(2)]
        if second_order:  # halving h quarters the error
            assert all(3.5 < r < 4.5 for r in grad_ratio + lap_ratio), (grad_ratio, lap_ratio)
        else:  # the jump at the face: gradient errors halve at best, Laplacian errors grow
            assert all(r < 2.5 for r in grad_ratio), grad_ratio
            assert all(r < 1.0 for r in lap_ratio), lap_ratio


def test_bump_window_options_are_checked_and_recorded():
    with pytest.raises(ValueError, match="window must be one of none, bump"):
        sg.encodings.make("rbf", 2, levels=2, min_res=4, max_res=8, window="hann")
    with pytest.raises(ValueError, match="use rings >= 2"):
        sg.encodings.make("rbf", 4, levels=1, min_res=2, max_res=2, window="bump", rings=1)
    enc = sg.encodings.make("rbf", 3, levels=2, min_res=4, max_res=8, window="bump", rings=1)
    assert enc.config()["window"] == "bump" and enc.config()["rings"] == 1
    x = torch.full((1, 3), 0.5 / 8 + 0.25)  # a cell centre: every corner at sqrt(3)/2 cells
    assert torch.isfinite(enc(x)).all()
