"""The options and results shared by the transport residual routes (:mod:`.physics`,
:mod:`.weak`), and the model's output convention."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from torch import Tensor

__all__ = ["Model", "TransportOptions", "DEFAULTS", "Residuals", "split_outputs", "check_points"]

Model = Callable[[Tensor], Tensor]


@dataclass(frozen=True)
class TransportOptions:
    """Every option of the residual routes, declared once (each route reads its own).

    Attributes:
        kappa: diffusivity ``kappa >= 0`` (domain units^2 / s).
        divergence: also return ``div u`` (the divergence penalty's residual).
        h: spatial step of ``fd`` (and of ``semi_lagrangian``'s Laplacian and divergence), in
            domain units.
        dt: time step of ``fd`` and ``semi_lagrangian`` (s).
        scheme: ``fd``'s stencil: ``"central"`` (``O(h^2 + dt^2)``) or ``"upwind"`` (one-sided
            by the sign of ``u`` in space, backward in time: ``O(h + dt)``); the Laplacian is
            always central.
        backtrace: ``semi_lagrangian``'s ``"euler"`` (``O(dt)``) or ``"midpoint"`` (``O(dt^2)``).
        width, duration: ``weak``'s test-function half-widths in space (domain units) and time
            (s).
        test_function: ``weak``'s ``"bump"`` ``(1 - s^2)^2`` per axis or ``"gaussian"``
            (truncated at 4 standard deviations).
        quadrature: ``weak``'s ``"gauss"`` (tensor Gauss-Legendre, ``nodes`` per axis) or
            ``"mc"`` (``samples`` uniform random points per support: Monte Carlo).
        nodes: Gauss-Legendre nodes per axis (``nodes^(d+1)`` points per test function).
        samples: Monte Carlo points per test function.
        form: ``weak``'s ``"conservative"`` form (derivative-free; exact for ``div u = 0``) or
            ``"advective"`` (adds ``-int rho phi div u`` with ``div u`` from the model's jets).
    """

    kappa: float = 0.0
    divergence: bool = False
    h: float = 1.0 / 64
    dt: float = 1.0 / 64
    scheme: Literal["central", "upwind"] = "central"
    backtrace: Literal["euler", "midpoint"] = "euler"
    width: float = 0.05
    duration: float = 0.05
    test_function: Literal["bump", "gaussian"] = "bump"
    quadrature: Literal["gauss", "mc"] = "gauss"
    nodes: int = 3
    samples: int = 32
    form: Literal["conservative", "advective"] = "conservative"

    def __post_init__(self) -> None:
        if self.kappa < 0:
            raise ValueError(f"kappa must be >= 0 (a diffusivity), got {self.kappa}")
        for name in ("h", "dt", "width", "duration"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.nodes < 1 or self.samples < 1:
            raise ValueError(f"nodes and samples must be >= 1, got {self.nodes}, {self.samples}")
        choices = {
            "scheme": ("central", "upwind"),
            "backtrace": ("euler", "midpoint"),
            "test_function": ("bump", "gaussian"),
            "quadrature": ("gauss", "mc"),
            "form": ("conservative", "advective"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"unknown {name} {getattr(self, name)!r}; known: {', '.join(allowed)}"
                )


DEFAULTS = TransportOptions()
"""The routes' default options."""


@dataclass(frozen=True)
class Residuals:
    """A route's residuals.

    Attributes:
        transport: ``(N,)`` ``d rho/dt + u . grad rho - kappa lap rho`` (density units / s), per
            point, or per test function (its ``phi``-weighted mean) for ``weak``.
        divergence: ``(N,)`` ``div u`` (1/s) likewise, or ``None`` unless asked for.
    """

    transport: Tensor
    divergence: Tensor | None = None

    def loss(self, divergence_weight: float = 0.0) -> Tensor:
        """``mean(transport^2) + divergence_weight * mean(divergence^2)``."""
        loss = self.transport.square().mean()
        if divergence_weight:
            if self.divergence is None:
                raise ValueError("a divergence penalty needs the residuals' divergence=True")
            loss = loss + divergence_weight * self.divergence.square().mean()
        return loss


def split_outputs(model: Model, points: Tensor) -> tuple[Tensor, Tensor]:
    """``(rho (N,), u (N, d))`` of ``model`` at ``points`` ``(N, d + 1)``."""
    check_points(points)
    out = model(points)
    d = points.shape[1] - 1
    if out.dim() != 2 or out.shape != (points.shape[0], 1 + d):
        raise ValueError(
            f"a transport model maps (N, d + 1) points to (N, 1 + d) = (rho, u) outputs; for "
            f"d = {d} expected {(points.shape[0], 1 + d)}, got {tuple(out.shape)}"
        )
    return out[:, 0], out[:, 1:]


def check_points(points: Tensor) -> None:
    if points.dim() != 2 or points.shape[1] < 2:
        raise ValueError(
            f"points must be (N, d + 1) = (x, t) with d >= 1, got {tuple(points.shape)}"
        )
