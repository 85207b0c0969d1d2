"""The methods the benchmarks compare: published baselines and smoothgrid's own fields.

Each method builds a :class:`~smoothgrid.Field` with the derivative method of its paper in
``field.derivatives`` (which :func:`smoothgrid.solve` uses when given no
``derivatives``), and recommends solver settings (:func:`settings`). Sizes: ``"small"`` for a
CPU, ``"paper"`` for the published comparisons on a GPU.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import encodings
from ..encodings import FourierEncoding, GaussianEncoding, IdentityEncoding
from ..field import Field
from ..nn import PirateNet

__all__ = ["Method", "METHODS", "SIZES", "make", "names", "describe", "settings", "rates"]

SIZES = ("small", "paper")
"""Model sizes of :func:`make`."""


@dataclass(frozen=True)
class Method:
    """A named way to build a field for :func:`smoothgrid.solve`.

    Attributes:
        name: registry name.
        description: one line, with the paper it follows.
        build: ``(dim, out, periodic, paper, **options) -> Field``.
        derivatives: the derivative method of its paper.
        settings: recommended :func:`smoothgrid.solve` keywords (``lr``, ``level_scale``, ...).
        smoothgrid: one of this library's own methods (else a baseline).
    """

    name: str
    description: str
    build: Callable[..., Field]
    derivatives: str
    settings: dict[str, Any] = field(default_factory=dict)
    smoothgrid: bool = False


def _coordinates(dim: int, periodic: Sequence[int]) -> IdentityEncoding:
    return IdentityEncoding(dim, periodic=periodic)


def _pinn(
    dim: int, out: int, periodic: Sequence[int], paper: bool, hidden: Sequence[int] | None = None
) -> Field:
    hidden = hidden or (256 if paper else 128,) * 4
    return Field(_coordinates(dim, periodic), hidden=hidden, out=out, activation="tanh")


def _fourier_mlp(
    dim: int,
    out: int,
    periodic: Sequence[int],
    paper: bool,
    hidden: Sequence[int] | None = None,
    frequencies: int | None = None,
    scale: float = 1.0,
) -> Field:
    frequencies = frequencies or (128 if paper else 64)
    enc = FourierEncoding(dim, frequencies=frequencies, scale=scale, periodic=periodic)
    hidden = hidden or (256 if paper else 128,) * 3
    return Field(enc, hidden=hidden, out=out, activation="tanh")


def _siren(
    dim: int,
    out: int,
    periodic: Sequence[int],
    paper: bool,
    hidden: Sequence[int] | None = None,
    omega0: float = 30.0,
) -> Field:
    hidden = hidden or (256 if paper else 128,) * 3
    enc = _coordinates(dim, periodic)
    return Field(enc, hidden=hidden, out=out, activation="sin", omega0=omega0)


def _piratenet(
    dim: int,
    out: int,
    periodic: Sequence[int],
    paper: bool,
    hidden: int | None = None,
    blocks: int | None = None,
    frequencies: int | None = None,
    scale: float = 1.0,
) -> Field:
    frequencies = frequencies or (128 if paper else 32)
    enc = FourierEncoding(dim, frequencies=frequencies, scale=scale, periodic=periodic)
    decoder = PirateNet(
        enc.out_features,
        hidden=hidden or (256 if paper else 64),
        blocks=blocks or (3 if paper else 2),
        out=out,
    )
    return Field(enc, out=out, decoder=decoder)


def _pig(
    dim: int,
    out: int,
    periodic: Sequence[int],
    paper: bool,
    gaussians: int | None = None,
    features: int = 4,
    hidden: Sequence[int] = (16,),
) -> Field:
    gaussians = gaussians or (4096 if paper else 512)
    enc = GaussianEncoding(dim, gaussians=gaussians, features=features, periodic=periodic)
    return Field(enc, hidden=hidden, out=out, activation="tanh")


def _grid_size(dim: int, paper: bool) -> dict[str, int]:
    """The grids of the grid methods: BENCHMARKS.md's CPU prototype (small), or the derivative
    benchmark's realistic size (paper; 3D+ with ``T = 2^17``: Hermite then has ~34M parameters,
    the order of Hermite-NGP's largest)."""
    if paper:
        if dim <= 2:
            return dict(levels=16, features=2, min_res=16, max_res=512, log2_table=19)
        return dict(levels=16, features=2, min_res=16, max_res=128, log2_table=17)
    return dict(levels=8, features=2, min_res=4, max_res=256 if dim <= 2 else 64, log2_table=16)


def _dense_log2(max_res: int, dim: int) -> int:
    """``log2_table`` that keeps every level dense (∂∞-Grid's setting), at most ``2**24`` rows."""
    return min(24, math.ceil(math.log2((max_res + 1) ** dim)))


def _grid_method(encoding: str, dense: bool = False, **fixed: Any) -> Callable[..., Field]:
    """A builder of ``encoding``'s grid field; ``fixed``: Field options of the method."""

    def build(
        dim: int,
        out: int,
        periodic: Sequence[int],
        paper: bool,
        hidden: Sequence[int] = (64, 64),
        activation: str = "tanh",
        **options: Any,
    ) -> Field:
        grid = {**_grid_size(dim, paper), **options}
        if dense and "log2_table" not in options:
            grid["log2_table"] = _dense_log2(grid["max_res"], dim)
        enc = encodings.make(encoding, dim=dim, periodic=tuple(periodic), **grid)
        return Field(enc, hidden=hidden, out=out, activation=activation, **fixed)

    return build


