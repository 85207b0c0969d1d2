"""Run settings declared once: validation, nearest names, the flat options and their docs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import smoothgrid as sg
from smoothgrid.cli import main
from smoothgrid.train.settings import SOLVE_KEYS, Settings, SettingsError, options_markdown


def test_options_are_unique_across_groups_and_round_trip():
    assert len(SOLVE_KEYS) == len(set(SOLVE_KEYS))
    s = Settings.from_options(time_budget=30, lr=3e-3, level_scale=[1, 0.5], causal=2,
                              weights={"dirichlet": 10})  # fmt: skip
    flat = s.options()
    assert list(flat) == list(SOLVE_KEYS)
    assert flat["level_scale"] == [1.0, 0.5] and flat["steps"] is None
    assert Settings.from_options(**flat) == s
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.schedule.lr = 1.0  # type: ignore[misc]


def test_replace_swaps_the_budget():
    s = Settings.from_options(steps=10, batch=64).replace(time_budget=5.0)
    assert s.budget.steps is None and s.budget.time_budget == 5.0 and s.points.batch == 64


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"steps": 1, "bacth": 64}, "unknown setting 'bacth'. Did you mean 'batch'"),
        ({"steps": 1, "lr": 0}, "lr must be a number > 0"),
        ({"steps": 1, "decay": "linear"}, "unknown decay 'linear'"),
        ({"steps": 1, "curriculum": "vcylce"}, "Did you mean 'vcycle'"),
        ({"steps": 1, "dtype": "float16"}, "unknown dtype"),
        ({"steps": 1.5}, "steps must be an integer"),
        ({"steps": True}, "steps must be an integer"),
        ({}, "exactly one of steps= and time_budget="),
        ({"steps": 1, "time_budget": 2}, "exactly one"),
        ({"time_budget": -1}, "time_budget must be a number > 0"),
        ({"steps": 1, "level_scale": [1, -1]}, "positive numbers"),
        ({"steps": 1, "stratified": "yes"}, "stratified must be true or false"),
        ({"steps": 1, "derivatives": "jets"}, "Did you mean 'jet'"),
    ],
)
def test_bad_settings_are_refused_with_the_nearest_name(options, match):
    with pytest.raises(SettingsError, match=match):
        Settings.from_options(**options)


def test_yaml_style_integral_floats_are_integers():
    s = Settings.from_options(steps=2e3, batch=4096.0)
    assert s.budget.steps == 2000 and isinstance(s.points.batch, int)


def test_solve_refuses_a_mistyped_option_before_training():
    problem = sg.problems.make("poisson2d")
    field = sg.problems.suggested_field(problem)
    before = [p.detach().clone() for p in field.parameters()]
    with pytest.raises(SettingsError, match="Did you mean 'causal'"):
        sg.solve(problem, field, steps=5, casual=1.0, progress=False)
    assert all((a == b).all() for a, b in zip(before, field.parameters()))


def test_cli_refuses_a_mistyped_setting(capsys):
    assert main(["solve", "poisson2d", "--set", "final_lr_facter=0.5"]) == 2
    assert "Did you mean 'final_lr_factor'" in capsys.readouterr().err


def test_docs_list_every_option(capsys):
    """docs/options.md is the generated table (regenerate it with `smoothgrid options`)."""
    docs = Path(__file__).resolve().parents[1] / "docs" / "options.md"
    assert docs.read_text() == options_markdown()
    assert main(["options"]) == 0
    printed = capsys.readouterr().out
    assert all(f"`{key}`" in printed for key in SOLVE_KEYS)
