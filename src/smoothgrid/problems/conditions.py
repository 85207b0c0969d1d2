"""Boundary, initial, periodicity and data conditions, each a loss term ``mean(residual^2)``.

Every condition draws its own points (``sample``) and, given a callable ``u(points) -> Jet`` that
returns the field's jet at the condition's ``order``, returns a ``(n, k)`` residual that is zero
when the condition holds. Prescribed values are evaluated once, at sampling time, and travel in
the batch.

A condition with ``hard=True`` holds exactly under its problem's ready-made ``constraint``; a
training loop that uses the constraint drops those conditions (and keeps the others as losses).
Every condition takes the keyword arguments ``name``, ``hard`` and ``channels`` of
:class:`Condition`.

The boundary conditions (:class:`Dirichlet`, :class:`Neumann`, :class:`Robin`,
:class:`BoundaryLaplacian`) hold on the whole (lateral) boundary or on the part ``on`` of it:
face names (``on="top"``, ``on=("left", "right")``; a box's faces are ``left right bottom top``
in 2D, plus ``back front`` (``z = lo``, ``z = hi``) in 3D, or ``x0- x0+ x1- ...`` in any
dimension), face indices (``2 i``: ``x_i = lo_i``, ``2 i + 1``: ``x_i = hi_i``), an exterior
domain's ``"surface"`` or ``"box"``, or a predicate ``on=lambda x: x[:, 0] < 1`` (DeepXDE's
``on_boundary``: ``(B, d)`` boundary points -> ``(B,)`` bool). Points are uniform by measure over
the part; see :func:`smoothgrid.geometry.sample_boundary`.

>>> import smoothgrid as sg
>>> box = sg.geometry.Box([0, 0], [2, 1])
>>> batch = sg.Neumann(1.0, on="top").sample(box, 4)
>>> batch["x"][:, 1].tolist(), batch["normal"][:, 1].tolist()
([1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from ..geometry import Box, ExteriorDomain, SpaceTime, sample_boundary
from ..geometry.boundary import Part, Predicate
from ..jet import Jet

__all__ = [
    "Condition",
    "BoundaryCondition",
    "Dirichlet",
    "Neumann",
    "Robin",
    "Periodic",
    "Initial",
    "Data",
    "BoundaryLaplacian",
]

Value = Callable[[Tensor], Tensor] | float
"""A number, or ``x (n, d) -> (n, k)`` (or ``(n,)``) values at the points."""
FieldJet = Callable[[Tensor], Jet]
Batch = dict[str, Tensor]
Domain = Box | SpaceTime | ExteriorDomain
On = Part | Predicate | None
"""Where a boundary condition holds: ``None`` (everywhere), parts by name or index, or a
predicate ``x (B, d) -> (B,) bool``."""


def evaluate(value: Value, x: Tensor) -> Tensor:
    """``(n, k)`` values of ``value`` at ``x (n, d)`` in ``x``'s dtype and device."""
    if not callable(value):
        return x.new_full((x.shape[0], 1), float(value))
    v = torch.as_tensor(value(x)).to(dtype=x.dtype, device=x.device)
    if v.dim() == 1:
        v = v.unsqueeze(1)
    if v.dim() != 2 or v.shape[0] != x.shape[0]:
        raise ValueError(f"a condition's value must be (n,) or (n, k), got {tuple(v.shape)}")
    return v


class Condition:
    """Base class: a named, weighted loss term that samples its own points.

    Attributes:
        name: label of the loss term.
        weight: its weight in the total loss.
        order: the derivative order ``u(points)`` must return (0, 1 or 2).
        hard: whether the problem's ready-made ``constraint`` enforces it exactly.
        channels: the output channels it constrains (``None``: all).
    """

    name: str = "condition"
    order: int = 0

    def __init__(
        self,
        weight: float = 1.0,
        name: str | None = None,
        hard: bool = False,
        channels: Sequence[int] | None = None,
    ) -> None:
        self.weight = float(weight)
        self.name = type(self).name if name is None else name
        self.hard = bool(hard)
        self.channels = None if channels is None else [int(c) for c in channels]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, weight={self.weight}, hard={self.hard})"

    def _select(self, t: Tensor) -> Tensor:
        """Keep the constrained channels (axis 1) of a ``(n, C, ...)`` tensor."""
        return t if self.channels is None else t[:, self.channels]

    def check(self, domain: Domain) -> None:
        """Raise a clear error now if the condition cannot hold on ``domain`` (a
        :class:`~smoothgrid.problems.Problem` calls it when it is built)."""

    def sample(
        self,
        domain: Domain,
        n: int,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
    ) -> Batch:
        """Draw ``n`` points; returns a dict with ``"x": (n, d)`` (plus prescribed values)."""
        raise NotImplementedError

    def residual(self, batch: Batch, u: FieldJet) -> Tensor:
        """``(n, k)`` residual, zero when the condition holds; ``u(points)`` gives the jet."""
        raise NotImplementedError


