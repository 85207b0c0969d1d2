"""Sparse-view smoke reconstruction (issue 14): the simulated ground truth and the physics.

* :mod:`.simulate`: a stable-fluids simulator (2D / 3D, seeded) whose frames are the truth;
* :mod:`.frames`: the frames as a :class:`Simulation` (``.npz``, sampling at any ``(x, t)``) and
  their own transport residual, the floor of any reconstruction;
* :mod:`.physics` and :mod:`.weak`: the transport residual routes on a space-time field
  (``jets``, ``weak``, ``fd``, ``semi_lagrangian``, and the ``double_backward`` baseline),
  their options (:class:`TransportOptions`) and results (:class:`Residuals`) in :mod:`.options`;
* :mod:`.analytic`: exactly transported fields to check the routes against.
"""

from .analytic import JetModel, expanding_blob, rotating_blob, translating_blob
from .frames import Simulation, TransportFloor, central_divergence, transport_floor
from .options import Residuals, TransportOptions
from .physics import (
    FIRST_ORDER_ROUTES,
    ROUTES,
    double_backward,
    fd,
    jets,
    physics_loss,
    residuals,
    semi_lagrangian,
)
from .simulate import PRESETS, SmokeConfig, SmokeState, initial_state, simulate, step
from .weak import weak

__all__ = [
    "Simulation",
    "TransportFloor",
    "transport_floor",
    "central_divergence",
    "SmokeConfig",
    "SmokeState",
    "PRESETS",
    "simulate",
    "initial_state",
    "step",
    "TransportOptions",
    "Residuals",
    "ROUTES",
    "FIRST_ORDER_ROUTES",
    "residuals",
    "physics_loss",
    "jets",
    "weak",
    "fd",
    "semi_lagrangian",
    "double_backward",
    "JetModel",
    "translating_blob",
    "rotating_blob",
    "expanding_blob",
]
