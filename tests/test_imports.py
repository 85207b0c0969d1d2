"""`import smoothgrid` stays light: no plotting, no SciPy, no apps until they are used."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("matplotlib", "scipy", "skimage", "smoothgrid.apps", "smoothgrid.bench", "triton")


@pytest.mark.parametrize("module", ["smoothgrid", "smoothgrid.jet", "smoothgrid.encodings"])
def test_import_loads_no_heavy_package(module):
    code = f"import sys, {module}\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_apps_load_on_first_use():
    code = "import sys, smoothgrid as sg\nsg.apps.image\nprint('smoothgrid.apps' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.stdout.strip() == "True", done.stderr
