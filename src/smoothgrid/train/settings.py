"""The settings of a run, declared once.

Each group below is a frozen dataclass: every option is declared once, as a field with its
default and one line of help, and validated when the group is built. Everything else comes from
these declarations: the keyword options of :func:`smoothgrid.solve` (:data:`SOLVE_KEYS`), the
command line's ``--set`` keys, the flat top level of a run's ``config.yaml``
(:meth:`Settings.options`) and the table of options in ``docs/options.md``
(:func:`options_markdown`, also printed by ``smoothgrid options``).

>>> s = Settings.from_options(steps=2000, lr=5e-3, causal=10)
>>> s.schedule.lr, s.points.causal, s.budget.steps
(0.005, 10.0, 2000)
>>> Settings.from_options(steps=10, lrr=1)                      # doctest: +ELLIPSIS
Traceback (most recent call last):
...
smoothgrid.train.settings.SettingsError: unknown setting 'lrr'. Did you mean 'lr'? ...
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..field import DERIVATIVES
from .curriculum import CURRICULA
from .sampling import ADAPTIVE
from .schedule import DECAYS, LEVEL_SCALES

__all__ = [
    "Budget",
    "Schedule",
    "Points",
    "Output",
    "Runtime",
    "Settings",
    "SettingsError",
    "SOLVE_KEYS",
    "nearest",
    "check_known",
    "check_count",
    "options_markdown",
]

DTYPES = ("float32", "float64")
ORDERS = ("morton",)
"""Orders of the interior points besides the drawn one (``Points.order``)."""
SOLVERS = ("adam", "cgls", "cg")


class SettingsError(ValueError):
    """A setting that does not exist or has a value it cannot take."""


def option(default: Any, help: str) -> Any:
    """A settings field: its default and one line of help (for the docs and ``--help``)."""
    return dataclasses.field(default=default, metadata={"help": help})


def nearest(word: str, known: Iterable[str]) -> str:
    """`` Did you mean 'x'?`` for the closest of ``known``, or ``""``."""
    near = difflib.get_close_matches(word, list(known), n=1)
    return f" Did you mean {near[0]!r}?" if near else ""


def check_known(what: str, names: Iterable[str], known: Iterable[str]) -> None:
    """Raise :class:`SettingsError` for the first of ``names`` not in ``known``, with the
    nearest known name."""
    known = list(known)
    for name in names:
        if name not in known:
            raise SettingsError(
                f"unknown {what} {name!r}.{nearest(name, known)} Known: {', '.join(sorted(known))}"
            )


# ------------------------------------------------------------------ value checks
def check_count(name: str, value: Any, low: int = 1) -> None:
    """Refuse an app's option ``name`` unless ``value`` is an ``int`` (not a ``bool`` nor a
    float) ``>= low``.

    Raises:
        SettingsError: ``"{name} must be an integer >= {low}, got {value!r}"``.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise SettingsError(f"{name} must be an integer >= {low}, got {value!r}")


def _integer(name: str, value: Any, low: int) -> int:
    """``value`` as an int ``>= low`` (an integral float such as YAML's ``1e3`` is accepted)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise SettingsError(f"{name} must be an integer >= {low}, got {value!r}")
    return value


def _number(name: str, value: Any, low: float, strict: bool) -> float:
    """``value`` as a float ``> low`` (``strict``) or ``>= low``."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or (value <= low if strict else value < low):
        relation = ">" if strict else ">="
        raise SettingsError(f"{name} must be a number {relation} {low}, got {value!r}")
    return float(value)


def _choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    choices = tuple(choices)
    if value not in choices:
        shown = ", ".join("None" if c is None else str(c) for c in choices)
        near = nearest(value, [c for c in choices if c]) if isinstance(value, str) else ""
        raise SettingsError(f"unknown {name} {value!r}; known: {shown}.{near}")
    return value


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SettingsError(f"{name} must be true or false, got {value!r}")
    return value


class _Group:
    """Shared helpers of the frozen settings groups."""

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        """The option names of this group, in declaration order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    def options(self) -> dict[str, Any]:
        """This group's options by name, YAML-safe (lists for tuples)."""
        return {key: _yaml_safe(getattr(self, key)) for key in self.keys()}


