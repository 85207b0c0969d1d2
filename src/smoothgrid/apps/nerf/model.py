"""The radiance field: a grid encoding of position, a density head and a view-dependent colour.

``sigma, rgb = field(x, d)``: the encoding's features of ``x`` feed a one-hidden-layer MLP whose
first output is the log-density (``sigma = trunc_exp(raw)``, Instant-NGP's activation: ``exp``
with its gradient clamped, or ``softplus``) and whose other outputs, with the real spherical
harmonics of the unit view direction ``d`` (degree 0..3), feed a colour MLP with a sigmoid.

The grid is any smoothgrid encoding; the methods of the NeRF app are named in :data:`METHODS`:
``linear`` (Instant-NGP), ``cosine`` (Heo et al.'s smooth weights) and ``st`` (linear forward,
straight-through gradient ``linear + st_lambda * smooth``, in ``st_mode`` ``axis`` or ``corner``),
and every other grid encoding by its name (``quintic``, ``hermite``, ...).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ... import encodings

__all__ = [
    "METHODS",
    "NERF_GRID",
    "TruncExp",
    "trunc_exp",
    "sh_basis",
    "RadianceField",
    "radiance_field",
    "method_names",
]

NERF_GRID = dict(levels=8, features=2, min_res=8, max_res=128, log2_table=15)
"""Grid of a radiance field on a CPU budget (Instant-NGP uses 16 levels, 16..2048, ``T = 2^19``)."""

METHODS = ("linear", "cosine", "st")
"""The NeRF methods of Heo et al.'s comparison; any grid encoding name is accepted as well."""

SH_DEGREES = (0, 1, 2, 3)


def method_names() -> list[str]:
    """Every method :func:`radiance_field` builds: :data:`METHODS`, then the other grids."""
    return list(METHODS) + [n for n in encodings.names() if n not in METHODS]


