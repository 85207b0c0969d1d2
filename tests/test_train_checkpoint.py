"""Checkpoints: atomic safe files, exact resume, the NaN guard and Ctrl-C."""

from __future__ import annotations

import dataclasses
import json
import os
import signal

import pytest
import torch

import smoothgrid as sg
from smoothgrid.problems import Problem, make
from smoothgrid.train import DivergedError, load_checkpoint, save_checkpoint, solve


def tiny_field(seed: int = 0) -> sg.Field:
    torch.manual_seed(seed)
    enc = sg.encodings.make(
        "hermite", dim=2, levels=4, features=2, min_res=4, max_res=32, log2_table=12
    )
    return sg.Field(enc, hidden=(16,), out=1)


def poisson(fail_at: int | None = None, error: type | None = None) -> Problem:
    """The tiny poisson2d whose residual returns NaN (or raises ``error``) at call ``fail_at``."""
    base = dataclasses.replace(make("poisson2d"), test_resolution=32)
    calls = {"n": 0}

    def residual(x, u):
        r = base.residual(x, u)
        calls["n"] += 1
        if calls["n"] - 1 == fail_at:
            if error is not None:
                raise error
            return r * float("nan")
        return r

    return dataclasses.replace(base, residual=residual)


SETTINGS = {"steps": 30, "batch": 128, "eval_every": 10, "progress": False}


def test_checkpoint_round_trip(tmp_path):
    field = tiny_field()
    opt = torch.optim.Adam(field.parameters())
    field(torch.rand(4, 2)).sum().backward()
    opt.step()
    path = tmp_path / "c.pt"
    save_checkpoint(path, field, opt, {"step": 3, "note": "x"}, {"batch/x": torch.ones(2, 2)})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json", "c.pt"]  # no temp files
    tensors, meta = load_checkpoint(path)
    assert meta == {"step": 3, "note": "x"}
    assert torch.equal(tensors["extra.batch/x"], torch.ones(2, 2))
    for name, value in field.state_dict().items():
        assert torch.equal(tensors[f"field.{name}"], value)
    assert any(k.startswith("optim.") for k in tensors)
    torch.load(path, weights_only=True)  # plain tensors only
    meta["step"] = 4
    (tmp_path / "c.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="do not match"):
        load_checkpoint(path)


def test_resume_reproduces_the_uninterrupted_run(tmp_path):
    full = solve(poisson(), tiny_field(), **SETTINGS)
    with pytest.raises(KeyboardInterrupt):
        solve(poisson(fail_at=17, error=KeyboardInterrupt), tiny_field(), out=tmp_path / "b",
              **SETTINGS)  # fmt: skip
    _, meta = load_checkpoint(tmp_path / "b" / "checkpoint.pt")
    assert meta["step"] == 17
    resumed = solve(poisson(), tiny_field(seed=1), out=tmp_path / "b", resume=True, **SETTINGS)
    for a, b in zip(full.field.parameters(), resumed.field.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
    assert resumed.metrics["rel_l2"] == pytest.approx(full.metrics["rel_l2"], rel=1e-6)
    assert resumed.metrics["steps"] == 30
    assert len(resumed.history) == len(full.history) == 3
    for a, b in zip(full.history, resumed.history):
        a, b = ({k: v for k, v in row.items() if k != "time"} for row in (a, b))
        assert b == pytest.approx(a, rel=1e-6)


def test_resume_with_resample_every(tmp_path):
    settings = {**SETTINGS, "resample_every": 4}
    full = solve(poisson(), tiny_field(), **settings)
    with pytest.raises(KeyboardInterrupt):
        solve(poisson(fail_at=10, error=KeyboardInterrupt), tiny_field(), out=tmp_path, **settings)
    resumed = solve(poisson(), tiny_field(), out=tmp_path, resume=True, **settings)
    for a, b in zip(full.field.parameters(), resumed.field.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_nan_loss_raises_and_keeps_the_last_good_checkpoint(tmp_path):
    with pytest.raises(DivergedError, match="step 12") as info:
        solve(poisson(fail_at=12), tiny_field(), out=tmp_path, checkpoint_every=5, **SETTINGS)
    assert info.value.step == 12
    assert info.value.checkpoint == str(tmp_path / "checkpoint.pt")
    tensors, meta = load_checkpoint(tmp_path / "checkpoint.pt")
    assert meta["step"] == 10
    assert all(torch.isfinite(t).all() for t in tensors.values() if t.is_floating_point())


def test_nan_loss_without_out_says_so():
    with pytest.raises(DivergedError, match="pass out= to keep one"):
        solve(poisson(fail_at=0), tiny_field(), **SETTINGS)


def test_nan_loss_before_the_first_checkpoint_with_out(tmp_path):
    with pytest.raises(DivergedError) as info:
        solve(poisson(fail_at=3), tiny_field(), out=tmp_path, **SETTINGS)
    message = str(info.value)
    assert "pass out=" not in message and "no checkpoint had been written yet" in message
    assert info.value.checkpoint is None


def test_interrupt_saves_a_checkpoint(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        solve(poisson(fail_at=5, error=KeyboardInterrupt), tiny_field(), out=tmp_path, **SETTINGS)
    tensors, meta = load_checkpoint(tmp_path / "checkpoint.pt")
    assert meta["step"] == 5 and "extra.residual/x" in tensors


def test_resume_needs_a_checkpoint(tmp_path):
    with pytest.raises(sg.train.CheckpointError, match="no checkpoint"):
        solve(poisson(), tiny_field(), out=tmp_path, resume=True, **SETTINGS)
    with pytest.raises(ValueError, match="out="):
        solve(poisson(), tiny_field(), resume=True, **SETTINGS)


def test_ctrl_c_finishes_the_step_then_saves(tmp_path):
    base = poisson()
    calls = {"n": 0}

    def residual(x, u):
        calls["n"] += 1
        if calls["n"] == 8:  # during step 7
            os.kill(os.getpid(), signal.SIGINT)
        return base.residual(x, u)

    problem = dataclasses.replace(base, residual=residual)
    with pytest.raises(KeyboardInterrupt):
        solve(problem, tiny_field(), out=tmp_path, **SETTINGS)
    _, meta = load_checkpoint(tmp_path / "checkpoint.pt")
    assert meta["step"] == 8  # step 7 was completed before stopping
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_resume_with_rad_keeps_the_pool(tmp_path):
    """The interrupt falls between two RAD pools: the resumed run must reuse the saved pool."""
    settings = {**SETTINGS, "adaptive": "rad", "rad_pool": 2, "rad_every": 7}
    full = solve(poisson(), tiny_field(), **settings)
    # residual calls: 2 per new pool (steps 0, 7, 14, ...) and 1 per step
    with pytest.raises(KeyboardInterrupt):
        solve(poisson(fail_at=32, error=KeyboardInterrupt), tiny_field(), out=tmp_path,
              **settings)  # fmt: skip
    _, meta = load_checkpoint(tmp_path / "checkpoint.pt")
    assert meta["step"] == 24  # pool of step 21 in use
    resumed = solve(poisson(), tiny_field(seed=1), out=tmp_path, resume=True, **settings)
    for a, b in zip(full.field.parameters(), resumed.field.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
    assert resumed.metrics["rel_l2"] == pytest.approx(full.metrics["rel_l2"], rel=1e-6)
