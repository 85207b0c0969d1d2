"""Meshes and procedural shapes (``smoothgrid.geometry``): files, watertightness, signed
distance, marching cubes, surface samples and the box outside a solid."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import smoothgrid as sg
from smoothgrid.geometry import mesh as M

F64 = torch.float64

pytest.importorskip("trimesh")
pytest.importorskip("igl")


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def ball() -> tuple[np.ndarray, np.ndarray]:
    """A marching-cubes sphere of radius 0.5 (48^3 nodes)."""
    return M.implicit_mesh(lambda x: x.norm(dim=1) - 0.5, resolution=48)


def test_marching_cubes_sphere_is_closed_outward_and_on_the_surface(ball):
    vertices, faces = ball
    assert M.boundary_edges(faces) == 0
    M.check_watertight(vertices, faces)
    assert np.abs(np.linalg.norm(vertices, axis=1) - 0.5).max() < 2e-3
    points, normals = M.sample_surface(vertices, faces, 2000, gen())
    radial = points / points.norm(dim=1, keepdim=True)
    assert (normals * radial).sum(1).min() > 0.95  # outward
    assert abs(M.face_areas(vertices, faces).sum() - np.pi) < 0.02  # 4 pi r^2


def test_signed_distance_to_a_mesh_matches_the_analytic_one(ball):
    vertices, faces = ball
    x = torch.rand(500, 3, generator=gen(1), dtype=F64) * 2 - 1
    distance = M.signed_distance(vertices, faces, x)
    assert distance.dtype == F64 and distance.shape == (500,)
    assert (distance - (x.norm(dim=1) - 0.5)).abs().max() < 3e-3  # the mesh is within 2e-3
    assert M.signed_distance(vertices, faces, torch.zeros(1, 3)).item() < -0.49  # inside < 0


def test_watertightness_check_rejects_an_open_mesh_and_says_how_to_fix_it(ball, tmp_path):
    vertices, faces = ball
    assert M.boundary_edges(faces[4:]) > 0
    with pytest.raises(ValueError, match=r"the ball is not watertight.*\d+ open.*fill_holes"):
        M.check_watertight(vertices, faces[4:], source="the ball")
    flipped = faces.copy()
    flipped[0] = flipped[0, ::-1]
    with pytest.raises(ValueError, match="inconsistently oriented"):
        M.check_watertight(vertices, flipped)
    M.write_mesh(tmp_path / "open.obj", vertices, faces[4:])
    with pytest.raises(ValueError, match=r"mesh open\.obj is not watertight"):
        sg.geometry.load_solid(tmp_path / "open.obj")


@pytest.mark.parametrize("suffix", [".ply", ".obj", ".off", ".stl"])
def test_mesh_files_round_trip(suffix, tmp_path):
    vertices, faces = M.implicit_mesh(sg.geometry.torus().sdf, resolution=32)
    path = tmp_path / f"torus{suffix}"
    M.write_mesh(path, vertices, faces)
    v, f = M.load_mesh(path)
    assert len(f) == len(faces) and len(v) == len(vertices)  # stl: duplicates merged back
    assert M.boundary_edges(f) == 0
    assert abs(M.face_areas(v, f).sum() - M.face_areas(vertices, faces).sum()) < 1e-4
    solid = sg.geometry.load_solid(path, fill=0.7)
    extent = solid.mesh[0].max(0) - solid.mesh[0].min(0)
    assert extent.max() == pytest.approx(1.4)  # 0.7 of the box side 2
    # radii 0.5 and 0.2 span 1.4 already: the scale is kept; the hole is outside, the tube inside
    x = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.5, 0.0]], dtype=F64)
    assert solid.sdf(x)[0] > 0 > solid.sdf(x)[1]


def test_ply_keeps_vertex_attributes(tmp_path):
    trimesh = pytest.importorskip("trimesh")
    vertices, faces = sg.geometry.sphere(0.5).mesh
    curvature = np.linspace(0.0, 1.0, len(vertices))
    M.write_mesh(tmp_path / "s.ply", vertices, faces, {"mean_curvature": curvature})
    loaded = trimesh.load(tmp_path / "s.ply", process=False)
    assert np.allclose(loaded.vertices, vertices, atol=1e-6)
    stored = loaded.metadata["_ply_raw"]["vertex"]["data"]["mean_curvature"]
    assert np.allclose(stored, curvature, atol=1e-6)
    with pytest.raises(ValueError, match="one value per vertex"):
        M.write_mesh(tmp_path / "s.ply", vertices, faces, {"h": curvature[:-1]})
    with pytest.raises(ValueError, match="need a .ply"):
        M.write_mesh(tmp_path / "s.obj", vertices, faces, {"h": curvature})


def test_inside_out_mesh_is_turned_outward(tmp_path):
    vertices, faces = sg.geometry.sphere(0.5).mesh
    M.write_mesh(tmp_path / "inverted.ply", vertices, faces[:, ::-1])
    solid = sg.geometry.load_solid(tmp_path / "inverted.ply")
    assert solid.sdf(torch.zeros(1, 3, dtype=F64)).item() < 0
    points, normals = solid.sample_surface(200, gen(2))
    assert ((points * normals).sum(1) > 0).all()


def test_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        M.load_mesh(tmp_path / "missing.obj")
    (tmp_path / "shape.abc").write_text("x")
    with pytest.raises(ValueError, match=r"\.obj, \.ply, \.off, \.stl"):
        M.load_mesh(tmp_path / "shape.abc")
    (tmp_path / "empty.obj").write_text("v 0 0 0\n")
    with pytest.raises(ValueError, match="no triangles"):
        M.load_mesh(tmp_path / "empty.obj")


@pytest.mark.parametrize("name", sg.geometry.shape_names())
def test_shapes_are_closed_and_samples_lie_on_them(name):
    solid = sg.geometry.make_shape(name)
    vertices, faces = solid.mesh
    assert M.boundary_edges(faces) == 0 and np.abs(vertices).max() < 0.95
    points, normals = solid.sample_surface(500, gen(3))
    assert solid.sdf(points).abs().max() < 1e-9
    assert torch.allclose(normals.norm(dim=1), torch.ones(500, dtype=F64))
    # the normal points outward: a small step along it leaves the solid
    assert (solid.sdf(points + 1e-3 * normals) > 0).float().mean() > 0.99
    assert (solid.sdf(points - 1e-3 * normals) < 0).float().mean() > 0.99


def test_exact_shapes_match_the_distance_to_their_mesh():
    x = torch.rand(300, 3, generator=gen(4), dtype=F64) * 2 - 1
    for name in ("sphere", "torus", "box"):
        solid = sg.geometry.make_shape(name)
        assert solid.exact
        mesh_distance = M.signed_distance(*solid.mesh, x)
        assert (solid.sdf(x) - mesh_distance).abs().max() < 0.01, name


def test_shape_registry_and_csg():
    assert set(sg.geometry.describe_shapes()) == set(sg.geometry.shape_names())
    with pytest.raises(ValueError, match="Did you mean 'torus'"):
        sg.geometry.make_shape("tours")
    with pytest.raises(ValueError, match="no parameter 'r'"):
        sg.geometry.make_shape("sphere", r=0.3)
    with pytest.raises(ValueError, match="minor < major"):
        sg.geometry.torus(0.2, 0.3)
    a, b = sg.geometry.sphere(0.5), sg.geometry.box((0.3, 0.3, 0.6))
    x = torch.tensor([[0.0, 0.0, 0.55], [0.45, 0.0, 0.0], [0.0, 0.0, 0.0]], dtype=F64)
    assert (sg.geometry.union(a, b).sdf(x) < 0).tolist() == [True, True, True]
    assert (sg.geometry.intersection(a, b).sdf(x) < 0).tolist() == [False, False, True]
    assert (sg.geometry.difference(a, b).sdf(x) < 0).tolist() == [False, True, False]


def test_exterior_domain_samples_and_grid():
    sphere = sg.geometry.sphere(0.5)
    domain = sg.geometry.ExteriorDomain(sg.geometry.Box([-1] * 3, [1] * 3), sphere)
    x = domain.sample_interior(2000, gen(5), stratified=True, dtype=F64)
    assert x.shape == (2000, 3) and (x.norm(dim=1) > 0.5).all() and domain.contains(x).all()
    on, normals = domain.sample_boundary(300, gen(6), dtype=F64, part="surface")
    assert torch.allclose(on.norm(dim=1), torch.full((300,), 0.5, dtype=F64))
    assert torch.allclose(normals, -on / 0.5)  # the domain's outward normal points inwards
    faces, face_normals = domain.sample_boundary(300, gen(7), dtype=F64, part="box")
    assert (faces.abs().max(1).values == 1).all() and (face_normals.abs().sum(1) == 1).all()
    both, _ = domain.sample_boundary(4000, gen(8), dtype=F64)
    on_surface = (both.norm(dim=1) - 0.5).abs() < 1e-9
    share = 4 * np.pi * 0.25 / (24 + 4 * np.pi * 0.25)  # by area
    assert abs(on_surface.double().mean().item() - share) < 0.03
    nodes = domain.box.grid(11)
    assert torch.equal(domain.grid(11), nodes[nodes.norm(dim=1) > 0.5])
    with pytest.raises(ValueError, match="unknown boundary part 'wall'"):
        domain.sample_boundary(3, part="wall")
