"""Level curricula and the optimiser schedules (pure functions)."""

from __future__ import annotations

import math

import pytest

from smoothgrid.train.curriculum import barf_level_weights, coarse_to_fine, level_mask, vcycle
from smoothgrid.train.schedule import level_scales, lr_factor


def count(mask):
    assert mask == sorted(mask, reverse=True), "the active levels must be a prefix"
    return sum(mask)


def test_coarse_to_fine_ramps_up_then_holds():
    counts = [count(coarse_to_fine(8, p / 100, ramp=0.5)) for p in range(101)]
    assert counts[0] == 1
    assert counts == sorted(counts)
    assert set(counts) == set(range(1, 9))  # every level gets a turn
    assert all(c == 8 for c in counts[50:])
    assert counts[40] == 7  # the finest level comes on at 7/8 of the ramp


def test_vcycle_goes_coarse_fine_coarse_fine_then_holds():
    counts = [count(vcycle(6, p / 400, cycles=2, hold=0.25)) for p in range(401)]
    peaks = [i for i in range(1, 400) if counts[i] == 6 and counts[i - 1] < 6]
    troughs = [i for i in range(1, 400) if counts[i] == 1 and counts[i - 1] > 1]
    assert counts[0] == 1
    assert len(peaks) == 2 and len(troughs) == 1 and peaks[0] < troughs[0] < peaks[1]
    assert all(c == 6 for c in counts[300:])  # the last quarter keeps every level
    assert max(counts[:300]) == 6 and min(counts[:300]) == 1


def test_vcycle_with_one_cycle_is_coarse_to_fine():
    for p in range(101):
        assert vcycle(5, p / 100, cycles=1, hold=0.5) == coarse_to_fine(5, p / 100, ramp=0.5)


def test_level_mask_dispatch_and_errors():
    assert level_mask(None, 3, 0.0) == [True, True, True]
    assert level_mask("coarse_to_fine", 4, 0.0) == [True, False, False, False]
    assert level_mask("vcycle", 4, 1.0) == [True] * 4
    assert count(level_mask("coarse_to_fine", 1, 0.3)) == 1
    with pytest.raises(ValueError, match="unknown curriculum"):
        level_mask("fine_to_coarse", 4, 0.0)
    with pytest.raises(ValueError, match="progress"):
        coarse_to_fine(4, 1.5)
    with pytest.raises(ValueError, match="cycles"):
        vcycle(4, 0.5, cycles=0)


def test_lr_factor():
    assert lr_factor(None, 0.7) == 1.0
    assert lr_factor("exp", 0.0, 0.1) == 1.0
    assert lr_factor("exp", 0.5, 0.1) == pytest.approx(math.sqrt(0.1))
    assert lr_factor("exp", 1.0, 0.1) == pytest.approx(0.1)
    assert lr_factor("cosine", 0.5, 0.1) == pytest.approx(0.55)
    assert lr_factor("cosine", 1.0, 0.1) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="decay"):
        lr_factor("linear", 0.5)
    with pytest.raises(ValueError, match="final_lr_factor"):
        lr_factor("exp", 0.5, 0.0)


def test_level_scales():
    res = [4, 8, 16]
    assert level_scales("inverse", res) == [1.0, 0.5, 0.25]
    assert level_scales("inverse_square", res) == [1.0, 0.25, 0.0625]
    assert level_scales("none", res) == [1.0, 1.0, 1.0]
    assert level_scales([1, 2, 3], res) == [1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match="3 positive numbers"):
        level_scales([1, 2], res)
    with pytest.raises(ValueError, match="unknown level_scale"):
        level_scales("inverse_cube", res)


def test_barf_weights_fade_levels_in_one_after_another():
    L = 4
    assert barf_level_weights(0.0, L) == [0.0] * L
    assert barf_level_weights(float(L), L) == [1.0] * L
    assert barf_level_weights(100.0, L) == [1.0] * L
    w = barf_level_weights(1.25, L)
    assert w[0] == 1.0 and w[2:] == [0.0, 0.0]
    assert w[1] == pytest.approx((1 - math.cos(math.pi * 0.25)) / 2, abs=1e-15)
    alphas = [k / 50 * L for k in range(51)]
    table = [barf_level_weights(a, L) for a in alphas]
    for weights in table:
        assert weights == sorted(weights, reverse=True)  # coarse before fine
        assert all(0.0 <= v <= 1.0 for v in weights)
    for level in range(L):  # each level's weight rises monotonically with alpha
        column = [weights[level] for weights in table]
        assert column == sorted(column)
    with pytest.raises(ValueError, match="progress_alpha"):
        barf_level_weights(-0.5, L)
    with pytest.raises(ValueError, match="levels"):
        barf_level_weights(1.0, 0)
