"""An independent discrete-shell model of the same cloth: a triangle mesh minimised by L-BFGS.

The reference square is cut into ``n x n`` squares of two triangles each
(:func:`.export.grid_faces`). The energy of the deformed vertices ``x (V, 3)``:

* membrane: constant-strain triangles, ``F = Ds Dm^-1`` (deformed edges over reference edges),
  Green strain ``E = (F^T F - I) / 2``, the same St. Venant-Kirchhoff density as the continuum
  (:mod:`.shell`) times each triangle's reference area;
* bending: hinges, ``D / 2 * theta_e^2 |e|^2 / (A_1 + A_2)`` per interior edge, ``theta_e`` the
  angle between the normals of its two triangles, ``A_1 + A_2`` their reference areas. The
  constant makes a cylinder rolled along the mesh's axis store its continuum energy
  ``D / (2 R^2)`` per unit area (Poisson's ratio enters the membrane only);
* gravity: ``rho h g z`` with each triangle's mass lumped a third to each of its vertices.

Pinned vertices (the scene's pins and pinned edges, at ``X0``) stay fixed; the others start from
the scene's guess (:func:`initial_guess`: the cloth turned down about its pinned side) and are
moved by L-BFGS with a strong-Wolfe line search, in float64, until the gradient's largest entry
is below ``tol`` times the largest gravity load of a vertex. It shares nothing with the grid field
but the scene and the material: a check of the drape the field finds.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .export import ClothMesh, grid_faces
from .material import GRAVITY, Material
from .scenes import EDGES, Scene, edge_part

__all__ = ["DiscreteShell", "discrete_shell", "initial_guess"]

F64 = torch.float64


@dataclass
class DiscreteShell:
    """The outcome of :func:`discrete_shell`.

    Attributes:
        mesh: the deformed mesh (strain per vertex: the largest of its triangles').
        energies: ``energy``, ``membrane_energy``, ``bending_energy``, ``gravity_energy`` (J).
        free_corners: ``"u,v" -> [x, y, z]`` (m), as in the field's metrics.
        iterations: L-BFGS iterations.
        max_gradient: the largest gradient entry at the end (N).
    """

    mesh: ClothMesh
    energies: dict[str, float]
    free_corners: dict[str, list[float]]
    iterations: int
    max_gradient: float


def _pinned(scene: Scene, uv: Tensor, tol: float = 1e-9) -> Tensor:
    """``(V,)`` bool: the vertices the scene holds."""
    held = torch.zeros(len(uv), dtype=torch.bool)
    for pin in scene.pins:
        held |= (uv - torch.tensor(pin, dtype=F64)).abs().amax(1) < tol
    for edge in scene.edges:
        name, start, end = edge_part(edge)
        axis, where = EDGES[name]
        along = uv[:, 1 - axis]
        held |= ((uv[:, axis] - where).abs() < tol) & (along >= start - tol) & (along <= end + tol)
    return held


def initial_guess(scene: Scene, uv: Tensor) -> Tensor:
    """``(V, 3)`` a start for the minimiser: the flat cloth turned down by 90 degrees about the
    line ``v = 1`` (the pinned side of both scenes), hanging in the plane ``y = L``."""
    size = scene.size
    return torch.stack([uv[:, 0] * size, torch.full_like(uv[:, 0], size),
                        -(1.0 - uv[:, 1]) * size], 1)  # fmt: skip


class _Energy:
    """The discrete energy's terms of vertex positions ``(V, 3)``."""

    def __init__(self, n: int, scene: Scene, material: Material, gravity: float) -> None:
        t = torch.linspace(0.0, 1.0, n + 1, dtype=F64)
        self.uv = torch.stack(torch.meshgrid(t, t, indexing="ij"), -1).reshape(-1, 2)
        self.faces = torch.from_numpy(grid_faces(n))
        rest = self.uv * scene.size
        a, b, c = (rest[self.faces[:, k]] for k in range(3))
        dm = torch.stack([b - a, c - a], -1)  # (T, 2, 2)
        self.dm_inv = torch.linalg.inv(dm)
        self.area = 0.5 * torch.linalg.det(dm).abs()
        self.material, self.gravity = material, gravity
        mass = torch.zeros(len(self.uv), dtype=F64)
        for k in range(3):
            mass.index_add_(0, self.faces[:, k], self.area / 3)
        self.mass = mass * material.areal_density
        self._hinges(rest)

    def _hinges(self, rest: Tensor) -> None:
        """Interior edges with their two triangles, and ``|e|^2 / (A_1 + A_2)``."""
        owner: dict[tuple[int, int], int] = {}
        pairs = []
        for t, face in enumerate(self.faces.tolist()):
            for i in range(3):
                e = tuple(sorted((face[i], face[(i + 1) % 3])))
                if e in owner:
                    pairs.append((owner[e], t, *e))
                else:
                    owner[e] = t
        p = torch.tensor(pairs, dtype=torch.long)
        self.hinge_faces, self.hinge_edges = p[:, :2], p[:, 2:]
        length2 = (rest[p[:, 2]] - rest[p[:, 3]]).square().sum(1)
        self.hinge_weight = length2 / (self.area[p[:, 0]] + self.area[p[:, 1]])

    def terms(self, x: Tensor) -> dict[str, Tensor]:
        m = self.material
        a, b, c = (x[self.faces[:, k]] for k in range(3))
        f = torch.stack([b - a, c - a], -1) @ self.dm_inv  # (T, 3, 2)
        strain = 0.5 * (f.transpose(1, 2) @ f - torch.eye(2, dtype=F64))
        trace = strain.diagonal(dim1=-2, dim2=-1).sum(-1)
        quad = m.poisson * trace.square() + (1 - m.poisson) * strain.square().sum((-1, -2))
        membrane = (0.5 * m.membrane_stiffness * quad * self.area).sum()
        normal = torch.linalg.cross(b - a, c - a, dim=-1)
        normal = normal / normal.norm(dim=-1, keepdim=True)
        n1, n2 = normal[self.hinge_faces[:, 0]], normal[self.hinge_faces[:, 1]]
        edge = x[self.hinge_edges[:, 1]] - x[self.hinge_edges[:, 0]]
        edge = edge / edge.norm(dim=-1, keepdim=True)
        theta = torch.atan2((torch.linalg.cross(n1, n2, dim=-1) * edge).sum(-1), (n1 * n2).sum(-1))
        bending = (0.5 * m.bending_stiffness * theta.square() * self.hinge_weight).sum()
        gravity = (self.mass * self.gravity * x[:, 2]).sum()
        return {"membrane": membrane, "bending": bending, "gravity": gravity}

    def strain(self, x: Tensor) -> Tensor:
        """``(V,)`` the largest principal engineering strain of each vertex's triangles."""
        a, b, c = (x[self.faces[:, k]] for k in range(3))
        f = torch.stack([b - a, c - a], -1) @ self.dm_inv
        e = torch.linalg.eigvalsh(0.5 * (f.transpose(1, 2) @ f - torch.eye(2, dtype=F64)))
        stretch = (1 + 2 * e[:, 1]).clamp_min(0).sqrt() - 1
        out = torch.full((len(x),), -1.0, dtype=F64)
        for k in range(3):
            out = out.scatter_reduce(0, self.faces[:, k], stretch, "amax")
        return out


def discrete_shell(
    scene: Scene,
    material: Material,
    n: int = 32,
    gravity: float = GRAVITY,
    iterations: int = 3000,
    tol: float = 1e-6,
) -> DiscreteShell:
    """Minimise the discrete energy of ``scene``'s cloth on an ``n x n`` mesh (see the module
    docstring). ``iterations`` bounds L-BFGS's iterations."""
    energy = _Energy(n, scene, material, gravity)
    held = _pinned(scene, energy.uv)
    rest = torch.cat([energy.uv * scene.size, torch.zeros(len(energy.uv), 1, dtype=F64)], 1)
    start = initial_guess(scene, energy.uv)
    free = start[~held].clone().requires_grad_(True)
    fixed = rest[held]

    def positions(free_x: Tensor) -> Tensor:
        x = torch.empty_like(rest)
        x = x.index_put((torch.nonzero(held)[:, 0],), fixed)
        return x.index_put((torch.nonzero(~held)[:, 0],), free_x)

    optimizer = torch.optim.LBFGS([free], lr=1.0, max_iter=iterations, history_size=50,
                                  tolerance_grad=tol * float(energy.mass.max()) * gravity,
                                  tolerance_change=0.0, line_search_fn="strong_wolfe")  # fmt: skip

    def closure() -> Tensor:
        optimizer.zero_grad()
        total = sum(energy.terms(positions(free)).values())
        total.backward()
        return total

    optimizer.step(closure)
    state = optimizer.state[free]
    x = positions(free.detach())
    terms = {f"{k}_energy": float(v) for k, v in energy.terms(x).items()}
    closure()
    grad = float(free.grad.abs().max())
    corners = {}
    for u, v in scene.free_corners:
        k = int(torch.nonzero((energy.uv - torch.tensor([u, v], dtype=F64)).abs().amax(1) < 1e-9))
        corners[f"{u:g},{v:g}"] = [float(c) for c in x[k]]
    mesh = ClothMesh(x.numpy(), energy.faces.numpy(), energy.uv.numpy(),
                     energy.strain(x).numpy())  # fmt: skip
    return DiscreteShell(
        mesh,
        {"energy": sum(terms.values()), **terms},
        corners,
        int(state.get("n_iter", 0)),
        grad,
    )
