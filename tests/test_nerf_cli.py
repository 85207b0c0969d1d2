"""``smoothgrid nerf``: a tiny end-to-end run (metrics, pictures, table, resume, a Blender
folder) and clear errors on bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from smoothgrid import render
from smoothgrid.apps import nerf
from smoothgrid.cli import main

TINY = ["--train-views", "3", "--test-views", "1", "--batch", "32", "--no-progress"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A Blender-format folder written from a procedural scene (8 x 8 pixels)."""
    views = nerf.procedural_views("torus", n_train=4, n_test=1, size=8)
    path = tmp_path_factory.mktemp("blender")
    render.write_blender(path, "train", views.train, views.train_images)
    render.write_blender(path, "test", views.test, views.test_images)
    return path


@pytest.mark.slow
def test_two_methods_write_metrics_pictures_and_a_table(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["nerf", "sphere", "--size", "8", "--steps", "3", "--methods", "linear,st",
            "--st-mode", "corner", "--st-lambda", "0.5", "--pose-noise", "3,0.05", "--out",
            str(out), *TINY]  # fmt: skip
    assert main(args) == 0
    for method in ("linear", "st"):
        m = json.loads((out / method / "metrics.json").read_text())
        assert m["steps"] == 3 and m["pose_noise"] == [3.0, 0.05] and m["soft_curriculum"] is True
        assert m["initial_rotation_error_deg"] > 0 and np.isfinite(m["psnr"])
        for picture in ("test_views.png", "cameras.png", "pose_error.png"):
            assert (out / method / picture).stat().st_size > 1000
    assert json.loads((out / "st" / "metrics.json").read_text())["label"] == "st(corner, 0.5) +c2f"
    table = (out / "results.md").read_text()
    assert "| linear +c2f | 3, 0.05 |" in table and "st(corner, 0.5) +c2f" in table
    assert "rotation error" in capsys.readouterr().out


@pytest.mark.slow
def test_resume_continues_from_the_checkpoint(tmp_path):
    out = tmp_path / "run"
    args = ["nerf", "sphere", "--size", "6", "--methods", "st", "--out", str(out), *TINY]
    assert main([*args, "--steps", "3"]) == 0
    first = json.loads((out / "history.json").read_text())
    assert main([*args, "--steps", "5", "--resume"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    history = json.loads((out / "history.json").read_text())
    assert m["steps"] == 5 and history[: len(first)] == first and history[-1]["step"] == 5


def test_a_blender_folder_is_read_and_resampled(folder, tmp_path):
    out = tmp_path / "run"
    args = ["nerf", str(folder), "--size", "6", "--steps", "2", "--methods", "cosine",
            "--curriculum", "off", "--pose-noise", "0,0", "--refine", "off", "--out", str(out),
            *TINY]  # fmt: skip
    assert main(args) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["size"] == [6, 6] and m["train_views"] == 4 and m["test_views"] == 1
    assert m["rotation_error_deg"] < 1e-3 and m["refine"] is False


def _copy(folder, tmp_path):
    target = tmp_path / "scene"
    target.mkdir(parents=True)
    for path in folder.rglob("*"):
        if path.is_file():
            (target / path.relative_to(folder)).parent.mkdir(exist_ok=True)
            (target / path.relative_to(folder)).write_bytes(path.read_bytes())
    return target


def _fails(capsys, args, *words):
    assert main(["nerf", *args, "--steps", "1", *TINY]) == 2
    err = capsys.readouterr().err
    for word in words:
        assert word in err, err


def test_bad_input_is_named(folder, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    _fails(capsys, [str(empty)], str(empty), "transforms_train.json")
    missing = _copy(folder, tmp_path / "a")
    (missing / "train" / "r_1.png").unlink()
    _fails(capsys, [str(missing)], "r_1.png")
    bent = _copy(folder, tmp_path / "b")
    meta = json.loads((bent / "transforms_train.json").read_text())
    meta["frames"][2]["transform_matrix"][0][0] *= 2.0
    (bent / "transforms_train.json").write_text(json.dumps(meta))
    _fails(capsys, [str(bent)], "frame 2", "rigid")
    small = _copy(folder, tmp_path / "c")
    Image.new("RGB", (5, 8)).save(small / "train" / "r_3.png")
    _fails(capsys, [str(small)], "r_3.png", "5 x 8")
    _fails(capsys, ["sphere", "--pose-noise=-5,0.1"], "non-negative", "-5.0")
    _fails(capsys, ["sphere", "--pose-noise", "5"], "DEG,UNITS")
    _fails(capsys, ["sphere", "--methods", "cosin"], "unknown method 'cosin'", "'cosine'")
    _fails(capsys, ["spere"], "unknown scene 'spere'", "'sphere'")
