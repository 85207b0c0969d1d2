"""A stable-fluids smoke simulator (Stam 1999; Bridson's staggered-grid variant) in PyTorch.

The ground truth of the smoke app: a density ``rho`` rising by buoyancy from a source region in a
closed box ``[0, 1]^d`` (``d = 2`` or ``3``), on ``n^d`` cubic cells. Each substep of length
``dt``:

1. **Advection** (semi-Lagrangian): the density (cell centres) and every face-velocity component
   (its own staggered lattice) are sampled, by bilinear / trilinear interpolation, at the points
   back-traced along the current velocity with a midpoint (RK2) step,
   ``x_b = x - dt u(x - dt/2 u(x))``. Points that leave the box take the value on its boundary.
2. **Source**: density ``dt * source_rate * m(x) * (1 + noise * xi(x))`` is added, where ``m`` is
   a smooth bump of radius ``source_radius`` around ``source_centre`` and ``xi`` a smooth random
   field in ``[-1, 1]`` drawn from the seeded generator every frame; inside the source the
   velocity is blended towards an inflow of speed ``inflow`` upward plus a seeded horizontal
   jitter (``noise * inflow``), so different seeds give different plumes.
3. **Buoyancy**: ``u_up += dt * buoyancy * rho`` (density averaged onto the faces): smoke rises.
4. **Projection**: closed walls (zero normal velocity, free slip) and the exact DCT Poisson solve
   of :mod:`.projection` (direct, no iterations): the face velocities' discrete divergence is
   zero to round-off after every substep.

What it does not conserve. Semi-Lagrangian advection with multilinear interpolation is
unconditionally stable but diffusive (it smooths ``rho`` and ``u`` by about ``h |u| dt / 2`` per
step, an effective ``kappa`` of order ``h |u| / 2``) and not conservative: with the source off,
total mass drifts (the tests bound the drift over 20 steps); back-traced points clamped at the
walls lose or gain a little more. The source adds mass by design. The saved velocity is the face
velocity averaged to cell centres, whose central-difference divergence is small but not zero.
So the saved frames do not satisfy ``d rho/dt + u . grad rho = 0`` exactly:
:func:`~smoothgrid.apps.smoke.frames.transport_floor` measures that residual on the frames, the
floor a reconstruction cannot be expected to beat.

>>> sim = simulate(PRESETS["plume2d"])              # doctest: +SKIP
>>> sim.rho.shape, sim.u.shape                        # doctest: +SKIP
(torch.Size([40, 64, 64]), torch.Size([40, 2, 64, 64]))
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn import functional

from .frames import Simulation
from .interp import interpolate, node_coordinates
from .projection import close_walls, project

__all__ = [
    "SmokeConfig",
    "SmokeState",
    "PRESETS",
    "simulate",
    "initial_state",
    "step",
    "Forcing",
    "draw_forcing",
    "source_mask",
    "face_velocity_at",
    "centred_velocity",
]

NOISE_CELLS = 4
"""Cells per axis of the coarse random field ``xi`` upsampled over the box (the source noise)."""


@dataclass(frozen=True)
class SmokeConfig:
    """Every option of a simulation (box ``[0, 1]^dim``, time in seconds).

    Attributes:
        dim: 2 or 3.
        resolution: cells per axis ``n`` (cell edge ``h = 1 / n``).
        frames: saved frames ``T``.
        frame_dt: time between saved frames (s).
        substeps: simulation steps per frame (``dt = frame_dt / substeps``).
        warmup: frames simulated before the first saved one (so frame 0 already shows smoke).
        up: the axis buoyancy pushes along (1: ``y`` up).
        buoyancy: upward acceleration per unit density (box lengths / s^2).
        source_centre: centre of the source (``None``: the box's centre, 0.12 above the floor).
        source_radius: radius of the source bump (box lengths).
        source_rate: density added per second at the source's centre.
        inflow: upward speed imposed inside the source (box lengths / s).
        noise: relative amplitude of the seeded source noise (density and inflow).
        seed: seed of the noise.
        dtype: ``"float32"`` or ``"float64"``.
    """

    dim: int = 2
    resolution: int = 64
    frames: int = 40
    frame_dt: float = 0.04
    substeps: int = 2
    warmup: int = 10
    up: int = 1
    buoyancy: float = 2.0
    source_centre: tuple[float, ...] | None = None
    source_radius: float = 0.08
    source_rate: float = 6.0
    inflow: float = 0.4
    noise: float = 0.5
    seed: int = 0
    dtype: str = "float32"

    def __post_init__(self) -> None:
        if self.dim not in (2, 3):
            raise ValueError(f"dim must be 2 or 3, got {self.dim}")
        if self.resolution < 4:
            raise ValueError(f"resolution must be >= 4 cells, got {self.resolution}")
        if self.frames < 1 or self.substeps < 1 or self.warmup < 0:
            raise ValueError(
                f"need frames >= 1, substeps >= 1, warmup >= 0; got {self.frames}, "
                f"{self.substeps}, {self.warmup}"
            )
        if self.frame_dt <= 0:
            raise ValueError(f"frame_dt must be > 0, got {self.frame_dt}")
        if not 0 <= self.up < self.dim:
            raise ValueError(f"up must be an axis in 0..{self.dim - 1}, got {self.up}")
        if self.source_centre is not None and len(self.source_centre) != self.dim:
            raise ValueError(
                f"source_centre needs {self.dim} coordinates, got {self.source_centre}"
            )
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")

    @property
    def spacing(self) -> float:
        """Cell edge ``h`` (box lengths)."""
        return 1.0 / self.resolution

    @property
    def dt(self) -> float:
        """Simulation step (s)."""
        return self.frame_dt / self.substeps

    @property
    def centre(self) -> tuple[float, ...]:
        """The source's centre."""
        if self.source_centre is not None:
            return tuple(float(c) for c in self.source_centre)
        return tuple(0.12 if a == self.up else 0.5 for a in range(self.dim))

    @property
    def torch_dtype(self) -> torch.dtype:
        """``dtype`` as a torch dtype."""
        return getattr(torch, self.dtype)


PRESETS: dict[str, SmokeConfig] = {
    "plume2d": SmokeConfig(dim=2, resolution=64, frames=40),
    "plume3d": SmokeConfig(dim=3, resolution=32, frames=30, frame_dt=0.05, substeps=1, warmup=6),
}
"""The named sources of ``smoothgrid smoke``: a rising plume at 64^2 x 40 and 32^3 x 30."""


@dataclass
class SmokeState:
    """The simulation's state at one time.

    Attributes:
        rho: ``(n,)*d`` density at cell centres.
        faces: ``d`` face-velocity components (box lengths / s); ``faces[i]`` has ``n + 1``
            entries along axis ``i`` (faces at ``i h``) and ``n`` along the others.
        time: seconds since the start.
    """

    rho: Tensor
    faces: list[Tensor]
    time: float = 0.0


def _face_shape(i: int, n: int, d: int) -> tuple[int, ...]:
    return tuple(n + 1 if a == i else n for a in range(d))


def _origin(i: int | None, h: float, d: int) -> list[float]:
    """Position of node 0 of the cell-centre lattice (``i = None``) or of face component ``i``."""
    return [0.0 if a == i else 0.5 * h for a in range(d)]


def initial_state(config: SmokeConfig) -> SmokeState:
    """Zero density and velocity."""
    n, d, dtype = config.resolution, config.dim, config.torch_dtype
    rho = torch.zeros((n,) * d, dtype=dtype)
    faces = [torch.zeros(_face_shape(i, n, d), dtype=dtype) for i in range(d)]
    return SmokeState(rho, faces, 0.0)


def face_velocity_at(faces: list[Tensor], spacing: float, points: Tensor) -> Tensor:
    """``(N, d)`` velocity at ``points`` ``(N, d)``: each component interpolated on its faces."""
    d = len(faces)
    return torch.cat(
        [
            interpolate(u[None], _origin(i, spacing, d), [spacing] * d, points)
            for i, u in enumerate(faces)
        ],
        dim=1,
    )


def centred_velocity(faces: list[Tensor]) -> Tensor:
    """``(d, n, ..., n)`` velocity at cell centres: the mean of each cell's two faces."""
    parts = []
    for i, u in enumerate(faces):
        n1 = u.shape[i]
        parts.append(0.5 * (u.narrow(i, 0, n1 - 1) + u.narrow(i, 1, n1 - 1)))
    return torch.stack(parts)


def _backtrace(faces: list[Tensor], spacing: float, points: Tensor, dt: float) -> Tensor:
    """Midpoint (RK2) back-trace ``x - dt u(x - dt/2 u(x))``."""
    mid = points - 0.5 * dt * face_velocity_at(faces, spacing, points)
    return points - dt * face_velocity_at(faces, spacing, mid)


def _advect_all(
    lattices: list[tuple[Tensor, list[float]]], faces: list[Tensor], h: float, dt: float
) -> list[Tensor]:
    """Semi-Lagrangian advection of several lattices (values, node-0 position) by ``faces``.

    All lattices' nodes are back-traced in one batch (fewer, larger interpolation calls).
    """
    d = len(faces)
    nodes = [node_coordinates(v.shape, origin, [h] * d, v) for v, origin in lattices]
    back = _backtrace(faces, h, torch.cat(nodes), dt)
    out = []
    for (values, origin), part in zip(lattices, back.split([len(n) for n in nodes])):
        out.append(interpolate(values[None], origin, [h] * d, part)[:, 0].reshape(values.shape))
    return out


def source_mask(config: SmokeConfig, origin: list[float], shape: tuple[int, ...]) -> Tensor:
    """The source bump ``m = (1 - (r / R)^2)_+^2`` on a lattice (cell centres or faces)."""
    h, d = config.spacing, config.dim
    x = node_coordinates(shape, origin, [h] * d, torch.zeros((), dtype=config.torch_dtype))
    centre = torch.tensor(config.centre, dtype=x.dtype)
    r2 = ((x - centre) ** 2).sum(1) / config.source_radius**2
    return ((1.0 - r2).clamp_min(0.0) ** 2).reshape(shape)


def _smooth_noise(config: SmokeConfig, shape: tuple[int, ...], generator) -> Tensor:
    """A smooth random field in ``[-1, 1]`` on a lattice of ``shape`` (linear upsampling)."""
    coarse = torch.rand((1, 1) + (NOISE_CELLS + 1,) * config.dim, generator=generator) * 2 - 1
    mode = "bilinear" if config.dim == 2 else "trilinear"
    fine = functional.interpolate(coarse.double(), size=shape, mode=mode, align_corners=True)
    return fine[0, 0].to(config.torch_dtype)


@dataclass
class Forcing:
    """The source's density rate and inflow velocity for one frame (see :func:`draw_forcing`).

    Attributes:
        density: ``(n,)*d`` density added per second.
        velocity: per face component, the velocity the source blends towards.
        weight: per face component, the source bump on those faces (the blend's weight).
    """

    density: Tensor
    velocity: list[Tensor]
    weight: list[Tensor]


def draw_forcing(config: SmokeConfig, generator: torch.Generator) -> Forcing:
    """The source for one frame: the bump with fresh seeded noise and inflow jitter."""
    n, d, h = config.resolution, config.dim, config.spacing
    shape = (n,) * d
    xi = _smooth_noise(config, shape, generator)
    density = config.source_rate * source_mask(config, _origin(None, h, d), shape)
    density = (density * (1.0 + config.noise * xi)).clamp_min(0.0)
    jitter = (torch.rand(d, generator=generator, dtype=torch.float64) * 2 - 1).tolist()
    velocity, weight = [], []
    for i in range(d):
        fshape = _face_shape(i, n, d)
        target = config.inflow if i == config.up else config.noise * config.inflow * jitter[i]
        velocity.append(torch.full(fshape, target, dtype=config.torch_dtype))
        weight.append(source_mask(config, _origin(i, h, d), fshape))
    return Forcing(density, velocity, weight)


def step(state: SmokeState, config: SmokeConfig, forcing: Forcing | None = None) -> SmokeState:
    """One substep: advect, add the source (if ``forcing``) and buoyancy, project.

    Args:
        state: the current state (its face velocities divergence-free).
        config: the simulation's options (``dt``, ``buoyancy``, ``up``, ...).
        forcing: the source for this frame (``None``: no source; density is then only moved,
            which is how the tests measure the advection's mass drift).

    Returns:
        The state ``dt`` later; its face velocities are projected (discrete divergence zero to
        round-off) with closed walls.
    """
    h, dt, d = config.spacing, config.dt, config.dim
    lattices = [(state.rho, _origin(None, h, d))]
    lattices += [(u, _origin(i, h, d)) for i, u in enumerate(state.faces)]
    rho, *faces = _advect_all(lattices, state.faces, h, dt)
    if forcing is not None:
        rho = rho + dt * forcing.density
        faces = [
            u + w * (target - u) for u, w, target in zip(faces, forcing.weight, forcing.velocity)
        ]
    up = config.up
    n = rho.shape[up]
    lift = 0.5 * (rho.narrow(up, 0, n - 1) + rho.narrow(up, 1, n - 1))  # interior up-faces
    faces[up] = faces[up].clone()
    faces[up].narrow(up, 1, n - 1).add_(dt * config.buoyancy * lift)
    faces, _ = project(close_walls(faces), h)
    return SmokeState(rho, faces, state.time + dt)


def simulate(config: SmokeConfig) -> Simulation:
    """Run a plume and save ``config.frames`` frames after ``config.warmup`` warm-up frames.

    Returns:
        A :class:`~smoothgrid.apps.smoke.frames.Simulation`: ``rho (T, n..)``, cell-centred
        ``u (T, d, n..)``, frame ``times (T,)`` (s), the box ``[0, 1]^d`` and the source bump.
    """
    generator = torch.Generator().manual_seed(config.seed)
    state = initial_state(config)
    rhos, velocities, times = [], [], []
    for frame in range(config.warmup + config.frames):
        forcing = draw_forcing(config, generator)
        for _ in range(config.substeps):
            state = step(state, config, forcing)
        if frame >= config.warmup:
            rhos.append(state.rho)
            velocities.append(centred_velocity(state.faces))
            times.append(state.time)
    h, d = config.spacing, config.dim
    shape = (config.resolution,) * d
    return Simulation(
        rho=torch.stack(rhos),
        u=torch.stack(velocities),
        times=torch.tensor(times, dtype=torch.float64),
        lo=torch.zeros(d, dtype=torch.float64),
        hi=torch.ones(d, dtype=torch.float64),
        source=source_mask(config, _origin(None, h, d), shape),
        config=dataclasses.asdict(config),
    )
