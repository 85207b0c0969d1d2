"""``smoothgrid bench`` and ``sg.bench.run``: the quick suite end to end on a tiny budget."""

from __future__ import annotations

import csv
import json
import math

import pytest

import smoothgrid as sg
from smoothgrid.bench import summarise, time_to_target
from smoothgrid.cli import main

TINY = dict(steps=2, batch=32, eval_every=1, test_resolution=8)
COLUMNS = [
    "method", "derivatives", "final rel L2", "best rel L2 (best evaluation)", "time to 1e-2 (s)",
    "time to 1e-3 (s)", "ms/step", "peak RSS growth (MiB)", "params", "steps",
]  # fmt: skip


def parse_tables(text: str) -> dict[str, list[dict[str, str]]]:
    """``## problem`` heading -> the rows of the Markdown table under it."""
    tables: dict[str, list[dict[str, str]]] = {}
    problem, header = None, None
    for line in text.splitlines():
        if line.startswith("## "):
            problem, header = line[3:].split(" ")[0], None
            tables[problem] = []
        elif line.startswith("|") and problem is not None:
            cells = [c.strip() for c in line.strip("|").split("|")]
            if header is None:
                header = cells
            elif not set(line) <= set("|-"):
                assert len(cells) == len(header), line
                tables[problem].append(dict(zip(header, cells)))
    return tables


def test_quick_suite_end_to_end(tmp_path):
    out = tmp_path / "quick"
    result = sg.bench.run("quick", out=out, log=None, **TINY)
    methods, problems = sg.baselines.names(), ["poisson2d", "helmholtz2d_1_4", "convection"]
    assert len(result.records) == len(methods) * len(problems)
    for name in ["results.csv", "results.json", "results.md"] + [
        f"error_vs_time_{p}.png" for p in problems
    ]:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    tables = parse_tables((out / "results.md").read_text())
    assert list(tables) == problems
    for rows in tables.values():
        assert [r["method"] for r in rows] == methods
        assert list(rows[0]) == COLUMNS
        for row in rows:  # two steps reach neither target: shown as infinity, never dropped
            assert row["time to 1e-3 (s)"] == "∞"
            assert float(row["final rel L2"]) > 0 and int(row["params"]) > 0
            assert row["steps"] == "2"
    with (out / "results.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(result.records) and rows[0]["time_to_1e-3"] == "inf"
    payload = json.loads((out / "results.json").read_text())
    assert payload["meta"]["suite"] == "quick" and payload["meta"]["budget"] == {"steps": 2}
    assert len(payload["records"][0]["history"]) == 2


def test_time_to_target_and_partial_seeds():
    history = [{"time": 1.0, "rel_l2": 0.5}, {"time": 2.0, "rel_l2": 5e-3}]
    assert time_to_target(history, 1e-2) == 2.0
    assert time_to_target(history, 1e-3) == math.inf
    base = dict(problem="p", method="m", derivatives="jet", params=10, steps=5, ms_per_step=1.0,
                peak_memory_mib=None, diverged=False, best_rel_l2=1e-3)  # fmt: skip
    records = [
        {**base, "final_rel_l2": 2e-3, "time_to_1e-2": 1.0, "time_to_1e-3": math.inf},
        {**base, "final_rel_l2": 4e-3, "time_to_1e-2": 3.0, "time_to_1e-3": 2.0},
        {**base, "final_rel_l2": math.inf, "diverged": True, "time_to_1e-2": math.inf,
         "time_to_1e-3": math.inf},
    ]  # fmt: skip
    (row,) = summarise(records[:2], (1e-2, 1e-3))["p"]
    assert row["final rel L2"] == "3.00e-03 ± 1.41e-03"
    assert row["time to 1e-2 (s)"] == "2.0 ± 1.4"
    assert row["time to 1e-3 (s)"] == "∞ (1/2 reached)"
    assert row["memory (MiB)"] == "-"
    (row,) = summarise(records, (1e-2, 1e-3))["p"]
    assert row["final rel L2"].endswith("(diverged 1/3)")


def test_cli_bench(tmp_path, capsys):
    out = tmp_path / "b"
    argv = ["bench", "quick", "--steps", "2", "--seeds", "2", "--methods", "pinn",
            "hermite:autograd", "--problems", "poisson2d", "--batch", "32", "--eval-every", "1",
            "--test-resolution", "8", "--out", str(out), "--quiet"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    tables = parse_tables((out / "results.md").read_text())
    rows = tables["poisson2d"]
    assert [(r["method"], r["derivatives"]) for r in rows] == [
        ("pinn", "autograd"), ("hermite:autograd", "autograd")
    ]  # fmt: skip
    assert all("±" in r["final rel L2"] for r in rows)  # two seeds: mean ± std
    assert "smoothgrid bench quick --steps 2" in (out / "results.md").read_text()
    assert "| pinn | autograd |" in printed


@pytest.mark.parametrize(
    "argv, message",
    [
        (["bench", "quik"], "unknown suite 'quik'"),
        (["bench", "quick", "--methods", "pinnn"], "unknown method 'pinnn'"),
        (["bench", "quick", "--problems", "heat"], "has no problems ['heat']"),
    ],
)
def test_cli_bench_bad_names_exit_2(argv, message, capsys, tmp_path):
    assert main([*argv, "--steps", "1", "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_isolated_runs_measure_memory_each_in_a_fresh_process(tmp_path):
    kwargs = dict(TINY, methods=["hermite"], problems=["poisson2d"], seeds=2, log=None)
    result = sg.bench.run("quick", isolate=True, **kwargs)
    assert "fresh process" in result.meta["memory_note"]
    first, second = result.records
    # Both runs start from a fresh interpreter, so both see their own growth (> 0), where in
    # one process the second would reuse the first's freed memory.
    assert first["peak_memory_mib"] > 0 and second["peak_memory_mib"] > 0
    assert first["steps"] == second["steps"] == 2
    assert "--isolate" in sg.bench.run("quick", **kwargs).meta["memory_note"]
