"""A training step replayed from a CUDA graph: refusals on CPU, parity with eager steps on CUDA."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import smoothgrid as sg
from smoothgrid.problems import make
from smoothgrid.train import solve
from smoothgrid.train.graph import check_graphable
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
    with pytest.raises(ValueError, match="'jet' backend"):
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
