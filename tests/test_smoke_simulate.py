"""The stable-fluids simulator: projection, mass, determinism, frames, interpolation, floor."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from smoothgrid.apps.smoke import (
    PRESETS,
    Simulation,
    SmokeConfig,
    central_divergence,
    initial_state,
    simulate,
    step,
    transport_floor,
)
from smoothgrid.apps.smoke.interp import _gather, interpolate
from smoothgrid.apps.smoke.projection import (
    close_walls,
    mac_divergence,
    project,
    solve_neumann_poisson,
)
from smoothgrid.apps.smoke.simulate import _origin, draw_forcing, source_mask

SMALL = dict(resolution=16, frames=5, warmup=2, frame_dt=0.05)


@pytest.fixture(autouse=True)
def one_thread():
    """Many small tensor ops: on a shared 2-core machine a second intra-op thread mostly waits
    (8x slower measured under load), so these tests run on one."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _random_faces(d: int, n: int, gen: torch.Generator, dtype=torch.float64):
    return [
        torch.randn(*[n + 1 if a == i else n for a in range(d)], generator=gen, dtype=dtype)
        for i in range(d)
    ]


@pytest.mark.parametrize("d, n", [(2, 24), (3, 12)])
@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_projection_leaves_no_divergence(d, n, dtype, tol, gen):
    """max |div u| h / max |u| after the exact DCT projection: round-off (the stated tolerance
    is 1e-12 in float64, 1e-5 in float32); before it, of order 1."""
    h = 1.0 / n
    faces = _random_faces(d, n, gen, dtype)
    before = mac_divergence(close_walls(faces), h).abs().max() * h
    projected, _ = project(faces, h)
    scale = max(u.abs().max() for u in projected)
    after = mac_divergence(projected, h).abs().max() * h / scale
    assert before > 1.0
    assert after < tol
    for i, u in enumerate(projected):  # closed walls
        assert u.select(i, 0).abs().max() == 0 and u.select(i, n).abs().max() == 0
    again, _ = project(projected, h)  # a projection is idempotent
    assert max((a - b).abs().max() for a, b in zip(again, projected)) < 100 * tol * scale


def _neumann_laplacian(p: torch.Tensor, h: float) -> torch.Tensor:
    """The cell-centred Laplacian with mirrored ghost cells, written out by padding."""
    out = torch.zeros_like(p)
    for a in range(p.dim()):
        n = p.shape[a]
        padded = torch.cat([p.narrow(a, 0, 1), p, p.narrow(a, n - 1, 1)], dim=a)
        out += (padded.narrow(a, 2, n) - 2 * p + padded.narrow(a, 0, n)) / h**2
    return out


@pytest.mark.parametrize("shape", [(10, 7), (6, 5, 4)])
def test_neumann_poisson_solve_is_exact(shape, gen):
    rhs = torch.randn(shape, generator=gen, dtype=torch.float64)
    p = solve_neumann_poisson(rhs, 0.1)
    assert abs(p.mean()) < 1e-12
    assert torch.allclose(_neumann_laplacian(p, 0.1), rhs - rhs.mean(), atol=1e-10)


def _blob_state(d: int, n: int, dtype: str):
    config = SmokeConfig(
        dim=d, resolution=n, dtype=dtype, source_centre=(0.5,) * d, source_radius=0.25
    )
    state = initial_state(config)
    state.rho = source_mask(config, _origin(None, config.spacing, d), (n,) * d)
    return config, state


@pytest.mark.parametrize("d, n, drift", [(2, 32, 0.02), (3, 16, 0.04)])
def test_mass_without_source_drifts_by_at_most_the_stated_advection_loss(d, n, drift):
    """Source off, a blob rising by its own buoyancy for 20 steps: semi-Lagrangian advection is
    not conservative; the stated bound is |M_20 - M_0| / M_0 <= 2% (2D, 32^2) and 4% (3D,
    16^3) (measured: 0.9% and 2.5%)."""
    config, state = _blob_state(d, n, "float64")
    mass0 = state.rho.sum()
    for _ in range(20):
        state = step(state, config)
    moved = max(u.abs().max() for u in state.faces)
    change = abs(state.rho.sum() - mass0) / mass0
    assert moved > 0.1  # the blob did move
    assert change < drift
    assert state.rho.min() >= 0  # multilinear interpolation makes no new extrema


