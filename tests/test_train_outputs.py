"""Run directories: config.yaml, metrics.json, history.csv, checkpoint and plots."""

from __future__ import annotations

import csv
import dataclasses
import json

import pytest
import torch
import yaml

import smoothgrid as sg
from smoothgrid.problems import make
from smoothgrid.train import solve
from smoothgrid.train.plots import axis_labels, plot_curves, plot_solution


def test_out_writes_every_file(tmp_path):
    torch.manual_seed(0)
    enc = sg.encodings.make("hermite", dim=2, levels=3, min_res=4, max_res=16, log2_table=10)
    field = sg.Field(enc, hidden=(8,), out=1)
    problem = dataclasses.replace(make("poisson2d"), test_resolution=16)
    result = solve(problem, field, steps=12, batch=64, eval_every=5, out=tmp_path, progress=False)
    names = {p.name for p in tmp_path.iterdir()}
    expected = {"config.yaml", "metrics.json", "history.csv", "checkpoint.pt", "checkpoint.json"}
    assert expected | {"solution.png", "curves.png"} <= names
    assert not any(name.endswith(".tmp") for name in names)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics == pytest.approx(result.metrics)
    assert metrics["steps"] == 12 and 0 < metrics["rel_l2"] < 2
    rows = list(csv.DictReader((tmp_path / "history.csv").open()))
    assert [int(r["step"]) for r in rows] == [5, 10, 12]
    assert float(rows[-1]["rel_l2"]) == pytest.approx(metrics["rel_l2"])
    config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert config["problem"] == {"name": "poisson2d"}
    assert config["encoding"]["name"] == "hermite" and config["encoding"]["levels"] == 3
    assert config["field"]["hidden"] == [8] and config["field"]["activation"] == "tanh"
    assert config["field"]["out"] == 1 and config["field"]["derivatives"] == "jet"
    assert config["steps"] == 12 and config["dtype"] == "float32"
    for png in ("solution.png", "curves.png"):
        assert (tmp_path / png).read_bytes()[:4] == b"\x89PNG"
    assert result.out == str(tmp_path)


@pytest.mark.parametrize("name", ["convection", "heat", "taylor_green", "helmholtz3d"])
def test_solution_plots_for_space_time_and_3d(tmp_path, name):
    problem = make(name)
    enc = sg.encodings.make(
        "hermite", dim=problem.dim, levels=2, min_res=2, max_res=4, log2_table=8,
        bounds=problem.domain.bounds,
    )  # fmt: skip
    field = sg.Field(enc, hidden=(4,), out=len(problem.outputs))
    plot_solution(problem, field, tmp_path / "s.png", resolution=16)
    assert (tmp_path / "s.png").stat().st_size > 0


def test_axis_labels():
    assert axis_labels(make("convection")) == ["x", "t"]
    assert axis_labels(make("heat")) == ["x", "y", "t"]
    assert axis_labels(make("helmholtz3d")) == ["x", "y", "z"]


def test_curves_without_errors(tmp_path):
    plot_curves(
        [{"step": 1, "loss": 1.0, "loss_residual": 1.0, "rel_l2": None}], tmp_path / "c.png"
    )
    assert (tmp_path / "c.png").stat().st_size > 0
