"""The smoke model: its space-time jets against autograd, and a whole training step (rendered
pixels + physics) of the first-order routes with second-order autograd made an error."""

from __future__ import annotations

import pytest
import torch

from smoothgrid.apps.smoke import SmokeConfig, simulate
from smoothgrid.apps.smoke.fit import SmokeOptions, SmokeTask, parse_method, transport_options
from smoothgrid.apps.smoke.model import smoke_model
from smoothgrid.apps.smoke.scenes import observe
from smoothgrid.train.settings import SettingsError

DTYPE = torch.float64


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("grid", ["quintic", "hermite"])
def test_space_time_jets_match_autograd(dim, grid):
    """Value, gradient in (x, t), the spatial Laplacian, the full Laplacian and the Hessian of
    (rho, u) equal double-backward autograd (float64)."""
    torch.manual_seed(0)
    lo, hi = [0.0] * dim + [0.4], [1.0] * dim + [0.9]
    model = smoke_model(dim, lo, hi, grid, time_bands=4, levels=3, max_res=16).to(DTYPE)
    x = torch.rand(16, dim + 1, dtype=DTYPE) * (torch.tensor(hi) - torch.tensor(lo)).to(DTYPE)
    x = x + torch.tensor(lo, dtype=DTYPE)
    for hessian, lap_axes in ((False, tuple(range(dim))), (False, None), (True, None)):
        jet = model.jet(x, 2, hessian, lap_axes, derivatives="jet")
        ref = model.jet(x, 2, hessian, lap_axes, derivatives="autograd")
        assert torch.allclose(jet.value, model(x), atol=1e-12)
        assert torch.allclose(jet.grad, ref.grad, atol=1e-9, rtol=1e-7)
        assert torch.allclose(jet.lap, ref.lap, atol=1e-7, rtol=1e-6)
        if hessian:
            assert torch.allclose(jet.hess, ref.hess, atol=1e-7, rtol=1e-6)
    assert (model(x)[:, 0] > 0).all()  # softplus density


@pytest.fixture(scope="module")
def scene():
    torch.set_num_threads(1)
    return observe(simulate(SmokeConfig(dim=2, resolution=16, frames=4, warmup=4)), views=2)


def _task(scene, method, kappa=1e-3, divergence=0.1):
    kind, routes = parse_method(method)
    options = SmokeOptions(rays=32, ray_samples=16, physics_points=16, levels=3, max_res=16,
                           time_bands=4, kappa=kappa, divergence_weight=divergence)  # fmt: skip
    torch.manual_seed(0)
    model = smoke_model(2, *scene.spacetime, "quintic", 4, levels=3, max_res=16)
    task = SmokeTask(model, scene, routes, options, transport_options(scene, kappa, True))
    task.before_step(1.0)
    samples = task.sample(torch.Generator().manual_seed(0), None, 0)
    return task, samples


@pytest.fixture
def forbid_create_graph(monkeypatch):
    """Turn any second-order autograd call (create_graph=True) into an error; count the
    calls of torch.autograd.backward."""
    grad, backward = torch.autograd.grad, torch.autograd.backward
    calls = {"backward": 0}

    def guarded_grad(*args, **kwargs):
        if kwargs.get("create_graph"):
            raise RuntimeError("second-order autograd: create_graph=True")
        return grad(*args, **kwargs)

    def guarded_backward(*args, **kwargs):
        if kwargs.get("create_graph"):
            raise RuntimeError("second-order autograd: create_graph=True")
        calls["backward"] += 1
        return backward(*args, **kwargs)

    monkeypatch.setattr(torch.autograd, "grad", guarded_grad)
    monkeypatch.setattr(torch.autograd, "backward", guarded_backward)
    return calls


def _names(loss):
    seen, stack, names = set(), [loss.grad_fn], []
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.append(type(node).__name__)
        stack.extend(n for n, _ in node.next_functions)
    return names


@pytest.mark.parametrize("method", ["weak", "fd", "jets", "semi_lagrangian", "weak+fd"])
def test_training_step_needs_no_second_order_autograd(scene, method, forbid_create_graph):
    """Pixels + physics (diffusion and divergence penalty on): one backward pass reaches every
    grid table and the decoder, and no node differentiates a backward function."""
    task, samples = _task(scene, method)
    loss, terms = task.loss(samples)
    assert set(terms) == {"pixels", "physics"} and float(terms["physics"].detach()) > 0
    assert not [n for n in _names(loss) if "BackwardBackward" in n]
    loss.backward()
    assert forbid_create_graph["backward"] == 1
    for p in task.model.parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0


def test_double_backward_baseline_needs_second_order_autograd(scene, forbid_create_graph):
    task, samples = _task(scene, "double_backward")
    with pytest.raises(RuntimeError, match="create_graph"):
        task.loss(samples)


def test_physics_weight_ramps_over_the_first_five_percent(scene):
    task, _ = _task(scene, "weak")
    weights = []
    for p in (0.0, 0.025, 0.05, 0.5):
        task.before_step(p)
        weights.append(task.weight)
    assert weights == pytest.approx([0.0, 0.05, 0.1, 0.1])


def test_bad_method_and_negative_kappa_are_refused():
    with pytest.raises(SettingsError, match="unknown smoke method 'wek'"):
        parse_method("wek")
    with pytest.raises(SettingsError, match="kappa must be >= 0"):
        SmokeOptions(kappa=-1e-5)
    assert parse_method("weak+fd") == ("grid", {"weak": 1.0, "fd": 1.0})
    assert parse_method("mlp") == ("mlp", {"jets": 1.0})
