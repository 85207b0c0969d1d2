"""sg.load: a run directory back as a field (and its problem)."""

from __future__ import annotations

import json

import pytest
import torch

import smoothgrid as sg
from smoothgrid.cli import main
from smoothgrid.train import Evaluator

TINY = ["--set", "batch=64", "--set", "encoding.levels=3", "--set", "encoding.max_res=16",
        "--set", "encoding.log2_table=10", "--set", "field.hidden=[8]",
        "--no-progress"]  # fmt: skip


def test_load_of_a_cli_run_reproduces_its_metrics(tmp_path):
    out = tmp_path / "run"
    argv = ["solve", "helmholtz2d", "--steps", "30", "--out", str(out), "--set", "problem.a2=2"]
    assert main([*argv, *TINY]) == 0
    run = sg.load(out)
    assert run.problem.name == "helmholtz2d" and run.problem.params == {"a2": 2}
    assert run.metrics["steps"] == 30 and len(run.history) >= 1
    errors = Evaluator(run.problem)(run.field)
    assert errors["rel_l2"] == pytest.approx(run.metrics["rel_l2"], rel=1e-6)
    x = torch.rand(10, 2) * 2 - 1
    assert run.predict(x).shape == (10, 1)
    u = run.jet(x, order=2)
    assert torch.allclose(u.value, run.predict(x), atol=1e-6)


def test_load_of_a_python_run_with_non_default_options(tmp_path):
    problem = sg.problems.make("poisson2d", a1=2)
    torch.manual_seed(0)
    enc = sg.encodings.make("quintic", dim=2, levels=3, max_res=16, log2_table=10, offset=True,
                            init_scale=1e-3)  # fmt: skip
    field = sg.Field(enc, hidden=(8,), activation="sin", omega0=3.0)
    result = sg.solve(problem, field, steps=20, batch=64, out=tmp_path, progress=False)
    run = sg.load(tmp_path)
    x = torch.rand(50, 2) * 2 - 1
    assert torch.equal(run.predict(x), result.field(x).detach())
    assert run.field.config() == field.config()


def test_load_refuses_what_is_not_a_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.yaml"):
        sg.load(tmp_path)
    (tmp_path / "config.yaml").write_text(json.dumps({"steps": 3}))
    with pytest.raises(sg.train.CheckpointError, match="records no field"):
        sg.load(tmp_path)
