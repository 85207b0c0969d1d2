"""Least squares by preconditioned conjugate gradients (CGLS), as an optimiser of the loop.

For a linear PDE with linear conditions and a linear decoder (``Field(..., hidden=[])``), the
residual vector ``r(theta)`` on a fixed set of points is affine in the grid tables ``theta``:
``r(theta) = A theta + c``. The loss ``|r|^2`` is then a linear least-squares problem, and
conjugate gradients on its normal equations (CGLS) reach its minimum in far fewer steps than
Adam. What decides the rate is the preconditioner: the columns of ``A`` (one per table entry)
differ in norm by orders of magnitude between coarse and fine levels and between value and
derivative coefficients, so each unknown is scaled by ``1 / |a_j|`` (Jacobi on ``A^T A``).

Per step, with ``g = 2 A^T r(theta)`` the loop's gradient and ``D = diag(1 / |a_j|^2)``::

    z = -D g / 2,  gamma = -g . z / 2
    p = z + (gamma / gamma_previous) p      (p = z at the first step)
    q = A p = r(p) - r(0)                   (one evaluation of r, no graph)
    theta += (gamma / |q|^2) p

which is CGLS on the column-scaled system ``A D^(1/2)`` (exact arithmetic), with the residual
recomputed at every step rather than updated by recurrence. The column norms are estimated once
from random signs (:func:`column_norms`); ``r(0)`` is evaluated once. Both assume the points do
not change: the solver draws them once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import Tensor

from .settings import SettingsError

__all__ = ["FixedPointsCG", "LeastSquaresCG", "column_norms", "affine_defect", "NotAffineError"]

Residual = Callable[[], Tensor]
"""``() -> r (m,)``: the residual vector at the parameters' current values (a graph to them
when gradients are enabled)."""


class NotAffineError(SettingsError):
    """The residual is not affine in the parameters (a nonlinear PDE, decoder or condition)."""


def column_norms(
    residual: Residual, params: list[Tensor], probes: int, generator: torch.Generator
) -> list[Tensor]:
    """Estimated squared column norms of ``A = dr/dtheta``, one tensor per parameter.

    ``E[(A^T s)_j^2] = sum_i A_ij^2`` for random signs ``s``; the mean over ``probes`` draws has a
    relative standard deviation of about ``sqrt(2 / probes)`` per entry (enough to scale them).

    Args:
        residual: the residual at the current parameters, with a graph to ``params``.
        params: the parameters ``theta``.
        probes: the number of random sign vectors (>= 1).
        generator: draws the signs (on the residual's device).
    """
    with torch.enable_grad():
        r = residual()
    sums = [torch.zeros_like(p) for p in params]
    for k in range(probes):
        signs = torch.randint(0, 2, r.shape, generator=generator, device=r.device)
        grads = torch.autograd.grad(r, params, (2 * signs - 1).to(r.dtype),
                                    retain_graph=k < probes - 1)  # fmt: skip
        for total, g in zip(sums, grads):
            total += g.square()
    return [total / probes for total in sums]


@torch.no_grad()
def affine_defect(residual: Residual, params: list[Tensor], generator: torch.Generator) -> float:
    """``|r(theta + 2v) - 2 r(theta + v) + r(theta)| / |r(theta + 2v) - r(theta)|`` for a
    random ``v`` of unit root-mean-square per entry: 0 for an affine residual (up to rounding),
    of order 1 for a nonlinear one (one-sided, so an odd function about ``theta`` shows too).
    The parameters are left as they were."""
    steps = [torch.randn(p.shape, generator=generator, device=p.device, dtype=p.dtype)
             for p in params]  # fmt: skip
    start = residual()
    _add(params, steps, 1.0)
    once = residual()
    _add(params, steps, 1.0)
    twice = residual()
    _add(params, steps, -2.0)
    slope = (twice - start).norm()
    return float((twice - 2 * once + start).norm() / slope.clamp_min(torch.finfo(slope.dtype).tiny))


def _add(params: list[Tensor], steps: list[Tensor], factor: float) -> None:
    for p, s in zip(params, steps):
        p.add_(s, alpha=factor)


class FixedPointsCG(torch.optim.Optimizer):
    """What the conjugate-gradient optimisers share: one group of parameters, random probes
    and a seed for their scales, and the preconditioned search direction kept per parameter.

    Args:
        params: the parameters ``theta`` (the grid tables; anything left out stays fixed).
        probes: random sign vectors for the scales (:func:`column_norms`, >= 1).
        seed: seeds those signs and the first step's check.
        tolerance: the largest relative second difference the first step's check accepts
            (``None``: ``1e-3`` in float32, ``1e-8`` in float64).
    """

    def __init__(
        self, params: Iterable[Tensor], probes: int = 16, seed: int = 0,
        tolerance: float | None = None,
    ) -> None:  # fmt: skip
        if probes < 1:
            raise ValueError(f"probes must be >= 1, got {probes}")
        # lr / base_lr only so that the loop's rate schedule has something to set (unused)
        super().__init__(params, {"lr": 1.0, "base_lr": 1.0})
        if len(self.param_groups) != 1:
            raise ValueError(f"{type(self).__name__} takes one group of parameters")
        self.probes, self.seed, self.tolerance = int(probes), int(seed), tolerance

    def _params(self) -> list[Tensor]:
        return list(self.param_groups[0]["params"])

    def _tolerance(self, params: list[Tensor]) -> float:
        if self.tolerance is not None:
            return self.tolerance
        return 1e-3 if params[0].dtype == torch.float32 else 1e-8

    def _set_scales(
        self, vector: Residual, params: list[Tensor], generator: torch.Generator
    ) -> None:
        """Each parameter's ``scale``: ``1 / |b_j|^2`` for the columns of ``d vector / d theta``
        (:func:`column_norms`), floored at ``1e-12`` of the largest."""
        norms = column_norms(vector, params, self.probes, generator)
        largest = max(float(n.max()) for n in norms)
        floor = largest * 1e-12 if largest > 0 else 1.0
        for p, n in zip(params, norms):
            self.state[p]["scale"] = 1.0 / n.clamp_min(floor)

    def _conjugate(self, params: list[Tensor], z: list[Tensor], gamma: float) -> list[Tensor]:
        """The new search directions ``p = z + (gamma / gamma_previous) p`` (``p = z`` at the
        first step), stored per parameter; ``gamma`` becomes the previous one."""
        first = self.state[params[0]]
        previous = float(first["gamma"])
        states = [self.state[p] for p in params]
        for s, zi in zip(states, z):
            if previous > 0.0:
                s["direction"].mul_(gamma / previous).add_(zi)
            else:
                s["direction"] = zi
        first["gamma"] = torch.tensor(gamma, dtype=torch.float64)
        return [s["direction"] for s in states]


class LeastSquaresCG(FixedPointsCG):
    """CGLS with a column-norm preconditioner for ``loss = |r(theta)|^2``, ``r`` affine in
    ``theta`` (see the module docstring).

    Use it as the loop uses any optimiser, except that :meth:`step` needs the residual:
    ``loss = r.square().sum(); loss.backward(); opt.step(residual)``. The points behind ``r``
    must stay the same from step to step.

    Args:
        params: the parameters ``theta`` (the grid tables; anything left out stays fixed).
        probes: random sign vectors for the column norms (:func:`column_norms`).
        seed: seeds those signs and the affinity check's direction.
        tolerance: the largest :func:`affine_defect` accepted at the first step.

    Its state (checkpointed with the parameters): per parameter the search ``direction`` and
    the ``scale`` ``1 / |a_j|^2``; with the first parameter ``offset = r(0)`` and ``gamma``.

    Attributes:
        takes_residual: ``True``: the loop passes the residual closure to :meth:`step`.
    """

    takes_residual = True

    @torch.no_grad()
    def step(self, residual: Residual) -> None:  # type: ignore[override]
        """One CGLS step from the gradients in ``p.grad`` (those of ``|r|^2``).

        Args:
            residual: evaluates ``r (m,)`` at the current parameters (see :data:`Residual`).

        Raises:
            NotAffineError: at the first step, when ``r`` is not affine in the parameters.
        """
        params = self._params()
        if any(p.grad is None for p in params):
            raise RuntimeError("LeastSquaresCG.step needs the gradients of |r|^2 (backward first)")
        first = self.state[params[0]]
        if "scale" not in first:
            self._prepare(residual, params)
        z = [-0.5 * self.state[p]["scale"] * p.grad for p in params]
        gamma = sum(float((-0.5 * p.grad * zi).sum()) for p, zi in zip(params, z))
        directions = self._conjugate(params, z, gamma)
        q = self._apply(residual, params, directions)
        curvature = float(q.square().sum())
        if curvature > 0.0 and gamma > 0.0:
            _add(params, directions, gamma / curvature)

    def _prepare(self, residual: Residual, params: list[Tensor]) -> None:
        """First step: check that ``r`` is affine; the column scales; ``r(0)``."""
        generator = torch.Generator(device=params[0].device).manual_seed(self.seed)
        tolerance = self._tolerance(params)
        defect = affine_defect(residual, params, generator)
        if not defect <= tolerance:
            raise NotAffineError(
                f"the residual is not affine in the grid tables (second difference "
                f"{defect:.2g} of the first along a random direction, tolerance {tolerance:g}): "
                f"least squares by CG needs a linear PDE, linear conditions and a linear "
                f"decoder (hidden=[])"
            )
        self._set_scales(residual, params, generator)
        zeros = [torch.zeros_like(p) for p in params]
        self.state[params[0]]["offset"] = self._at(residual, params, zeros)
        self.state[params[0]]["gamma"] = torch.tensor(0.0, dtype=torch.float64)

    def _apply(self, residual: Residual, params: list[Tensor], v: list[Tensor]) -> Tensor:
        """``A v = r(v) - r(0)``."""
        return self._at(residual, params, v) - self.state[params[0]]["offset"]

    @staticmethod
    def _at(residual: Residual, params: list[Tensor], values: list[Tensor]) -> Tensor:
        """``r`` with the parameters set to ``values`` (they are restored after)."""
        saved = [p.detach().clone() for p in params]
        for p, v in zip(params, values):
            p.copy_(v)
        try:
            return residual()
        finally:
            for p, s in zip(params, saved):
                p.copy_(s)
