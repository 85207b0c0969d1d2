"""``poisson_mesh``: ``lap u = 0`` between a closed surface and the box ``[-1, 1]^3``.

``u = 1`` on the surface, ``u = 0`` on the box faces: Hermite-NGP's Armadillo test. The box value
is enforced by the ready-made constraint ``u = B(x) N(x)``, the surface value is a loss. The
surface is a procedural shape (:func:`smoothgrid.geometry.make_shape`, default ``blob``) or a
watertight mesh file (scaled to span ``fill`` of the box). There is no closed form: the reference
is the finite-difference solution of :mod:`.laplace_reference` on ``fd_cells`` cells per axis
(computed on the first ``reference()`` call, ~4 s on one core at the default 128; cached per
parameters), whose error on the concentric-spheres solution is ~4e-4 (relative L2) at that size.
The test grid ``65^3`` (less the nodes inside the solid) lies on its nodes.
"""

from __future__ import annotations

import os

from torch import Tensor

from ..field import HardConstraint
from ..geometry import Box, ExteriorDomain, load_solid, make_shape
from ..jet import Jet
from .base import ReferenceProblem, suggested_defaults
from .conditions import Dirichlet
from .laplace_reference import LaplaceReference

__all__ = ["poisson_mesh"]

TEST_RESOLUTION = 65
"""Test grid nodes per axis (on the reference's nodes when ``fd_cells`` is a multiple of 64)."""

_REFERENCES: dict[tuple, LaplaceReference] = {}


def poisson_mesh(
    shape: str = "blob",
    mesh: str | os.PathLike | None = None,
    fill: float = 0.6,
    fd_cells: int = 128,
) -> ReferenceProblem:
    """``lap u = 0`` outside a closed surface in ``[-1, 1]^3``; ``u = 1`` on it, 0 on the box.

    Args:
        shape: a procedural shape name (used when ``mesh`` is ``None``).
        mesh: a watertight ``.obj`` / ``.ply`` / ``.off`` / ``.stl`` file (needs the ``mesh``
            extra); it replaces ``shape``.
        fill: the fraction of the box a mesh spans.
        fd_cells: cells per axis of the finite-difference reference (a multiple of 64 keeps the
            test grid on its nodes; coarser is faster, e.g. 64 for tests).
    """
    solid = make_shape(shape) if mesh is None else load_solid(mesh, fill=fill)
    box = Box([-1.0] * 3, [1.0] * 3)
    domain = ExteriorDomain(box, solid)
    key = (shape, None if mesh is None else os.path.abspath(mesh), float(fill), int(fd_cells))
    if key not in _REFERENCES:
        walls = [(solid.sdf, 1.0)]
        _REFERENCES[key] = LaplaceReference(walls, *box.bounds, int(fd_cells), box_value=0.0)

    def residual(x: Tensor, u: Jet) -> Tensor:
        return u.lap

    # u = 0 on the box is hard (u = B(x) N(x)), u = 1 on the surface a loss weighted 10: on one
    # CPU for 60 s, rel L2 0.66 with both as unit-weight losses, 0.097 with the box hard, 0.071
    # with the surface weighted too.
    return ReferenceProblem(
        domain=domain,
        residual=residual,
        conditions=(
            Dirichlet(1.0, weight=10.0, on="surface", name="surface"),
            Dirichlet(0.0, on="box", name="box", hard=True),
        ),
        name="poisson_mesh",
        constraint=HardConstraint(box.boundary_factor()),
        test_resolution=TEST_RESOLUTION,
        suggested=suggested_defaults(3),
        solution=_REFERENCES[key],
    )
