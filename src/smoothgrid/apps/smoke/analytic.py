"""Exactly transported space-time fields, to check the physics routes against.

Each builder returns a :class:`JetModel`: a model of points ``(N, d + 1)`` = ``(x, t)`` (time
last) with outputs ``(rho, u_0, ..., u_{d-1})``, written once in jet arithmetic, so it has both
the values (``model(points)``, differentiable, for the value-based routes and autograd) and
analytic jets (``model.jet(points, order, ...)``, as :meth:`smoothgrid.Field.jet`).

* :func:`translating_blob`: a Gaussian moved by a uniform velocity, spreading as the heat kernel
  when ``kappa > 0`` (an exact solution of ``rho_t + u . grad rho = kappa lap rho``);
* :func:`rotating_blob`: a Gaussian carried by a rigid rotation (divergence free, accelerating:
  its characteristics curve);
* :func:`expanding_blob`: a Gaussian carried by ``u_0 = a (x_0 - o_0)`` (compressible:
  ``div u = a``), for the advective weak form.

``velocity_factor`` scales the *reported* velocity only: 1 gives the exact pair, anything else a
wrong one whose residual is ``(1 - velocity_factor) u . grad rho``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import Tensor

from ...jet import Jet, cat, cos, exp, sin

__all__ = ["JetModel", "translating_blob", "rotating_blob", "expanding_blob"]


class JetModel:
    """A space-time model given as a function of the coordinate jet.

    Args:
        function: ``X -> Jet`` with ``1 + d`` channels, ``X`` the coordinate jet of the points
            ``(N, d + 1)`` (see :meth:`~smoothgrid.jet.Jet.coordinates`), written with jet
            arithmetic.
        dim: the spatial dimension ``d``.
    """

    def __init__(self, function: Callable[[Jet], Jet], dim: int) -> None:
        self.function = function
        self.dim = dim

    def __call__(self, points: Tensor) -> Tensor:
        """``(N, d + 1)`` points -> ``(N, 1 + d)`` values ``(rho, u)``."""
        return self.function(Jet.coordinates(points, order=0)).value

    def jet(
        self,
        points: Tensor,
        order: int = 2,
        hessian: bool = False,
        lap_axes: Sequence[int] | None = None,
        derivatives: str = "jet",
    ) -> Jet:
        """The analytic jet of ``(rho, u)`` in ``(x, t)``, as :meth:`smoothgrid.Field.jet`."""
        if derivatives != "jet":
            raise ValueError(f"a JetModel has analytic jets only, got derivatives={derivatives!r}")
        return self.function(Jet.coordinates(points, order, hessian, lap_axes))


def _gaussian(offsets: list[Jet], variance: Jet | float, amplitude: Jet | float) -> Jet:
    r2 = offsets[0] ** 2
    for y in offsets[1:]:
        r2 = r2 + y**2
    return amplitude * exp(r2 * (-0.5) / variance)


def translating_blob(
    velocity: Sequence[float],
    centre: Sequence[float],
    width: float = 0.15,
    kappa: float = 0.0,
    velocity_factor: float = 1.0,
) -> JetModel:
    """``rho = (s0^2 / s^2)^(d/2) exp(-|x - c - v t|^2 / (2 s^2))``, ``s^2 = s0^2 + 2 kappa t``.

    Args:
        velocity: ``(d,)`` the uniform velocity ``v`` (domain units / s).
        centre: ``(d,)`` the blob's centre ``c`` at ``t = 0``.
        width: ``s0``, the standard deviation at ``t = 0`` (domain units).
        kappa: diffusivity (domain units^2 / s); ``t > -s0^2 / (2 kappa)`` is required.
        velocity_factor: the reported ``u = velocity_factor * v`` (1: exact).
    """
    d = len(velocity)
    v = [float(c) for c in velocity]

    def f(X: Jet) -> Jet:
        t = X[..., d]
        offsets = [X[..., a] - (centre[a] + v[a] * t) for a in range(d)]
        if kappa == 0:
            rho = _gaussian(offsets, width**2, 1.0)
        else:
            variance = t * (2.0 * kappa) + width**2
            rho = _gaussian(offsets, variance, (variance * (1.0 / width**2)) ** (-0.5 * d))
        u = [t * 0.0 + velocity_factor * v[a] for a in range(d)]
        return cat([rho, *u])

    return JetModel(f, d)


def rotating_blob(
    omega: float,
    origin: Sequence[float],
    offset: Sequence[float],
    width: float = 0.12,
    plane: tuple[int, int] = (0, 1),
    velocity_factor: float = 1.0,
) -> JetModel:
    """A Gaussian at ``origin + offset`` at ``t = 0``, turned by the rigid rotation of angular
    speed ``omega`` (rad/s) about ``origin`` in ``plane``: ``u = omega (-y_q, y_p)`` on the
    plane's axes ``(p, q)`` (``y = x - origin``), 0 on the others; ``div u = 0``.

    Args:
        omega: angular speed (rad / s).
        origin: ``(d,)`` a point on the axis of rotation.
        offset: ``(d,)`` the blob's centre relative to ``origin`` at ``t = 0``.
        width: the Gaussian's standard deviation.
        plane: the two axes the rotation turns.
        velocity_factor: the reported ``u`` is ``velocity_factor`` times the true one.
    """
    d = len(origin)
    p, q = plane

    def f(X: Jet) -> Jet:
        t = X[..., d]
        y = [X[..., a] - origin[a] for a in range(d)]
        c, s = cos(t * omega), sin(t * omega)
        back = list(y)  # R(-omega t) y: where the point was at t = 0
        back[p] = c * y[p] + s * y[q]
        back[q] = c * y[q] - s * y[p]
        rho = _gaussian([back[a] - offset[a] for a in range(d)], width**2, 1.0)
        u = [t * 0.0 for _ in range(d)]
        u[p] = y[q] * (-omega * velocity_factor)
        u[q] = y[p] * (omega * velocity_factor)
        return cat([rho, *u])

    return JetModel(f, d)


def expanding_blob(
    rate: float, origin: Sequence[float], centre: Sequence[float], width: float = 0.12
) -> JetModel:
    """A Gaussian carried by the compressible flow ``u_0 = rate (x_0 - origin_0)``, ``u_a = 0``
    otherwise: ``rho(x, t) = g(origin_0 + (x_0 - origin_0) e^(-rate t), x_1, ...)``, a solution of
    the advective ``rho_t + u . grad rho = 0`` (not of the conservative form: ``div u = rate``).
    """
    d = len(origin)

    def f(X: Jet) -> Jet:
        t = X[..., d]
        y0 = (X[..., 0] - origin[0]) * exp(t * (-rate)) + (origin[0] - centre[0])
        rho = _gaussian([y0] + [X[..., a] - centre[a] for a in range(1, d)], width**2, 1.0)
        u = [(X[..., 0] - origin[0]) * rate] + [t * 0.0 for _ in range(1, d)]
        return cat([rho, *u])

    return JetModel(f, d)
