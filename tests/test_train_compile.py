"""``compile=True``: the compiled decoder jet against the eager one, a curriculum under
compilation, the eager fallback and the refusals."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import smoothgrid as sg
from smoothgrid.nn import mlp_jet
from smoothgrid.problems import make
from smoothgrid.train import SettingsError, solve
from smoothgrid.train.compiled import CompiledDecoders, batch_key
from smoothgrid.train.losses import Objective
from smoothgrid.train.settings import Points


def tiny_field(seed: int = 0) -> sg.Field:
    torch.manual_seed(seed)
    enc = sg.encodings.make(
        "hermite", dim=2, levels=3, features=2, min_res=4, max_res=16, log2_table=10
    )
    return sg.Field(enc, hidden=(8,), out=1)


def tiny_problem(name: str = "helmholtz2d"):
    return dataclasses.replace(make(name), test_resolution=16)


@pytest.mark.slow
def test_compiled_loss_and_gradients_match_eager():
    problem, field = tiny_problem(), tiny_field()
    field.set_bounds(*problem.domain.bounds)
    field.encoding.set_level_mask([True, True, False])
    objective = Objective(problem, field, Points(batch=64))
    samples = objective.sample(torch.Generator().manual_seed(0))
    params = list(field.parameters())
    loss, terms = objective.loss_and_terms(samples)
    grads = torch.autograd.grad(loss, params)
    with CompiledDecoders(field) as compiled:
        assert compiled.warm_up(objective.loss_and_terms, samples, params) and compiled.active
        assert not compiled.warm_up(objective.loss_and_terms, samples, params)  # shapes done
        assert field.decoder.jet_function is not mlp_jet
        loss_c, terms_c = objective.loss_and_terms(samples)
        grads_c = torch.autograd.grad(loss_c, params)
    assert field.decoder.jet_function is mlp_jet  # eager again after the run
    assert set(terms_c) == set(terms)
    assert torch.allclose(loss_c, loss, rtol=1e-5, atol=0)
    for g_c, g in zip(grads_c, grads):
        scale = g.abs().max()
        assert (g_c - g).abs().max() <= 1e-5 * scale + 1e-7, (g_c - g).abs().max() / scale


@pytest.mark.slow
def test_compiled_solve_with_a_curriculum_matches_eager():
    """Levels switch on during the run; the compiled steps follow the eager run's losses."""
    histories = []
    for compile_ in (False, True):
        result = solve(
            tiny_problem("poisson2d"), tiny_field(), steps=24, batch=128, eval_every=4, seed=0,
            lr=0.05, curriculum="coarse_to_fine", progress=False, compile=compile_,
        )  # fmt: skip
        rows = [[row["loss"], row["rel_l2"], row["levels"]] for row in result.history]
        histories.append(torch.tensor(rows))
    eager, compiled = histories
    assert compiled[:, 2].tolist() == eager[:, 2].tolist() and eager[0, 2] < eager[-1, 2]
    assert torch.allclose(compiled, eager, rtol=1e-3), (compiled, eager)
    assert compiled[-1, 0] < 0.6 * compiled[0, 0] and compiled[-1, 1] < compiled[0, 1]


def test_compile_failure_falls_back_to_eager_with_a_warning(monkeypatch):
    def unavailable(*args, **kwargs):
        raise RuntimeError("no compiler here")

    monkeypatch.setattr(torch, "compile", unavailable)
    field = tiny_field()
    with pytest.warns(RuntimeWarning, match="no compiler here.*eager"):
        compiled = CompiledDecoders(field)
    assert not compiled.active and "RuntimeError" in compiled.failure
    with compiled:
        assert field.decoder.jet_function is mlp_jet
        assert not compiled.warm_up(lambda s: (torch.zeros(()), {}), {}, [])


def test_a_failing_compilation_falls_back_during_warm_up(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("inductor failed")

    monkeypatch.setattr(torch, "compile", lambda function, **kw: broken)
    field = tiny_field()
    x = torch.rand(5, 2)
    with CompiledDecoders(field) as compiled:
        with pytest.warns(RuntimeWarning, match="inductor failed"):
            assert not compiled.warm_up(lambda s: (field.jet(s["r"]["x"]).value.sum(), {}),
                                        {"r": {"x": x}}, list(field.parameters()))  # fmt: skip
        assert not compiled.active and field.decoder.jet_function is mlp_jet
        assert field.jet(x).lap.shape == (5, 1)


def test_batch_key_sees_shapes_not_the_rad_pool():
    a = {"residual": {"x": torch.zeros(8, 2)}, "_rad_pool": {"x": torch.zeros(64, 2)}}
    b = {"residual": {"x": torch.ones(8, 2)}, "_rad_pool": {"x": torch.zeros(32, 2)}}
    c = {"residual": {"x": torch.zeros(7, 2)}}
    assert batch_key(a) == batch_key(b) != batch_key(c)


@pytest.mark.parametrize("derivatives", ["autograd", "fd"])
def test_compile_refuses_derivatives_without_a_jet(derivatives):
    with pytest.raises(SettingsError, match=f"needs derivatives='jet', got '{derivatives}'"):
        solve(tiny_problem(), tiny_field(), steps=1, batch=16, progress=False, compile=True,
              derivatives=derivatives)  # fmt: skip
