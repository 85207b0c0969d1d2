"""Analytic jets of every encoding against torch.autograd of its forward pass (float64)."""

from __future__ import annotations

import pytest
import torch
from conftest import GRID, assert_rel, autograd_derivatives, make_encoding, random_points

import smoothgrid as sg

NAMES = sg.encodings.names()
CASES = [(name, d) for name in NAMES for d in (1, 2, 3)] + [("hermite", 4), ("linear", 4)]
TOL = 1e-9


def test_registry_is_complete():
    assert set(NAMES) == {"linear", "smoothstep", "cosine", "quintic", "rbf", "hermite"}
    assert set(sg.encodings.describe()) == set(NAMES)


def hashed_log2(d: int) -> int:
    """A table size that makes the finer levels hash (the coarsest 1D level still fits)."""
    return 2 if d == 1 else 4


def build(name: str, d: int, storage: str, variant: str, gen):
    options = {}
    if variant == "offset":
        options.update(offset=True, bounds=(-1.0, 2.0))
    elif variant == "periodic":
        options["periodic"] = (0,)
    log2 = 16 if storage == "dense" else hashed_log2(d)
    enc = make_encoding(name, d, gen, log2_table=log2, **options)
    dense = [flag for layout in enc.layouts for flag in layout.dense]
    if storage == "dense":
        assert all(dense), enc.layouts[0]
    else:
        assert not all(dense), enc.layouts[0]
    if variant == "mask":
        enc.set_level_mask([True, False, True])
        assert enc.active_levels == [0, 2]
    return enc


def check_jets(enc, x, expect_zero_channels=()):
    """Value, gradient, Hessian and Laplacians of ``enc.jet`` against autograd of ``enc(x)``."""
    d = enc.dim
    value, grad, hess = autograd_derivatives(enc, x)
    assert value.shape == (x.shape[0], enc.out_features)
    assert grad.abs().max() > 0

    j2 = enc.jet(x, order=2, hessian=True)
    assert j2.hess is not None and j2.hess.shape == hess.shape
    assert_rel(j2.value, value, 1e-12, "value")
    assert_rel(j2.grad, grad, TOL, "grad")
    assert_rel(j2.hess, hess, TOL, "hessian")
    assert torch.equal(j2.hess, j2.hess.transpose(-1, -2))

    trace = torch.diagonal(hess, dim1=-2, dim2=-1).sum(-1)
    jl = enc.jet(x, order=2, hessian=False)
    assert jl.hess is None
    assert_rel(jl.value, value, 1e-12, "value (lap jet)")
    assert_rel(jl.grad, grad, TOL, "grad (lap jet)")
    assert_rel(jl.lap, trace, TOL, "laplacian")

    j1 = enc.jet(x, order=1)
    assert j1.order == 1
    assert_rel(j1.grad, grad, TOL, "grad (order 1)")
    j0 = enc.jet(x, order=0)
    assert j0.order == 0
    assert_rel(j0.value, value, 1e-12, "value (order 0)")

    if d >= 2:
        j0axis = enc.jet(x, order=2, hessian=False, lap_axes=(0,))
        assert_rel(j0axis.lap, hess[..., 0, 0], TOL, "laplacian over axis 0")
        axes = (d - 1, 0)
        partial = hess[..., 0, 0] + hess[..., d - 1, d - 1]
        assert_rel(enc.jet(x, 2, False, axes).lap, partial, TOL, "laplacian over 2 axes")
        assert_rel(enc.jet(x, 2, True, axes).lap, partial, TOL, "trace over 2 axes")

    for c in expect_zero_channels:
        for part in (j2.value, j2.grad, j2.hess, jl.lap, j1.grad, value):
            assert torch.all(part[:, c] == 0), f"masked channel {c} is not exactly zero"
    return j2, jl


@pytest.mark.parametrize("variant", ["plain", "offset", "periodic", "mask"])
@pytest.mark.parametrize("storage", ["dense", "hashed"])
@pytest.mark.parametrize("name,d", CASES)
def test_jet_matches_autograd(name, d, storage, variant, gen):
    enc = build(name, d, storage, variant, gen)
    x = random_points(enc, 16, gen)
    F = GRID["features"]
    masked = range(F, 2 * F) if variant == "mask" else ()
    j2, jl = check_jets(enc, x, masked)
    if variant == "mask":
        live = [c for c in range(enc.out_features) if c not in masked]
        assert j2.value[:, live].abs().min() > 0
    if name == "linear":
        # d-linear: no pure second derivatives (the mixed ones are not zero for d >= 2).
        assert torch.all(torch.diagonal(j2.hess, dim1=-2, dim2=-1) == 0)
        assert torch.all(jl.lap == 0)
        if d >= 2:
            assert j2.hess[..., 0, 1].abs().max() > 0
    else:
        assert jl.lap.abs().max() > 0


