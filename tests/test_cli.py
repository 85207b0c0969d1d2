"""The ``smoothgrid`` command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from smoothgrid import baselines as sg_baselines
from smoothgrid.cli import build_config, main

TINY = [
    "--set", "batch=64",
    "--set", "encoding.levels=3",
    "--set", "encoding.max_res=16",
    "--set", "encoding.log2_table=10",
    "--set", "field.hidden=[8]",
    "--set", "problem.a2=2",
    "--no-progress",
]  # fmt: skip


def test_list(capsys):
    assert main(["list"]) == 0
    text = capsys.readouterr().out
    assert "problems:" in text and "encodings:" in text
    assert "helmholtz2d" in text and "hermite" in text


def test_solve_end_to_end(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["solve", "poisson2d", "--steps", "20", "--out", str(out), *TINY]) == 0
    assert "rel_l2" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["steps"] == 20 and metrics["rel_l2"] > 0
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["problem"] == {"name": "poisson2d", "a2": 2}
    assert config["encoding"]["levels"] == 3 and config["field"]["hidden"] == [8]
    assert config["batch"] == 64 and config["lr"] == 1e-2  # the problem's suggestion
    # the run's config.yaml repeats the run
    again = tmp_path / "again"
    assert main(["solve", "poisson2d", "--config", str(out / "config.yaml"), "--out",
                 str(again), "--no-progress"]) == 0  # fmt: skip
    first, second = (json.loads((d / "metrics.json").read_text()) for d in (out, again))
    assert second["rel_l2"] == first["rel_l2"] and second["loss"] == first["loss"]
    # --resume continues the run from its own config.yaml and checkpoint
    assert main(["solve", "--out", str(out), "--resume", "--steps", "25", "--no-progress"]) == 0
    assert json.loads((out / "metrics.json").read_text())["steps"] == 25


def test_config_file_and_precedence(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("lr: 1e-3\ntime_budget: 5\nencoding: {levels: 5}\nproblem: {a1: 3}\n")
    problem, config = build_config("poisson2d", str(path), ["encoding.levels=6"], {"seed": 3})
    assert config["lr"] == 1e-3 and config["time_budget"] == 5 and "steps" not in config
    assert config["encoding"]["levels"] == 6 and config["encoding"]["min_res"] == 4
    assert config["seed"] == 3 and config["problem"] == {"name": "poisson2d", "a1": 3}
    _, config = build_config("poisson2d", str(path), [], {"steps": 7})
    assert config["steps"] == 7 and "time_budget" not in config


def test_none_as_the_options_table_writes_it_is_yaml_null_and_lowercase_none_stays_a_word():
    _, config = build_config("poisson2d", None, ["decay=None", "level_scale=none", "curriculum=~"])
    assert config["decay"] is None and config["curriculum"] is None
    assert config["level_scale"] == "none"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["solve", "poison2d"], "Did you mean 'poisson2d'"),
        (["solve", "poisson2d", "--encoding", "hermit"], "Did you mean 'hermite'"),
        (["solve", "poisson2d", "--set", "bacth=64"], "Did you mean 'batch'"),
        (["solve", "poisson2d", "--set", "encoding.levles=4"], "Did you mean 'levels'"),
        (["solve", "poisson2d", "--set", "field.hiden=[8]"], "Did you mean 'hidden'"),
        (["solve", "poisson2d", "--set", "problem.b1=2"], "no parameter 'b1'"),
        (["solve", "poisson2d", "--set", "encodng.levels=4"], "Did you mean 'encoding'"),
        (["solve", "poisson2d", "--set", "batch"], "key=value"),
    ],
)
def test_typos_exit_2_with_a_suggestion(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_config_file_typo(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text("stesp: 10\n")
    assert main(["solve", "poisson2d", "--config", str(path)]) == 2
    assert "Did you mean 'steps'" in capsys.readouterr().err
    assert main(["solve", "poisson2d", "--config", str(tmp_path / "none.yaml")]) == 2


def test_bad_arguments_exit_2():
    assert main(["solve", "poisson2d", "--steps", "5", "--time", "3"]) == 2
    assert main(["frobnicate"]) == 2


def test_python_m_smoothgrid():
    done = subprocess.run(
        [sys.executable, "-m", "smoothgrid", "list"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and "poisson2d" in done.stdout


def test_bad_values_exit_2(tmp_path, capsys):
    assert main(["solve", "poisson2d", "--steps", "3", "--set", "decay=linear", *TINY]) == 2
    assert "unknown decay" in capsys.readouterr().err
    assert main(["solve", "poisson2d", "--resume", "--out", str(tmp_path), *TINY]) == 2
    assert "--set cannot change a resumed run" in capsys.readouterr().err
    assert main(["solve", "poisson2d", "--resume", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "config.yaml" in err and "not found" in err
    path = tmp_path / "c.yaml"
    path.write_text("steps: 3\ntime_budget: 2\n")
    assert main(["solve", "poisson2d", "--config", str(path)]) == 2
    assert "not both" in capsys.readouterr().err


def test_config_of_a_python_run_with_non_default_options_reproduces_it(tmp_path):
    import torch

    import smoothgrid as sg

    problem = sg.problems.make("poisson2d", a2=2)
    torch.manual_seed(0)
    enc = sg.encodings.make("hermite", dim=2, levels=3, max_res=16, log2_table=10, offset=True,
                            init_scale=1e-3, mixed=False)  # fmt: skip
    field = sg.Field(enc, hidden=(8,), activation="sin", omega0=2.0)
    first = sg.solve(problem, field, steps=15, batch=64, lr=5e-3, decay="cosine",
                     out=tmp_path / "py", progress=False)  # fmt: skip
    config = tmp_path / "py" / "config.yaml"
    assert main(["solve", "poisson2d", "--config", str(config), "--out", str(tmp_path / "cli"),
                 "--no-progress"]) == 0  # fmt: skip
    again = json.loads((tmp_path / "cli" / "metrics.json").read_text())
    assert again["rel_l2"] == first.metrics["rel_l2"] and again["loss"] == first.metrics["loss"]
    assert (
        yaml.safe_load((tmp_path / "cli" / "config.yaml").read_text())["encoding"]
        == (yaml.safe_load(config.read_text())["encoding"])
    )


def test_resume_extends_the_budget_and_continues_the_schedule(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["solve", "poisson2d", "--steps", "10", "--out", str(out), *TINY]) == 0
    rate = json.loads((out / "checkpoint.json").read_text())["history"][-1]["lr"]
    assert main(["solve", "--out", str(out), "--resume", "--more-steps", "5", "--no-progress"]) == 0
    meta = json.loads((out / "checkpoint.json").read_text())
    assert meta["step"] == 15
    assert meta["history"][-1]["lr"] <= rate  # it goes on from the final rate, no jump back
    assert main(["solve", "--out", str(out), "--resume", "--steps", "12", "--no-progress"]) == 2
    assert "can only extend" in capsys.readouterr().err
    assert main(["solve", "--out", str(out), "--resume", "--no-progress"]) == 0  # same total


def test_damaged_checkpoints_give_one_clear_line(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["solve", "poisson2d", "--steps", "4", "--out", str(out), *TINY]) == 0
    pt, js = out / "checkpoint.pt", out / "checkpoint.json"
    good = pt.read_bytes()
    pt.write_bytes(good[: len(good) // 2])
    assert main(["solve", "--out", str(out), "--resume", "--steps", "6", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "checkpoint.pt" in err and "delete it" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    pt.write_bytes(good)
    js.write_text(js.read_text()[:-20])
    assert main(["solve", "--out", str(out), "--resume", "--steps", "6", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "checkpoint.json" in err and "damaged" in err and len(err.strip().splitlines()) == 1


def test_an_error_during_training_is_not_reported_as_bad_input(monkeypatch):
    from smoothgrid.train.losses import Objective

    def broken(self, samples):
        raise ValueError("an internal error")

    monkeypatch.setattr(Objective, "loss_and_terms", broken)
    with pytest.raises(ValueError, match="an internal error"):
        main(["solve", "poisson2d", "--steps", "2", *TINY])


def test_another_encoding_starts_from_its_own_settings(capsys):
    _, hermite = build_config("helmholtz2d")
    assert hermite["encoding"]["name"] == "hermite" and hermite["encoding"]["max_res"] == 64
    assert capsys.readouterr().err == ""
    _, quintic = build_config("helmholtz2d", flags={"encoding": {"name": "quintic"}})
    err = capsys.readouterr().err
    assert "no settings were measured for the 'quintic' encoding on 'helmholtz2d'" in err
    own = sg_baselines.make("quintic", 2).encoding.config()
    assert quintic["encoding"]["max_res"] == own["max_res"] and quintic["decay"] == "cosine"
    assert quintic["lr"] == sg_baselines.settings("quintic")["lr"]


def test_interrupted_quintic_run_resumed_from_its_out_alone_matches_the_whole_run(
    tmp_path, monkeypatch
):
    """Ctrl-C at step 7 of 14 (exit 130), then ``solve --out R --resume`` with nothing else: the
    problem, the quintic field and the settings come from R/config.yaml, and the run ends where the
    uninterrupted one does, with the same rate at every step."""
    from smoothgrid.train import Loop

    run = ["solve", "helmholtz2d", "--encoding", "quintic", "--steps", "14", *TINY,
           "--set", "eval_every=2"]  # fmt: skip
    whole, split = tmp_path / "whole", tmp_path / "split"
    assert main([*run, "--out", str(whole)]) == 0
    original = Loop._interrupted
    monkeypatch.setattr(Loop, "_interrupted", lambda loop: loop.state.step + 1 >= 7)
    assert main([*run, "--out", str(split)]) == 130
    monkeypatch.setattr(Loop, "_interrupted", original)
    assert json.loads((split / "checkpoint.json").read_text())["step"] < 14
    assert main(["solve", "--out", str(split), "--resume", "--no-progress"]) == 0
    first, second = (json.loads((d / "metrics.json").read_text()) for d in (whole, split))
    assert second["steps"] == 14 and second["rel_l2"] == first["rel_l2"]
    rates = [
        [row["lr"] for row in json.loads((d / "checkpoint.json").read_text())["history"]]
        for d in (whole, split)
    ]
    assert len(rates[0]) == 7 and rates[0] == rates[1]
    assert yaml.safe_load((split / "config.yaml").read_text())["encoding"]["name"] == "quintic"
