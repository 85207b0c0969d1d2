"""Elementwise functions with their first two derivatives, on plain tensors.

Each entry of :data:`FUNCTIONS` maps ``z`` to ``(s(z), s'(z), s''(z))``: what
:func:`smoothgrid.jet.apply` needs to push a jet through ``s`` by the chain rule, and what the
decoders' activations (:data:`ACTIVATIONS`) are made of. No jets here, only tensors.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["Derivatives", "FUNCTIONS", "ACTIVATIONS", "activation_derivatives"]

Derivatives = tuple[Tensor, Tensor, Tensor]
"""``(s(z), s'(z), s''(z))`` of an elementwise function at ``z``."""


def _sin(z: Tensor) -> Derivatives:
    s, c = torch.sin(z), torch.cos(z)
    return s, c, -s


def _cos(z: Tensor) -> Derivatives:
    s, c = torch.sin(z), torch.cos(z)
    return c, -s, -c


def _exp(z: Tensor) -> Derivatives:
    e = torch.exp(z)
    return e, e, e


def _tanh(z: Tensor) -> Derivatives:
    s = torch.tanh(z)
    s1 = 1.0 - s * s
    return s, s1, -2.0 * s * s1


def _sqrt(z: Tensor) -> Derivatives:
    r = torch.sqrt(z)
    s1 = 0.5 / r
    return r, s1, -0.5 * s1 / z


def _square(z: Tensor) -> Derivatives:
    return z * z, 2.0 * z, torch.full_like(z, 2.0)


def _identity(z: Tensor) -> Derivatives:
    return z, torch.ones_like(z), torch.zeros_like(z)


def _softplus(z: Tensor) -> Derivatives:
    sig = torch.sigmoid(z)
    return torch.nn.functional.softplus(z), sig, sig * (1.0 - sig)


def _silu(z: Tensor) -> Derivatives:
    sig = torch.sigmoid(z)
    s1 = sig * (1.0 + z * (1.0 - sig))
    s2 = sig * (1.0 - sig) * (2.0 + z * (1.0 - 2.0 * sig))
    return z * sig, s1, s2


_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _gelu(z: Tensor) -> Derivatives:
    pdf = torch.exp(-0.5 * z * z) * _INV_SQRT_2PI
    cdf = 0.5 * (1.0 + torch.erf(z / math.sqrt(2.0)))
    return z * cdf, cdf + z * pdf, pdf * (2.0 - z * z)


FUNCTIONS: dict[str, Callable[[Tensor], Derivatives]] = {
    "sin": _sin,
    "cos": _cos,
    "exp": _exp,
    "tanh": _tanh,
    "sqrt": _sqrt,
    "square": _square,
    "identity": _identity,
    "softplus": _softplus,
    "silu": _silu,
    "gelu": _gelu,
}
"""Name -> ``z -> (s, s', s'')`` (``sqrt``: for ``z > 0``)."""

ACTIVATIONS: dict[str, Callable[[Tensor], Derivatives]] = {
    "tanh": _tanh,
    "sin": _sin,
    "softplus": _softplus,
    "silu": _silu,
    "gelu": _gelu,
    "identity": _identity,
}
"""Activation name -> ``z -> (s, s', s'')``; the decoders' nonlinearities."""


def activation_derivatives(name: str) -> Callable[[Tensor], Derivatives]:
    """The ``(s, s', s'')`` function of a named activation (see :data:`ACTIVATIONS`)."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r}; known: {', '.join(sorted(ACTIVATIONS))}"
        ) from None