def test_mass_is_exact_without_motion():
    config, state = _blob_state(2, 16, "float64")
    config = dataclasses.replace(config, buoyancy=0.0)
    mass0 = state.rho.sum()
    for _ in range(5):
        state = step(state, config)
    assert abs(state.rho.sum() - mass0) < 1e-12 * mass0


@pytest.mark.parametrize("d", [2, 3])
def test_simulate_shapes_times_and_determinism(d):
    config = SmokeConfig(dim=d, **SMALL)
    sim = simulate(config)
    n, T = config.resolution, config.frames
    assert sim.rho.shape == (T,) + (n,) * d
    assert sim.u.shape == (T, d) + (n,) * d
    assert sim.source.shape == (n,) * d
    expected = (torch.arange(T, dtype=torch.float64) + config.warmup + 1) * config.frame_dt
    assert torch.allclose(sim.times, expected)
    assert sim.rho.max() > 0.1 and sim.rho.min() >= 0
    assert torch.equal(simulate(config).rho, sim.rho)  # same seed, same frames
    other = simulate(dataclasses.replace(config, seed=1))
    assert (other.rho - sim.rho).abs().max() > 1e-3  # the seeded noise matters
    # the smoke rises: its centre of mass climbs along the up axis
    y = sim.centres()[config.up].float()
    shape = [1] * d
    shape[config.up] = n
    height = (sim.rho * y.reshape(shape)).flatten(1).sum(1) / sim.rho.flatten(1).sum(1)
    assert height[-1] > height[0]


def test_every_step_is_projected():
    config = SmokeConfig(dim=2, resolution=16, dtype="float64")
    state = initial_state(config)
    forcing = draw_forcing(config, torch.Generator().manual_seed(0))
    for _ in range(3):
        state = step(state, config, forcing)
        scale = max(u.abs().max() for u in state.faces)
        assert scale > 0
        assert mac_divergence(state.faces, config.spacing).abs().max() * config.spacing < (
            1e-12 * scale
        )


def test_saved_velocity_is_nearly_divergence_free():
    """The cell-centred average of the projected faces, by central differences: mean |div u| /
    mean |grad u| < 0.12 at 32 cells and shrinking with h (measured 0.15, 0.086, 0.032 at 16,
    32, 64 cells)."""
    coarse, fine = (
        central_divergence(simulate(SmokeConfig(dim=2, **{**SMALL, "resolution": n})))[1]
        for n in (16, 32)
    )
    assert fine < 0.12 and fine < 0.8 * coarse


def test_save_and_load_round_trip(tmp_path):
    sim = simulate(SmokeConfig(dim=2, **SMALL))
    path = sim.save(tmp_path / "plume.npz")
    back = Simulation.load(path)
    assert torch.equal(back.rho, sim.rho.float()) and torch.equal(back.u, sim.u.float())
    assert torch.equal(back.times, sim.times) and back.config == sim.config
    assert back.config["resolution"] == 16
    with pytest.raises(FileNotFoundError, match="no simulation file"):
        Simulation.load(tmp_path / "missing.npz")


def test_simulation_checks_shapes():
    rho = torch.zeros(3, 4, 4)
    good = dict(
        rho=rho,
        u=torch.zeros(3, 2, 4, 4),
        times=torch.tensor([0.0, 0.1, 0.2], dtype=torch.float64),
        lo=torch.zeros(2, dtype=torch.float64),
        hi=torch.ones(2, dtype=torch.float64),
        source=torch.zeros(4, 4),
    )
    Simulation(**good)
    with pytest.raises(ValueError, match="u must have shape"):
        Simulation(**{**good, "u": torch.zeros(3, 3, 4, 4)})
    with pytest.raises(ValueError, match="increase"):
        Simulation(**{**good, "times": torch.tensor([0.0, 0.2, 0.1], dtype=torch.float64)})