class TruncExp(torch.autograd.Function):
    """``exp(x)`` whose backward clamps ``x`` to at most 15 (Instant-NGP's density activation:
    the gradient cannot overflow where the raw density is large)."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        return torch.exp(x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return grad * torch.exp(x.clamp(max=15.0))


def trunc_exp(x: Tensor) -> Tensor:
    """:class:`TruncExp` applied to ``x``."""
    return TruncExp.apply(x)


def sh_basis(d: Tensor, degree: int) -> Tensor:
    """Real spherical harmonics of unit vectors ``d: (K, 3)`` up to ``degree`` (0..3).

    Returns ``(K, (degree + 1)^2)``, each column orthonormal on the sphere (the constants of
    Sloan's "Stupid spherical harmonics tricks", as used by Plenoxels and Instant-NGP).
    """
    if degree not in SH_DEGREES:
        raise ValueError(f"sh degree must be 0..3, got {degree!r}")
    x, y, z = d.unbind(-1)
    out = [torch.full_like(x, 0.28209479177387814)]
    if degree >= 1:
        out += [-0.48860251190291987 * y, 0.48860251190291987 * z, -0.48860251190291987 * x]
    if degree >= 2:
        xx, yy, zz = x * x, y * y, z * z
        out += [
            1.0925484305920792 * x * y,
            -1.0925484305920792 * y * z,
            0.94617469575755997 * zz - 0.31539156525251999,
            -1.0925484305920792 * x * z,
            0.54627421529603959 * (xx - yy),
        ]
    if degree >= 3:
        out += [
            0.59004358992664352 * y * (-3.0 * xx + yy),
            2.8906114426405538 * x * y * z,
            0.45704579946446572 * y * (1.0 - 5.0 * zz),
            0.3731763325901154 * z * (5.0 * zz - 3.0),
            0.45704579946446572 * x * (1.0 - 5.0 * zz),
            1.4453057213202769 * z * (xx - yy),
            0.59004358992664352 * x * (-xx + 3.0 * yy),
        ]
    return torch.stack(out, -1)


class RadianceField(nn.Module):
    """Density and view-dependent colour on a grid encoding.

    Args:
        encoding: a 3D encoding; its box is the scene's box (points are clamped onto it).
        hidden: width of the two MLPs' hidden layers.
        geometry_features: features passed from the density MLP to the colour MLP.
        sh_degree: degree of the direction encoding (0: view-independent colour).
        density: ``"trunc_exp"`` (Instant-NGP) or ``"softplus"``.
        density_bias: added to the raw density (a negative bias starts the scene emptier).

    ``forward(x, d, t=None) -> (sigma (K,), rgb (K, 3))`` with ``x: (K, 3)`` world points,
    ``d: (K, 3)`` unit directions; ``t`` is ignored (a static scene). It is the ``field_fn`` of
    :func:`smoothgrid.render.render_rays`.
    """

    def __init__(
        self,
        encoding: nn.Module,
        hidden: int = 64,
        geometry_features: int = 15,
        sh_degree: int = 2,
        density: str = "trunc_exp",
        density_bias: float = -1.0,
    ) -> None:
        super().__init__()
        if getattr(encoding, "dim", None) != 3:
            raise ValueError(f"a radiance field needs a 3D encoding, got {encoding!r}")
        if density not in ("trunc_exp", "softplus"):
            raise ValueError(f"density must be 'trunc_exp' or 'softplus', got {density!r}")
        if sh_degree not in SH_DEGREES:
            raise ValueError(f"sh_degree must be 0..3, got {sh_degree!r}")
        self.encoding = encoding
        self.options = dict(
            hidden=hidden, geometry_features=geometry_features, sh_degree=sh_degree,
            density=density, density_bias=density_bias,
        )  # fmt: skip
        self.sh_degree, self.density, self.density_bias = sh_degree, density, density_bias
        self.density_net = nn.Sequential(
            nn.Linear(encoding.out_features, hidden), nn.ReLU(),
            nn.Linear(hidden, 1 + geometry_features),
        )  # fmt: skip
        self.color_net = nn.Sequential(
            nn.Linear(geometry_features + (sh_degree + 1) ** 2, hidden), nn.ReLU(),
            nn.Linear(hidden, 3),
        )  # fmt: skip

    def config(self) -> dict[str, Any]:
        """The encoding's config and the heads' options (plain JSON)."""
        return {"encoding": self.encoding.config(), **self.options}

    def sigma(self, x: Tensor) -> Tensor:
        """``(K,)`` densities (per world unit) at ``x: (K, 3)``."""
        return self._activate(self.density_net(self.encoding(x))[:, 0])

    def _activate(self, raw: Tensor) -> Tensor:
        raw = raw + self.density_bias
        return trunc_exp(raw) if self.density == "trunc_exp" else nn.functional.softplus(raw)

    def forward(self, x: Tensor, d: Tensor, t: Tensor | None = None) -> tuple[Tensor, Tensor]:
        h = self.density_net(self.encoding(x))
        colour_in = torch.cat([h[:, 1:], sh_basis(d, self.sh_degree)], -1)
        return self._activate(h[:, 0]), torch.sigmoid(self.color_net(colour_in))


def radiance_field(
    method: str,
    box: tuple,
    st_lambda: float = 1.0,
    st_mode: str = "axis",
    grid: dict[str, Any] | None = None,
    **options: Any,
) -> RadianceField:
    """Method ``method``'s radiance field on ``box`` (world units).

    Args:
        method: ``linear``, ``cosine``, ``st`` or another grid encoding's name.
        box: ``(lo, hi)``, each three numbers: the scene's support.
        st_lambda, st_mode: the straight-through mix of ``st`` (ignored by the others).
        grid: :data:`NERF_GRID` updated by these options.
        options: :class:`RadianceField` options.

    Seed torch first for a reproducible initialisation.
    """
    if method not in method_names():
        raise ValueError(f"unknown NeRF method {method!r}; known: {', '.join(method_names())}")
    spec = {**NERF_GRID, **(grid or {})}
    extra: dict[str, Any] = {}
    name = method
    if method == "st":
        if not st_lambda > 0:
            raise ValueError(f"the st method needs st_lambda > 0, got {st_lambda}")
        name, extra = "linear", dict(st_lambda=st_lambda, st_mode=st_mode)
    enc = encodings.make(name, dim=3, bounds=box, clamp=True, **spec, **extra)
    return RadianceField(enc, **options)
