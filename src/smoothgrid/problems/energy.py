"""Boundary energies of a problem in energy (Ritz) form: integrals over faces of a box.

A natural condition of an energy problem comes from the energy itself. With nothing on a free
face the minimiser has a zero flux there (``du/dn = 0`` for ``1/2 |grad u|^2``); a prescribed flux
``du/dn = g`` on a face is the boundary energy ``-g u`` there, a Robin condition
``du/dn + a u = g`` the energy ``a u^2 / 2 - g u``. :class:`BoundaryEnergy` is such a term: its
density is integrated over its faces (their area times the mean over uniform points on them) and
added to the loss.

>>> import smoothgrid as sg
>>> flux = BoundaryEnergy(lambda x, u: -2.0 * u.value[:, 0], on="top")   # du/dn = 2 on top
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from ..geometry import Box
from ..geometry.boundary import Part
from ..jet import Jet
from .conditions import Batch, BoundaryCondition, Domain, FieldJet

__all__ = ["BoundaryEnergy"]

Density = Callable[[Tensor, Jet], Tensor]
"""``(x (n, d) boundary points, u: Jet) -> (n,)`` (or ``(n, 1)``): energy per unit area."""


class BoundaryEnergy(BoundaryCondition):
    """An energy on faces of a box: ``area(on) * mean(density(x, u))`` over uniform points.

    Args:
        density: ``(x (n, d), u: Jet) -> (n,)`` or ``(n, 1)``, energy per unit area of face.
        on: the faces, by name or index (``"top"``, ``("left", 2)``); ``None``: all of them.
            (A predicate has no known area, so it is refused.)
        order: the jet order ``density`` takes (0: values only).
        weight: its weight in the loss (1 for the energy itself).
        name: label of the loss term (default ``"boundary_energy"``).

    Example:
        >>> box = Box([0, 0], [2, 1])
        >>> term = BoundaryEnergy(lambda x, u: u.value, on="top")
        >>> term.area(box)
        2.0
    """

    name = "boundary_energy"

    def __init__(
        self,
        density: Density,
        on: Part | None = None,
        order: int = 0,
        weight: float = 1.0,
        **kwargs: Any,
    ) -> None:
        if callable(on):
            raise TypeError(
                "a BoundaryEnergy is integrated over whole faces: give on= face names or "
                "indices, not a predicate"
            )
        if order not in (0, 1, 2):
            raise ValueError(f"order must be 0, 1 or 2, got {order!r}")
        super().__init__(weight, on, **kwargs)
        self.density = density
        self.order = int(order)

    def check(self, domain: Domain) -> None:
        """Raise now unless ``domain`` is a box and ``on`` names its faces."""
        if type(domain) is not Box:
            raise TypeError(f"a BoundaryEnergy lies on faces of a Box, got {domain!r}")
        super().check(domain)

    def area(self, domain: Box) -> float:
        """The measure of the faces ``on`` (length in 2D, area in 3D)."""
        areas = domain.face_areas()
        faces = range(len(areas)) if self.on is None else domain.select_boundary(self.on)
        return float(sum(areas[k] for k in faces))

    def sample(
        self,
        domain: Domain,
        n: int,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
    ) -> Batch:
        """``{"x": (n, d)}`` uniform on the faces ``on``, ``"area": ()`` their measure."""
        x, _ = self.boundary(domain, n, generator, dtype, device)
        return {"x": x, "area": torch.tensor(self.area(domain), dtype=dtype, device=device)}

    def energy(self, batch: Batch, u: FieldJet) -> Tensor:
        """The scalar ``area * mean(density)`` (keeps the graph).

        Raises:
            ValueError: ``density`` does not return one number per point.
        """
        x = batch["x"]
        e = self.density(x, u(x))
        if not isinstance(e, Tensor) or e.shape not in ((len(x),), (len(x), 1)):
            shape = tuple(e.shape) if isinstance(e, Tensor) else type(e).__name__
            raise ValueError(
                f"the density of {self.name!r} must return one number per point, shape "
                f"({len(x)},) or ({len(x)}, 1); got {shape}"
            )
        return batch["area"] * e.mean()

    def residual(self, batch: Batch, u: FieldJet) -> Tensor:
        """A boundary energy is integrated, not squared: see :meth:`energy`."""
        raise TypeError(f"{self!r} is an energy term, integrated by energy(), not a residual")
