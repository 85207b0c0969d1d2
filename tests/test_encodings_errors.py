"""Bad input and bad configuration raise clear errors."""

from __future__ import annotations

import pytest
import torch
from conftest import GRID, make_encoding, random_points

import smoothgrid as sg
from smoothgrid.encodings import level_resolutions

make = sg.encodings.make


@pytest.fixture
def enc2(gen):
    return make_encoding("quintic", 2, gen, bounds=(-1.0, 2.0))


# ------------------------------------------------------------------ input points
@pytest.mark.parametrize("shape", [(5,), (5, 3), (5, 1), (2, 5, 2)])
def test_wrong_shape(enc2, shape):
    x = torch.zeros(shape, dtype=torch.float64)
    for call in (enc2, enc2.jet):
        with pytest.raises(ValueError, match=r"x must have shape \(B, 2\) for a 2D encoding"):
            call(x)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool])
def test_integer_points(enc2, dtype):
    with pytest.raises(TypeError, match="floating point"):
        enc2(torch.zeros(4, 2, dtype=dtype))
    with pytest.raises(TypeError, match="floating point"):
        enc2.jet(torch.zeros(4, 2, dtype=dtype), order=1)


def test_not_a_tensor(enc2):
    with pytest.raises(TypeError, match="torch.Tensor"):
        enc2([[0.0, 0.0]])


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_points(gen, bad):
    for clamp in (False, True):
        enc = make_encoding("hermite", 2, gen, clamp=clamp)
        x = torch.zeros(3, 2, dtype=torch.float64)
        x[1, 1] = bad
        with pytest.raises(ValueError, match="NaN or infinite"):
            enc(x)
        with pytest.raises(ValueError, match="NaN or infinite"):
            enc.jet(x)


def test_points_outside_the_box(enc2):
    x = torch.tensor([[0.0, 0.0], [2.5, 0.0], [0.0, -1.1]], dtype=torch.float64)
    with pytest.raises(ValueError, match=r"2 of 3 points lie outside the encoding's box"):
        enc2(x)
    with pytest.raises(ValueError, match="clamp=True"):
        enc2.jet(x, order=1)
    # Within the documented rounding tolerance is fine.
    enc2(torch.tensor([[2.0 + 1e-7, -1.0 - 1e-7]], dtype=torch.float64))


def test_an_encoding_without_bounds_works_on_the_unit_box_and_says_so():
    enc = sg.encodings.make("quintic", 2, levels=2, min_res=4, max_res=8)
    assert not enc.has_bounds
    assert torch.equal(enc.bounds, torch.tensor([[0.0, 0.0], [1.0, 1.0]], dtype=torch.float64))
    enc(torch.rand(4, 2))  # points of the unit box are fine
    with pytest.raises(ValueError, match=r"the default unit box: no bounds were given.*set_bounds"):
        enc(torch.tensor([[-0.5, 0.5]]))
    enc.set_bounds(-1.0, 1.0)
    with pytest.raises(ValueError, match=r"hi=\[1.0, 1.0\]; fix the points") as info:
        enc(torch.tensor([[-1.5, 0.5]]))
    assert "default unit box" not in str(info.value)


@pytest.mark.parametrize("name", sg.encodings.names())
def test_clamp_accepts_outside_points_as_their_clamped_images(name, gen):
    enc = make_encoding(name, 2, gen, bounds=(-1.0, 2.0), clamp=True)
    x = torch.tensor([[2.5, 0.3], [-4.0, 1.0], [0.5, 7.0], [-1.5, -1.2]], dtype=torch.float64)
    inside = x.clamp(-1.0, 2.0)
    assert torch.allclose(enc(x), enc(inside), rtol=0, atol=1e-14)
    assert enc(x).abs().max() > 0
    unclamped = make_encoding(name, 2, gen, bounds=(-1.0, 2.0))
    unclamped.load_state_dict(enc.state_dict())
    assert torch.allclose(unclamped(inside), enc(x), rtol=0, atol=1e-14)


# ------------------------------------------------------------- configuration
def test_unknown_encoding_lists_known_names():
    with pytest.raises(ValueError, match="unknown encoding 'bspline'") as info:
        make("bspline", 2)
    for name in sg.encodings.names():
        assert name in str(info.value)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(levels=0), "levels must be an integer >= 1"),
        (dict(levels=2.0), "levels must be an integer >= 1"),
        (dict(features=0), "features must be an integer >= 1"),
        (dict(log2_table=0), "log2_table must be an integer in 1..30"),
        (dict(log2_table=31), "log2_table must be an integer in 1..30"),
        (dict(min_res=0), "min_res <= max_res"),
        (dict(min_res=12, max_res=6), "min_res <= max_res"),
        (dict(periodic=(2,)), r"periodic axes must lie in 0..1"),
        (dict(bounds=(1.0, 1.0)), "finite lo < hi"),
        (dict(bounds=([0.0, 2.0], [1.0, 1.0])), "finite lo < hi"),
        (dict(bounds=(0.0, float("inf"))), "finite lo < hi"),
    ],
)
@pytest.mark.parametrize("name", sg.encodings.names())
def test_bad_grid_options(name, kwargs, match):
    options = {**GRID, **kwargs}
    with pytest.raises(ValueError, match=match):
        make(name, 2, **options)