def test_jet_accepts_points_on_box_faces_and_vertices(gen):
    """Points on the box's faces and corners (the clamped last cell) still match autograd."""
    enc = make_encoding("hermite", 2, gen, offset=False)
    lo, hi = enc.bounds
    x = random_points(enc, 8, gen)
    x[:4, 0] = lo[0]
    x[4:, 0] = hi[0]
    x[::2, 1] = hi[1]
    check_jets(enc, x)


@pytest.mark.parametrize("name", ["hermite", "rbf", "linear"])
def test_float32_jet_close_to_float64(name, gen):
    """A float32 encoding gives the float64 jet to single precision."""
    enc64 = make_encoding(name, 2, gen, log2_table=4)
    enc32 = sg.encodings.make(name, 2, log2_table=4, bounds=([-1.0, 0.5], [2.0, 1.5]), **GRID)
    enc32.load_state_dict(enc64.state_dict())
    enc32.float()
    x = random_points(enc64, 16, gen)
    order = 1 if name == "linear" else 2
    j64 = enc64.jet(x, order=order, hessian=True)
    j32 = enc32.jet(x.float(), order=order, hessian=True)
    assert j32.value.dtype == torch.float32
    assert_rel(j32.value.double(), j64.value, 1e-5, "value")
    assert_rel(j32.grad.double(), j64.grad, 1e-4, "grad")
    if order == 2:
        assert_rel(j32.hess.double(), j64.hess, 1e-3, "hessian")


@pytest.mark.parametrize("name", ["quintic", "hermite", "rbf"])
def test_level_scale_multiplies_level_and_its_derivatives(name, gen):
    enc = make_encoding(name, 2, gen)
    x = random_points(enc, 10, gen)
    before = enc.jet(x, order=2, hessian=True)
    enc.set_level_scale([1.0, 3.0, 0.5])
    after = enc.jet(x, order=2, hessian=True)
    factor = torch.tensor([1.0, 1.0, 3.0, 3.0, 0.5, 0.5], dtype=torch.float64)
    assert_rel(after.value, before.value * factor, 1e-12, "value")
    assert_rel(after.grad, before.grad * factor[:, None], 1e-12, "grad")
    assert_rel(after.hess, before.hess * factor[:, None, None], 1e-12, "hessian")
    check_jets(enc, x)


@pytest.mark.parametrize("name", ["quintic", "hermite", "rbf", "linear"])
def test_soft_level_weights_multiply_levels_and_their_table_gradients(name, gen):
    enc = make_encoding(name, 2, gen)
    x = random_points(enc, 10, gen)
    order = 1 if name == "linear" else 2
    before = enc.jet(x, order=order, hessian=order == 2)
    enc.set_level_weights([1.0, 0.25, 0.0])
    after = enc.jet(x, order=order, hessian=order == 2)
    factor = torch.tensor([1.0, 1.0, 0.25, 0.25, 0.0, 0.0], dtype=torch.float64)
    assert_rel(after.value, before.value * factor, 1e-12, "value")
    assert_rel(after.grad, before.grad * factor[:, None], 1e-12, "grad")
    if order == 2:
        assert_rel(after.hess, before.hess * factor[:, None, None], 1e-12, "hessian")
    after.value.sum().backward()
    layout = enc.layouts[0]
    finest = enc.tables[0].grad[layout.start[2] : layout.start[2] + layout.rows[2]]
    assert finest.abs().max() == 0 and enc.tables[0].grad.abs().max() > 0
    # saved with the field; a state dict from before the weights existed loads as all 1
    twin = make_encoding(name, 2, gen)
    twin.load_state_dict(enc.state_dict())
    assert torch.equal(twin.level_weight, enc.level_weight)
    old = {k: v for k, v in enc.state_dict().items() if k != "level_weight"}
    twin.load_state_dict(old)
    assert bool((twin.level_weight == 1).all())


def test_set_bounds_rescales_derivatives(gen):
    """Doubling the box's extent halves gradients and quarters Hessians at the same unit point."""
    enc = make_encoding("hermite", 2, gen, bounds=(0.0, 1.0))
    u = random_points(enc, 10, gen)
    ref = enc.jet(u, order=2, hessian=True)
    enc.set_bounds([-1.0, 3.0], [1.0, 4.0])
    x = torch.stack([-1.0 + 2.0 * u[:, 0], 3.0 + u[:, 1]], 1)
    moved = enc.jet(x, order=2, hessian=True)
    inv = torch.tensor([0.5, 1.0], dtype=torch.float64)
    assert_rel(moved.value, ref.value, 1e-12, "value")
    assert_rel(moved.grad, ref.grad * inv, 1e-12, "grad")
    assert_rel(moved.hess, ref.hess * inv[:, None] * inv, 1e-12, "hessian")
