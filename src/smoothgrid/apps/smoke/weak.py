r"""The weak-form transport residual: derivatives moved onto compact test functions.

Derivation. Write ``L rho = d_t rho + u . grad rho - kappa lap rho``. A test function ``phi_k``
is supported in the space-time box ``Q_k = prod_a [c_a - w_a, c_a + w_a]`` (``w = (width, ...,
width, duration)``) and, with its gradient, vanishes on the box's faces. Integrating
``(L rho) phi_k`` over ``Q_k`` by parts, every boundary term drops:

* ``int d_t rho phi = - int rho d_t phi``;
* ``int (u . grad rho) phi = - int rho div(u phi) = - int rho u . grad phi - int rho phi div u``;
* ``- kappa int lap rho phi = - kappa int rho lap phi`` (twice by parts; ``phi = d_n phi = 0``
  on the faces).

So

    R_k = int (L rho) phi_k dx dt
        = - int rho (d_t phi_k + u . grad phi_k + kappa lap phi_k) dx dt
          - int rho phi_k div u dx dt.

The first integral needs only *values* of ``rho`` and ``u``: it is the weak form of the
conservative equation ``d_t rho + div(rho u) - kappa lap rho = 0``, which is the transport
equation when ``div u = 0`` (incompressible smoke; the divergence penalty pushes ``u`` there).
This is the default ``form="conservative"``: linear in ``rho``, no derivative of the field at
all. The second integral (``form="advective"``) needs ``div u``; it cannot be made
derivative-free (moving the derivative off ``u`` lands it on ``rho phi``), so it is computed
from the model's analytic jets at order 1 (no double backward). The divergence penalty has a
derivative-free weak form too: ``int phi div u = - int u . grad phi``.

The blueprint's formula, ``int (rho d_t phi - rho div(u phi) - kappa grad rho . grad phi)``, is
wrong in two ways. Its ``d_t`` and ``kappa`` terms have the wrong sign (integration by parts
gives ``- rho d_t phi`` and ``+ kappa grad rho . grad phi``): it equals ``int (-d_t rho + u .
grad rho + kappa lap rho) phi``, the weak residual of transport by ``-u`` with anti-diffusion,
so it is not zero on the true smoke (``-2 int d_t rho phi`` when ``kappa = 0``) and is zeroed by
the reversed velocity (``tests/test_smoke_physics.py`` checks both). And it still differentiates
the field: ``div(u phi) = phi div u + u . grad phi`` needs ``grad u``, the ``kappa`` term needs
``grad rho``; one more integration by parts and the conservative form remove both.

Normalisation and quadrature. ``R_k`` is divided by ``int phi_k``: the ``phi``-weighted mean of
``L rho`` over the support, in the strong form's units, tending to ``L rho(c_k)`` as the support
shrinks. With ``y = c + w s``, ``s in [-1, 1]^(d+1)``, ``phi(y) = prod_a b(s_a)``: ``d_a phi =
b'(s_a) / w_a prod_{b != a} b(s_b)`` and ``lap phi = sum_{a < d} b''(s_a) / w_a^2 prod_{b != a}
b(s_b)``; the Jacobian ``prod w_a`` cancels. Profiles ``b``: ``"bump"`` ``(1 - s^2)^2`` (``b =
b' = 0`` at ``s = +-1``: exact integration by parts) and ``"gaussian"`` ``exp(-8 s^2)`` (4
standard deviations; the neglected boundary terms are ``e^-8 ~ 3e-4`` of its peak, times
``16`` for its slope). Integrals by tensor Gauss-Legendre (``nodes`` per axis, deterministic) or
Monte Carlo (``samples`` uniform points per support, unbiased; its error ``~ 1/sqrt(samples)``
grows like ``1/w`` because ``grad phi ~ 1/w``). Exact integration gives ``R_k = 0`` for an
exact solution at any support size: the only error is the quadrature's, which shrinks as the
support shrinks relative to the field's length scale (the tests state the order).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from .options import DEFAULTS, Model, Residuals, TransportOptions, check_points, split_outputs

__all__ = ["weak", "profile", "profile_integral", "quadrature", "GAUSSIAN_SIGMA"]

GAUSSIAN_SIGMA = 0.25
"""Standard deviation of the ``"gaussian"`` profile on ``[-1, 1]`` (truncated at 4 of them)."""


def profile(name: str, s: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(b, b', b'')`` of a 1D test-function profile at ``s in [-1, 1]``."""
    if name == "bump":
        one = 1.0 - s * s
        return one * one, -4.0 * s * one, 12.0 * s * s - 4.0
    if name == "gaussian":
        inv = 1.0 / GAUSSIAN_SIGMA**2
        b = torch.exp(-0.5 * inv * s * s)
        return b, -inv * s * b, (inv * inv * s * s - inv) * b
    raise ValueError(f"unknown test function {name!r}; known: bump, gaussian")


def profile_integral(name: str) -> float:
    """``int_{-1}^{1} b(s) ds``."""
    if name == "bump":
        return 16.0 / 15.0
    sigma = GAUSSIAN_SIGMA
    return sigma * math.sqrt(2.0 * math.pi) * math.erf(1.0 / (sigma * math.sqrt(2.0)))


