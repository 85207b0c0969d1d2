"""Recorded constructor options: every encoding, decoder and field rebuilds from its config."""

from __future__ import annotations

import inspect
import json

import pytest
import torch
import yaml

import smoothgrid as sg
from smoothgrid import baselines
from smoothgrid.nn import MLP, FactorizedLinear, PirateNet, decoder_from_config

SMALL = dict(levels=3, features=2, min_res=3, max_res=12, log2_table=6)

# Non-default values of every option each encoding has (beyond the grid's size above).
GRID_OPTIONS = dict(
    bounds=([-1.0, 0.5], [2.0, 1.5]), offset=True, periodic=(1,), init_scale=0.3, impl="torch"
)
ENCODINGS = [
    ("linear", {**GRID_OPTIONS, "st_lambda": 0.3, "st_smooth": "smoothstep", "st_mode": "corner"}),
    ("smoothstep", GRID_OPTIONS),
    ("cosine", {**GRID_OPTIONS, "clamp": True}),
    ("quintic", GRID_OPTIONS),
    ("hermite", {**GRID_OPTIONS, "deriv_init": 0.2, "log2_tables": (5, 6, 7)}),
    ("hermite", {**GRID_OPTIONS, "mixed": False}),
    ("rbf", {**GRID_OPTIONS, "eps": 0.7, "rings": 3, "window": "bump"}),
]
_GRID_METHODS = {"ingp_fd", "dinf_grid", "hermite", "rbf", "quintic", "cosine"}
COORDINATES = [
    sg.encodings.IdentityEncoding(2, bounds=(-1.0, 3.0), periodic=(0,)),
    sg.encodings.FourierEncoding(2, frequencies=5, scale=2.5, periodic=(1,)),
    sg.encodings.GaussianEncoding(2, gaussians=7, features=3, sigma=0.2, init_scale=0.5),
]


def _through_yaml_and_json(config: dict) -> dict:
    """What a run directory's config.yaml (and a JSON record) gives back."""
    text = yaml.safe_dump(config, sort_keys=False)
    assert yaml.safe_load(text) == config
    return json.loads(json.dumps(yaml.safe_load(text)))


