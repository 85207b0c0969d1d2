"""Grid bookkeeping: the tcnn spatial hash, level resolutions, dense indexing and table layout."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from conftest import make_encoding

import smoothgrid as sg
from smoothgrid.encodings import HASH_PRIMES, hash_index, level_resolutions
from smoothgrid.encodings.grid import dense_index, layout_levels

PRIMES = (1, 2654435761, 805459861, 3674653429)


def reference_hash(coords, table_size: int) -> int:
    """tcnn: XOR over axes of (c_i * pi_i) mod 2**32, then mod T, in exact Python ints."""
    result = 0
    for c, p in zip(coords, PRIMES):
        result ^= (c * p) % 2**32
    return result % table_size


def test_primes_are_tcnns():
    assert HASH_PRIMES == PRIMES


@pytest.mark.parametrize(
    "coords,table_size,expected",
    [
        ((5,), 16, 5),  # d = 1: the coordinate itself (prime 1)
        ((1, 1), 2**32, 2654435760),  # 1 ^ 2654435761
        ((1, 1), 16, 0),  # 2654435760 = 16 * 165902235
        # 3 * 2654435761 = 7963307283 = 3668339987 mod 2**32; ^ 2 = 3668339985; mod 2**19
        ((2, 3), 2**19, 421137),
        ((7, 0, 1), 1000, 858),  # 7 ^ 805459861 = 805459858
        ((1, 2, 3, 4), 2**20, 196104),
        ((0, 0, 0, 0), 7, 0),
    ],
)
def test_hash_index_hand_computed(coords, table_size, expected):
    assert reference_hash(coords, table_size) == expected
    got = hash_index(torch.tensor([coords]), table_size)
    assert got.dtype == torch.int64 and got.shape == (1,)
    assert got.item() == expected


@pytest.mark.parametrize("d", [1, 2, 3, 4])
@pytest.mark.parametrize("table_size", [16, 1000, 2**19])
def test_hash_index_large_coordinates(d, table_size, gen):
    """Products overflow int64 for coordinates ~2**40; the low 32 bits must still be right."""
    coords = torch.randint(0, 2**40, (200, d), generator=gen)
    coords[:50] = torch.randint(0, 64, (50, d), generator=gen)
    rows = hash_index(coords.view(10, 20, d), table_size).reshape(-1)
    assert rows.shape == (200,)
    assert bool(((rows >= 0) & (rows < table_size)).all())
    expected = [reference_hash(c, table_size) for c in coords.tolist()]
    assert rows.tolist() == expected
    if table_size >= 1000:
        assert len(set(expected)) > 100  # it spreads


def test_hash_index_rejects_five_dimensions():
    with pytest.raises(ValueError, match="up to 4 dimensions"):
        hash_index(torch.zeros(3, 5, dtype=torch.int64), 16)


@pytest.mark.parametrize(
    "min_res,max_res,levels,expected",
    [
        (16, 512, 6, [16, 32, 64, 128, 256, 512]),
        (3, 12, 3, [3, 6, 12]),
        (4, 32, 4, [4, 8, 16, 32]),
        (16, 512, 1, [16]),
        (7, 7, 3, [7, 7, 7]),
        (2, 10, 3, [2, 4, 10]),  # b = sqrt(5): floor(2 * 2.236) = 4
    ],
)
def test_level_resolutions(min_res, max_res, levels, expected):
    assert level_resolutions(min_res, max_res, levels) == expected


def test_level_resolutions_follow_the_geometric_rule():
    res = level_resolutions(16, 2048, 16)
    growth = math.exp((math.log(2048) - math.log(16)) / 15)
    assert res[0] == 16 and res[-1] == 2048
    assert all(a <= b for a, b in zip(res, res[1:]))
    for level, n in enumerate(res):
        assert abs(n - 16 * growth**level) < 1.0 + 1e-6


def test_dense_index_is_row_major_axis_0_fastest():
    verts = torch.tensor([3, 4, 5])
    coords = torch.tensor([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [2, 3, 4]])
    assert dense_index(coords, verts).tolist() == [0, 1, 3, 12, 2 + 3 * 3 + 4 * 12]


def all_vertices(vertices: tuple[int, ...]) -> torch.Tensor:
    return torch.tensor(list(itertools.product(*[range(n) for n in vertices])))


LAYOUT_CASES = [
    ("linear", 2, {}),
    ("quintic", 3, {"offset": True}),
    ("rbf", 2, {"periodic": (0,)}),
    ("hermite", 1, {}),
    ("hermite", 2, {"offset": True, "periodic": (1,)}),
    ("linear", 4, {}),
]


@pytest.mark.parametrize("log2_table", [4, 6, 16])
@pytest.mark.parametrize("name,d,options", LAYOUT_CASES)
def test_layout_rows_and_collision_free_dense_levels(name, d, options, log2_table, gen):
    enc = make_encoding(name, d, gen, log2_table=log2_table, **options)
    T = 2**log2_table
    (layout,) = enc.layouts
    assert layout.table_size == T
    offset = options.get("offset", False)
    periodic = options.get("periodic", ())
    expected_total = 0
    for level, n in enumerate(enc.resolutions):
        verts = tuple(n if a in periodic else n + 1 + int(offset) for a in range(d))
        assert layout.vertices[level] == verts
        count = math.prod(verts)
        assert layout.dense[level] == (count <= T)
        assert layout.rows[level] == min(count, T)
        assert layout.start[level] == expected_total
        expected_total += min(count, T)

        # Every distinct vertex of the level, through the encoding's own row lookup.
        mask = [i == level for i in range(enc.levels)]
        enc.set_level_mask(mask)
        coords = all_vertices(verts)
        rows = enc._rows(0, coords[:, None, None, :]).reshape(-1)
        start, stop = layout.start[level], layout.start[level] + layout.rows[level]
        assert bool(((rows >= start) & (rows < stop)).all())
        if layout.dense[level]:
            assert len(set(rows.tolist())) == count  # no collisions
            assert torch.equal(rows, start + dense_index(coords, torch.tensor(verts)))
        else:
            assert torch.equal(rows, start + hash_index(coords, T))
    assert layout.total_rows == expected_total
    assert enc.tables[0].shape[0] == expected_total
    assert enc.tables[0].shape[1:] == (enc.coefficients, enc.features)


def test_layout_mixes_dense_and_hashed_levels():
    layout = layout_levels(2, [3, 6, 12], [0.0] * 3, 64)
    assert layout.dense == (True, True, False)
    assert layout.rows == (16, 49, 64)
    assert layout.start == (0, 16, 65)
    assert layout.total_rows == 129


@pytest.mark.parametrize("log2_table", [4, 16])
@pytest.mark.parametrize("d", [1, 2, 3])
def test_linear_at_a_vertex_reads_that_vertex_row(d, log2_table, gen):
    """At a grid vertex the d-linear feature is exactly the vertex's table row."""
    enc = make_encoding("linear", d, gen, log2_table=log2_table, bounds=(0.0, 1.0))
    (layout,) = enc.layouts
    for level, n in enumerate(enc.resolutions):
        verts = torch.tensor(layout.vertices[level])
        coords = torch.randint(0, n + 1, (8, d), generator=gen)
        x = coords.double() / n
        if layout.dense[level]:
            rows = layout.start[level] + dense_index(coords, verts)
        else:
            rows = layout.start[level] + hash_index(coords, 2**log2_table)
        features = enc(x)[:, level * enc.features : (level + 1) * enc.features]
        expected = enc.tables[0][rows, 0]
        assert torch.allclose(features, expected, rtol=0, atol=1e-12)


def test_hermite_separate_tables_have_their_own_layouts(gen):
    enc = make_encoding("hermite", 2, gen, log2_tables=(4, 6, 16))
    sizes = [layout.table_size for layout in enc.layouts]
    assert sizes == [16, 64, 2**16]
    assert enc.groups == [(0,), (1, 2), (3,)]
    for layout, table, group in zip(enc.layouts, enc.tables, enc.groups):
        expected = sum(min(math.prod(v), layout.table_size) for v in layout.vertices)
        assert table.shape == (expected, len(group), enc.features)
    assert enc.layouts[0].dense == (True, False, False)
    assert all(enc.layouts[2].dense)


def test_make_forwards_grid_options():
    enc = sg.encodings.make("rbf", 3, levels=2, features=3, min_res=4, max_res=8, log2_table=5)
    assert enc.resolutions == [4, 8]
    assert enc.out_features == 6 and enc.levels == 2 and enc.features == 3
    assert enc.layouts[0].table_size == 32
