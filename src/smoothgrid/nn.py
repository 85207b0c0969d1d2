"""Jet-aware decoders: an MLP whose derivatives are pushed forward analytically.

Each layer maps a :class:`~smoothgrid.jet.Jet` by the chain rule (``linear`` maps value, gradient
and Hessian by ``W``; an activation ``s`` gives ``s'(z) grad z`` and
``s''(z) grad z grad z^T + s'(z) hess z``), so ``MLP.jet`` returns the network's derivatives
with respect to the *input points* without any double backward.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .jet import Derivatives, Jet, activation_derivatives, apply, linear

__all__ = ["MLP"]


class MLP(nn.Module):
    """Fully connected network ``Linear -> s -> ... -> Linear`` with analytic jets.

    Args:
        in_features: inputs per point.
        hidden: widths of the hidden layers (may be empty: a linear map).
        out: outputs per point.
        activation: ``tanh``, ``sin`` (SIREN), ``softplus``, ``silu``, ``gelu`` or ``identity``.
        omega0: SIREN's frequency factor, ``s(z) = sin(omega0 z)`` (``activation="sin"`` only).
            The SIREN initialisation (first layer ``U(-1/n, 1/n)``, others
            ``U(-sqrt(6/n)/omega0, sqrt(6/n)/omega0)``) goes with it; other activations use
            Xavier-uniform weights and zero biases.

    Example:
        >>> mlp = MLP(8, hidden=(64, 64), out=1)
        >>> mlp(torch.rand(5, 8)).shape
        torch.Size([5, 1])
    """

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int] = (64, 64),
        out: int = 1,
        activation: str = "tanh",
        omega0: float = 30.0,
    ) -> None:
        super().__init__()
        widths = [int(in_features), *[int(h) for h in hidden], int(out)]
        if any(w < 1 for w in widths):
            raise ValueError(f"layer widths must be >= 1, got {widths}")
        self.activation = activation
        self._act = activation_derivatives(activation)
        self.omega0 = float(omega0)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self._initialise()

    def _initialise(self) -> None:
        with torch.no_grad():
            for k, layer in enumerate(self.layers):
                n = layer.in_features
                if self.activation == "sin":
                    bound = 1.0 / n if k == 0 else math.sqrt(6.0 / n) / self.omega0
                    layer.weight.uniform_(-bound, bound)
                    layer.bias.uniform_(-bound, bound)
                else:
                    nn.init.xavier_uniform_(layer.weight)
                    layer.bias.zero_()

    def _s(self, z: Tensor) -> Derivatives:
        if self.activation != "sin":
            return self._act(z)
        w = self.omega0
        s, c, _ = self._act(w * z)
        return s, w * c, -(w * w) * s

    def forward(self, h: Tensor) -> Tensor:
        """``(B, in_features) -> (B, out)``."""
        for layer in self.layers[:-1]:
            z = layer(h)
            h = torch.sin(self.omega0 * z) if self.activation == "sin" else self._act(z)[0]
        return self.layers[-1](h)

    def jet(self, h: Jet) -> Jet:
        """Push a jet of the inputs (``C = in_features``) through the network (``C = out``)."""
        for layer in self.layers[:-1]:
            h = apply(linear(h, layer.weight, layer.bias), self._s)
        last = self.layers[-1]
        return linear(h, last.weight, last.bias)
