"""A training step replayed from a CUDA graph: refusals on CPU, parity with eager steps on CUDA."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import smoothgrid as sg
from smoothgrid.problems import make
from smoothgrid.train import solve
from smoothgrid.train.graph import GraphedStep, check_graphable
from smoothgrid.train.optim import grid_decoder_adam, set_rates

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def tiny_field(seed: int = 0) -> sg.Field:
    torch.manual_seed(seed)
    enc = sg.encodings.make(
        "hermite", dim=2, levels=4, features=2, min_res=4, max_res=32, log2_table=12
    )
    return sg.Field(enc, hidden=(16,), out=1)


def tiny_poisson():
    return dataclasses.replace(make("poisson2d"), test_resolution=32)


def test_graph_refuses_cpu_and_non_jet_backends():
    with pytest.raises(ValueError, match="CUDA device"):
        check_graphable(torch.device("cpu"), "jet")
    with pytest.raises(ValueError, match="derivatives='jet'"):
        check_graphable(torch.device("cuda"), "autograd")
    with pytest.raises(ValueError, match="CUDA device"):
        solve(tiny_poisson(), tiny_field(), steps=2, batch=64, progress=False, cuda_graph=True)


def test_set_rates_scales_float_and_tensor_rates():
    field = tiny_field()
    optimizer = grid_decoder_adam(field, 1e-2, 1e-3)
    set_rates(optimizer, 0.5)
    assert [g["lr"] for g in optimizer.param_groups] == [5e-3, 5e-4]
    rate = torch.tensor(1e-2)
    optimizer.param_groups[0]["lr"] = rate
    set_rates(optimizer, 0.25)
    assert optimizer.param_groups[0]["lr"] is rate and float(rate) == pytest.approx(2.5e-3)


@cuda
@pytest.mark.parametrize("curriculum", [None, "coarse_to_fine"])
def test_graphed_solve_matches_eager_solve(curriculum):
    """Same seed, same points: the replayed steps give the eager run's losses and errors."""
    runs = []
    for graph in (False, True):
        field = tiny_field()
        result = solve(
            tiny_poisson(), field, steps=60, batch=512, eval_every=20, device="cuda",
            decay="cosine", curriculum=curriculum, progress=False, cuda_graph=graph,
        )  # fmt: skip
        runs.append(result)
    eager, graphed = (
        torch.tensor([[row["loss"], row["rel_l2"]] for row in r.history]) for r in runs
    )
    # Atomic adds in the kernels make runs differ in the last bits; a stale rate or a missed
    # update would differ by far more than 1%.
    assert torch.allclose(graphed, eager, rtol=1e-2, atol=1e-7), (graphed, eager)
    assert graphed[-1, 1] < 0.5 * graphed[0, 1]


def test_graphed_step_warms_up_each_configuration_before_recording(monkeypatch):
    """Which path each call takes: ``warmup`` eager steps per configuration, one recording,
    then replays; a new key (other active levels) starts over."""
    monkeypatch.setattr(torch.cuda, "Stream", lambda: None)
    field = tiny_field()
    optimizer = torch.optim.Adam(
        [{"params": list(field.parameters()), "lr": torch.tensor(1e-2)}], capturable=True
    )
    step = GraphedStep(lambda s: (torch.zeros(()), {}), optimizer, warmup=2)
    calls: list[str] = []
    monkeypatch.setattr(step, "_eager", lambda s: calls.append("eager") or (None, {}))

    class Replay:
        def replay(self) -> None:
            calls.append("replay")

    def record(samples, key):
        calls.append(f"record {key}")
        step._graph, step._key, step._outputs = Replay(), key, (None, {})

    monkeypatch.setattr(step, "_record", record)
    samples = {"residual": {"x": torch.zeros(4, 2)}}
    monkeypatch.setattr("smoothgrid.train.graph._copy_into", lambda static, fresh: None)
    for key in ["A", "A", "A", "A", "B", "B", "B", "A"]:
        step(samples, key)
    assert calls == [
        "eager", "eager", "record A", "replay", "replay",
        "eager", "eager", "record B", "replay",
        "eager",
    ]  # fmt: skip


def test_graphed_step_needs_tensor_rates_and_capturable_adam():
    field = tiny_field()
    with pytest.raises(ValueError, match="capturable=True"):
        GraphedStep(lambda s: (torch.zeros(()), {}), grid_decoder_adam(field, 1e-2, 1e-3))
