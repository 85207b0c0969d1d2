"""Every script in examples/ runs end to end on a tiny budget and reports a finite error."""

from __future__ import annotations

import math
import re
import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs(script, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the examples write runs/ into the working directory
    monkeypatch.setattr(sys, "argv", [str(script), "0.5"])  # seconds (or steps: 0)
    runpy.run_path(str(script), run_name="__main__")
    errors = re.findall(r"rel L2 (?:of w |error )?([0-9][0-9.e+-]*)", capsys.readouterr().out)
    assert errors and all(math.isfinite(float(e)) for e in errors)
