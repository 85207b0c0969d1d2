"""smoothgrid: physics-informed neural fields on smooth multi-resolution grids.

>>> import smoothgrid as sg
>>> enc = sg.encodings.make("hermite", dim=2, levels=8, features=2, min_res=4, max_res=256)
>>> field = sg.Field(enc, hidden=(64, 64), out=1)
"""

import importlib
from typing import Any

from . import baselines, encodings, geometry, jet, kernels, problems, render, train
from .field import DERIVATIVES, Field, HardConstraint
from .jet import Jet
from .loading import Run, load
from .nn import MLP, PirateNet
from .problems import (
    BoundaryEnergy,
    BoundaryLaplacian,
    Data,
    Dirichlet,
    Initial,
    Neumann,
    Periodic,
    Problem,
    Robin,
)
from .train import DivergedError, Result, solve

__all__ = [
    "apps",
    "baselines",
    "bench",
    "encodings",
    "kernels",
    "geometry",
    "jet",
    "problems",
    "render",
    "train",
    "solve",
    "load",
    "Run",
    "Result",
    "DivergedError",
    "Jet",
    "Field",
    "HardConstraint",
    "MLP",
    "PirateNet",
    "DERIVATIVES",
    "Problem",
    "Dirichlet",
    "Neumann",
    "Robin",
    "Periodic",
    "Initial",
    "Data",
    "BoundaryLaplacian",
    "BoundaryEnergy",
]
__version__ = "0.1.0"

_LAZY = ("apps", "bench")
"""Subpackages imported on first use: they load SciPy, matplotlib and scikit-image."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'smoothgrid' has no attribute {name!r}")
