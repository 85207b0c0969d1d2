"""The Ritz-Galerkin solution of a quadratic energy by preconditioned conjugate gradients.

For a linear, symmetric problem in energy form (``sg.Problem(energy=...)``, e.g.
``poisson2d_energy`` or ``helmholtz2d_energy`` with ``k`` below the first eigenvalue), a field
affine in its grid tables (a linear read-out, the essential conditions held by a constraint)
and fixed points, the loss is a quadratic ``E(theta) = theta^T K theta / 2 - f^T theta + c``
with ``K`` symmetric; where it is positive definite, its minimiser is the Galerkin solution
in the span of the grid's basis functions, the finite-element solution when the points are an
exact quadrature (``quadrature=n``). Conjugate gradients reach it in far fewer steps than a
stochastic optimiser and without its noise floor.

Per step, with ``g = K theta - f`` the loop's gradient and ``D`` the diagonal scales::

    z = -D g,  gamma = -g . z
    p = z + (gamma / gamma_previous) p      (p = z at the first step)
    K p = g(p) - g(0)                       (one more gradient of E, at theta = p)
    theta += (gamma / p . K p) p

(preconditioned CG with the residual ``-g`` recomputed at every step). ``D`` is Jacobi on the
energy's principal part: every table entry is scaled by ``1 / |b_j|^2``, the squared column norm
of the map from the tables to the highest derivatives of the field at the points (the gradient
for a second-order problem, the Hessian for a fourth-order one), estimated once from random
signs (:func:`~smoothgrid.train.lstsq.column_norms`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .lstsq import FixedPointsCG
from .settings import SettingsError

__all__ = ["EnergyCG", "NotQuadraticError"]

Energy = Callable[[], Tensor]
"""``() -> E``: the loss at the parameters' current values, a scalar with a graph to them."""

Principal = Callable[[], Tensor]
"""``() -> b (m,)``: the field's highest derivatives at the points, with a graph."""


class NotQuadraticError(SettingsError):
    """The energy is not a convex quadratic in the parameters (a nonlinear problem or decoder,
    or an indefinite one, e.g. Helmholtz with ``k`` above the first eigenvalue)."""


class EnergyCG(FixedPointsCG):
    """Preconditioned CG for a convex quadratic energy (see the module docstring).

    Use it as the loop uses any optimiser, except that :meth:`step` needs two closures:
    ``loss = energy(); loss.backward(); opt.step(energy, principal)``. The points behind them
    must stay the same from step to step.

    Args:
        params: the parameters ``theta`` (the grid tables; anything left out stays fixed).
        probes: random sign vectors for the scales (:func:`~.lstsq.column_norms`).
        seed: seeds those signs and the quadratic check's direction.
        tolerance: the largest relative second difference of the gradient accepted at the
            first step (default ``1e-3`` in float32, ``1e-8`` in float64).

    Its state (checkpointed with the parameters): per parameter the search ``direction`` and
    the ``scale``; with the first parameter ``offset`` (the gradient at ``theta = 0``, one
    tensor per parameter, flattened into one) and ``gamma``.

    Attributes:
        takes_energy: ``True``: the loop passes the loss and principal-part closures.
    """

    takes_energy = True

    @torch.no_grad()
    def step(self, energy: Energy, principal: Principal) -> None:  # type: ignore[override]
        """One CG step from the gradients in ``p.grad`` (those of ``energy()``).

        Raises:
            NotQuadraticError: at the first step when the gradient is not affine in the
                parameters, or at any step when the energy's curvature along the search
                direction is not positive.
        """
        params = self._params()
        if any(p.grad is None for p in params):
            raise RuntimeError("EnergyCG.step needs the gradients of the energy (backward first)")
        first = self.state[params[0]]
        if "scale" not in first:
            self._prepare(energy, principal, params)
        z = [-self.state[p]["scale"] * p.grad for p in params]
        gamma = sum(float((-p.grad * zi).sum()) for p, zi in zip(params, z))
        if gamma <= 0.0:
            return  # the gradient vanished: the minimum is reached
        directions = self._conjugate(params, z, gamma)
        curved = _gradient_at(energy, params, directions)
        offset = torch.split(first["offset"], [p.numel() for p in params])
        curvature = sum(float((d * (c - o.view_as(c))).sum())
                        for d, c, o in zip(directions, curved, offset))  # fmt: skip
        if not curvature > 0.0:
            raise NotQuadraticError(
                f"the energy is not convex along the search direction (curvature "
                f"{curvature:.3g}): CG needs a symmetric positive definite problem"
            )
        for p, d in zip(params, directions):
            p.add_(d, alpha=gamma / curvature)

    def _prepare(self, energy: Energy, principal: Principal, params: list[Tensor]) -> None:
        """First step: check that the gradient is affine; the scales; the gradient at 0."""
        generator = torch.Generator(device=params[0].device).manual_seed(self.seed)
        tolerance = self._tolerance(params)
        defect = gradient_defect(energy, params, generator)
        if not defect <= tolerance:
            raise NotQuadraticError(
                f"the energy is not quadratic in the grid tables (second difference {defect:.2g}"
                f" of its gradient along a random direction, tolerance {tolerance:g}): CG on "
                f"an energy needs a linear problem and a linear decoder (hidden=[])"
            )
        self._set_scales(principal, params, generator)
        zeros = [torch.zeros_like(p) for p in params]
        offset = _gradient_at(energy, params, zeros)
        self.state[params[0]]["offset"] = torch.cat([g.reshape(-1) for g in offset])
        self.state[params[0]]["gamma"] = torch.tensor(0.0, dtype=torch.float64)


def _gradient_at(energy: Energy, params: list[Tensor], values: list[Tensor]) -> list[Tensor]:
    """``dE/dtheta`` with the parameters set to ``values`` (they are restored after)."""
    saved = [p.detach().clone() for p in params]
    try:
        for p, v in zip(params, values):
            p.copy_(v)
        with torch.enable_grad():
            grads = torch.autograd.grad(energy(), params, allow_unused=True)
        return [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]
    finally:
        for p, s in zip(params, saved):
            p.copy_(s)


@torch.no_grad()
def gradient_defect(energy: Energy, params: list[Tensor], generator: torch.Generator) -> float:
    """``|g(theta + 2v) - 2 g(theta + v) + g(theta)| / |g(theta + 2v) - g(theta)|`` for the
    energy's gradient ``g`` and a random ``v``: 0 for a quadratic energy (up to rounding)."""
    steps = [torch.randn(p.shape, generator=generator, device=p.device, dtype=p.dtype)
             for p in params]  # fmt: skip
    start = [p.detach().clone() for p in params]
    at = [_flat(_gradient_at(energy, params, [s + k * v for s, v in zip(start, steps)]))
          for k in (0.0, 1.0, 2.0)]  # fmt: skip
    slope = (at[2] - at[0]).norm()
    curve = (at[2] - 2 * at[1] + at[0]).norm()
    return float(curve / slope.clamp_min(torch.finfo(slope.dtype).tiny))


def _flat(tensors: list[Tensor]) -> Tensor:
    return torch.cat([t.reshape(-1) for t in tensors])