@pytest.mark.parametrize("dim", [0, 5, -1, 2.0])
@pytest.mark.parametrize("name", sg.encodings.names())
def test_bad_dim(name, dim):
    with pytest.raises(ValueError, match=r"dim must be an integer in 1..4"):
        make(name, dim, **GRID)


@pytest.mark.parametrize(
    "name,kwargs,match",
    [
        ("rbf", dict(rings=0), "rings must be an integer >= 1"),
        ("rbf", dict(rings=1.5), "rings must be an integer >= 1"),
        ("rbf", dict(eps=0.0), "eps must be > 0"),
        ("rbf", dict(eps=-1.0), "eps must be > 0"),
        ("rbf", dict(eps=float("nan")), "eps must be > 0"),
        ("linear", dict(st_lambda=-0.1), "st_lambda must be >= 0"),
        ("linear", dict(st_lambda=0.5, st_smooth="linear"), "st_smooth must be one of"),
        ("linear", dict(st_lambda=0.5, st_smooth="cubic"), "st_smooth must be one of"),
        ("hermite", dict(log2_tables=(10, 10)), r"log2_tables needs 3 integers"),
        ("hermite", dict(log2_tables=(10, 10, 10, 10)), r"log2_tables needs 3 integers"),
        ("hermite", dict(log2_tables=(10, 0, 10)), r"log2_tables needs 3 integers in 1..30"),
        ("hermite", dict(log2_tables=(10, 10, 8.0)), r"log2_tables needs 3 integers"),
    ],
)
def test_bad_encoding_options(name, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make(name, 2, **GRID, **kwargs)


def test_hermite_1d_takes_two_table_sizes():
    with pytest.raises(ValueError, match=r"log2_tables needs 2 integers .* 1D Hermite"):
        make("hermite", 1, **GRID, log2_tables=(8, 8, 8))
    enc = make("hermite", 1, **GRID, log2_tables=(8, 6))
    assert len(enc.tables) == 2


def test_bad_smooth_step():
    with pytest.raises(ValueError, match="step must be smoothstep, cosine or quintic"):
        sg.encodings.SmoothEncoding(2, step="linear", **GRID)


# ------------------------------------------------------------ jets and setters
@pytest.mark.parametrize("order", [3, -1, 1.5])
def test_bad_jet_order(enc2, order):
    x = torch.zeros(2, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="derivative order must be 0, 1 or 2"):
        enc2.jet(x, order=order)
    with pytest.raises(ValueError, match="derivative order must be 0, 1 or 2"):
        sg.Jet.coordinates(x, order=order)


@pytest.mark.parametrize("axes", [(2,), (-1,), (), (0, 0), (0, 1, 2)])
def test_bad_lap_axes(enc2, axes):
    x = torch.zeros(2, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"lap_axes must be distinct axes in 0..1"):
        enc2.jet(x, order=2, lap_axes=axes)


@pytest.mark.parametrize(
    "lo,hi", [(1.0, 1.0), (2.0, 1.0), ([0.0, 1.0], [1.0, 0.5]), (float("nan"), 1.0)]
)
def test_bad_set_bounds_keeps_the_old_box(enc2, lo, hi):
    before = enc2.bounds.clone()
    with pytest.raises(ValueError, match="bounds need finite lo < hi on every axis"):
        enc2.set_bounds(lo, hi)
    assert torch.equal(enc2.bounds, before)


@pytest.mark.parametrize("mask", [[True, True], [True] * 4, [False] * 3, []])
def test_bad_level_mask(enc2, mask):
    with pytest.raises(ValueError, match="level mask needs 3 booleans with at least one true"):
        enc2.set_level_mask(mask)
    assert enc2.active_levels == [0, 1, 2]


@pytest.mark.parametrize("scale", [[1.0, 1.0], [1.0, 0.0, 1.0], [1.0, -2.0, 1.0]])
def test_bad_level_scale(enc2, scale):
    with pytest.raises(ValueError, match="level scale needs 3 positive numbers"):
        enc2.set_level_scale(scale)


@pytest.mark.parametrize("weights", [[1.0, 1.0], [1.0, 1.5, 0.0], [1.0, -0.1, 1.0]])
def test_bad_level_weights(enc2, weights):
    with pytest.raises(ValueError, match=r"level weights need 3 numbers in \[0, 1\]"):
        enc2.set_level_weights(weights)
    assert bool((enc2.level_weight == 1).all())


def test_coordinate_encodings_have_no_levels_to_weigh():
    enc = sg.encodings.IdentityEncoding(2)
    with pytest.raises(ValueError, match="no grid levels to weigh"):
        enc.set_level_weights([1.0])


def test_level_resolutions_validates():
    with pytest.raises(ValueError, match="levels must be >= 1"):
        level_resolutions(4, 8, 0)
    with pytest.raises(ValueError, match="min_res <= max_res"):
        level_resolutions(8, 4, 2)


def test_straight_through_refuses_second_derivatives(gen):
    enc = make_encoding("linear", 2, gen, st_lambda=0.5)
    x = random_points(enc, 4, gen)
    enc.jet(x, order=1)
    for hessian in (False, True):
        with pytest.raises(ValueError, match="no second derivatives.*PDE residuals"):
            enc.jet(x, order=2, hessian=hessian)