@pytest.mark.parametrize("d", [2, 3])
def test_sample_reproduces_frames_and_is_linear_in_time(d):
    sim = simulate(SmokeConfig(dim=d, **SMALL))
    centres = torch.stack(torch.meshgrid(*sim.centres(), indexing="ij"), -1).reshape(-1, d)
    f = 2
    at = torch.cat([centres, sim.times[f].expand(len(centres), 1)], 1)
    got = sim.sample(at)
    assert torch.allclose(got[:, 0], sim.rho[f].reshape(-1).double(), atol=1e-6)
    assert torch.allclose(got[:, 1:], sim.u[f].reshape(d, -1).t().double(), atol=1e-6)
    mid = at.clone()
    mid[:, -1] = 0.5 * (sim.times[f] + sim.times[f + 1])
    expected = 0.5 * (sim.rho[f] + sim.rho[f + 1]).reshape(-1).double()
    assert torch.allclose(sim(mid)[:, 0], expected, atol=1e-6)


@pytest.mark.parametrize("k", [2, 3])
def test_interpolation_paths_agree_and_are_exact_for_linear_functions(k, gen):
    sizes = (5, 7, 4)[:k]
    origin, spacing = [0.1, -0.2, 0.3][:k], [0.5, 0.25, 0.4][:k]
    coeff = torch.randn(k, generator=gen, dtype=torch.float64)
    axes = [o + s * torch.arange(n, dtype=torch.float64) for n, o, s in zip(sizes, origin, spacing)]
    grid = torch.stack(torch.meshgrid(*axes, indexing="ij"), -1)
    values = (grid @ coeff)[None]  # a linear function on the nodes
    hi = torch.tensor([o + s * (n - 1) for n, o, s in zip(sizes, origin, spacing)]).double()
    lo = torch.tensor(origin, dtype=torch.float64)
    points = lo + (hi - lo) * torch.rand(50, k, generator=gen, dtype=torch.float64)
    fast = interpolate(values, origin, spacing, points)
    slow = _gather(values, (points - lo) / torch.tensor(spacing))
    assert torch.allclose(fast, slow, atol=1e-12)
    assert torch.allclose(fast[:, 0], points @ coeff, atol=1e-12)
    outside = hi + 1.0  # beyond the lattice: the corner value
    assert torch.allclose(interpolate(values, origin, spacing, outside[None])[0, 0], hi @ coeff)


def test_floor_is_small_for_an_exact_transport_and_one_without_velocity():
    """Frames of a blob translated by a uniform u: the floor is the central differences'
    truncation error (relative < 2% at 48 cells); with u set to zero it is 1."""
    n, T, c = 48, 6, torch.tensor([0.4, -0.3], dtype=torch.float64)
    times = 0.05 * torch.arange(T, dtype=torch.float64)
    x = (torch.arange(n, dtype=torch.float64) + 0.5) / n
    X = torch.stack(torch.meshgrid(x, x, indexing="ij"), -1)
    centre = torch.tensor([0.4, 0.6], dtype=torch.float64)
    rho = torch.stack([torch.exp(-((X - centre - c * t) ** 2).sum(-1) / 0.02) for t in times])
    u = c[None, :, None, None].expand(T, 2, n, n).clone()
    box = dict(lo=torch.zeros(2, dtype=torch.float64), hi=torch.ones(2, dtype=torch.float64))
    sim = Simulation(rho, u, times, source=torch.zeros(n, n), **box)
    floor = transport_floor(sim)
    assert floor.relative < 0.02 and floor.per_frame.shape == (T - 2,)
    still = Simulation(rho, torch.zeros_like(u), times, source=torch.zeros(n, n), **box)
    assert math.isclose(transport_floor(still).relative, 1.0, rel_tol=1e-9)


def test_plume_floor_is_below_one():
    """On the plume the saved velocity explains most of the density's change: floor < 0.5
    (measured 0.28 on plume2d at 64^2)."""
    config = dataclasses.replace(PRESETS["plume2d"], resolution=32, frames=8)
    floor = transport_floor(simulate(config))
    assert 0.0 < floor.relative < 0.5 and floor.mean_abs > 0


def test_bad_configs_are_refused():
    with pytest.raises(ValueError, match="dim must be 2 or 3"):
        SmokeConfig(dim=4)
    with pytest.raises(ValueError, match="up must be an axis"):
        SmokeConfig(dim=2, up=2)
    with pytest.raises(ValueError, match="source_centre needs 3"):
        SmokeConfig(dim=3, source_centre=(0.5, 0.5))
    with pytest.raises(ValueError, match="frame_dt"):
        SmokeConfig(frame_dt=0.0)
