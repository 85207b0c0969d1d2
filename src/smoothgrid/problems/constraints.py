"""Hard Dirichlet conditions on chosen faces: ``u = g + B N`` with ``B`` zero on those faces only.

>>> import smoothgrid as sg
>>> box = sg.geometry.Box([0, 0], [2, 1])
>>> constraint = hard_dirichlet(box, on=("left", "right", "bottom"))
>>> problem = sg.Problem(
...     domain=box,
...     residual=lambda x, u: u.lap,
...     conditions=[sg.Dirichlet(0.0, on=("left", "right", "bottom"), hard=True),
...                 sg.Neumann(1.0, on="top")],
...     constraint=constraint,
... )
"""

from __future__ import annotations

from collections.abc import Callable

from ..field import HardConstraint
from ..geometry import Box, SpaceTime
from ..geometry.boundary import Part
from ..jet import Jet

__all__ = ["hard_dirichlet"]


def hard_dirichlet(
    domain: Box | SpaceTime,
    on: Part | None = None,
    value: float | Callable[[Jet], Jet] = 0.0,
    scale: float = 1.0,
) -> HardConstraint:
    """A hard constraint ``u(x) = g(x) + B(x) N(x)`` for ``u = g`` on the faces ``on``.

    ``B`` is ``scale`` times :meth:`Box.boundary_factor(on=on)
    <smoothgrid.geometry.Box.boundary_factor>`: a product of normalised distances to the chosen
    faces, zero on them, positive inside and on the other faces (which stay free for Neumann or
    Robin conditions as losses), 1 at the centre. ``B`` and ``g`` are jet functions, so ``u``'s
    derivatives stay analytic.

    Args:
        domain: a :class:`~smoothgrid.geometry.Box` or :class:`~smoothgrid.geometry.SpaceTime`
            (its spatial faces).
        on: face names or indices (``"left"``, ``("x0-", "top")``, ``(0, 2)``); ``None``:
            every face.
        value: ``g``: a number, or a jet function ``X (C = d coordinates) -> Jet`` (1 or
            ``out`` channels) written with jet arithmetic (``sg.jet.sin(X[..., 0])``, ...)
            whose values on the chosen faces are the data; inside it extends them as written.
        scale: multiplies ``B``. The network must output ``N = (u - g) / B``; when ``u - g``
            is large against ``B`` (steep data, ``B`` small near corners), a larger scale keeps
            ``N`` of order one; it can change the error several-fold.

    Returns:
        A :class:`~smoothgrid.HardConstraint` for ``sg.Problem(constraint=...)`` or
        ``sg.Field(constraint=...)``. Mark the matching condition ``hard=True`` so the loss
        drops it.
    """
    if not isinstance(domain, (Box, SpaceTime)):
        raise TypeError(
            f"hard_dirichlet needs a Box or SpaceTime domain (its faces), "
            f"got {type(domain).__name__}"
        )
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale!r}")
    B = domain.boundary_factor(on=on) if on is not None else domain.boundary_factor()
    factor = B if scale == 1.0 else (lambda X: B(X) * float(scale))
    if callable(value):
        return HardConstraint(factor, value)
    g = float(value)
    if g == 0.0:
        return HardConstraint(factor)
    return HardConstraint(factor, lambda X: X[..., :1] * 0.0 + g)
