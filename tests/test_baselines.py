"""Baselines: each trains on poisson2d (wiring, not speed); coordinate encodings, SIREN and
PirateNet jets agree with autograd; non-grid fields in solve and the fd derivatives."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import yaml
from conftest import assert_rel, autograd_derivatives

import smoothgrid as sg
from smoothgrid import baselines
from smoothgrid.encodings import FourierEncoding, GaussianEncoding, IdentityEncoding

DTYPE = torch.float64

# Small models and rates that train in 100 steps of 256 points on this smooth solution, and the
# fraction of the starting error each must get below. SIREN's omega0 = 30 suits images, not
# sin(pi x) sin(pi y) in 100 steps: a lower omega0 tests the same wiring. Quintic and cosine
# weights have zero slope at every vertex and a Laplacian that jumps across faces
# (BENCHMARKS.md's pitfalls): they train, but slowly (1.0 -> ~0.6 here).
GRID = dict(levels=4, max_res=16, log2_table=12, hidden=(32,))
TINY = {
    "pinn": (dict(hidden=(32, 32)), 1e-2, 0.2),
    "fourier_mlp": (dict(hidden=(32, 32), frequencies=16, scale=0.5), 1e-2, 0.2),
    "siren": (dict(hidden=(64, 64), omega0=5.0), 1e-3, 0.2),
    "piratenet": (dict(hidden=32, frequencies=16, scale=0.5), 1e-2, 0.2),
    "pig": (dict(gaussians=64), 1e-2, 0.2),
    "ingp_fd": (GRID, 1e-2, 0.2),
    "dinf_grid": (GRID, 1e-2, 0.2),
    "hermite": (GRID, 1e-2, 0.2),
    "rbf": (GRID, 1e-2, 0.2),
    "quintic": (GRID, 1e-2, 0.8),
    "cosine": (GRID, 1e-2, 0.8),
}


def tiny_poisson():
    return dataclasses.replace(sg.problems.make("poisson2d"), test_resolution=24)


def test_every_method_has_a_tiny_setting():
    assert set(TINY) == set(baselines.names())
    assert baselines.names(smoothgrid=False) == [
        "pinn", "fourier_mlp", "siren", "piratenet", "pig", "ingp_fd", "dinf_grid"
    ]  # fmt: skip
    assert set(baselines.describe()) == set(baselines.names())


@pytest.mark.parametrize("name", baselines.names())
def test_method_trains_on_poisson2d(name):
    options, lr, fraction = TINY[name]
    torch.manual_seed(0)
    field = baselines.make(name, dim=2, **options)
    problem = tiny_poisson()
    settings = {**baselines.settings(name), "lr": lr, "decoder_lr": lr}
    start = sg.solve(problem, field, steps=0, progress=False, **settings).metrics["rel_l2"]
    run = sg.solve(problem, field, steps=100, batch=256, eval_every=100, progress=False, **settings)
    assert run.metrics["rel_l2"] < fraction * start, (start, run.metrics["rel_l2"])


def test_solve_uses_the_fields_own_derivatives(tmp_path):
    torch.manual_seed(0)
    field = baselines.make("ingp_fd", dim=2, **GRID)
    assert field.derivatives == "fd"
    sg.solve(tiny_poisson(), field, steps=1, batch=16, progress=False, out=tmp_path)
    config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert config["derivatives"] == "fd"
    assert config["encoding"]["name"] == "linear"
    field = baselines.make("piratenet", dim=2, hidden=8, frequencies=4)
    sg.solve(
        tiny_poisson(), field, steps=1, batch=16, progress=False, out=tmp_path, derivatives="jet"
    )
    config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert config["derivatives"] == "jet" and config["field"]["decoder"]["name"] == "piratenet"
    assert config["field"]["decoder"]["hidden"] == 8
    assert config["encoding"] == {
        "name": "fourier",
        "dim": 2,
        "frequencies": 4,
        "scale": 1.0,
        "bounds": None,
        "periodic": [],
    }


def test_non_grid_field_rejects_grid_settings():
    field = baselines.make("pinn", dim=2, hidden=(8,))
    with pytest.raises(ValueError, match="needs a grid encoding"):
        sg.solve(tiny_poisson(), field, steps=1, curriculum="coarse_to_fine", progress=False)
    x = torch.rand(4, 2)
    with pytest.raises(ValueError, match="no grid cell"):
        field.jet(x, derivatives="fd")
    with pytest.raises(ValueError, match="no grid levels"):
        field.encoding.set_level_mask([True])
    with pytest.raises(ValueError, match="unknown method 'pin'"):
        baselines.make("pin", dim=2)
    with pytest.raises(ValueError, match="size must be"):
        baselines.make("pinn", dim=2, size="huge")


@pytest.mark.parametrize(
    "make_encoding",
    [
        lambda d, p: IdentityEncoding(d, bounds=([-1.0, 0.5, 0.0][:d], [2.0, 1.5, 3.0][:d]),
                                      periodic=p),
        lambda d, p: FourierEncoding(d, frequencies=5, scale=0.7,
                                     bounds=([-1.0, 0.5, 0.0][:d], [2.0, 1.5, 3.0][:d]),
                                     periodic=p),
        lambda d, p: GaussianEncoding(d, gaussians=12, features=3,
                                      bounds=([-1.0, 0.5, 0.0][:d], [2.0, 1.5, 3.0][:d]),
                                      periodic=p),
    ],
    ids=["identity", "fourier", "gaussians"],
)  # fmt: skip
@pytest.mark.parametrize("dim, periodic", [(1, ()), (2, (0,)), (3, (1, 2))])
def test_coordinate_encoding_jets_match_autograd(make_encoding, dim, periodic, gen):
    torch.manual_seed(1)
    enc = make_encoding(dim, periodic).double()
    lo, hi = enc.bounds
    x = lo + (hi - lo) * torch.rand(16, dim, generator=gen, dtype=DTYPE)
    value, grad, hess = autograd_derivatives(enc, x)
    jet = enc.jet(x, order=2, hessian=True)
    assert jet.channels == enc.out_features
    assert_rel(jet.value, value, 1e-12, "value")
    assert_rel(jet.grad, grad, 1e-12, "grad")
    assert_rel(jet.hess, hess, 1e-10, "hess")
    lap = enc.jet(x, order=2, lap_axes=(0,)).lap
    assert_rel(lap, hess[..., 0, 0], 1e-10, "lap")


def test_gaussian_encoding_wraps_on_a_periodic_axis_and_checks_its_arguments():
    enc = GaussianEncoding(2, gaussians=8, bounds=(0.0, 2.0), periodic=(1,))
    a, b = enc(torch.tensor([[0.3, 0.0]])), enc(torch.tensor([[0.3, 2.0]]))
    assert enc.out_features == 4 and torch.allclose(a, b, atol=1e-6)
    # Moving a Gaussian moves its bump: the features depend on the learnable centres.
    before = enc(torch.tensor([[0.5, 0.5]]))
    with torch.no_grad():
        enc.mu.add_(0.1)
    assert not torch.allclose(before, enc(torch.tensor([[0.5, 0.5]])))
    for bad in (dict(gaussians=0), dict(features=0), dict(sigma=0.0)):
        with pytest.raises(ValueError):
            GaussianEncoding(2, **bad)


def test_periodic_identity_encoding_wraps():
    enc = IdentityEncoding(2, bounds=(0.0, 2.0), periodic=(0,))
    a = enc(torch.tensor([[0.0, 0.3]]))
    b = enc(torch.tensor([[2.0, 0.3]]))
    assert enc.out_features == 3 and torch.allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("name, options", [
    ("siren", dict(hidden=(32, 32))),
    ("piratenet", dict(hidden=16, frequencies=6, blocks=2)),
    ("fourier_mlp", dict(hidden=(16,), frequencies=6)),
    ("pig", dict(gaussians=16, hidden=(8,))),
])  # fmt: skip
def test_field_jets_match_autograd(name, options, gen):
    torch.manual_seed(2)
    field = baselines.make(name, dim=2, periodic=(1,), **options).double()
    field.set_bounds([-1.0, 0.0], [1.0, 2.0])
    if name == "piratenet":  # open the residual blocks, which start as the identity
        with torch.no_grad():
            field.decoder.alpha.copy_(torch.tensor([0.6, 0.3]))
    x = torch.rand(12, 2, generator=gen, dtype=DTYPE) * torch.tensor([2.0, 2.0]) - torch.tensor(
        [1.0, 0.0]
    )
    ref = field.jet(x, order=2, hessian=True, derivatives="autograd")
    jet = field.jet(x, order=2, hessian=True, derivatives="jet")
    assert_rel(jet.value, ref.value, 1e-9, "value")
    assert_rel(jet.grad, ref.grad, 1e-9, "grad")
    assert_rel(jet.hess, ref.hess, 1e-9, "hess")


def test_factorized_linear_starts_as_its_glorot_weight():
    torch.manual_seed(3)
    layer = sg.nn.FactorizedLinear(4, 3)
    assert torch.allclose(layer.weight, torch.exp(layer.s)[:, None] * layer.v)
    h = torch.rand(5, 4)
    assert torch.allclose(layer(h), h @ layer.weight.t() + layer.bias)


def test_fd_backend_on_a_coordinate_field_with_a_step(gen):
    torch.manual_seed(4)
    field = baselines.make("pinn", dim=2, hidden=(16,)).double()
    field.set_bounds(-1.0, 1.0)
    x = torch.rand(8, 2, generator=gen, dtype=DTYPE) * 1.6 - 0.8
    ref = field.jet(x, order=2, derivatives="autograd")
    fd = field.jet(x, order=2, derivatives="fd", fd_step=1e-4)
    assert_rel(fd.grad, ref.grad, 1e-6, "grad")
    assert_rel(fd.lap, ref.lap, 1e-3, "lap")
