"""Collocation sampling and the weighted loss of a problem's residual and conditions."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from ..field import Field
from ..jet import Jet

__all__ = ["Objective", "condition_names"]

Samples = dict[str, dict[str, Tensor]]
"""Term name -> the batch it is evaluated on (``{"x": (n, d), ...}``)."""


def condition_names(conditions) -> list[str]:
    """Unique names of the conditions: ``name``, then ``name_2``, ``name_3`` for repeats."""
    names: list[str] = []
    for cond in conditions:
        base = getattr(cond, "name", type(cond).__name__.lower())
        name, k = base, 1
        while name in names:
            k += 1
            name = f"{base}_{k}"
        names.append(name)
    return names


class Objective:
    """Samples collocation batches and evaluates ``loss = sum_t w_t mean(r_t**2)``.

    The terms ``t`` are the PDE residual (``"residual"``, or the keys of the dict the residual
    returns) and each condition (by :func:`condition_names`); when the field carries the
    problem's own ``constraint``, the conditions marked ``hard`` hold exactly and are dropped.
    A weight defaults to 1 for a residual term and to ``condition.weight`` for a condition;
    ``weights`` overrides them.

    Args:
        problem: a :class:`~smoothgrid.problems.base.Problem`.
        field: the field being trained.
        batch: interior points per step.
        boundary_batch: points per condition per step.
        weights: term name -> weight.
        backend: derivative backend of :meth:`Field.jet`.
        stratified: stratified interior sampling.
        dtype, device: of the sampled points.
    """

    def __init__(
        self,
        problem,
        field: Field,
        batch: int,
        boundary_batch: int,
        weights: Mapping[str, float] | None,
        backend: str,
        stratified: bool,
        dtype: torch.dtype,
        device: torch.device,
    ) -> None:
        self.problem = problem
        self.field = field
        self.batch = int(batch)
        self.boundary_batch = int(boundary_batch)
        self.backend = backend
        self.stratified = stratified
        self.dtype = dtype
        self.device = device
        conditions = list(problem.conditions)
        if field.constraint is not None and field.constraint is problem.constraint:
            conditions = [c for c in conditions if not getattr(c, "hard", False)]
        self.conditions = dict(zip(condition_names(conditions), conditions))
        self.weights = {name: float(c.weight) for name, c in self.conditions.items()}
        self._overrides = {str(k): float(v) for k, v in (weights or {}).items()}
        self._checked = False

    def sample(self, generator: torch.Generator) -> Samples:
        """Fresh points for every term, drawn from ``generator``."""
        domain = self.problem.domain
        kw = {"generator": generator, "dtype": self.dtype, "device": self.device}
        x = domain.sample_interior(self.batch, stratified=self.stratified, **kw)
        samples: Samples = {"residual": {"x": x}}
        for name, cond in self.conditions.items():
            samples[name] = cond.sample(domain, self.boundary_batch, **kw)
        return samples

    def _u(self, order: int):
        problem = self.problem

        def u(points: Tensor) -> Jet:
            return self.field.jet(
                points, order=order, lap_axes=problem.lap_axes, backend=self.backend
            )

        return u

    def terms(self, samples: Samples) -> dict[str, Tensor]:
        """Mean square of every term (unweighted), each a scalar tensor with a graph."""
        problem = self.problem
        x = samples["residual"]["x"]
        if problem.order > 2:  # the residual differentiates the field itself with autograd
            residual = problem.residual(x, self.field)
        else:
            u = self.field.jet(
                x,
                order=problem.order,
                hessian=problem.hessian,
                lap_axes=problem.lap_axes,
                backend=self.backend,
            )
            residual = problem.residual(x, u)
        if not isinstance(residual, Mapping):
            residual = {"residual": residual}
        out = {str(name): r.square().mean() for name, r in residual.items()}
        for name, cond in self.conditions.items():
            r = cond.residual(samples[name], self._u(int(cond.order)))
            out[name] = r.square().mean()
        if not self._checked:
            self._check_weights(out)
        return out

    def _check_weights(self, terms: Mapping[str, Tensor]) -> None:
        unknown = sorted(set(self._overrides) - set(terms))
        if unknown:
            raise ValueError(
                f"weights name unknown loss terms {unknown}; the terms of this problem are "
                f"{sorted(terms)}"
            )
        self._checked = True

    def weight(self, name: str) -> float:
        """The weight of term ``name``."""
        return self._overrides.get(name, self.weights.get(name, 1.0))

    def loss(self, terms: Mapping[str, Tensor]) -> Tensor:
        """``sum_t w_t * terms[t]``."""
        return sum(self.weight(name) * value for name, value in terms.items())
