"""Boundary, initial, periodicity and data conditions, each a loss term ``mean(residual^2)``.

Every condition draws its own points (``sample``) and, given a callable ``u(points) -> Jet`` that
returns the field's jet at the condition's ``order``, returns a ``(n, k)`` residual that is zero
when the condition holds. Prescribed values are evaluated once, at sampling time, and travel in
the batch.

A condition with ``hard=True`` holds exactly under its problem's ready-made ``constraint``; a
training loop that uses the constraint drops those conditions (and keeps the others as losses).
Every condition takes the keyword arguments ``name``, ``hard`` and ``channels`` of
:class:`Condition`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from ..geometry import Box, ExteriorDomain, SpaceTime
from ..jet import Jet

__all__ = [
    "Condition",
    "Dirichlet",
    "Neumann",
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


class Dirichlet(Condition):
    """``u = value`` on the (lateral) boundary. ``value``: number or ``x (n, d) -> (n, k)``.

    ``part``: only that part of the boundary, by the name the domain's ``sample_boundary``
    knows (e.g. ``"surface"`` or ``"box"`` of an
    :class:`~smoothgrid.geometry.ExteriorDomain`); ``None``: all of it.
    """

    name = "dirichlet"
    order = 0

    def __init__(
        self, value: Value = 0.0, weight: float = 1.0, part: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(weight, **kwargs)
        self.value = value
        self.part = part

    def sample(
        self,
        domain: Domain,
        n: int,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
    ) -> Batch:
        """``{"x": (n, d) boundary points, "value": (n, k)}``."""
        where = {} if self.part is None else {"part": self.part}
        x, _ = domain.sample_boundary(n, generator, dtype=dtype, device=device, **where)
        return {"x": x, "value": evaluate(self.value, x)}

    def residual(self, batch: Batch, u: FieldJet) -> Tensor:
        """``u - value``: ``(n, C)``."""
        return self._select(u(batch["x"]).value) - batch["value"]


class BoundaryLaplacian(Dirichlet):
    """``lap u = value`` on the boundary (with ``u = 0``: a simply supported plate edge)."""

    name = "boundary_laplacian"
    order = 2

    def residual(self, batch: Batch, u: FieldJet) -> Tensor:
        """``lap u - value``: ``(n, C)``."""
        return self._select(u(batch["x"]).lap) - batch["value"]


class Neumann(Condition):
    """``grad u . n = flux`` on the (lateral) boundary, ``n`` the outward unit normal."""

    name = "neumann"
    order = 1

    def __init__(self, flux: Value = 0.0, weight: float = 1.0, **kwargs: Any) -> None:
        super().__init__(weight, **kwargs)
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
        x, normal = domain.sample_boundary(n, generator, dtype=dtype, device=device)
        return {"x": x, "normal": normal, "flux": evaluate(self.flux, x)}

    def residual(self, batch: Batch, u: FieldJet) -> Tensor:
        """``grad u . n - flux``: ``(n, C)``."""
        grad = self._select(u(batch["x"]).grad)
        return (grad * batch["normal"].unsqueeze(1)).sum(-1) - batch["flux"]


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