_BASELINE_LR = {"lr": 1e-3}
_GRID_PLAIN = {"lr": 1e-2, "decoder_lr": 1e-2, "level_scale": "none"}
_GRID_SMOOTH = {"lr": 1e-2, "decoder_lr": 1e-2, "level_scale": "inverse"}

METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("pinn", "tanh MLP on the coordinates, 4 x 128 (Raissi et al.); autograd",
               _pinn, "autograd", _BASELINE_LR),
        Method("fourier_mlp", "random Fourier features + tanh MLP (Tancik et al.); autograd",
               _fourier_mlp, "autograd", _BASELINE_LR),
        Method("siren", "SIREN, sin activations, omega0 = 30 and its init (Sitzmann et al.); "
               "autograd", _siren, "autograd", {"lr": 1e-4}),
        Method("piratenet", "PirateNet: Fourier features, gated residual blocks, random weight "
               "factorisation (jaxpi); autograd", _piratenet, "autograd", _BASELINE_LR),
        Method("pig", "Physics-Informed Gaussians: learnable Gaussian features + small MLP "
               "(Kang et al.); autograd", _pig, "autograd", {"lr": 5e-3, "decoder_lr": 1e-3}),
        Method("ingp_fd", "linear hash grid + MLP, finite differences of one finest cell "
               "(Instant-NGP-FD, Neuralangelo)", _grid_method("linear", fd_cells=1.0), "fd",
               _GRID_PLAIN),
        Method("dinf_grid", "dense Gaussian-RBF grid + MLP, autograd (∂∞-Grid)",
               _grid_method("rbf", dense=True), "autograd", _GRID_PLAIN),
        Method("hermite", "smoothgrid: cubic Hermite grid (Hermite-NGP), jets",
               _grid_method("hermite"), "jet", _GRID_SMOOTH, True),
        Method("rbf", "smoothgrid: dense Gaussian-RBF grid, jets", _grid_method("rbf", True),
               "jet", _GRID_SMOOTH, True),
        Method("quintic", "smoothgrid: quintic-weight grid (C2), jets", _grid_method("quintic"),
               "jet", _GRID_SMOOTH, True),
        Method("cosine", "smoothgrid: cosine-weight grid (C1), jets", _grid_method("cosine"),
               "jet", _GRID_SMOOTH, True),
    )
}  # fmt: skip
"""Method name -> :class:`Method`: the baselines first, then smoothgrid's own."""


def names(smoothgrid: bool | None = None) -> list[str]:
    """Method names: all (``None``), only the baselines (``False``) or only smoothgrid's."""
    return [n for n, m in METHODS.items() if smoothgrid is None or m.smoothgrid == smoothgrid]


def describe() -> dict[str, str]:
    """Method name -> one-line description."""
    return {name: m.description for name, m in METHODS.items()}


def _method(name: str) -> Method:
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; known: {', '.join(METHODS)}") from None


def settings(name: str) -> dict[str, Any]:
    """The :func:`smoothgrid.solve` keywords recommended for method ``name`` (a copy)."""
    return dict(_method(name).settings)


def rates(
    name: str, lr: float | None = None, decoder_lr: float | None = None
) -> tuple[float, float]:
    """``(lr, decoder_lr)``: the rates given, the others method ``name``'s recommended ones
    (:func:`settings`); a ``decoder_lr`` neither given nor recommended is ``lr``."""
    recommended = settings(name)
    lr = recommended["lr"] if lr is None else lr
    decoder_lr = recommended.get("decoder_lr", lr) if decoder_lr is None else decoder_lr
    return lr, decoder_lr


def make(
    name: str,
    dim: int,
    out: int = 1,
    periodic: Sequence[int] = (),
    size: str = "small",
    **options: Any,
) -> Field:
    """Build method ``name``'s field, its paper's derivatives in ``field.derivatives``.

    Args:
        name: one of :func:`names`.
        dim: input dimension ``d`` (time included).
        out: output channels.
        periodic: axes the field must be periodic on (the problem's ``periodic``).
        size: ``"small"`` (CPU) or ``"paper"`` (GPU, the published comparisons).
        options: the builder's own options, e.g. ``hidden=(64, 64)``; ``frequencies``,
            ``scale`` (fourier_mlp, piratenet); ``omega0`` (siren); ``blocks`` (piratenet);
            grid options (``levels``, ``max_res``, ``log2_table``, ...) for the grid methods.

    Returns:
        An untrained :class:`~smoothgrid.Field` (float32, CPU, no box: it adopts the problem's
        when solved). Seed torch's generator first for a reproducible initialisation.

    Example:
        >>> field = make("siren", dim=2)
        >>> field.derivatives
        'autograd'
    """
    method = _method(name)
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}, got {size!r}")
    field_ = method.build(dim, out, tuple(periodic), size == "paper", **options)
    field_.derivatives = method.derivatives
    return field_
