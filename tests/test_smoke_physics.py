"""The transport residual routes: zero on exact transport, positive on a wrong velocity, their
orders of accuracy, and first-order autograd only (no create_graph) for all but the baseline."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import smoothgrid as sg
from smoothgrid.apps.smoke import (
    FIRST_ORDER_ROUTES,
    ROUTES,
    JetModel,
    SmokeConfig,
    TransportOptions,
    physics_loss,
    residuals,
    rotating_blob,
    simulate,
    translating_blob,
)
from smoothgrid.jet import cat

DTYPE = torch.float64


@pytest.fixture(autouse=True)
def one_thread():
    """Small tensor ops on a shared 2-core machine: one intra-op thread is faster."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def space_time_points(n: int, d: int, seed: int = 0) -> torch.Tensor:
    """``(n, d + 1)``: x in ``[0.3, 0.7]^d``, t in ``[0.2, 0.6]``."""
    g = torch.Generator().manual_seed(seed)
    x = 0.3 + 0.4 * torch.rand(n, d, generator=g, dtype=DTYPE)
    t = 0.2 + 0.4 * torch.rand(n, 1, generator=g, dtype=DTYPE)
    return torch.cat([x, t], 1)


def blobs(d: int, factor: float = 1.0, kappa: float = 0.0) -> dict[str, JetModel]:
    """A translating and a rotating blob in ``d`` dimensions (reported u times ``factor``)."""
    v = [0.3, -0.2, 0.1][:d]
    return {
        "translate": translating_blob(
            v, [0.45, 0.55, 0.5][:d], kappa=kappa, velocity_factor=factor
        ),
        "rotate": rotating_blob(
            2.0, [0.5] * d, [0.15, 0.0, 0.05][:d], plane=(0, d - 1), velocity_factor=factor
        ),
    }


def scale(model: JetModel, points: torch.Tensor) -> float:
    """mean |d rho/dt|: the residual's size when u explains nothing."""
    return model.jet(points, order=1).grad[:, 0, -1].abs().mean().item()


# Each route at a step where its discretisation error is small (the order tests shrink it).
ACCURATE = {
    "jets": TransportOptions(),
    "double_backward": TransportOptions(),
    "fd": TransportOptions(h=5e-3, dt=5e-3),
    "semi_lagrangian": TransportOptions(dt=5e-3, backtrace="midpoint"),
    "weak": TransportOptions(width=0.05, duration=0.05, nodes=4),
}


@pytest.mark.parametrize("route", list(ROUTES))
@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("motion", ["translate", "rotate"])
def test_routes_vanish_on_exact_transport_and_not_on_a_wrong_velocity(route, d, motion):
    """mean |R| < 2e-3 mean |d rho/dt| on the exact pair (measured <= 3e-4: fd at h = 5e-3);
    > 0.2 of it when the reported velocity is 0.5 or 1.5 times the true one."""
    points = space_time_points(150, d)
    exact = blobs(d)[motion]
    s = scale(exact, points)
    options = ACCURATE[route]
    assert residuals(route, exact, points, options).transport.abs().mean() < 2e-3 * s
    for factor in (0.5, 1.5):
        wrong = blobs(d, factor)[motion]
        assert residuals(route, wrong, points, options).transport.abs().mean() > 0.2 * s


@pytest.mark.parametrize("route", list(ROUTES))
def test_routes_include_diffusion(route):
    """A spreading blob solves the equation with kappa = 0.01 and not with kappa = 0."""
    points = space_time_points(150, 2)
    model = blobs(2, kappa=0.01)["translate"]
    s = scale(model, points)
    options = ACCURATE[route]
    with_kappa = dataclasses.replace(options, kappa=0.01, h=5e-3)
    assert residuals(route, model, points, with_kappa).transport.abs().mean() < 2e-3 * s
    assert residuals(route, model, points, options).transport.abs().mean() > 0.02 * s


def _error(route: str, model, points, **options) -> float:
    return residuals(route, model, points, TransportOptions(**options)).transport.abs().mean()


def _ratios(route: str, model, key_steps, points, **fixed) -> list[float]:
    errors = [_error(route, model, points, **fixed, **steps) for steps in key_steps]
    return [a / b for a, b in zip(errors[:-1], errors[1:])]


STEPS = [0.02, 0.01, 0.005]


