"""Training: the solve loop, curricula, schedules, metrics, checkpoints and run files.

>>> import smoothgrid as sg
>>> run = sg.train.solve(problem, field, steps=2000, out="runs/poisson")   # doctest: +SKIP
>>> run.metrics["rel_l2"]                                                  # doctest: +SKIP
"""

from .checkpoint import load_checkpoint, save_checkpoint
from .curriculum import CURRICULA, coarse_to_fine, level_mask, vcycle
from .metrics import Evaluator
from .result import DivergedError, Result
from .schedule import level_scales, lr_factor
from .solve import SOLVE_KEYS, solve

__all__ = [
    "solve",
    "Result",
    "DivergedError",
    "SOLVE_KEYS",
    "Evaluator",
    "CURRICULA",
    "coarse_to_fine",
    "vcycle",
    "level_mask",
    "level_scales",
    "lr_factor",
    "save_checkpoint",
    "load_checkpoint",
]