def _constructor_options(cls) -> set[str]:
    """Every named constructor parameter along the class chain that reaches the instance."""
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass.__module__.startswith("torch"):
            continue
        params = inspect.signature(init).parameters.values()
        names |= {p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            break
    return names - {"self"}


def _same_features(a, b, x: torch.Tensor) -> None:
    assert torch.equal(a(x), b(x))


@pytest.mark.parametrize("name,options", ENCODINGS)
def test_grid_encodings_rebuild_from_their_config(name, options, gen):
    enc = sg.encodings.make(name, 2, **SMALL, **options).double()
    config = _through_yaml_and_json(enc.config())
    assert config["name"] == name and config["dim"] == 2
    assert _constructor_options(type(enc)) <= set(config), "an option is not recorded"
    for key, value in options.items():  # the non-default values themselves
        expected = json.loads(json.dumps(value))
        assert config[key] == expected, key
    twin = sg.encodings.from_config(config).double()
    twin.load_state_dict(enc.state_dict())
    lo, hi = enc.bounds
    x = lo + (hi - lo) * torch.rand(40, 2, generator=gen, dtype=torch.float64)
    _same_features(twin, enc, x)
    assert twin.config() == enc.config()


@pytest.mark.parametrize("enc", COORDINATES, ids=lambda e: e.name)
def test_coordinate_encodings_rebuild_from_their_config(enc, gen):
    config = _through_yaml_and_json(enc.config())
    assert _constructor_options(type(enc)) <= set(config)
    assert "clamp" not in config  # an option of the base class that these do not take
    twin = sg.encodings.from_config(config)
    twin.load_state_dict(enc.state_dict())
    lo, hi = enc.bounds
    _same_features(twin, enc, lo + (hi - lo) * torch.rand(9, 2, generator=gen).double())
    assert twin.config() == enc.config()


def test_unknown_encoding_in_a_config_names_the_nearest():
    with pytest.raises(ValueError, match="Did you mean 'hermite'"):
        sg.encodings.from_config({"name": "hermit", "dim": 2})
    config = {"name": "quintic", "levels": 2, "min_res": 4, "max_res": 8}
    enc = sg.encodings.from_config(config, dim=3)
    assert enc.dim == 3 and enc.levels == 2


@pytest.mark.parametrize(
    "decoder",
    [
        MLP(6, hidden=(8, 5), out=2, activation="sin", omega0=12.0),
        PirateNet(6, hidden=8, blocks=1, out=2, activation="silu"),
        FactorizedLinear(6, 3, mean=0.5, std=0.2),
    ],
    ids=lambda d: d.name,
)
def test_decoders_rebuild_from_their_config(decoder, gen):
    config = _through_yaml_and_json(decoder.config())
    assert _constructor_options(type(decoder)) <= set(config)
    twin = decoder_from_config(config)
    twin.load_state_dict(decoder.state_dict())
    _same_features(twin, decoder, torch.rand(7, 6, generator=gen))
    with pytest.raises(ValueError, match="unknown decoder"):
        decoder_from_config({"name": "transformer"})


def _roundtrip_field(field: sg.Field, gen: torch.Generator) -> sg.Field:
    config = _through_yaml_and_json(field.config())
    twin = sg.Field.from_config(config)
    twin.load_state_dict(field.state_dict())
    assert twin.config() == field.config()
    x = torch.rand(11, field.dim, generator=gen)
    assert torch.equal(twin(x), field(x))
    return twin


def test_field_records_every_option_and_rebuilds(gen):
    enc = sg.encodings.make("hermite", 2, **SMALL, bounds=(-1.0, 1.0))
    field = sg.Field(enc, hidden=(9,), out=2, activation="softplus", derivatives="autograd")
    assert field.fd_cells is None
    config = field.config()
    assert config["field"] == {
        "hidden": [9],
        "out": 2,
        "activation": "softplus",
        "omega0": 30.0,
        "decoder": None,
        "derivatives": "autograd",
        "fd_cells": None,
        "decoder_impl": "torch",
    }
    twin = _roundtrip_field(field, gen)
    assert twin.derivatives == "autograd"


def test_field_with_another_decoder_records_it_but_not_the_constraint(gen):
    enc = sg.encodings.FourierEncoding(2, frequencies=4, bounds=(0.0, 1.0))
    decoder = PirateNet(enc.out_features, hidden=8, blocks=1, out=1)
    constraint = sg.HardConstraint(lambda X: X[..., 0] * (1 - X[..., 0]))
    field = sg.Field(enc, out=1, decoder=decoder, constraint=constraint)
    config = field.config()
    assert config["field"]["decoder"]["name"] == "piratenet"
    assert "constraint" not in config["field"] and "encoding" not in config["field"]
    twin = sg.Field.from_config(config, constraint=constraint)
    twin.load_state_dict(field.state_dict())
    x = torch.rand(6, 2, generator=gen)
    assert torch.equal(twin(x), field(x))


@pytest.mark.parametrize("name", baselines.names())
def test_every_method_of_the_benchmarks_round_trips(name, gen):
    torch.manual_seed(0)
    small = {"levels": 3, "max_res": 16, "log2_table": 8} if name in _GRID_METHODS else {}
    field = baselines.make(name, dim=2, **small)
    field.set_bounds(-1.0, 2.0)
    twin = _roundtrip_field(field, gen)
    assert twin.derivatives == baselines.METHODS[name].derivatives


def test_derivatives_are_the_fields_own_and_validated(gen):
    enc = sg.encodings.make("quintic", 2, **SMALL)
    field = sg.Field(enc, hidden=(8,), derivatives="fd").double()
    x = torch.rand(5, 2, generator=gen, dtype=torch.float64) * 0.8 + 0.1
    own, fd = field.jet(x), field.jet(x, derivatives="fd")
    assert torch.equal(own.lap, fd.lap)
    assert not torch.equal(own.lap, field.jet(x, derivatives="jet").lap)
    field.derivatives = "autograd"
    assert field.config()["field"]["derivatives"] == "autograd"
    with pytest.raises(ValueError, match="unknown derivative method 'jets'"):
        field.derivatives = "jets"
    with pytest.raises(ValueError, match="known: jet, autograd, fd"):
        sg.Field(enc, derivatives="double_backward")


def test_a_function_in_the_options_is_refused_with_its_name():
    from smoothgrid.options import plain

    with pytest.raises(TypeError, match=r"field.hidden\[1\]"):
        plain({"hidden": [4, print]}, "field")