@pytest.mark.parametrize("scheme, low, high", [("central", 3.6, 4.4), ("upwind", 1.8, 2.2)])
def test_fd_error_shrinks_at_its_order(scheme, low, high):
    """Halving h = dt divides the error by ~4 (central, O(h^2)) or ~2 (upwind, O(h))."""
    points = space_time_points(200, 2)
    model = blobs(2)["rotate"]
    steps = [dict(h=h, dt=h) for h in STEPS]
    for r in _ratios("fd", model, steps, points, scheme=scheme):
        assert low < r < high


@pytest.mark.parametrize(
    "backtrace, kappa, low, high",
    [("euler", 0.0, 1.8, 2.2), ("midpoint", 0.0, 3.6, 4.4), ("midpoint", 0.01, 3.5, 4.5)],
)
def test_semi_lagrangian_error_shrinks_at_its_order(backtrace, kappa, low, high):
    """On the rotation (whose characteristics curve): Euler back-trace O(dt), midpoint O(dt^2);
    with diffusion (trapezoidal Laplacian, h = dt) still O(dt^2)."""
    points = space_time_points(200, 2)
    model = blobs(2, kappa=kappa)["rotate" if kappa == 0 else "translate"]
    steps = [dict(dt=h, h=h) for h in STEPS]
    for r in _ratios("semi_lagrangian", model, steps, points, backtrace=backtrace, kappa=kappa):
        assert low < r < high


def test_semi_lagrangian_euler_is_exact_for_a_uniform_flow():
    points = space_time_points(100, 2)
    model = blobs(2)["translate"]
    assert _error("semi_lagrangian", model, points, dt=0.05) < 1e-12


# ---------------------------------------------------------- with a real field
def small_field(d: int = 2) -> sg.Field:
    torch.manual_seed(0)
    enc = sg.encodings.make(
        "hermite",
        dim=d + 1,
        levels=3,
        features=2,
        min_res=4,
        max_res=16,
        log2_table=12,
        bounds=([0.0] * (d + 1), [1.0] * (d + 1)),
    )
    return sg.Field(enc, hidden=(16,), out=1 + d, activation="silu").double()


def test_jets_match_double_backward_on_a_field():
    """The two exact routes agree on a real hashed-grid field (value, Laplacian, divergence)."""
    field = small_field()
    points = space_time_points(64, 2)
    options = TransportOptions(kappa=1e-3, divergence=True)
    a = residuals("jets", field, points, options)
    b = residuals("double_backward", field, points, options)
    assert torch.allclose(a.transport, b.transport, atol=1e-10)
    assert torch.allclose(a.divergence, b.divergence, atol=1e-10)
    assert a.transport.abs().max() > 1e-4  # a random field does not transport its density


def _graph_node_names(tensor: torch.Tensor) -> list[str]:
    seen, stack, names = set(), [tensor.grad_fn], []
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.append(type(node).__name__)
        stack.extend(child for child, _ in node.next_functions)
    return names


@pytest.fixture
def forbid_create_graph(monkeypatch):
    """Turn any second-order autograd call (create_graph=True) into an error."""
    grad, backward = torch.autograd.grad, torch.autograd.backward

    def guarded_grad(*args, **kwargs):
        if kwargs.get("create_graph"):
            raise RuntimeError("second-order autograd: create_graph=True")
        return grad(*args, **kwargs)

    def guarded_backward(*args, **kwargs):
        if kwargs.get("create_graph"):
            raise RuntimeError("second-order autograd: create_graph=True")
        return backward(*args, **kwargs)

    monkeypatch.setattr(torch.autograd, "grad", guarded_grad)
    monkeypatch.setattr(torch.autograd, "backward", guarded_backward)


OPTIONS_ALL = TransportOptions(kappa=1e-3, divergence=True, h=0.01, dt=0.01)


@pytest.mark.parametrize("route", FIRST_ORDER_ROUTES)
def test_first_order_routes_train_without_second_order_autograd(route, forbid_create_graph):
    """With create_graph=True made an error, the route's loss (transport + Laplacian +
    divergence penalty) still backpropagates into every table; its graph holds no node that
    differentiates a backward function ("...BackwardBackward")."""
    field = small_field()
    loss = residuals(route, field, space_time_points(32, 2), OPTIONS_ALL).loss(0.1)
    assert not [n for n in _graph_node_names(loss) if "BackwardBackward" in n]
    loss.backward()
    for table in field.encoding.tables:
        assert table.grad is not None and table.grad.abs().sum() > 0
        assert torch.isfinite(table.grad).all()


