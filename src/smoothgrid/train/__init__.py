"""Training: the solve loop, curricula, schedules, metrics, checkpoints and run files.

>>> import smoothgrid as sg
>>> run = sg.train.solve(problem, field, steps=2000, out="runs/poisson")   # doctest: +SKIP
>>> run.metrics["rel_l2"]                                                  # doctest: +SKIP
"""

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .curriculum import CURRICULA, coarse_to_fine, level_mask, vcycle
from .loop import Loop, Task
from .metrics import Evaluator
from .result import DivergedError, Result
from .schedule import level_scales, lr_factor
from .settings import (
    SOLVE_KEYS,
    Budget,
    Output,
    Points,
    Runtime,
    Schedule,
    Settings,
    SettingsError,
    options_markdown,
)
from .solve import check_setup, solve
from .state import BudgetSpentError

__all__ = [
    "solve",
    "check_setup",
    "Result",
    "DivergedError",
    "Settings",
    "SettingsError",
    "Budget",
    "Schedule",
    "Points",
    "Output",
    "Runtime",
    "SOLVE_KEYS",
    "options_markdown",
    "Loop",
    "Task",
    "Evaluator",
    "CURRICULA",
    "coarse_to_fine",
    "vcycle",
    "level_mask",
    "level_scales",
    "lr_factor",
    "save_checkpoint",
    "load_checkpoint",
    "CheckpointError",
    "BudgetSpentError",
]
