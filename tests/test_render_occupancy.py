"""The occupancy grid: which samples it drops and keeps, its update schedule and its decay."""

from __future__ import annotations

import math

import pytest
import torch

from smoothgrid.render import OccupancyGrid, ray_box, stratified_intervals
from smoothgrid.render.samplers import midpoints

BOX = ((-1.0, -1.0, -1.0), (1.0, 1.0, 1.0))
RADIUS = 0.4


def ball(centre=(0.0, 0.0, 0.0), value: float = 10.0):
    c = torch.tensor(centre)

    def density(x: torch.Tensor) -> torch.Tensor:
        return value * ((x - c).norm(dim=-1) < RADIUS).float()

    return density


def _samples(origins, directions, n=64):
    t0, t1, hit = ray_box(origins, directions, BOX)
    s, e = stratified_intervals(t0, t1, n, jitter=False)
    return origins[:, None] + directions[:, None] * midpoints(s, e)[..., None], hit


def test_empty_space_is_dropped_and_matter_kept():
    grid = OccupancyGrid(BOX, resolution=16)
    assert grid.fraction_occupied() == 1.0  # nothing is skipped before the first update
    assert grid.update(ball(), generator=torch.Generator().manual_seed(0))
    # The ball fills about 4/3 pi 0.4^3 / 8 = 3.4 % of the box; its boundary cells add some.
    assert 0.02 < grid.fraction_occupied() < 0.08
    d = torch.tensor([[1.0, 0.0, 0.0]]).expand(3, 3)
    o = torch.tensor([[-2.0, 0.8, 0.8], [-2.0, -0.7, 0.0], [-2.0, 0.0, 0.0]])
    x, hit = _samples(o, d)
    assert hit.all()
    keep = grid.occupied_at(x.reshape(-1, 3)).view(3, -1)
    assert not keep[:2].any()  # rays that miss the ball lose every sample
    # On the ray through the centre, every sample in a cell wholly inside the ball is kept.
    cell_diagonal = math.sqrt(3) * 2 / 16
    deep = x[2].norm(dim=-1) < RADIUS - cell_diagonal
    assert deep.sum() > 10 and keep[2][deep].all()
    assert not keep[2][x[2].norm(dim=-1) > RADIUS + cell_diagonal].any()


def test_points_outside_the_box_are_never_occupied():
    grid = OccupancyGrid(BOX, resolution=4)
    x = torch.tensor([[0.0, 0.0, 0.0], [1.5, 0.0, 0.0], [0.0, -1.01, 0.0]])
    assert grid.occupied_at(x).tolist() == [True, False, False]


def test_update_schedule():
    grid = OccupancyGrid(BOX, resolution=8, every=4, warmup=8)
    seen = []

    def counting(x):
        seen.append(len(x))
        return ball()(x)

    g = torch.Generator().manual_seed(1)
    assert [grid.update(counting, step=s, generator=g) for s in range(9)] == [
        True, False, False, False, True, False, False, False, True,
    ]  # fmt: skip
    # Warmup updates evaluate every cell; later ones a random quarter plus a quarter of
    # occupied cells.
    assert seen == [512, 512, 256]
    assert int(grid.updates) == 3


def test_stale_cells_decay_and_empty():
    grid = OccupancyGrid(BOX, resolution=8, decay=0.5)
    g = torch.Generator().manual_seed(2)
    grid.update(ball((-0.5, 0.0, 0.0)), generator=g)
    old = torch.tensor([[-0.5, 0.0, 0.0]])
    new = torch.tensor([[0.5, 0.0, 0.0]])
    assert grid.occupied_at(old).item() and not grid.occupied_at(new).item()
    for _ in range(12):  # 10 * 0.5^12 < 0.01: the old ball is forgotten
        grid.update(ball((0.5, 0.0, 0.0)), generator=g)
    assert grid.occupied_at(new).item() and not grid.occupied_at(old).item()


def test_state_dict_round_trip_and_bad_options():
    grid = OccupancyGrid(BOX, resolution=(4, 5, 6))
    grid.update(ball())
    other = OccupancyGrid(BOX, resolution=(4, 5, 6))
    other.load_state_dict(grid.state_dict())
    assert torch.equal(other.occupied, grid.occupied) and other.occupied.shape == (4, 5, 6)
    with pytest.raises(ValueError, match="resolution"):
        OccupancyGrid(BOX, resolution=(4, 4))
    with pytest.raises(ValueError, match="decay"):
        OccupancyGrid(BOX, decay=1.5)