def _check_on(on: On) -> On:
    if on is None or callable(on) or isinstance(on, str):
        return on
    items = [on] if isinstance(on, int) else on
    if (
        not isinstance(items, Sequence)
        or not items
        or any(isinstance(i, bool) or not isinstance(i, (str, int)) for i in items)
    ):
        raise TypeError(
            f"on= takes a boundary part's name or index, a non-empty sequence of them, or a "
            f"predicate x (B, d) -> (B,) bool; got {on!r}"
        )
    return on


class BoundaryCondition(Condition):
    """Base class of the conditions on the (lateral) boundary, or on its part ``on``.

    Args:
        weight: weight of the loss term.
        on: ``None`` (the whole boundary), parts by name or index (``"top"``, ``("left", 3)``,
            an exterior domain's ``"surface"``), or a predicate ``x (B, d) -> (B,) bool`` on
            boundary points (see the module docstring).
        **kwargs: ``name``, ``hard``, ``channels`` of :class:`Condition`.
    """

    def __init__(self, weight: float = 1.0, on: On = None, **kwargs: Any) -> None:
        if "part" in kwargs:
            raise TypeError(f"{type(self).__name__} takes the boundary part as on=, not part=")
        super().__init__(weight, **kwargs)
        self.on = _check_on(on)

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]}, on={self.on!r})"

    def check(self, domain: Domain) -> None:
        """Raise now if ``on`` names no part of ``domain`` (an unknown name gets the nearest)."""
        if self.on is None or callable(self.on):
            return
        if not hasattr(domain, "select_boundary"):
            raise TypeError(
                f"{domain!r} has no named boundary parts; give {type(self).__name__} a predicate "
                f"on=lambda x: ... instead of {self.on!r}"
            )
        domain.select_boundary(self.on)

    def boundary(
        self,
        domain: Domain,
        n: int,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
    ) -> tuple[Tensor, Tensor]:
        """``points (n, d)`` uniform on the part ``on`` and their outward ``normals (n, d)``."""
        return sample_boundary(domain, n, self.on, generator, dtype, device)


class Dirichlet(BoundaryCondition):
    """``u = value`` on the (lateral) boundary or its part ``on``.

    Args:
        value: a number or ``x (n, d) -> (n, k)`` (or ``(n,)``).
        weight: weight of the loss term.
        on: where it holds (see :class:`BoundaryCondition`): ``None`` (everywhere),
            ``"top"``, ``("left", "right")``, face indices, ``"surface"`` of an
            :class:`~smoothgrid.geometry.ExteriorDomain`, or ``lambda x: ...`` -> ``(B,)`` bool.

    Example:
        >>> walls = Dirichlet(0.0, on=("left", "right", "bottom"))
    """

    name = "dirichlet"
    order = 0

    def __init__(
        self, value: Value = 0.0, weight: float = 1.0, on: On = None, **kwargs: Any
    ) -> None:
        super().__init__(weight, on, **kwargs)
        self.value = value

    def sample(
        self,
        domain: Domain,
        n: int,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
    ) -> Batch:
        """``{"x": (n, d) boundary points, "value": (n, k)}``."""
        x, _ = self.boundary(domain, n, generator, dtype, device)
        return {"x": x, "value": evaluate(self.value, x)}

    def residual(self, batch: Batch, u: FieldJet) -> Tensor:
        """``u - value``: ``(n, C)``."""
        return self._select(u(batch["x"]).value) - batch["value"]


class BoundaryLaplacian(Dirichlet):
    """``lap u = value`` on the boundary or its part ``on`` (with ``u = 0``: a simply supported
    plate edge)."""

    name = "boundary_laplacian"
    order = 2

    def residual(self, batch: Batch, u: FieldJet) -> Tensor:
        """``lap u - value``: ``(n, C)``."""
        return self._select(u(batch["x"]).lap) - batch["value"]