def test_double_backward_needs_second_order_autograd(forbid_create_graph):
    field = small_field()
    with pytest.raises(RuntimeError, match="create_graph"):
        residuals("double_backward", field, space_time_points(8, 2), OPTIONS_ALL)


def test_double_backward_graph_differentiates_backward_functions():
    field = small_field()
    loss = residuals("double_backward", field, space_time_points(8, 2), OPTIONS_ALL).loss(0.1)
    assert [n for n in _graph_node_names(loss) if "BackwardBackward" in n]


def test_semi_lagrangian_trains_u_through_the_positional_gradient():
    """A blob moved by v; u is a free constant c. The semi-Lagrangian residual sees c only
    through rho(x - dt c, t - dt), i.e. rho's positional gradient; descending it finds v."""
    v = torch.tensor([0.3, -0.2], dtype=DTYPE)
    c = torch.zeros(2, dtype=DTYPE, requires_grad=True)
    rho = translating_blob(v.tolist(), [0.45, 0.55]).function

    def model_fn(X):
        t = X[..., 2]
        return cat([rho(X)[..., 0], t * 0.0 + c[0], t * 0.0 + c[1]])

    model = JetModel(model_fn, 2)
    points = space_time_points(64, 2)
    for _ in range(20):  # plain gradient descent
        loss = physics_loss(model, points, "semi_lagrangian", TransportOptions(dt=0.01))
        (grad,) = torch.autograd.grad(loss, c)
        assert grad.abs().sum() > 0 or loss < 1e-20
        with torch.no_grad():
            c -= 0.1 * grad
    assert torch.allclose(c.detach(), v, atol=1e-8)


# ------------------------------------------------------------------ combining
def test_physics_loss_sums_weighted_routes_and_the_divergence_penalty():
    field = small_field()
    points = space_time_points(32, 2)
    options = TransportOptions(divergence=True, h=0.01, dt=0.01)
    jets = residuals("jets", field, points, options)
    fd = residuals("fd", field, points, options)
    combined = physics_loss(field, points, {"jets": 1.0, "fd": 0.5}, options, 0.1)
    expected = jets.loss(0.1) + 0.5 * fd.loss(0.1)
    assert torch.allclose(combined, expected)
    plain = physics_loss(field, points, ["jets"], TransportOptions())
    assert torch.allclose(plain, jets.transport.square().mean())
    assert torch.allclose(
        physics_loss(field, points, "jets", divergence_weight=0.1), jets.loss(0.1)
    )


def test_the_simulation_is_a_model_of_the_value_routes():
    """The simulated frames, sampled multilinearly, through the fd route: the velocity explains
    most of the density's change (relative residual < 0.6; u = 0 would give 1)."""
    sim = simulate(SmokeConfig(dim=2, resolution=32, frames=6, warmup=4, frame_dt=0.05))
    h = 1.0 / 32
    g = torch.Generator().manual_seed(0)
    x = 0.25 + 0.5 * torch.rand(400, 2, generator=g, dtype=DTYPE)
    t = sim.times[1] + (sim.times[-2] - sim.times[1]) * torch.rand(400, 1, generator=g, dtype=DTYPE)
    points = torch.cat([x, t], 1)
    options = TransportOptions(h=h, dt=sim.frame_dt)
    r = residuals("fd", sim, points, options).transport
    rho_t = residuals("fd", lambda p: sim(p) * torch.tensor([1.0, 0.0, 0.0]), points, options)
    moving = rho_t.transport.abs() > 1e-3
    ratio = r[moving].square().mean().sqrt() / rho_t.transport[moving].square().mean().sqrt()
    assert ratio < 0.6


def test_bad_inputs_are_refused():
    field = small_field()
    points = space_time_points(4, 2)
    with pytest.raises(ValueError, match="kappa must be >= 0"):
        TransportOptions(kappa=-1e-5)
    with pytest.raises(ValueError, match="unknown scheme"):
        TransportOptions(scheme="backward")
    with pytest.raises(ValueError, match="unknown physics route 'jet'"):
        residuals("jet", field, points)
    with pytest.raises(ValueError, match="for d = 2 expected"):
        residuals("fd", lambda p: p[:, :2], points)
    with pytest.raises(TypeError, match="needs a model with .jet"):
        residuals("jets", lambda p: p, points)
    with pytest.raises(ValueError, match="divergence=True"):
        residuals("fd", field, points).loss(divergence_weight=1.0)
    with pytest.raises(ValueError, match="at least one route"):
        physics_loss(field, points, [])
