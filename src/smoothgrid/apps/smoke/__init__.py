"""Sparse-view smoke reconstruction (issue 14): the simulated ground truth and the physics.

* :mod:`.simulate`: a stable-fluids simulator (2D / 3D, seeded) whose frames are the truth;
* :mod:`.frames`: the frames as a :class:`Simulation` (``.npz``, sampling at any ``(x, t)``) and
  their own transport residual, the floor of any reconstruction;
* :mod:`.physics` and :mod:`.weak`: the transport residual routes on a space-time field
  (``jets``, ``weak``, ``fd``, ``semi_lagrangian``, and the ``double_backward`` baseline),
  their options (:class:`TransportOptions`) and results (:class:`Residuals`) in :mod:`.options`;
* :mod:`.analytic`: exactly transported fields to check the routes against;
* :mod:`.scenes`: cameras around the volume, rendered observations, the scene folder format;
* :mod:`.model`: the space-time field (grid of ``x`` + Fourier features of ``t``) to
  ``(rho, u)``; :mod:`.fit`: the reconstruction through the training loop; :mod:`.metrics`,
  :mod:`.plots`; :mod:`.command`: ``smoothgrid smoke``.

>>> from smoothgrid.apps import smoke
>>> scene = smoke.observe(smoke.simulate(smoke.PRESETS["plume2d"]), views=3)    # doctest: +SKIP
>>> smoke.fit_smoke(scene, "weak", time_budget=30).metrics["psnr"]              # doctest: +SKIP
"""

from .analytic import JetModel, expanding_blob, rotating_blob, translating_blob
from .fit import METHODS, SmokeOptions, SmokeResult, fit_smoke, parse_method
from .frames import Simulation, TransportFloor, central_divergence, transport_floor
from .metrics import density_error, markdown_table, physics_scores, psnr, ssim
from .model import (
    SmokeModel,
    SpaceTimeEncoding,
    build_field,
    load_model,
    mlp_model,
    smoke_model,
)
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
from .scenes import Scene, make_cameras, observe, read_scene, render_density, write_scene
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
    "Scene",
    "make_cameras",
    "render_density",
    "observe",
    "write_scene",
    "read_scene",
    "SpaceTimeEncoding",
    "SmokeModel",
    "smoke_model",
    "mlp_model",
    "build_field",
    "load_model",
    "SmokeOptions",
    "SmokeResult",
    "METHODS",
    "parse_method",
    "fit_smoke",
    "psnr",
    "ssim",
    "density_error",
    "physics_scores",
    "markdown_table",
]
