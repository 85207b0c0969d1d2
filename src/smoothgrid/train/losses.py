"""Collocation sampling and the weighted loss of a problem's residual (or energy) and conditions."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from ..field import Field
from ..jet import Jet
from ..kernels.ordering import cell_order
from .sampling import (
    causal_weights,
    rad_probabilities,
    remaining_time_weights,
    time_chunk_losses,
)
from .settings import Points, SettingsError

__all__ = ["Objective", "condition_names", "morton_sorted", "quadrature_share", "POOL"]

Samples = dict[str, dict[str, Tensor]]
"""Term name -> the batch it is evaluated on (``{"x": (n, d), ...}``); with RAD also
:data:`POOL` -> the candidate pool."""

POOL = "_rad_pool"
"""The entry of :data:`Samples` holding RAD's pool: ``x (P, d)``, draw probabilities ``p (P,)``
and the ``step (1,)`` it was scored at. It lives with the batch, so checkpoints keep it; its
name starts with ``_``, so a CUDA graph leaves it out of its per-step copies."""


def morton_sorted(x: Tensor) -> Tensor:
    """``x (n, d)`` sorted along the Morton curve of a grid on its own bounding box.

    The grid has ``256^d`` cells for ``d <= 2`` and ``64^d`` for ``d`` in 3..4
    (:func:`smoothgrid.kernels.ordering.cell_order`): consecutive points mostly share a cell of
    every coarser grid too, so a GPU kernel's table gradient meets long runs of points on one
    row of a coarse level and adds one atomic per run.

    Returns:
        ``(n, d)``: the same points (the same tensor values, permuted).
    """
    dim = x.shape[1]
    lo, hi = x.amin(dim=0), x.amax(dim=0)
    unit = (x - lo) / (hi - lo).clamp_min(torch.finfo(x.dtype).tiny)
    return x[cell_order(unit, 256 if dim <= 2 else 64)]


def quadrature_share(x: Tensor, w: Tensor, rank: int, share: int) -> tuple[Tensor, Tensor]:
    """Process ``rank``'s part of a quadrature rule split over ``share`` processes.

    The rule's ``N`` points are cut into ``share`` contiguous blocks (sizes ``n_r`` differ by at
    most one, so their union in rank order is the whole rule), and each block's weights are
    multiplied by ``share * n_r / N``: the mean over the processes of every block's weighted
    mean ``mean(w_r * f(x_r))`` is then the whole rule's ``mean(w * f(x))``, exactly, whether
    or not ``share`` divides ``N``.

    Args:
        x: ``(N, d)`` the rule's points.
        w: ``(N,)`` their weights.
        rank: this process, ``0 <= rank < share``.
        share: the number of processes, ``<= N``.

    Returns:
        ``(x_r (n_r, d), w_r (n_r,))``: a view of ``x``'s block and its rescaled weights.
    """
    if not 0 <= rank < share <= len(x):
        raise ValueError(f"rank {rank} of {share} processes over a rule of {len(x)} points")
    x_r = torch.tensor_split(x, share)[rank]
    w_r = torch.tensor_split(w, share)[rank]
    return x_r, w_r * (share * len(x_r) / len(x))


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
    ``points.weights`` overrides them.

    A problem in energy form (``problem.energy``, the Ritz method) has the term ``"energy"``,
    ``volume * mean(energy density)`` over the interior points
    (:meth:`~smoothgrid.problems.Problem.energy_integral`), and one per
    :class:`~smoothgrid.problems.BoundaryEnergy` condition (its integral): integrals, not mean
    squares, so the loss is the energy itself (it may be negative). Such a problem needs its
    constraint on the field (its other conditions are hard) and takes neither RAD, causal nor
    remaining-time weights (all made for residuals).

    With ``adaptive="rad"`` the interior points are drawn (with replacement) from a pool of
    ``rad_pool * batch`` uniform (or stratified) candidates with probability
    ``∝ |r|^rad_k / mean(|r|^rad_k) + rad_c`` (:func:`.sampling.rad_probabilities`, ``|r|`` the
    root of the sum of the residual terms' squares); the pool is drawn and scored again once it
    is ``rad_every`` steps old. With ``causal > 0`` (a space-time problem) each residual term is
    ``mean_i w_i L_i`` over ``causal_chunks`` time slices (:func:`.sampling.causal_weights`,
    the ``w`` from the sum of the residual terms). With ``time_weight = p > 0`` each residual
    point's square is first multiplied by ``(p + 1) ((t1 - t) / (t1 - t0))^p``
    (:func:`.sampling.remaining_time_weights`). With ``order="morton"`` the random interior
    batch (uniform, stratified or RAD's draw from its pool; not the fixed quadrature points) is
    sorted along a Morton curve (:func:`morton_sorted`) after it is drawn: the same points and
    the same loss up to the order of its additions, but a GPU kernel's table gradient then
    pre-reduces the points' long runs on the coarse levels.

    Args:
        problem: a :class:`~smoothgrid.problems.base.Problem`.
        field: the field being trained.
        points: the :class:`~smoothgrid.train.settings.Points` settings (validated there).
        derivatives: derivative method of :meth:`Field.jet`.
        dtype, device: of the sampled points.
        share: the number of processes drawing points (each draws ``batch / share`` interior
            and ``boundary_batch / share`` points per condition; with ``quadrature > 0`` each
            takes its block of the rule, :func:`quadrature_share`).
        rank: this process, ``0 <= rank < share``.

    Attributes:
        energy: whether the problem is in energy form.
    """

    def __init__(
        self,
        problem,
        field: Field,
        points: Points,
        derivatives: str = "jet",
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
        share: int = 1,
        rank: int = 0,
    ) -> None:
        for name, value in {"causal": points.causal, "time_weight": points.time_weight}.items():
            if value > 0 and not hasattr(problem.domain, "t1"):
                raise ValueError(
                    f"{name}={value!r} needs a time-dependent problem (a SpaceTime domain); "
                    f"problem {problem.name!r} has none"
                )
        dim = getattr(problem.domain, "dim", None)
        if points.order and dim is not None and dim > 4:
            raise SettingsError(
                f"order={points.order!r} covers 1 to 4 dimensions; problem {problem.name!r} has "
                f"{dim}"
            )
        if not 0 <= rank < share:
            raise ValueError(f"rank={rank} is not one of the {share} processes")
        if points.quadrature and not callable(getattr(problem.domain, "quadrature_interior", None)):
            raise SettingsError(
                f"quadrature={points.quadrature} needs a box domain; problem {problem.name!r} "
                f"has {type(problem.domain).__name__}"
            )
        self.points = points
        self.adaptive = points.adaptive
        self.problem = problem
        self.field = field
        self.batch = points.batch // share
        self.boundary_batch = max(1, points.boundary // share)
        self.share, self.rank = share, rank
        self.derivatives = derivatives
        self.dtype = dtype
        self.device = torch.device(device)
        conditions = list(problem.conditions)
        if field.constraint is not None and field.constraint is problem.constraint:
            conditions = [c for c in conditions if not getattr(c, "hard", False)]
        self.conditions = dict(zip(condition_names(conditions), conditions))
        self.weights = {name: float(c.weight) for name, c in self.conditions.items()}
        self._overrides = dict(points.weights or {})
        self._checked = False
        self._rule: dict[str, Tensor] | None = None
        self.energy = getattr(problem, "energy", None) is not None
        if self.energy:
            self._check_energy()

    def _check_energy(self) -> None:
        """Refuse what an energy cannot train with, and an energy of the wrong shape, now."""
        problem = self.problem
        for name, value in {"adaptive": self.points.adaptive, "causal": self.points.causal,
                            "time_weight": self.points.time_weight}.items():  # fmt: skip
            if value:
                raise SettingsError(
                    f"{name}={value!r} weighs residuals; problem {problem.name!r} is an energy"
                )
        loose = [n for n, c in self.conditions.items() if not callable(getattr(c, "energy", None))]
        if loose:
            raise SettingsError(
                f"problem {problem.name!r} is an energy and holds {loose} exactly by its "
                f"constraint, but the field carries another constraint (or none)"
            )
        g = torch.Generator(device=self.device).manual_seed(0)
        kw = {"dtype": self.dtype, "device": self.device}
        x = problem.domain.sample_interior(4, g, **kw)
        with torch.no_grad():
            try:
                problem.energy_density(x, self._jet(x))
                for cond in self.conditions.values():
                    cond.energy(cond.sample(problem.domain, 4, g, **kw), self._u(int(cond.order)))
            except ValueError as error:
                raise SettingsError(str(error)) from None

    def sample(
        self, generator: torch.Generator, previous: Samples | None = None, step: int = 0
    ) -> Samples:
        """Fresh points for every term, drawn from ``generator``.

        Args:
            generator: the sampling generator.
            previous: the last batch (RAD keeps its pool while it is younger than
                ``rad_every`` steps).
            step: the current step.
        """
        domain = self.problem.domain
        kw = {"generator": generator, "dtype": self.dtype, "device": self.device}
        samples: Samples = {}
        if self.points.quadrature:
            samples["residual"] = self._quadrature_batch()
        else:
            if self.adaptive == "rad":
                pool = None if previous is None else previous.get(POOL)
                if pool is None or step - int(pool["step"]) >= self.points.rad_every:
                    pool = self._rad_pool(generator, step)
                idx = torch.multinomial(pool["p"], self.batch, replacement=True,
                                        generator=generator)  # fmt: skip
                x = pool["x"][idx]
                samples[POOL] = pool
            else:
                x = domain.sample_interior(self.batch, stratified=self.points.stratified, **kw)
            if self.points.order == "morton":
                x = morton_sorted(x)
            samples["residual"] = {"x": x}
        for name, cond in self.conditions.items():
            samples[name] = cond.sample(domain, self.boundary_batch, **kw)
        return samples

    def _quadrature_batch(self) -> dict[str, Tensor]:
        """The fixed Gauss rule (``quadrature > 0``), made once: points ``x`` and weights ``w``,
        this process's block of it (:func:`quadrature_share`) when there are several."""
        if self._rule is None:
            domain = self.problem.domain
            cells = self.points.quadrature_cells(domain.dim)
            x, w = domain.quadrature_interior(cells, self.points.quadrature, self.dtype,
                                              self.device)  # fmt: skip
            x, w = quadrature_share(x, w, self.rank, self.share)
            self._rule = {"x": x, "w": w}
        return dict(self._rule)

    def _u(self, order: int):
        problem = self.problem

        def u(points: Tensor) -> Jet:
            return self.field.jet(
                points, order=order, lap_axes=problem.lap_axes, derivatives=self.derivatives
            )

        return u

    def _jet(self, x: Tensor) -> Jet:
        """The field's jet at ``x (n, d)`` of the problem's order and kind."""
        problem = self.problem
        return self.field.jet(
            x,
            order=problem.order,
            hessian=problem.hessian,
            lap_axes=problem.lap_axes,
            derivatives=self.derivatives,
        )

    def _residual(self, x: Tensor) -> dict[str, Tensor]:
        """The residual terms at ``x (n, d)``: name -> ``(n, ...)``."""
        problem = self.problem
        if problem.order > 2:  # the residual differentiates the field itself with autograd
            residual = problem.residual(x, self.field)
        else:
            residual = problem.residual(x, self._jet(x))
        if not isinstance(residual, Mapping):
            residual = {"residual": residual}
        return {str(name): r for name, r in residual.items()}

    def _rad_pool(self, generator: torch.Generator, step: int) -> dict[str, Tensor]:
        """A new RAD pool: ``x (P, d)``, probabilities ``p (P,)`` and ``step (1,)``."""
        size = self.points.rad_pool * self.batch
        x = self.problem.domain.sample_interior(
            size, generator, self.points.stratified, self.dtype, self.device
        )
        scores = []
        # Order > 2 residuals differentiate the field with autograd: they need the graph.
        with torch.set_grad_enabled(self.problem.order > 2):
            for chunk in x.split(self.batch):
                sq = sum(r.detach().square().reshape(len(chunk), -1).sum(1)
                         for r in self._residual(chunk).values())  # fmt: skip
                scores.append(sq.sqrt())
        p = rad_probabilities(torch.cat(scores), self.points.rad_k, self.points.rad_c)
        return {"x": x, "p": p, "step": torch.tensor([step], device=self.device)}

    def terms(self, samples: Samples) -> dict[str, Tensor]:
        """Mean square of every term (unweighted), each a scalar tensor with a graph.

        A residual term is the mean of its points' squares, each first multiplied by its
        quadrature weight (``quadrature > 0``) and its remaining-time weight when
        ``time_weight > 0``; with ``causal > 0`` it is the causally weighted mean over time
        slices.
        """
        x = samples["residual"]["x"]
        if self.energy:
            return self._energy_terms(x, samples)
        squares = {
            name: r.square().reshape(len(x), -1).mean(1) for name, r in self._residual(x).items()
        }
        if "w" in samples["residual"]:
            squares = {name: samples["residual"]["w"] * sq for name, sq in squares.items()}
        t, domain = x[:, -1], self.problem.domain
        if self.points.time_weight > 0:
            w = remaining_time_weights(t, domain.t0, domain.t1, self.points.time_weight)
            squares = {name: w * sq for name, sq in squares.items()}
        if self.points.causal > 0:
            chunks = {
                name: time_chunk_losses(sq, t, domain.t0, domain.t1, self.points.causal_chunks)
                for name, sq in squares.items()
            }
            w = causal_weights(sum(chunks.values()), self.points.causal)
            out = {name: (w * c).mean() for name, c in chunks.items()}
        else:
            out = {name: sq.mean() for name, sq in squares.items()}
        for name, cond in self.conditions.items():
            r = cond.residual(samples[name], self._u(int(cond.order)))
            out[name] = r.square().mean()
        if not self._checked:
            self._check_weights(out)
        return out

    def residual_vector(self, samples: Samples) -> Tensor:
        """Every residual on ``samples`` in one vector ``(m,)`` whose squared norm is the loss:
        each term's values flattened and multiplied by ``sqrt(w_t / count_t)`` (and by the root
        of each point's quadrature weight). For the plain mean-square loss only (no energy,
        causal or remaining-time weights)."""
        if self.energy or self.points.causal > 0 or self.points.time_weight > 0:
            raise ValueError("an energy, causal or remaining-time loss is not a sum of squares")
        x = samples["residual"]["x"]
        parts = dict(self._residual(x))
        if "w" in samples["residual"]:
            root = samples["residual"]["w"].sqrt()
            parts = {n: r * root.view(-1, *[1] * (r.dim() - 1)) for n, r in parts.items()}
        for name, cond in self.conditions.items():
            parts[name] = cond.residual(samples[name], self._u(int(cond.order)))
        return torch.cat([
            r.reshape(-1) * (self.weight(name) / r.numel()) ** 0.5 for name, r in parts.items()
        ])  # fmt: skip

    def principal_vector(self, samples: Samples) -> Tensor:
        """An energy's principal part on ``samples`` as one vector ``(m,)``: the field's highest
        derivatives at the interior points (the gradient for order 1, the Hessian, or else the
        Laplacian, for order 2), each point's entries times ``sqrt(volume * w / n)`` (``w`` its
        quadrature weight or 1). Its squared column norms scale the tables for energy CG."""
        if not self.energy:
            raise ValueError(f"problem {self.problem.name!r} is not in energy form")
        x = samples["residual"]["x"]
        jet = self._jet(x)
        top = jet.grad if self.problem.order < 2 else (jet.hess if jet.hess is not None
                                                       else jet.lap)  # fmt: skip
        weights = samples["residual"].get("w")
        if weights is None:
            weights = torch.ones(len(x), dtype=top.dtype, device=top.device)
        volume = self.problem.domain.extent.prod().item()
        root = (volume * weights / len(x)).sqrt()
        return (top.reshape(len(x), -1) * root[:, None]).reshape(-1)

    def _energy_terms(self, x: Tensor, samples: Samples) -> dict[str, Tensor]:
        """The energy's integral over the domain and its boundary energies' integrals."""
        weights = samples["residual"].get("w")
        out = {"energy": self.problem.energy_integral(x, self._jet(x), weights)}
        for name, cond in self.conditions.items():
            out[name] = cond.energy(samples[name], self._u(int(cond.order)))
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

    def loss_and_terms(self, samples: Samples) -> tuple[Tensor, dict[str, Tensor]]:
        """``(loss, terms)`` on ``samples``: :meth:`terms` and their weighted sum :meth:`loss`."""
        terms = self.terms(samples)
        return self.loss(terms), terms

    def loss(self, terms: Mapping[str, Tensor]) -> Tensor:
        """``sum_t w_t * terms[t]``."""
        return sum(self.weight(name) * value for name, value in terms.items())
