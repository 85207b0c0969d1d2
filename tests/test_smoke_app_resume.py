"""A smoke run's checkpoint holds its occupancy grid; an interrupted and resumed run ends
exactly where an uninterrupted one does; ``sg.load`` and ``smoke.load_model`` give its
trained field / model back."""

from __future__ import annotations

import pytest
import torch

import smoothgrid as sg
from smoothgrid.apps.smoke import SmokeConfig, load_model, simulate
from smoothgrid.apps.smoke.fit import SmokeOptions, SmokeTask, fit_smoke
from smoothgrid.apps.smoke.scenes import observe
from smoothgrid.train.checkpoint import load_checkpoint

OPTIONS = SmokeOptions(levels=3, max_res=16, rays=32, ray_samples=16, physics_points=32,
                       eval_every=10)  # fmt: skip
STEPS, STOP = 40, 20  # occupancy updates at steps 0 and 16 before the stop, 32 after it


@pytest.fixture(scope="module")
def scene():
    torch.set_num_threads(1)
    return observe(simulate(SmokeConfig(dim=2, resolution=16, frames=6, warmup=4)), views=2)


def _interrupt_at(monkeypatch, step: int) -> None:
    """Make the task raise ``KeyboardInterrupt`` (as Ctrl-C does) before step ``step + 1``."""
    before = SmokeTask.before_step

    def before_step(self, progress: float) -> None:
        if self.steps_seen == step:
            raise KeyboardInterrupt
        before(self, progress)

    monkeypatch.setattr(SmokeTask, "before_step", before_step)


def test_resumed_run_ends_identical_to_an_uninterrupted_one(scene, tmp_path, monkeypatch):
    whole = fit_smoke(scene, "semi_lagrangian", steps=STEPS, options=OPTIONS,
                      out=tmp_path / "whole")  # fmt: skip
    with monkeypatch.context() as patch:
        _interrupt_at(patch, STOP)
        with pytest.raises(KeyboardInterrupt):
            fit_smoke(scene, "semi_lagrangian", steps=STEPS, options=OPTIONS,
                      out=tmp_path / "cut")  # fmt: skip
    tensors, meta = load_checkpoint(tmp_path / "cut" / "checkpoint.pt")
    assert meta["step"] == STOP
    assert int(tensors["field.occupancy.updates"]) == 2  # steps 0 and 16
    assert tensors["field.occupancy.density"].abs().sum() > 0
    resumed = fit_smoke(scene, "semi_lagrangian", steps=STEPS, options=OPTIONS,
                        out=tmp_path / "cut", resume=True)  # fmt: skip
    a, b = whole.model.state_dict(), resumed.model.state_dict()
    assert a.keys() == b.keys() and any(k.startswith("occupancy.") for k in a)
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert resumed.metrics["steps"] == STEPS
    assert resumed.metrics["psnr"] == whole.metrics["psnr"]
    losses = [[r["loss"] for r in m.metrics["history"]] for m in (whole, resumed)]
    assert losses[0] == losses[1]


def test_resume_restores_the_occupancy_grid(scene, tmp_path, monkeypatch):
    """At the first step after a resume the grid is the checkpoint's (its stored densities,
    bits and update count), not a fresh one (zero densities, no updates)."""
    with monkeypatch.context() as patch:
        _interrupt_at(patch, STOP)
        with pytest.raises(KeyboardInterrupt):
            fit_smoke(scene, "no_physics", steps=STEPS, options=OPTIONS, out=tmp_path)
    saved, _ = load_checkpoint(tmp_path / "checkpoint.pt")
    seen = {}
    with monkeypatch.context() as patch:
        sample = SmokeTask.sample

        def spy(self, generator, previous, step):
            seen.setdefault("density", self.model.occupancy.density.clone())
            seen.setdefault("occupied", self.model.occupancy.occupied.clone())
            seen.setdefault("updates", int(self.model.occupancy.updates))
            return sample(self, generator, previous, step)

        patch.setattr(SmokeTask, "sample", spy)
        fit_smoke(scene, "no_physics", steps=STOP + 1, options=OPTIONS, out=tmp_path,
                  resume=True)  # fmt: skip
    assert seen["updates"] == 2 and seen["density"].abs().sum() > 0
    assert torch.equal(seen["density"], saved["field.occupancy.density"])
    assert torch.equal(seen["occupied"], saved["field.occupancy.occupied"])


def test_load_gives_the_trained_field_and_model_back(scene, tmp_path):
    for method in ("jets", "mlp"):
        result = fit_smoke(scene, method, steps=3, options=OPTIONS, out=tmp_path / method)
        run = sg.load(tmp_path / method)
        assert run.config["app"] == "smoke" and run.metrics["method"] == method
        points = torch.rand(64, 3) * 0.5 + 0.25
        points[:, 2] = float(scene.times[2])
        with torch.no_grad():
            want = result.model.field(points)
            assert torch.equal(run.field(points), want)
            assert torch.equal(load_model(tmp_path / method)(points), result.model(points))