class Neumann(BoundaryCondition):
    """``grad u . n = flux`` on the (lateral) boundary or its part ``on``, ``n`` the exact
    outward unit normal of each face (an exterior domain's surface: of the solid, reversed).

    Args:
        flux: a number or ``x (n, d) -> (n, k)`` (or ``(n,)``): the outward normal derivative.
        weight: weight of the loss term.
        on: where it holds (see :class:`Dirichlet`).

    Example:
        >>> import math, torch
        >>> top = Neumann(lambda x: -math.pi * torch.sin(math.pi * x[:, 0]), on="top")
    """

    name = "neumann"
    order = 1

    def __init__(
        self, flux: Value = 0.0, weight: float = 1.0, on: On = None, **kwargs: Any
    ) -> None:
        super().__init__(weight, on, **kwargs)
        self.flux = flux

    def sample(
        self,
        domain: Domain,
        n: int,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
    ) -> Batch:
        """``{"x": (n, d), "normal": (n, d), "flux": (n, k)}``."""
        x, normal = self.boundary(domain, n, generator, dtype, device)
        return {"x": x, "normal": normal, "flux": evaluate(self.flux, x)}

    def residual(self, batch: Batch, u: FieldJet) -> Tensor:
        """``grad u . n - flux``: ``(n, C)``."""
        grad = self._select(u(batch["x"]).grad)
        return (grad * batch["normal"].unsqueeze(1)).sum(-1) - batch["flux"]


class Robin(BoundaryCondition):
    """``a u + b grad u . n = value`` on the (lateral) boundary or its part ``on``.

    ``n`` is the exact outward unit normal (as for :class:`Neumann`). ``b = 0`` is a Dirichlet
    condition, ``a = 0`` a Neumann one; heat transfer to a medium at ``T_inf`` is
    ``Robin(h, k, h * T_inf)`` (``-k du/dn = h (u - T_inf)``).

    Args:
        a, b: numbers or ``x (n, d) -> (n, k)`` (or ``(n,)``) coefficients, not both zero.
        value: ``g``, likewise.
        weight: weight of the loss term.
        on: where it holds (see :class:`Dirichlet`).

    Example:
        >>> cooled = Robin(1.0, 0.5, 0.0, on="right")      # u + 0.5 du/dn = 0 on x = hi_0
    """

    name = "robin"
    order = 1

    def __init__(
        self,
        a: Value,
        b: Value,
        value: Value = 0.0,
        weight: float = 1.0,
        on: On = None,
        **kwargs: Any,
    ) -> None:
        if not callable(a) and not callable(b) and float(a) == 0.0 and float(b) == 0.0:
            raise ValueError("Robin needs a != 0 or b != 0 in a u + b du/dn = value")
        super().__init__(weight, on, **kwargs)
        self.a, self.b, self.value = a, b, value

    def sample(
        self,
        domain: Domain,
        n: int,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
    ) -> Batch:
        """``{"x": (n, d), "normal": (n, d), "a": (n, k), "b": (n, k), "value": (n, k)}``."""
        x, normal = self.boundary(domain, n, generator, dtype, device)
        return {
            "x": x,
            "normal": normal,
            "a": evaluate(self.a, x),
            "b": evaluate(self.b, x),
            "value": evaluate(self.value, x),
        }

    def residual(self, batch: Batch, u: FieldJet) -> Tensor:
        """``a u + b grad u . n - value``: ``(n, C)``."""
        jet = u(batch["x"])
        normal_derivative = (self._select(jet.grad) * batch["normal"].unsqueeze(1)).sum(-1)
        return (
            batch["a"] * self._select(jet.value) + batch["b"] * normal_derivative - batch["value"]
        )


