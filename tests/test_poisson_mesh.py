"""``poisson_mesh``: Laplace's equation outside a closed surface, and its finite-difference
reference (``smoothgrid.problems.laplace_reference``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import smoothgrid as sg
from smoothgrid.geometry import ExteriorDomain
from smoothgrid.problems.laplace_reference import LaplaceReference, solve_laplace
from smoothgrid.train.losses import Objective
from smoothgrid.train.settings import Points

F64 = torch.float64
R0, R1 = 0.3, 0.9  # inner and outer sphere of the concentric case


def concentric(r: np.ndarray) -> np.ndarray:
    """Harmonic in the shell ``R0 < r < R1``, 1 on the inner sphere, 0 on the outer one."""
    return (1 / r - 1 / R1) / (1 / R0 - 1 / R1)


def shell_error(cells: int) -> tuple[float, float]:
    """Relative L2 and max error of the FD solution at the nodes inside the shell."""
    walls = [(lambda x: x.norm(dim=1) - R0, 1.0), (lambda x: R1 - x.norm(dim=1), 0.0)]
    u = solve_laplace(walls, [-1] * 3, [1] * 3, cells)
    nodes = sg.geometry.Box([-1] * 3, [1] * 3).grid(cells + 1).numpy()
    r = np.linalg.norm(nodes, axis=1)
    inside = (r > R0) & (r < R1)
    error = u.ravel()[inside] - concentric(r[inside])
    return np.linalg.norm(error) / np.linalg.norm(concentric(r[inside])), np.abs(error).max()


def test_fd_reference_converges_to_the_concentric_spheres_solution():
    # u = (1/r - 1/R1) / (1/R0 - 1/R1): measured rel L2 2.0e-2, 8.3e-3, 1.9e-3 at 16, 32, 64
    # cells (second order once the inner sphere spans a few cells)
    errors = [shell_error(cells) for cells in (16, 32, 64)]
    rel = [e[0] for e in errors]
    assert rel[0] > rel[1] > rel[2]
    assert rel[1] / rel[2] > 3.0  # second order: 4 in the limit
    assert rel[2] < 3e-3 and errors[2][1] < 5e-3


def test_reference_values_at_nodes_and_between_them():
    walls = [(lambda x: x.norm(dim=1) - R0, 1.0), (lambda x: R1 - x.norm(dim=1), 0.0)]
    reference = LaplaceReference(walls, [-1] * 3, [1] * 3, cells=32)
    nodes = sg.geometry.Box([-1] * 3, [1] * 3).grid(33)
    u = reference(nodes)
    assert u.shape == (33**3, 1) and u.dtype == F64
    assert np.array_equal(u.numpy().reshape((33,) * 3), reference.values)
    r = nodes.norm(dim=1)
    assert (u[r <= R0] == 1).all() and (u[r >= R1] == 0).all()  # outside: the wall's value
    x = torch.randn(400, 3, generator=torch.Generator().manual_seed(0), dtype=F64)
    x = x / x.norm(dim=1, keepdim=True) * torch.linspace(0.45, 0.8, 400, dtype=F64)[:, None]
    truth = concentric(x.norm(dim=1).numpy())
    assert np.abs(reference(x).numpy()[:, 0] - truth).max() < 0.02  # multilinear, h = 1/16


def test_poisson_mesh_problem_on_a_procedural_shape():
    problem = sg.problems.make("poisson_mesh", shape="sphere", fd_cells=64)
    assert isinstance(problem.domain, ExteriorDomain) and problem.exact is None
    x = problem.test_points()
    assert (x.norm(dim=1) > 0.6).all() and problem.domain.contains(x).all()
    u = problem.reference(x)
    assert u.shape == (len(x), 1) and 0 <= u.min() and u.max() <= 1
    on_faces = (x.abs() == 1).any(1)
    assert (u[on_faces] == 0).all() and u[x.norm(dim=1) < 0.65].min() > 0.8
    # the test grid (65^3) lies on the reference's nodes: no interpolation error
    nodal = problem.solution.values.reshape(-1)
    grid = sg.geometry.Box([-1] * 3, [1] * 3).grid(65)
    assert torch.equal(u[:, 0], torch.from_numpy(nodal)[grid.norm(dim=1) > 0.6])
    # conditions: u = 1 on the surface, 0 on the box, and the residual is the Laplacian
    generator = torch.Generator().manual_seed(1)
    names = {c.name: c for c in problem.conditions}
    assert set(names) == {"surface", "box"}
    surface = names["surface"].sample(problem.domain, 50, generator, dtype=F64)
    assert torch.allclose(surface["x"].norm(dim=1), torch.full((50,), 0.6, dtype=F64))
    assert (surface["value"] == 1).all()
    box = names["box"].sample(problem.domain, 50, generator, dtype=F64)
    assert (box["x"].abs().max(1).values == 1).all() and (box["value"] == 0).all()


def test_poisson_mesh_trains_through_the_ordinary_loop():
    problem = sg.problems.make("poisson_mesh", fd_cells=64)  # the blob
    torch.manual_seed(0)
    enc = sg.encodings.make("hermite", dim=3, levels=2, min_res=4, max_res=8, log2_table=10)
    field = sg.Field(enc, hidden=(16,))
    field.set_bounds(*problem.domain.bounds)
    objective = Objective(problem, field, Points(batch=256, boundary_batch=64))
    samples = objective.sample(torch.Generator().manual_seed(2))
    assert (problem.domain.solid.sdf(samples["residual"]["x"].double()) > 0).all()
    terms = objective.terms(samples)
    assert set(terms) == {"residual", "surface", "box"}
    objective.loss(terms).backward()
    assert all(torch.isfinite(t) for t in terms.values())


def test_poisson_mesh_from_a_mesh_file(tmp_path):
    pytest.importorskip("trimesh")
    pytest.importorskip("igl")
    vertices, faces = sg.geometry.mesh.implicit_mesh(sg.geometry.blob().sdf, resolution=32)
    sg.geometry.mesh.write_mesh(tmp_path / "blob.ply", vertices, faces)
    problem = sg.problems.make("poisson_mesh", mesh=str(tmp_path / "blob.ply"), fd_cells=16)
    solid = problem.domain.solid
    assert solid.name == "blob.ply" and solid.exact
    extent = solid.mesh[0].max(0) - solid.mesh[0].min(0)
    assert extent.max() == pytest.approx(1.2)  # fill 0.6 of the box side 2
    u = problem.reference(problem.domain.sample_interior(100, torch.Generator().manual_seed(3)))
    assert 0 <= u.min() and u.max() <= 1
    with pytest.raises(ValueError, match="unknown shape 'blobb'.*Did you mean 'blob'"):
        sg.problems.make("poisson_mesh", shape="blobb")
