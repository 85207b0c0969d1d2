"""The Hessian's jump across cell faces (``smoothgrid.apps.sdf.jumps``): zero without jumps
(a quadratic, ~0 for a C2 grid), positive for a C1 Hermite grid, and a loss term that works."""

from __future__ import annotations

import pytest
import torch

import smoothgrid as sg
from smoothgrid.apps import sdf
from smoothgrid.apps.sdf.jumps import (
    across_face,
    face_jump,
    hessian_jump,
    nearest_axis,
    snap_to_faces,
)
from smoothgrid.jet import Jet
from smoothgrid.train.settings import SettingsError

F64 = torch.float64
GRID = dict(levels=3, features=2, min_res=4, max_res=16, log2_table=12)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def grid_field(name: str, offset: bool = False) -> sg.Field:
    torch.manual_seed(0)
    enc = sg.encodings.make(name, dim=3, offset=offset, init_scale=0.5, **GRID)
    field = sg.Field(enc, hidden=(16,), out=1).double()
    field.set_bounds(-1.0, 1.0)
    return field


def random_faces(n: int, seed: int, levels: int = 3):
    g = gen(seed)
    x = torch.rand(n, 3, generator=g, dtype=F64) * 1.6 - 0.8
    return x, torch.randint(levels, (n,), generator=g), torch.randint(3, (n,), generator=g)


@pytest.mark.parametrize("offset", [False, True])
def test_points_snap_onto_the_nearest_interior_face_of_their_level(offset):
    enc = grid_field("hermite", offset).encoding
    x, level, axis = random_faces(500, 0)
    on = snap_to_faces(enc, x, level, axis)
    rows = torch.arange(500)
    res = torch.tensor(enc.resolutions, dtype=F64)[level]
    shift = torch.tensor(enc.offsets, dtype=F64)[level]
    pos = (on[rows, axis] + 1) / 2 * res + shift
    assert (pos - pos.round()).abs().max() < 1e-9
    assert ((pos >= 1) & (pos <= res + shift) & (pos < res + 1)).all()  # inside the box
    moved = (on - x).abs()
    moved[rows, axis] = 0
    assert moved.max() == 0  # only the chosen coordinate moves, to the nearest interior face
    k = torch.arange(1, 18, dtype=F64)
    faces = -1 + 2 * (k[None, :] - shift[:, None]) / res[:, None]  # (N, 17) candidates
    faces = faces.masked_fill((faces <= -1) | (faces >= 1), float("inf"))
    nearest = (faces - x[rows, axis, None]).abs().min(1).values
    assert torch.allclose((on - x)[rows, axis].abs(), nearest, atol=1e-12)
    step = across_face(enc, axis, 0.01)
    assert torch.allclose(step[rows, axis], torch.full((500,), 0.01 * 2 / 16, dtype=F64))
    assert (step.abs().sum(1) == step[rows, axis].abs()).all()


def test_the_nearest_axis_moves_each_point_least():
    enc = grid_field("hermite", offset=True).encoding
    x, level, _ = random_faces(300, 5)
    best = nearest_axis(enc, x, level)
    moves = torch.stack(
        [
            (snap_to_faces(enc, x, level, torch.full_like(level, k)) - x).abs().sum(1)
            for k in range(3)
        ],
        1,
    )
    assert torch.equal(moves.gather(1, best[:, None])[:, 0], moves.min(1).values)
    assert set(best.tolist()) == {0, 1, 2}


def test_a_quadratic_has_no_jump():
    a = torch.randn(3, 3, generator=gen(1), dtype=F64)

    def quadratic(p: torch.Tensor) -> Jet:
        X = Jet.coordinates(p, order=2, hessian=True)
        terms = [X[..., i] * X[..., j] * float(a[i, j]) for i in range(3) for j in range(3)]
        return sum(terms) + X[..., 0] * 0.3

    enc = grid_field("hermite").encoding
    x, level, axis = random_faces(200, 2)
    jump = hessian_jump(quadratic, snap_to_faces(enc, x, level, axis), across_face(enc, axis))
    assert jump.abs().max() < 1e-12


def test_hermite_jumps_at_faces_and_a_c2_grid_does_not():
    x, level, axis = random_faces(400, 3)
    hermite, quintic = grid_field("hermite", offset=True), grid_field("quintic", offset=True)
    with torch.no_grad():
        at_faces = face_jump(hermite, x, level, axis)
        c2 = face_jump(quintic, x, level, axis)
        # the same step inside the cells of every level (a third of a finest cell off a face)
        inside = hessian_jump(
            lambda p: hermite.jet(p, order=2, hessian=True),
            snap_to_faces(hermite.encoding, x, level, axis)
            + across_face(hermite.encoding, axis, 1 / 3),
            across_face(hermite.encoding, axis),
        ).mean()
    # measured: Hermite 37 at faces, 0.6 inside, Hessians of size 126; quintic 0.66 (the O(delta)
    # change of a Hessian of size 98)
    scale = hermite.jet(x, order=2, hessian=True).hess[:, 0].flatten(1).norm(dim=1).mean()
    assert at_faces > 0.1 * scale
    assert inside < 0.05 * at_faces
    quintic_scale = quintic.jet(x, order=2, hessian=True).hess[:, 0].flatten(1).norm(dim=1).mean()
    assert c2 < 0.02 * quintic_scale


def test_the_loss_term_smooths_a_hermite_grid():
    field = grid_field("hermite")
    x, level, axis = random_faces(128, 4)
    opt = torch.optim.Adam(field.parameters(), lr=1e-2)
    start = float(face_jump(field, x, level, axis).detach())
    for _ in range(20):
        opt.zero_grad()
        loss = face_jump(field, x, level, axis)
        loss.backward()
        opt.step()
    assert float(face_jump(field, x, level, axis).detach()) < 0.3 * start


def test_fit_sdf_takes_the_face_jump_weight():
    target = sdf.load_target("sphere", points=2000)
    torch.manual_seed(0)
    field = sdf.sdf_field("hermite", levels=2, min_res=4, max_res=8, log2_table=10)
    result = sdf.fit_sdf(target, field=field, steps=3, batch=64, resolution=16,
                         weights={"face_jump": 1.0})  # fmt: skip
    assert result.metrics["steps"] == 3
    with pytest.raises(SettingsError, match="face_jump needs a grid"):
        sdf.fit_sdf(target, method="pinn", steps=1, weights={"face_jump": 1.0})