def quadrature(
    options: TransportOptions,
    count: int,
    dim: int,
    like: Tensor,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """Nodes ``(count or 1, M, dim)`` in ``[-1, 1]^dim`` and weights ``(M,)`` (sum ``2^dim``).

    Gauss-Legendre: the same ``nodes^dim`` tensor-product nodes for every support (leading
    axis 1). Monte Carlo: ``samples`` fresh uniform nodes per support, equal weights.
    """
    if options.quadrature == "gauss":
        x, w = np.polynomial.legendre.leggauss(options.nodes)
        x = torch.as_tensor(x, dtype=like.dtype, device=like.device)
        w = torch.as_tensor(w, dtype=like.dtype, device=like.device)
        grids = torch.meshgrid(*([x] * dim), indexing="ij")
        nodes = torch.stack(grids, -1).reshape(1, -1, dim)
        weights = torch.ones((), dtype=like.dtype, device=like.device)
        for wg in torch.meshgrid(*([w] * dim), indexing="ij"):
            weights = weights * wg
        return nodes, weights.reshape(-1)
    m = options.samples
    nodes = torch.rand(count, m, dim, generator=generator, dtype=like.dtype)
    nodes = (2.0 * nodes - 1.0).to(like.device)
    return nodes, torch.full((m,), 2.0**dim / m, dtype=like.dtype, device=like.device)


def _without(parts: Tensor, a: int) -> Tensor:
    """Product of ``parts[..., b]`` over ``b != a``."""
    keep = [b for b in range(parts.shape[-1]) if b != a]
    return parts[..., keep].prod(-1)


def weak(
    model: Model,
    centres: Tensor,
    options: TransportOptions = DEFAULTS,
    generator: torch.Generator | None = None,
) -> Residuals:
    """Weak-form residuals, one per test function (see the module docstring).

    Args:
        model: ``(M, d + 1)`` points -> ``(M, 1 + d)`` ``(rho, u)`` (with ``.jet`` for the
            advective form).
        centres: ``(K, d + 1)`` test-function centres ``(x, t)``; each support ``c +- (width,
            ..., duration)`` must lie in the model's domain.
        options: ``width``, ``duration``, ``test_function``, ``quadrature``, ``nodes``,
            ``samples``, ``form``, ``kappa``, ``divergence``.
        generator: seeds the Monte Carlo nodes.

    Returns:
        :class:`Residuals` with ``transport (K,)``: ``R_k / int phi_k`` (density units / s) and,
        if asked, ``divergence (K,)``: ``- int u . grad phi_k / int phi_k`` (1/s).
    """
    check_points(centres)
    K, D = centres.shape
    d = D - 1
    half = torch.tensor(
        [options.width] * d + [options.duration], dtype=centres.dtype, device=centres.device
    )
    s, q = quadrature(options, K, D, centres, generator)  # (1 or K, M, D), (M,)
    M = s.shape[1]
    points = (centres[:, None, :] + s * half).reshape(-1, D)
    if options.quadrature == "mc":  # the centre values: a control variate (see below)
        points = torch.cat([points, centres])
    rho, u = split_outputs(model, points)
    rho_c, u_c = rho[K * M :, None], u[K * M :, None]  # empty unless Monte Carlo
    rho, u = rho[: K * M].reshape(K, M), u[: K * M].reshape(K, M, d)
    b, b1, b2 = profile(options.test_function, s)  # each (1 or K, M, D)
    grad_phi = torch.stack([b1[..., a] / half[a] * _without(b, a) for a in range(D)], -1)
    time_part = grad_phi[..., d]  # d_t phi (+ kappa lap phi)
    if options.kappa > 0:
        lap_phi = sum(b2[..., a] / half[a] ** 2 * _without(b, a) for a in range(d))
        time_part = time_part + options.kappa * lap_phi
    flux = (u * grad_phi[..., :d]).sum(-1)  # u . grad_x phi
    if options.quadrature == "mc":
        # int d_t phi = int lap phi = int grad phi = 0 exactly, so subtracting the centre's
        # rho_c (d_t phi + kappa lap phi) + rho_c u_c . grad phi changes no expectation and
        # removes the O(rho / w) part of the integrand's variance.
        integrand = -(rho - rho_c) * time_part - (
            rho * flux - rho_c * (u_c * grad_phi[..., :d]).sum(-1)
        )
    else:
        integrand = -rho * (time_part + flux)
    if options.form == "advective":
        integrand = integrand - rho * b.prod(-1) * _jet_divergence(model, points).reshape(K, M)
    norm = profile_integral(options.test_function) ** D
    transport = (integrand * q).sum(-1) / norm
    divergence = -(flux * q).sum(-1) / norm if options.divergence else None
    return Residuals(transport, divergence)


def _jet_divergence(model, points: Tensor) -> Tensor:
    """``(M,)`` ``div u`` from the model's order-1 analytic jet."""
    if not callable(getattr(model, "jet", None)):
        raise TypeError(
            "the advective weak form needs div u from a model with .jet(); "
            f"got {type(model).__name__} (use form='conservative')"
        )
    jet = model.jet(points, order=1, derivatives="jet")
    d = points.shape[1] - 1
    return sum(jet.grad[:, 1 + a, a] for a in range(d))
