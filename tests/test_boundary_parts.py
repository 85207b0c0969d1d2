"""Boundary parts: face names, sampling on chosen faces or by predicate, measure weighting."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import Tensor

import smoothgrid as sg
from smoothgrid.geometry import Box, ExteriorDomain, SpaceTime, face_names, sample_boundary

F64 = torch.float64
RECT = Box([0.0, 0.0], [3.0, 1.0])  # faces left/right of length 1, bottom/top of length 3


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_face_names_and_aliases():
    assert face_names(1) == ("left", "right")
    assert face_names(2) == ("left", "right", "bottom", "top")
    assert face_names(3) == ("left", "right", "bottom", "top", "back", "front")
    assert face_names(4)[:3] == ("x0-", "x0+", "x1-") and len(face_names(4)) == 8
    box3 = Box([0.0] * 3, [1.0] * 3)
    assert box3.boundary_names == face_names(3)
    for k, name in enumerate(face_names(3)):
        axis_name = f"x{k // 2}{'-+'[k % 2]}"
        assert box3.select_boundary(name) == box3.select_boundary(axis_name) == (k,)
    assert RECT.select_boundary(("top", 0, "x0-")) == (0, 3)  # sorted, duplicates merged


@pytest.mark.parametrize("dim", [2, 3])
def test_one_face_only(dim):
    box = Box([-1.0, 0.5, 2.0][:dim], [0.3, 2.0, 2.7][:dim])  # 0.3 = lo + ext does not round
    for k, name in enumerate(box.boundary_names):
        axis, hi = k // 2, k % 2
        x, normals = box.sample_boundary(500, gen(k), dtype=F64, part=name)
        bound = (box.hi if hi else box.lo)[axis]
        assert (x[:, axis] == bound).all()  # exactly on the face
        others = torch.arange(dim) != axis
        inner = (x[:, others] > box.lo[others]) & (x[:, others] < box.hi[others])
        assert inner.all()  # and on no other face
        expected = torch.zeros(dim, dtype=F64)
        expected[axis] = 1.0 if hi else -1.0
        assert torch.equal(normals, expected.expand(500, dim))
        x32, _ = box.sample_boundary(50, gen(k), part=name)  # float32: exact too
        assert (x32[:, axis] == bound.float()).all()


def _face_counts(box: Box, x: Tensor, normals: Tensor) -> Tensor:
    axis = normals.abs().argmax(1)
    side = (normals[torch.arange(len(x)), axis] > 0).long()
    return torch.bincount(2 * axis + side, minlength=2 * box.dim)


def test_counts_follow_measure():
    n = 20000
    x, normals = RECT.sample_boundary(n, gen(1), dtype=F64, part=("left", "bottom", "top"))
    share = _face_counts(RECT, x, normals).double() / n
    expected = torch.tensor([1, 0, 3, 3], dtype=F64) / 7
    assert share[1] == 0 and torch.allclose(share, expected, atol=0.015)  # ~4 standard errors
    box3 = Box([0.0] * 3, [1.0, 2.0, 4.0])  # face areas 8, 4, 2 for the x, y, z faces
    x, normals = box3.sample_boundary(n, gen(2), dtype=F64, part=("x0+", "x1-", "front"))
    share = _face_counts(box3, x, normals).double() / n
    assert torch.allclose(share, torch.tensor([0, 8, 4, 0, 0, 2], dtype=F64) / 14, atol=0.015)


def test_whole_boundary_unchanged_by_selecting_all_faces():
    everything, _ = RECT.sample_boundary(300, gen(3), dtype=F64)
    listed, _ = RECT.sample_boundary(300, gen(3), dtype=F64, part=(0, 1, 2, 3))
    assert torch.equal(everything, listed)
    assert RECT.sample_boundary(0, gen(3))[0].shape == (0, 2)


def test_spacetime_lateral_faces():
    st = SpaceTime(Box([0.0, 0.0], [2.0, 1.0]), 1.0, 3.0)
    x, normals = st.sample_boundary(400, gen(4), dtype=F64, part="right")
    assert (x[:, 0] == 2.0).all() and ((x[:, 2] >= 1.0) & (x[:, 2] <= 3.0)).all()
    assert torch.equal(normals, torch.tensor([1.0, 0.0, 0.0], dtype=F64).expand(400, 3))
    assert st.boundary_names == face_names(2) and st.select_boundary("top") == (3,)


def test_exterior_domain_faces_and_surface():
    sphere = sg.geometry.sphere(0.5)
    domain = ExteriorDomain(Box([-1.0] * 3, [1.0] * 3), sphere)
    assert domain.boundary_names == (*face_names(3), "surface")
    x, normals = domain.sample_boundary(200, gen(5), dtype=F64, part="top")
    assert (x[:, 1] == 1.0).all() and (normals[:, 1] == 1.0).all()
    x, _ = domain.sample_boundary(6000, gen(6), dtype=F64, part=("surface", "top"))
    on_surface = ((x.norm(dim=1) - 0.5).abs() < 1e-9).double().mean().item()
    assert on_surface == pytest.approx(torch.pi / (4 + torch.pi), abs=0.025)  # areas pi and 4
    assert ((x[:, 1] == 1.0) | ((x.norm(dim=1) - 0.5).abs() < 1e-9)).all()
    assert domain.select_boundary("box") == tuple(range(6)) and domain.select_boundary(6) == (6,)


def test_predicate_keeps_accepted_points_uniformly():
    # x < 1 on [0, 3] x [0, 1]: the left face (length 1) and the first third of bottom and top
    def left_third(x):
        return x[:, 0] < 1.0

    x, normals = sample_boundary(RECT, 6000, left_third, gen(7), F64)
    assert x.shape == (6000, 2) and (x[:, 0] < 1.0).all()
    share = _face_counts(RECT, x, normals).double() / 6000
    assert torch.allclose(share, torch.tensor([1, 0, 1, 1], dtype=F64) / 3, atol=0.03)
    # a rare part still gets exactly the points asked for
    x, _ = sample_boundary(RECT, 64, lambda x: x[:, 0] > 2.995, gen(8), F64)
    assert x.shape == (64, 2) and (x[:, 0] > 2.995).all()
    st = SpaceTime(Box([0.0], [1.0]), 0.0, 4.0)
    x, _ = sample_boundary(st, 100, lambda x: x[:, 1] > 3.0, gen(9), F64)  # time is seen too
    assert (x[:, 1] > 3.0).all() and ((x[:, 0] == 0) | (x[:, 0] == 1)).all()


def test_unknown_names_and_bad_parts():
    with pytest.raises(ValueError, match=r"unknown boundary part 'tpo' .*Did you mean 'top'"):
        RECT.select_boundary("tpo")
    with pytest.raises(ValueError, match="unknown boundary part 'front'"):
        RECT.select_boundary("front")  # a 3-D name on a 2-D box
    with pytest.raises(ValueError, match=r"index 4 is out of range.*0\.\.3"):
        RECT.select_boundary(4)
    for bad in ([], True, 1.5, ("top", None)):
        with pytest.raises(TypeError, match="boundary part"):
            RECT.select_boundary(bad)


def test_bad_predicates():
    with pytest.raises(ValueError, match="accepted none"):
        sample_boundary(RECT, 10, lambda x: x[:, 0] > 5.0, gen())
    with pytest.raises(ValueError, match=r"returns \(B,\) bools.*float64 of shape \(1024,\)"):
        sample_boundary(RECT, 10, lambda x: x[:, 0], gen(), F64)
    with pytest.raises(ValueError, match=r"shape \(1024, 1\)"):
        sample_boundary(RECT, 10, lambda x: x[:, :1] > 0, gen(), F64)


class _Disc:
    """A domain of one's own with a boundary sampler and no named parts."""

    dim = 2

    def sample_boundary(self, n, generator=None, dtype=torch.float32, device="cpu"):
        theta = 2 * torch.pi * torch.rand(n, generator=generator, dtype=F64)
        x = torch.stack([theta.cos(), theta.sin()], 1).to(dtype)
        return x, x.clone()


def test_domain_of_ones_own_takes_predicates_not_names():
    x, normals = sample_boundary(_Disc(), 50, lambda x: x[:, 1] > 0, gen(), F64)
    assert (x[:, 1] > 0).all() and torch.equal(x, normals)
    with pytest.raises(TypeError, match="no named boundary parts"):
        sample_boundary(_Disc(), 5, "top", gen())


def test_readme_boundary_conditions_snippet_holds_for_its_exact_solution():
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("## Boundary conditions", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    scope: dict = {}
    exec(code, scope)
    problem = scope["problem"]

    def u(points):  # the snippet's exact solution as a jet
        X = sg.Jet.coordinates(points, order=2)
        return sg.jet.sin(math.pi * X[..., 0]) * sg.jet.sin(math.pi * X[..., 1])

    for k, condition in enumerate(problem.conditions):
        batch = condition.sample(problem.domain, 200, gen(k), dtype=F64)
        assert condition.residual(batch, u).abs().max() < 1e-12, condition
    assert problem.conditions[3].sample(problem.domain, 50, gen())["x"][:, 1].eq(0).all()
