"""The curvature roughness (``smoothgrid.apps.sdf.curvature_roughness``): ~0 for an exact field
and for a smooth error, clearly positive for cell-aligned steps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import smoothgrid as sg
from smoothgrid.apps import sdf
from smoothgrid.geometry.mesh import implicit_mesh


@pytest.fixture(scope="module")
def torus_mesh():
    """A marching-cubes mesh of the exact torus (48^3 nodes), the exact level-set curvature at
    its vertices (what an exact SDF's jet gives there) and the truth at their projections."""
    torus = sg.geometry.make_shape("torus")
    vertices, faces = implicit_mesh(torus.sdf, resolution=48)
    x = torch.from_numpy(vertices)
    found_h, found_k, _ = torus.curvature(x)
    on, _ = sg.geometry.project_to_surface(torus.sdf, x)
    h, k, _ = torus.curvature(on)
    return vertices, faces, found_h.numpy(), found_k.numpy(), h.numpy(), k.numpy()


def test_mesh_edges_of_two_triangles():
    edges = sdf.mesh_edges(np.array([[0, 1, 2], [2, 1, 3]]))
    assert edges.tolist() == [[0, 1], [0, 2], [1, 2], [1, 3], [2, 3]]


def test_roughness_is_zero_for_the_exact_field_and_a_smooth_error(torus_mesh):
    vertices, faces, found_h, found_k, h, k = torus_mesh
    assert sdf.curvature_roughness(faces, h, h) == 0.0
    # the exact SDF's curvature at the (slightly off-surface) vertices: round-off and O(h^2)
    assert sdf.curvature_roughness(faces, found_h, h) < 2e-3
    assert sdf.curvature_roughness(faces, found_k, k) < 4e-3
    # a smooth error of 10 % (a bias and a slow wave) adds only its change along an edge,
    # ~0.1 times the exact curvature's own jump: less than a quarter of 5 % blocks' (below)
    smooth = h * (1.1 + 0.1 * np.sin(2 * vertices[:, 0]))
    assert sdf.curvature_roughness(faces, smooth, h) < 6e-3


def test_roughness_is_positive_for_cell_aligned_steps(torus_mesh):
    vertices, faces, _, _, h, _ = torus_mesh
    cells = np.floor((vertices + 1) / 2 * 32)  # 32 cells per axis of [-1, 1]
    steps = 0.05 * np.abs(h).mean() * (cells.sum(1) % 2)  # a checkerboard of 5 % blocks
    rough = sdf.curvature_roughness(faces, h + steps, h)
    # about 5 % times the share of edges crossing a face (~0.4 at 48 nodes for 32 cells)
    assert 0.01 < rough < 0.05
    assert sdf.curvature_roughness(faces, h + 2 * steps, h) == pytest.approx(2 * rough)
    # undefined vertices (near an edge of a CSG) and their edges are left out
    defined = vertices[:, 0] > 0
    assert sdf.curvature_roughness(faces, h + steps * ~defined, h, defined) == 0.0
    assert np.isnan(sdf.curvature_roughness(faces, h, h, np.zeros(len(h), bool)))
