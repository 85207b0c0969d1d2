"""Residual routes of the transport equation ``d rho/dt + u . grad rho - kappa lap rho = 0``.

A *model* maps space-time points ``(N, d + 1)`` = ``(x_0, ..., x_{d-1}, t)`` (time last) to
``(N, 1 + d)`` = ``(rho, u_0, ..., u_{d-1})``: a :class:`smoothgrid.Field` with ``d + 1`` inputs
and ``1 + d`` outputs, a :class:`~smoothgrid.apps.smoke.analytic.JetModel`, a
:class:`~smoothgrid.apps.smoke.frames.Simulation`, or any callable (the ``jets`` route and the
advective weak form also need ``model.jet(points, order=..., lap_axes=..., derivatives="jet")``).

Every route returns :class:`Residuals`: per point (per test function for ``weak``) a transport
residual in density units per second, comparable across routes, and optionally the divergence
of ``u`` (1/s) for the divergence penalty.

| route | derivatives | error in its step | autograd |
|---|---|---|---|
| ``jets`` | analytic jets (order 1; the spatial Laplacian via ``lap_axes``) | none | 1 |
| ``weak`` | moved onto compact test functions (see :mod:`.weak`) | quadrature | 1 |
| ``fd`` | central / upwind stencils of values | ``O(h^2 + dt^2)`` / ``O(h + dt)`` | 1 |
| ``semi_lagrangian`` | ``(rho(x, t) - rho(x_b, t - dt)) / dt`` | ``O(dt)`` / ``O(dt^2)`` | 1 |
| ``double_backward`` | ``autograd.grad(create_graph=True)`` (PINF, baseline B1) | none | 2 |

The semi-Lagrangian orders are those of the Euler / midpoint back-trace (both exact for a
uniform ``u``). Autograd order 1 means training on the residual needs one ordinary backward
pass: no ``create_graph`` call anywhere (``tests/test_smoke_physics.py`` proves it by making
such a call an error). The semi-Lagrangian residual reaches ``u`` through the back-traced
point, i.e. through the field's positional gradient in its ordinary backward pass; a smooth
encoding makes that gradient continuous.

Stencil and support points must stay inside the field's box (sample the points ``h``, ``dt``,
``dt |u|`` or the test function's half-widths away from its faces), or build the field's
encoding with ``clamp=True``.

Why the semi-Lagrangian error is ``O(dt)``: with ``f(s) = rho(x - s u_0, t - s)`` (``u_0`` the
velocity at ``(x, t)``), ``(f(0) - f(dt)) / dt = D rho - dt/2 D^2 rho + O(dt^2)``, ``D = d_t +
u_0 . grad``. For an exact solution ``D rho = 0`` at ``(x, t)`` and ``D^2 rho = -(Du/Dt) . grad
rho``, so the residual is ``dt/2 (Du/Dt) . grad rho + O(dt^2)``: zero for a uniform flow, first
order for an accelerating one (a rotation), second order with the midpoint back-trace
``x - dt u(x - dt/2 u(x, t), t - dt/2)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import torch
from torch import Tensor

from .options import DEFAULTS, Model, Residuals, TransportOptions, check_points, split_outputs
from .weak import weak

__all__ = [
    "TransportOptions",
    "Residuals",
    "ROUTES",
    "FIRST_ORDER_ROUTES",
    "jets",
    "weak",
    "fd",
    "semi_lagrangian",
    "double_backward",
    "residuals",
    "physics_loss",
]


# --------------------------------------------------------------------------- routes
def jets(model, points: Tensor, options: TransportOptions = DEFAULTS) -> Residuals:
    """The strong form on the model's analytic jets: no double backward.

    ``model.jet(points, order=1)`` gives ``d rho/dt`` and ``grad rho`` (and ``div u``); with
    ``kappa > 0``, order 2 with ``lap_axes`` the spatial axes gives the spatial Laplacian.
    """
    check_points(points)
    if not callable(getattr(model, "jet", None)):
        raise TypeError(f"the jets route needs a model with .jet(), got {type(model).__name__}")
    d = points.shape[1] - 1
    order = 2 if options.kappa > 0 else 1
    lap_axes = tuple(range(d)) if order == 2 else None
    jet = model.jet(points, order=order, lap_axes=lap_axes, derivatives="jet")
    grad = jet.grad[:, 0]  # (N, d + 1): grad rho, then d rho/dt
    u = jet.value[:, 1:]
    transport = grad[:, d] + (u * grad[:, :d]).sum(1)
    if options.kappa > 0:
        transport = transport - options.kappa * jet.lap[:, 0]
    divergence = None
    if options.divergence:
        divergence = sum(jet.grad[:, 1 + a, a] for a in range(d))
    return Residuals(transport, divergence)


def double_backward(
    model: Model, points: Tensor, options: TransportOptions = DEFAULTS
) -> Residuals:
    """Baseline B1 (PINF's core): the strong form by ``torch.autograd.grad(create_graph=True)``.

    Training on it differentiates the derivative graph again (double backward). Needs only
    ``model(points)``.
    """
    check_points(points)
    d = points.shape[1] - 1
    with torch.enable_grad():
        x = points.detach().requires_grad_(True)
        rho, u = split_outputs(model, x)

        def grad_of(y: Tensor) -> Tensor:
            return torch.autograd.grad(
                y.sum(), x, create_graph=True, allow_unused=True, materialize_grads=True
            )[0]

        g = grad_of(rho)  # (N, d + 1)
        transport = g[:, d] + (u * g[:, :d]).sum(1)
        if options.kappa > 0:
            transport = transport - options.kappa * sum(grad_of(g[:, a])[:, a] for a in range(d))
        divergence = None
        if options.divergence:
            divergence = sum(grad_of(u[:, a])[:, a] for a in range(d))
    return Residuals(transport, divergence)


def _unit(points: Tensor, axis: int, step: float) -> Tensor:
    """``(d + 1,)``: ``step`` along ``axis``."""
    e = torch.zeros(points.shape[1], dtype=points.dtype, device=points.device)
    e[axis] = step
    return e


def _stencil(
    model: Model, points: Tensor, h: float, dt: float | None = None
) -> tuple[Tensor, Tensor]:
    """Values at the centre, ``x +- h e_a`` (``a < d``) and, with ``dt``, ``t +- dt``, in one
    batch: ``rho (S, N)`` and ``u (S, N, d)`` in that order (``S = 1 + 2d`` or ``3 + 2d``)."""
    N, D = points.shape
    d = D - 1
    shifts = [torch.zeros(D, dtype=points.dtype, device=points.device)]
    for a in range(d):
        shifts += [_unit(points, a, h), _unit(points, a, -h)]
    if dt is not None:
        shifts += [_unit(points, d, dt), _unit(points, d, -dt)]
    rho, u = split_outputs(model, (points[None] + torch.stack(shifts)[:, None]).reshape(-1, D))
    return rho.reshape(len(shifts), N), u.reshape(len(shifts), N, d)


def _laplacian(rho: Tensor, h: float, d: int) -> Tensor:
    """``(N,)`` central spatial Laplacian from a :func:`_stencil`'s ``rho``."""
    plus, minus = rho[1 : 1 + 2 * d : 2], rho[2 : 2 + 2 * d : 2]
    return ((plus - 2 * rho[0] + minus) / h**2).sum(0)


def _divergence(u: Tensor, h: float, d: int) -> Tensor:
    """``(N,)`` central divergence from a :func:`_stencil`'s ``u``."""
    plus, minus = u[1 : 1 + 2 * d : 2], u[2 : 2 + 2 * d : 2]  # (d, N, d)
    return sum((plus[a, :, a] - minus[a, :, a]) / (2 * h) for a in range(d))


def fd(model: Model, points: Tensor, options: TransportOptions = DEFAULTS) -> Residuals:
    """Finite-difference stencils on sampled values (one batch of ``3 + 2d`` points each).

    ``"central"``: ``(rho(t + dt) - rho(t - dt)) / 2dt`` and ``(rho(x + h e_a) - rho(x - h e_a))
    / 2h``, ``O(h^2 + dt^2)``. ``"upwind"``: ``(rho(t) - rho(t - dt)) / dt`` and the one-sided
    difference on the side ``u_a`` comes from, ``O(h + dt)``. The Laplacian (``kappa > 0``) and
    the divergence are central, ``O(h^2)``.
    """
    check_points(points)
    d = points.shape[1] - 1
    h, dt = options.h, options.dt
    rho, u = _stencil(model, points, h, dt)
    r0, u0 = rho[0], u[0].t()  # (N,), (d, N)
    plus, minus = rho[1 : 1 + 2 * d : 2], rho[2 : 2 + 2 * d : 2]  # (d, N)
    later, earlier = rho[-2], rho[-1]
    if options.scheme == "central":
        rho_t = (later - earlier) / (2 * dt)
        grad = (plus - minus) / (2 * h)
    else:
        rho_t = (r0 - earlier) / dt
        grad = torch.where(u0 > 0, (r0 - minus) / h, (plus - r0) / h)
    transport = rho_t + (u0 * grad).sum(0)
    if options.kappa > 0:
        transport = transport - options.kappa * _laplacian(rho, h, d)
    divergence = _divergence(u, h, d) if options.divergence else None
    return Residuals(transport, divergence)


def semi_lagrangian(
    model: Model, points: Tensor, options: TransportOptions = DEFAULTS
) -> Residuals:
    """``(rho(x, t) - rho(x_b, t - dt)) / dt``, ``x_b`` the back-traced point.

    ``"euler"``: ``x_b = x - dt u(x, t)`` (the blueprint's); ``"midpoint"``: ``x_b = x - dt
    u(x - dt/2 u(x, t), t - dt/2)``. ``x_b`` stays differentiable, so ``u`` is trained through
    the field's positional gradient at ``x_b``. With ``kappa > 0``, ``kappa`` times the mean of
    the central Laplacians (step ``h``) at ``(x, t)`` and ``(x_b, t - dt)`` is subtracted (the
    trapezoidal rule along the characteristic: ``O(dt^2 + h^2)`` with the midpoint back-trace);
    the divergence is central.
    """
    check_points(points)
    d = points.shape[1] - 1
    dt = options.dt
    rho, u = split_outputs(model, points)
    x, t = points[:, :d], points[:, d:]
    if options.backtrace == "midpoint":
        _, u_mid = split_outputs(model, torch.cat([x - 0.5 * dt * u, t - 0.5 * dt], 1))
        back = x - dt * u_mid
    else:
        back = x - dt * u
    behind = torch.cat([back, t - dt], 1)
    rho_back, _ = split_outputs(model, behind)
    transport = (rho - rho_back) / dt
    divergence = None
    if options.kappa > 0 or options.divergence:
        rho_s, u_s = _stencil(model, points, options.h)
        if options.kappa > 0:
            # trapezoidal in time along the characteristic, so diffusion keeps the route's order
            rho_b, _ = _stencil(model, behind, options.h)
            lap = 0.5 * (_laplacian(rho_s, options.h, d) + _laplacian(rho_b, options.h, d))
            transport = transport - options.kappa * lap
        if options.divergence:
            divergence = _divergence(u_s, options.h, d)
    return Residuals(transport, divergence)


ROUTES: dict[str, Callable[..., Residuals]] = {
    "jets": jets,
    "weak": weak,
    "fd": fd,
    "semi_lagrangian": semi_lagrangian,
    "double_backward": double_backward,
}
"""Route name -> ``route(model, points, options) -> Residuals``."""

FIRST_ORDER_ROUTES = ("jets", "weak", "fd", "semi_lagrangian")
"""The routes whose training needs no second-order autograd (no ``create_graph``)."""


def residuals(
    route: str,
    model: Model,
    points: Tensor,
    options: TransportOptions = DEFAULTS,
    generator: torch.Generator | None = None,
) -> Residuals:
    """The residuals of one route by name.

    Args:
        route: one of :data:`ROUTES`.
        model: ``(N, d + 1)`` points ``(x, t)`` -> ``(N, 1 + d)`` ``(rho, u)`` (see the module
            docstring).
        points: ``(N, d + 1)`` collocation points, time last (test-function centres for
            ``weak``), far enough from the domain's faces for the route's stencil or support.
        options: the routes' options (each route reads its own).
        generator: seeds ``weak``'s Monte Carlo quadrature.

    Returns:
        :class:`Residuals`: ``transport (N,)`` and, with ``options.divergence``, ``divergence
        (N,)``.

    Example:
        >>> from smoothgrid.apps.smoke import rotating_blob
        >>> model = rotating_blob(2.0, origin=[0.5, 0.5], offset=[0.15, 0.0])
        >>> points = torch.tensor([[0.6, 0.5, 0.3], [0.4, 0.45, 0.5]], dtype=torch.float64)
        >>> bool(residuals("jets", model, points).transport.abs().max() < 1e-12)
        True
    """
    try:
        function = ROUTES[route]
    except KeyError:
        raise ValueError(f"unknown physics route {route!r}; known: {', '.join(ROUTES)}") from None
    if route == "weak":
        return function(model, points, options, generator)
    return function(model, points, options)


def physics_loss(
    model: Model,
    points: Tensor,
    routes: str | Sequence[str] | Mapping[str, float],
    options: TransportOptions = DEFAULTS,
    divergence_weight: float = 0.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """``sum_r w_r (mean R_r^2 + divergence_weight * mean div_r^2)`` over the chosen routes.

    Args:
        model: the space-time model (see the module docstring).
        points: ``(N, d + 1)`` collocation points (test-function centres for ``weak``).
        routes: a route name, several (weight 1 each) or ``{name: weight}``.
        options: the routes' options.
        divergence_weight: weight of the divergence penalty; each route computes ``div u`` its
            own way (jets, autograd, central differences, or weakly for ``weak``).
        generator: seeds ``weak``'s Monte Carlo quadrature.

    Returns:
        A scalar tensor; ``loss.backward()`` trains the model.
    """
    if isinstance(routes, str):
        routes = {routes: 1.0}
    elif not isinstance(routes, Mapping):
        routes = {name: 1.0 for name in routes}
    if not routes:
        raise ValueError(f"choose at least one route of: {', '.join(ROUTES)}")
    if divergence_weight and not options.divergence:
        options = replace(options, divergence=True)
    total = None
    for name, weight in routes.items():
        term = weight * residuals(name, model, points, options, generator).loss(divergence_weight)
        total = term if total is None else total + term
    return total
