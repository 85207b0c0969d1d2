"""Analytic jets against central finite differences of the forward pass, inside cells."""

from __future__ import annotations

import pytest
import torch
from conftest import away_from_faces, cell_positions, make_encoding, random_points, rel_err

import smoothgrid as sg

CASES = [(name, d) for name in sg.encodings.names() for d in (1, 2, 3)] + [("hermite", 4)]


def fd_gradient(f, x: torch.Tensor, h: float) -> torch.Tensor:
    """``(B, C, d)`` central differences of ``f``."""
    cols = []
    for i in range(x.shape[1]):
        e = torch.zeros_like(x)
        e[:, i] = h
        cols.append((f(x + e) - f(x - e)) / (2 * h))
    return torch.stack(cols, -1)


def fd_hessian(f, x: torch.Tensor, h: float) -> torch.Tensor:
    """``(B, C, d, d)`` central second differences of ``f``."""
    d = x.shape[1]
    steps = torch.eye(d, dtype=x.dtype) * h
    hess = torch.empty(x.shape[0], f(x).shape[1], d, d, dtype=x.dtype)
    for i in range(d):
        for j in range(d):
            ei, ej = steps[i], steps[j]
            pp, pm = f(x + ei + ej), f(x + ei - ej)
            mp, mm = f(x - ei + ej), f(x - ei - ej)
            hess[..., i, j] = (pp - pm - mp + mm) / (4 * h * h)
    return hess


def test_points_are_filtered_away_from_faces(gen):
    enc = make_encoding("hermite", 2, gen, offset=True)
    x = away_from_faces(enc, random_points(enc, 200, gen, margin=0.01))
    frac = torch.frac(cell_positions(enc, x))
    assert 20 < x.shape[0] < 200
    assert (torch.minimum(frac, 1 - frac) > 0.05).all()


@pytest.mark.parametrize("offset", [False, True])
@pytest.mark.parametrize("name,d", CASES)
def test_jet_matches_finite_differences(name, d, offset, gen):
    # Hashed finer levels, per-axis box.
    enc = make_encoding(name, d, gen, log2_table=4, offset=offset)
    x = away_from_faces(enc, random_points(enc, 120, gen, margin=0.01))[:20]
    assert x.shape[0] >= 8
    with torch.no_grad():
        jet = enc.jet(x, order=2, hessian=True)
        lap = enc.jet(x, order=2, hessian=False).lap
        value = enc(x)
        grad = fd_gradient(enc, x, 1e-5)
        hess = fd_hessian(enc, x, 1e-4)
    assert torch.allclose(jet.value, value, rtol=1e-12, atol=0)
    assert rel_err(jet.grad, grad) < 1e-6
    if name == "linear":
        diag = torch.diagonal(jet.hess, dim1=-2, dim2=-1)
        assert torch.all(diag == 0) and torch.all(lap == 0)
        # Second differences of a d-linear function vanish along axes too.
        assert torch.diagonal(hess, dim1=-2, dim2=-1).abs().max() < 1e-6 * grad.abs().max()
        if d >= 2:
            assert rel_err(jet.hess, hess) < 2e-4
        return
    assert rel_err(jet.hess, hess) < 2e-4
    trace = torch.diagonal(hess, dim1=-2, dim2=-1).sum(-1)
    assert rel_err(lap, trace) < 2e-4


def test_finite_differences_catch_a_wrong_gradient(gen):
    """The FD comparison is sharp enough to see a 1% error in the chain rule."""
    enc = make_encoding("quintic", 2, gen)
    x = away_from_faces(enc, random_points(enc, 60, gen, margin=0.01))
    with torch.no_grad():
        grad = fd_gradient(enc, x, 1e-5)
        jet = enc.jet(x, order=1)
    assert rel_err(jet.grad, grad) < 1e-6
    assert rel_err(jet.grad * 1.01, grad) > 1e-3