# ------------------------------------------------------------------ the groups
@dataclass(frozen=True)
class Budget(_Group):
    """How long a run trains: exactly one of ``steps`` and ``time_budget``, both totals counted
    from the start of the run (a resumed run continues towards the same total)."""

    steps: int | None = option(None, "optimiser steps in all (a total, also on resume)")
    time_budget: float | None = option(
        None, "training seconds in all, evaluation and file output excluded (a total)"
    )

    def __post_init__(self) -> None:
        if (self.steps is None) == (self.time_budget is None):
            raise SettingsError("give exactly one of steps= and time_budget= (seconds)")
        if self.steps is not None:
            self._set("steps", _integer("steps", self.steps, 0))
        else:
            self._set("time_budget", _number("time_budget", self.time_budget, 0.0, strict=True))

    @property
    def total(self) -> float:
        """The budget in its own unit (steps or seconds)."""
        return float(self.steps if self.steps is not None else self.time_budget)


@dataclass(frozen=True)
class Schedule(_Group):
    """The optimiser (Adam with a rate for the grid tables and one for the rest, least squares
    by conjugate gradients, or conjugate gradients on an energy) and how its rates and the
    active grid levels change over the run."""

    solver: str = option(
        "adam",
        "adam; cgls: least squares by preconditioned conjugate gradients on the grid tables "
        "(a residual affine in them: linear PDE and conditions, hidden=[]; points drawn once); "
        "cg: conjugate gradients on a convex quadratic energy (an energy problem, hidden=[])",
    )
    lr: float = option(1e-2, "learning rate of the encoding's parameters (the grid tables)")
    decoder_lr: float | None = option(
        None, "learning rate of the decoder and any other parameters (default: lr)"
    )
    decay: str | None = option("exp", "rate decay over the budget: exp, cosine or None (constant)")
    final_lr_factor: float = option(0.1, "the rates' factor at the end of the budget (> 0)")
    level_scale: str | tuple[float, ...] = option(
        "inverse",
        "per-level step scale of a grid: inverse (N_0/N_l), inverse_square, none, or L numbers",
    )
    curriculum: str | None = option(
        None, "grid levels switched on over the run: coarse_to_fine, vcycle or None"
    )

    def __post_init__(self) -> None:
        _choice("solver", self.solver, SOLVERS)
        self._set("lr", _number("lr", self.lr, 0.0, strict=True))
        if self.decoder_lr is not None:
            self._set("decoder_lr", _number("decoder_lr", self.decoder_lr, 0.0, strict=True))
        _choice("decay", self.decay, (None, *DECAYS))
        self._set(
            "final_lr_factor", _number("final_lr_factor", self.final_lr_factor, 0.0, strict=True)
        )
        if isinstance(self.level_scale, str):
            _choice("level_scale", self.level_scale, LEVEL_SCALES)
        else:
            try:
                scales = tuple(float(s) for s in self.level_scale)
            except (TypeError, ValueError):
                scales = ()
            if not scales or not all(s > 0 for s in scales):
                raise SettingsError(
                    f"level_scale must be one of {', '.join(LEVEL_SCALES)} or positive numbers "
                    f"(one per level), got {self.level_scale!r}"
                )
            self._set("level_scale", scales)
        _choice("curriculum", self.curriculum, (None, *CURRICULA))

    @property
    def rates(self) -> tuple[float, float]:
        """``(lr, decoder_lr)`` with the decoder's default filled in."""
        return self.lr, self.lr if self.decoder_lr is None else self.decoder_lr