class Periodic(Condition):
    """``u(lo face) = u(hi face)`` along ``axis`` (and the gradients, if ``derivatives``).

    Identically zero when the encoding is periodic on ``axis`` (``Problem.periodic``).
    """

    name = "periodic"

    def __init__(
        self, axis: int, weight: float = 1.0, derivatives: bool = True, **kwargs: Any
    ) -> None:
        kwargs.setdefault("name", f"periodic{int(axis)}")
        super().__init__(weight, **kwargs)
        self.axis = int(axis)
        self.derivatives = bool(derivatives)
        self.order = 1 if derivatives else 0

    def sample(
        self,
        domain: Domain,
        n: int,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
    ) -> Batch:
        """``{"x": (2n, d)}``: ``n`` points on the lo face, then their images on the hi face."""
        if not 0 <= self.axis < domain.dim:
            raise ValueError(f"periodic axis {self.axis} is not an axis of a {domain.dim}-D domain")
        x = domain.sample_interior(n, generator, dtype=dtype, device=device)
        lo, hi = x.clone(), x
        lo[:, self.axis] = float(domain.lo[self.axis])
        hi[:, self.axis] = float(domain.hi[self.axis])
        return {"x": torch.cat([lo, hi])}

    def residual(self, batch: Batch, u: FieldJet) -> Tensor:
        """``u(lo) - u(hi)`` (and ``grad u(lo) - grad u(hi)`` flattened): ``(n, C (1 + d))``."""
        jet = u(batch["x"])
        n = batch["x"].shape[0] // 2
        value = self._select(jet.value)
        parts = [value[:n] - value[n:]]
        if self.derivatives:
            grad = self._select(jet.grad).flatten(1)
            parts.append(grad[:n] - grad[n:])
        return torch.cat(parts, 1)


class Initial(Condition):
    """``u = value`` (and ``u_t = rate`` if given) at ``t = t0`` of a space-time domain."""

    name = "initial"

    def __init__(
        self, value: Value = 0.0, rate: Value | None = None, weight: float = 1.0, **kwargs: Any
    ) -> None:
        super().__init__(weight, **kwargs)
        self.value = value
        self.rate = rate
        self.order = 0 if rate is None else 1

    def sample(
        self,
        domain: Domain,
        n: int,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
    ) -> Batch:
        """``{"x": (n, d) points at t0, "value": (n, k)[, "rate": (n, k)]}``."""
        if not hasattr(domain, "sample_initial"):
            raise TypeError(f"an initial condition needs a SpaceTime domain, got {domain!r}")
        x = domain.sample_initial(n, generator, dtype=dtype, device=device)
        batch = {"x": x, "value": evaluate(self.value, x)}
        if self.rate is not None:
            batch["rate"] = evaluate(self.rate, x)
        return batch

    def residual(self, batch: Batch, u: FieldJet) -> Tensor:
        """``u - value`` (then ``u_t - rate``, time the last axis): ``(n, C)`` or ``(n, 2C)``."""
        jet = u(batch["x"])
        r = self._select(jet.value) - batch["value"]
        if self.rate is None:
            return r
        return torch.cat([r, self._select(jet.grad[..., -1]) - batch["rate"]], 1)


class Data(Condition):
    """``u = values`` at given points; each step uses a random subset of ``n`` of them.

    Args:
        points: ``(N, d)``.
        values: ``(N, k)`` or ``(N,)``.
    """

    name = "data"
    order = 0

    def __init__(self, points: Tensor, values: Tensor, weight: float = 1.0, **kwargs: Any) -> None:
        super().__init__(weight, **kwargs)
        points, values = torch.as_tensor(points), torch.as_tensor(values)
        values = values.unsqueeze(1) if values.dim() == 1 else values
        if points.dim() != 2 or values.dim() != 2 or len(points) != len(values):
            raise ValueError(
                f"Data needs points (N, d) and values (N, k) or (N,), got "
                f"{tuple(points.shape)} and {tuple(values.shape)}"
            )
        self.points, self.values = points, values

    def sample(
        self,
        domain: Domain,
        n: int,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
    ) -> Batch:
        """``{"x": (n, d), "value": (n, k)}``, without replacement when ``n <= N``."""
        N = len(self.points)
        where = generator.device if generator is not None else "cpu"
        if n <= N:
            idx = torch.randperm(N, generator=generator, device=where)[:n]
        else:
            idx = torch.randint(N, (n,), generator=generator, device=where)
        idx = idx.to(self.points.device)
        return {
            "x": self.points[idx].to(dtype=dtype, device=device),
            "value": self.values[idx].to(dtype=dtype, device=device),
        }

    def residual(self, batch: Batch, u: FieldJet) -> Tensor:
        """``u - values``: ``(n, C)``."""
        return self._select(u(batch["x"]).value) - batch["value"]
