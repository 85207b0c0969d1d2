"""Smooth multi-resolution grid encodings with analytic derivative jets.

``make(name, dim, ...)`` builds one by name; every encoding is a ``torch.nn.Module`` with
``forward(x) -> (B, L*F)`` and ``jet(x, order, hessian, lap_axes) -> Jet``.

| name | interpolation | smoothness |
|---|---|---|
| ``linear`` | d-linear (Instant-NGP); ``st_lambda`` for Heo et al.'s straight-through mix | C0 |
| ``smoothstep`` | weights of ``3t^2 - 2t^3`` | C1 |
| ``cosine`` | weights of ``(1 - cos(pi t)) / 2`` | C1 |
| ``quintic`` | weights of ``6t^5 - 15t^4 + 10t^3`` | C2 |
| ``rbf`` | normalized Gaussian RBF over a ring neighbourhood (∂∞-Grid) | C∞ in cells |
| ``rbf``, ``window="bump"`` | the same Gaussian times a bump of radius ``rings`` cells | C∞ |
| ``hermite`` | cubic Hermite of stored values and derivatives (Hermite-NGP) | C1, C∞ in cells |

These are the grid encodings (:func:`names`). The encodings of the baselines,
:class:`IdentityEncoding`, :class:`FourierEncoding` and :class:`GaussianEncoding` (PIG), are
built directly; every encoding
implements the :class:`Encoding` protocol that :class:`~smoothgrid.Field` needs.

Every encoding records its constructor options: ``enc.config()`` is plain JSON / YAML and
:func:`from_config` rebuilds an equal encoding from it (load the state dict for the tables).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from functools import partial
from typing import Any

from .base import GridEncoding
from .coordinates import FourierEncoding, IdentityEncoding
from .gaussians import GaussianEncoding
from .grid import HASH_PRIMES, hash_index, level_resolutions
from .protocol import Encoding
from .rbf import RBFEncoding
from .tensor_product import HermiteEncoding, LinearEncoding, SmoothEncoding

__all__ = [
    "make",
    "from_config",
    "names",
    "coordinate_names",
    "describe",
    "Encoding",
    "GridEncoding",
    "IdentityEncoding",
    "FourierEncoding",
    "GaussianEncoding",
    "LinearEncoding",
    "SmoothEncoding",
    "HermiteEncoding",
    "RBFEncoding",
    "HASH_PRIMES",
    "hash_index",
    "level_resolutions",
]

_REGISTRY: dict[str, tuple[Any, str]] = {
    "linear": (LinearEncoding, "d-linear hash grid (Instant-NGP); C0, zero Laplacian"),
    "smoothstep": (partial(SmoothEncoding, step="smoothstep"), "smoothstep weights; C1"),
    "cosine": (partial(SmoothEncoding, step="cosine"), "cosine weights (Heo et al.); C1"),
    "quintic": (partial(SmoothEncoding, step="quintic"), "quintic weights; C2"),
    "rbf": (
        RBFEncoding,
        "normalized Gaussian RBF (∂∞-Grid); C-infinity inside cells, window=bump: everywhere",
    ),
    "hermite": (HermiteEncoding, "cubic Hermite of values + derivatives (Hermite-NGP); C1"),
}


_COORDINATES: dict[str, type[Encoding]] = {
    cls.name: cls for cls in (IdentityEncoding, FourierEncoding, GaussianEncoding)
}
"""The coordinate encodings of the baselines by name (built directly or by :func:`from_config`)."""


def names() -> list[str]:
    """Names of the grid encodings."""
    return list(_REGISTRY)


def coordinate_names() -> list[str]:
    """Names of the coordinate encodings of the baselines (in configs)."""
    return list(_COORDINATES)


def describe() -> dict[str, str]:
    """Encoding name -> one-line description."""
    return {name: text for name, (_, text) in _REGISTRY.items()}


def make(
    name: str,
    dim: int,
    levels: int = 16,
    features: int = 2,
    min_res: int = 16,
    max_res: int = 512,
    log2_table: int = 19,
    **options: Any,
) -> GridEncoding:
    """Build an encoding by name.

    Args:
        name: one of :func:`names`.
        dim: input dimension ``d`` in 1..4.
        levels, features, min_res, max_res, log2_table: the multi-resolution grid (see
            :class:`~smoothgrid.encodings.base.GridEncoding`).
        options: the encoding's own options, e.g. ``bounds=(lo, hi)``, ``offset=True``,
            ``clamp=True``, ``init_scale``; ``st_lambda``, ``st_smooth``, ``st_mode`` (linear);
            ``eps``, ``rings``, ``window`` (rbf);
            ``log2_tables``, ``deriv_init``, ``mixed`` (hermite).

    Example:
        >>> enc = make("hermite", dim=2, levels=4, features=2, min_res=4, max_res=32)
        >>> enc(torch.rand(10, 2)).shape
        torch.Size([10, 8])
    """
    try:
        factory, _ = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown encoding {name!r}; known: {', '.join(_REGISTRY)}") from None
    return factory(
        dim,
        levels=levels,
        features=features,
        min_res=min_res,
        max_res=max_res,
        log2_table=log2_table,
        **options,
    )


def from_config(config: Mapping[str, Any], **overrides: Any) -> Encoding:
    """Rebuild an encoding from its :meth:`~smoothgrid.encodings.Encoding.config`.

    Args:
        config: ``{"name": ..., <options>}``: a grid encoding's (:func:`names`) or a coordinate
            encoding's (``identity``, ``fourier``, ``gaussians``).
        overrides: options that replace or complete the recorded ones (e.g. ``dim=`` for a
            config written without it).

    Returns:
        An encoding with the same options and freshly initialised parameters: load the original's
        state dict to get the same features.

    Example:
        >>> enc = make("rbf", dim=2, levels=2, min_res=4, max_res=8, eps=0.8)
        >>> twin = from_config(enc.config())
        >>> _ = twin.load_state_dict(enc.state_dict())
        >>> x = torch.rand(5, 2)
        >>> bool(torch.equal(twin(x), enc(x)))
        True
    """
    options = {**config, **overrides}
    name = options.pop("name", None)
    factories: dict[str, Any] = {n: f for n, (f, _) in _REGISTRY.items()} | _COORDINATES
    if name not in factories:
        near = difflib.get_close_matches(str(name), list(factories), n=1)
        hint = f" Did you mean {near[0]!r}?" if near else ""
        raise ValueError(
            f"unknown encoding {name!r} in the config.{hint} Known: {', '.join(factories)}"
        )
    return factories[name](**options)