@dataclass(frozen=True)
class Points(_Group):
    """The collocation points of each step and the weights of the loss terms."""

    batch: int = option(8192, "interior collocation points per step (all processes together)")
    boundary_batch: int | None = option(None, "points per condition per step (default batch // 4)")
    resample_every: int = option(1, "draw fresh points every this many steps")
    stratified: bool = option(False, "stratified instead of uniform interior points")
    quadrature: int = option(
        0,
        "Gauss-Legendre nodes per axis in each cell of an m^d grid, m = floor(batch^(1/d) / "
        "nodes): fixed weighted interior points of a box domain instead of random ones; 0 is off",
    )
    weights: dict[str, float] | None = option(
        None, "loss term name -> weight (residual terms and condition names)"
    )
    adaptive: str | None = option(
        None, "residual-adaptive interior points: rad (Wu et al. 2023) or None"
    )
    rad_pool: int = option(8, "RAD's candidates per interior point (>= 1)")
    rad_every: int = option(25, "steps between RAD's new candidate pools (>= 1)")
    rad_k: float = option(1.0, "RAD's exponent of |r| (> 0)")
    rad_c: float = option(1.0, "RAD's uniform share (>= 0)")
    causal: float = option(
        0.0, "causal weights' eps (Wang et al. 2022) of a space-time problem; 0 is off"
    )
    causal_chunks: int = option(16, "time slices of the causal weights (>= 1)")
    time_weight: float = option(
        0.0, "power p of remaining-time weights (p+1)((t1-t)/(t1-t0))^p; 0 is off"
    )
    order: str | None = option(
        None,
        "interior points' order: None (as drawn) or morton (sorted along a Morton curve of a "
        "256^d grid, 64^d for d >= 3, so a GPU kernel's blocks meet few cells; same loss)",
    )

    def __post_init__(self) -> None:
        self._set("batch", _integer("batch", self.batch, 1))
        if self.boundary_batch is not None:
            self._set("boundary_batch", _integer("boundary_batch", self.boundary_batch, 1))
        self._set("resample_every", _integer("resample_every", self.resample_every, 1))
        _flag("stratified", self.stratified)
        self._set("quadrature", _integer("quadrature", self.quadrature, 0))
        if self.weights is not None:
            if not isinstance(self.weights, Mapping):
                raise SettingsError(f"weights must map term names to numbers, got {self.weights!r}")
            weights = {
                str(k): _number(f"weight {k!r}", v, 0.0, strict=False)
                for k, v in self.weights.items()
            }
            self._set("weights", weights)
        _choice("adaptive", self.adaptive, (None, *ADAPTIVE))
        self._set("rad_pool", _integer("rad_pool", self.rad_pool, 1))
        self._set("rad_every", _integer("rad_every", self.rad_every, 1))
        self._set("rad_k", _number("rad_k", self.rad_k, 0.0, strict=True))
        self._set("rad_c", _number("rad_c", self.rad_c, 0.0, strict=False))
        self._set("causal", _number("causal", self.causal, 0.0, strict=False))
        self._set("causal_chunks", _integer("causal_chunks", self.causal_chunks, 1))
        self._set("time_weight", _number("time_weight", self.time_weight, 0.0, strict=False))
        _choice("order", self.order, (None, *ORDERS))
        if self.quadrature and self.order:
            raise SettingsError(
                f"quadrature={self.quadrature} fixes the interior points; it takes no "
                f"order={self.order!r}"
            )
        if self.quadrature and (self.stratified or self.adaptive):
            raise SettingsError(
                f"quadrature={self.quadrature} fixes the interior points; it takes neither "
                f"stratified=True nor adaptive={self.adaptive!r}"
            )

    def quadrature_cells(self, dim: int) -> int:
        """Cells per axis of the quadrature grid in ``dim`` dimensions (``quadrature > 0``)."""
        cells = int(round(self.batch ** (1.0 / dim))) // self.quadrature
        while cells > 1 and (cells * self.quadrature) ** dim > self.batch:
            cells -= 1
        if cells < 1 or self.quadrature**dim > self.batch:
            raise SettingsError(
                f"quadrature={self.quadrature} in {dim}D needs batch >= {self.quadrature**dim} "
                f"(one cell), got {self.batch}"
            )
        return cells

    @property
    def boundary(self) -> int:
        """Points per condition per step, the default filled in."""
        return max(1, self.batch // 4) if self.boundary_batch is None else self.boundary_batch


@dataclass(frozen=True)
class Output(_Group):
    """What a run records while it trains."""

    eval_every: int = option(100, "steps between evaluations (history rows)")
    checkpoint_every: int = option(1000, "steps between checkpoints (with an output directory)")
    target: float | None = option(
        None, "stop once the evaluated error (rel_l2) is at or below this"
    )

    def __post_init__(self) -> None:
        self._set("eval_every", _integer("eval_every", self.eval_every, 1))
        self._set("checkpoint_every", _integer("checkpoint_every", self.checkpoint_every, 1))
        if self.target is not None:
            self._set("target", _number("target", self.target, 0.0, strict=True))


@dataclass(frozen=True)
class Runtime(_Group):
    """Where and how the arithmetic runs."""

    dtype: str = option("float32", "float32 or float64")
    device: str = option("cpu", "cpu, cuda, cuda:1, ...")
    seed: int = option(0, "seeds the point sampling (the CLI also seeds the field's init)")
    derivatives: str | None = option(
        None, "derivative method: jet, autograd or fd (default: the field's own)"
    )
    tf32: bool = option(False, "allow TF32 matrix products on CUDA (ruins errors near 1e-5)")
    cuda_graph: bool = option(
        False, "replay each step (loss, backward, Adam) from a CUDA graph (jet derivatives)"
    )
    compile: bool = option(
        False,
        "torch.compile the decoder jet, residual and loss (CPU and CUDA; eager where it fails)",
    )

    def __post_init__(self) -> None:
        dtype = str(self.dtype).removeprefix("torch.")
        self._set("dtype", _choice("dtype", dtype, DTYPES))
        self._set("device", str(self.device))
        self._set("seed", _integer("seed", self.seed, 0))
        _choice("derivatives", self.derivatives, (None, *DERIVATIVES))
        _flag("tf32", self.tf32)
        _flag("cuda_graph", self.cuda_graph)
        _flag("compile", self.compile)


_GROUPS: dict[str, type[_Group]] = {
    "budget": Budget,
    "schedule": Schedule,
    "points": Points,
    "output": Output,
    "runtime": Runtime,
}


def _yaml_safe(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_yaml_safe(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _yaml_safe(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Settings:
    """All settings of a :func:`smoothgrid.solve` run, one frozen group per concern.

    Build it from flat keyword options with :meth:`from_options` (what ``sg.solve``, the CLI's
    ``--set`` and ``config.yaml`` use); every option name is unique across the groups.
    """

    budget: Budget
    schedule: Schedule = dataclasses.field(default_factory=Schedule)
    points: Points = dataclasses.field(default_factory=Points)
    output: Output = dataclasses.field(default_factory=Output)
    runtime: Runtime = dataclasses.field(default_factory=Runtime)

    @classmethod
    def from_options(cls, **options: Any) -> Settings:
        """Settings from flat options (``steps=``, ``lr=``, ...); the rest keep their defaults.

        Raises:
            SettingsError: an unknown option (with the nearest name) or a bad value.
        """
        check_known("setting", options, SOLVE_KEYS)
        groups = {
            name: group(**{k: options[k] for k in group.keys() if k in options})
            for name, group in _GROUPS.items()
        }
        return cls(**groups)

    def replace(self, **options: Any) -> Settings:
        """A copy with some flat options changed (a budget given replaces the other one)."""
        merged = self.options()
        if "steps" in options or "time_budget" in options:
            merged.pop("steps", None)
            merged.pop("time_budget", None)
        merged.update(options)
        return Settings.from_options(**merged)

    def options(self) -> dict[str, Any]:
        """The flat, YAML-safe options (lists for tuples), in declaration order."""
        return {k: v for name in _GROUPS for k, v in getattr(self, name).options().items()}


SOLVE_KEYS: tuple[str, ...] = tuple(k for group in _GROUPS.values() for k in group.keys())
"""Every option of :class:`Settings` by its flat name: ``sg.solve``'s keywords, the CLI's
``--set`` keys and the top level of ``config.yaml``."""


def options_markdown() -> str:
    """The table of every option, group by group (``docs/options.md`` is this text)."""
    lines = [
        "# Options of `sg.solve` and `smoothgrid solve`",
        "",
        "Generated from `smoothgrid.train.settings` (`smoothgrid options` prints it). Give them",
        "as keywords (`sg.solve(problem, field, steps=2000, lr=5e-3)`), as `--set key=value`",
        "on the command line, or at the top level of a `config.yaml`.",
    ]
    for name, group in _GROUPS.items():
        doc = " ".join((group.__doc__ or "").split())
        lines += ["", f"## {name}", "", doc, "", "| option | default | meaning |", "|---|---|---|"]
        for f in dataclasses.fields(group):
            default = "—" if f.default is None else f"`{_yaml_safe(f.default)}`"
            lines.append(f"| `{f.name}` | {default} | {f.metadata['help']} |")
    return "\n".join(lines) + "\n"
