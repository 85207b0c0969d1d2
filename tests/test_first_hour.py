"""Every snippet of docs/first_hour.md runs, in order, in a fresh directory."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from smoothgrid.cli import main

DOC = Path(__file__).resolve().parents[1] / "docs" / "first_hour.md"


def snippets() -> list[tuple[str, str]]:
    """``(language, code)`` of each fenced block, in order."""
    return re.findall(r"```(python|bash)\n(.*?)```", DOC.read_text(), flags=re.S)


@pytest.mark.slow
def test_every_snippet_of_the_first_hour_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for language, code in snippets():
        if language == "python":
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(code, str(DOC), "exec"), namespace)
            continue
        for line in code.strip().splitlines():
            argv = shlex.split(line.split("  #")[0])
            if argv[0] != "smoothgrid":  # installing and testing are the reader's
                continue
            with contextlib.redirect_stdout(io.StringIO()):
                assert main(argv[1:]) == 0, line
    assert namespace["run"].metrics["steps"] == 350
    assert namespace["u"].hess.shape == (5, 1, 2, 2)
    assert (tmp_path / "runs" / "bench" / "results.md").is_file()


def test_the_guide_has_the_snippets_it_promises():
    kinds = [language for language, _ in snippets()]
    assert kinds.count("python") >= 3 and kinds.count("bash") >= 4
