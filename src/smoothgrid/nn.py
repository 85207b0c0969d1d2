"""Jet-aware decoders: an MLP (tanh or SIREN) and PirateNet, derivatives pushed forward
analytically.

Each layer maps a :class:`~smoothgrid.jet.Jet` by the chain rule (``linear`` maps value, gradient
and Hessian by ``W``; an activation ``s`` gives ``s'(z) grad z`` and
``s''(z) grad z grad z^T + s'(z) hess z``), so ``MLP.jet`` returns the network's derivatives
with respect to the *input points* without any double backward. :class:`PirateNet` is written
once in jet arithmetic; its ``forward`` is the order-0 jet.

Every decoder records its constructor options (:class:`~smoothgrid.options.RecordsOptions`):
``decoder.config()`` is ``{"name": ..., <options>}`` and :func:`decoder_from_config` rebuilds it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional

from . import kernels
from .jet import Derivatives, Jet, activation_derivatives, apply, linear
from .options import RecordsOptions

__all__ = [
    "MLP",
    "FactorizedLinear",
    "PirateNet",
    "DECODERS",
    "decoder_from_config",
    "mlp_jet",
    "JetParts",
]

JetParts = tuple[Tensor, Tensor | None, Tensor | None, Tensor | None]
"""``(value, grad, hess, lap)`` of a :class:`~smoothgrid.jet.Jet` as plain tensors (``None``
for the parts it does not carry)."""


def _activation(name: str, omega0: float) -> Callable[[Tensor], Derivatives]:
    """``z -> (s, s', s'')`` of a decoder's activation (SIREN's ``sin(omega0 z)`` for ``sin``)."""
    act = activation_derivatives(name)
    if name != "sin":
        return act

    def scaled_sin(z: Tensor) -> Derivatives:
        s, c, _ = act(omega0 * z)
        return s, omega0 * c, -(omega0 * omega0) * s

    return scaled_sin


def mlp_jet(
    parts: JetParts,
    weights: Sequence[Tensor],
    biases: Sequence[Tensor],
    activation: str,
    omega0: float = 30.0,
    lap_axes: tuple[int, ...] | None = None,
) -> JetParts:
    """The jet of an MLP on plain tensors: the reference of :meth:`MLP.jet` (which calls it),
    what ``compile=True`` compiles and what the fused decoder kernel
    (:func:`smoothgrid.kernels.decoder.decoder_jet`) must reproduce.

    Args:
        parts: the input jet's ``(value (B, C), grad (B, C, d), hess (B, C, d, d), lap (B, C))``.
        weights, biases: per layer ``(C_out, C_in)`` and ``(C_out,)``; the activation follows
            every layer but the last.
        activation, omega0: see :class:`MLP`.
        lap_axes: the Laplacian's axes (``None``: all).

    Returns:
        The output jet's parts, contiguous (``C = C_out`` of the last layer).
    """
    s = _activation(activation, omega0)
    h = Jet(*parts, lap_axes=lap_axes)
    for w, b in zip(weights[:-1], biases[:-1]):
        h = apply(linear(h, w, b), s)
    h = linear(h, weights[-1], biases[-1])
    return tuple(None if t is None else t.contiguous() for t in (h.value, h.grad, h.hess, h._lap))


class MLP(nn.Module, RecordsOptions):
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
        impl: the jet's implementation: ``"auto"`` (the fused Triton kernel,
            :func:`smoothgrid.kernels.decoder.decoder_jet`, for CUDA tensors where it applies:
            tanh / SiLU / sine, float32, widths up to 64; :func:`mlp_jet` otherwise),
            ``"torch"`` (always :func:`mlp_jet`) or ``"triton"`` (always the kernel; on CPU
            tensors under ``TRITON_INTERPRET=1``). The default is ``"torch"`` until the
            kernel has been timed on a GPU (``benchmarks/gpu_round.sh``): opt in meanwhile.

    Example:
        >>> mlp = MLP(8, hidden=(64, 64), out=1)
        >>> mlp(torch.rand(5, 8)).shape
        torch.Size([5, 1])
    """

    name = "mlp"

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int] = (64, 64),
        out: int = 1,
        activation: str = "tanh",
        omega0: float = 30.0,
        impl: str = "torch",
    ) -> None:
        super().__init__()
        if impl not in kernels.IMPLS:
            raise ValueError(f"impl must be one of {', '.join(kernels.IMPLS)}; got {impl!r}")
        if impl == "triton" and not kernels.triton_available():
            raise ValueError("impl='triton' needs Triton (pip install triton)")
        self.impl = impl
        widths = [int(in_features), *[int(h) for h in hidden], int(out)]
        if any(w < 1 for w in widths):
            raise ValueError(f"layer widths must be >= 1, got {widths}")
        self.activation = activation
        self._act = activation_derivatives(activation)
        self.omega0 = float(omega0)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.jet_function: Callable[..., JetParts] = mlp_jet
        """What :meth:`jet` runs, with :func:`mlp_jet`'s signature: :func:`mlp_jet` itself, or
        its ``torch.compile``-d twin while a ``compile=True`` run trains."""
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

    def forward(self, h: Tensor) -> Tensor:
        """``(B, in_features) -> (B, out)``."""
        for layer in self.layers[:-1]:
            z = layer(h)
            h = torch.sin(self.omega0 * z) if self.activation == "sin" else self._act(z)[0]
        return self.layers[-1](h)

    def jet(self, h: Jet) -> Jet:
        """Push a jet of the inputs (``C = in_features``) through the network (``C = out``)."""
        parts = (h.value, h.grad, h.hess, h._lap)
        weights = [layer.weight for layer in self.layers]
        biases = [layer.bias for layer in self.layers]
        function = self.jet_function
        if self._use_kernel(parts, weights):
            from .kernels.decoder import decoder_jet as function
        out = function(parts, weights, biases, self.activation, self.omega0, h.lap_axes)
        return Jet(*out, lap_axes=h.lap_axes)

    def _use_kernel(self, parts: JetParts, weights: list[Tensor]) -> bool:
        """Whether :meth:`jet` runs the fused kernel (see the ``impl`` option)."""
        if self.impl == "torch" or (self.impl == "auto" and parts[0].device.type != "cuda"):
            return False
        from .kernels.decoder import decoder_unsupported_reason

        reason = decoder_unsupported_reason(parts, weights, self.activation)
        if reason is not None and self.impl == "triton":
            raise ValueError(f"impl='triton' cannot run this decoder here: {reason}")
        return reason is None


class FactorizedLinear(nn.Module, RecordsOptions):
    """``z = h W^T + b`` with random weight factorisation ``W = diag(exp(s)) V`` (Wang et al.
    2023, jaxpi's ``weight_fact``).

    ``W`` starts Glorot-normal; ``s ~ N(mean, std^2)`` per output and ``V = diag(exp(-s)) W``,
    so the factorisation changes how Adam steps, not the initial function.

    Args:
        in_features, out_features: widths.
        mean, std: of the log-scales ``s``.
    """

    name = "factorized_linear"

    def __init__(self, in_features: int, out_features: int, mean: float = 1.0, std: float = 0.1):
        super().__init__()
        w = nn.init.xavier_normal_(torch.empty(out_features, in_features))
        s = mean + std * torch.randn(out_features)
        self.s = nn.Parameter(s)
        self.v = nn.Parameter(w / torch.exp(s)[:, None])
        self.bias = nn.Parameter(torch.zeros(out_features))

    @property
    def weight(self) -> Tensor:
        """``(out, in)``: ``diag(exp(s)) V``."""
        return torch.exp(self.s)[:, None] * self.v

    def forward(self, h: Tensor) -> Tensor:
        """``(B, in) -> (B, out)``."""
        return functional.linear(h, self.weight, self.bias)

    def jet(self, h: Jet) -> Jet:
        """The same map on a jet (derivatives mapped by ``W``)."""
        return linear(h, self.weight, self.bias)


class PirateNet(nn.Module, RecordsOptions):
    """PirateNet (Wang et al. 2024, jaxpi): gated residual blocks that start as the identity.

    With ``x`` the input features (e.g. random Fourier features, ``n`` of them),
    ``U = s(W_u x)``, ``V = s(W_v x)`` gate every hidden layer as ``f -> f U + (1 - f) V``; a
    block is three layers ``n -> hidden -> hidden -> n`` and mixes its output with its input,
    ``x <- alpha g(x) + (1 - alpha) x``, with a trainable ``alpha`` starting at 0. Every dense
    layer uses random weight factorisation (:class:`FactorizedLinear`).

    Args:
        in_features: ``n`` inputs per point.
        hidden: width of the gates and the blocks.
        blocks: number of residual blocks.
        out: outputs per point.
        activation: ``s`` (see :data:`smoothgrid.jet.ACTIVATIONS`).

    Example:
        >>> net = PirateNet(16, hidden=32, blocks=2, out=1)
        >>> net(torch.rand(5, 16)).shape
        torch.Size([5, 1])
    """

    name = "piratenet"

    def __init__(
        self,
        in_features: int,
        hidden: int = 256,
        blocks: int = 3,
        out: int = 1,
        activation: str = "tanh",
    ) -> None:
        super().__init__()
        if min(in_features, hidden, blocks, out) < 1:
            raise ValueError(
                f"in_features, hidden, blocks and out must be >= 1, got "
                f"{in_features}, {hidden}, {blocks}, {out}"
            )
        self.activation = activation
        self._act = activation_derivatives(activation)
        self.gate_u = FactorizedLinear(in_features, hidden)
        self.gate_v = FactorizedLinear(in_features, hidden)
        self.blocks = nn.ModuleList(
            nn.ModuleList(
                [
                    FactorizedLinear(in_features, hidden),
                    FactorizedLinear(hidden, hidden),
                    FactorizedLinear(hidden, in_features),
                ]
            )
            for _ in range(blocks)
        )
        self.alpha = nn.Parameter(torch.zeros(blocks))
        self.head = FactorizedLinear(in_features, out)

    def jet(self, h: Jet) -> Jet:
        """Push a jet of the inputs (``C = in_features``) through the network (``C = out``)."""
        u = apply(self.gate_u.jet(h), self._act)
        v = apply(self.gate_v.jet(h), self._act)
        for k, (first, second, third) in enumerate(self.blocks):
            f = apply(first.jet(h), self._act)
            f = f * u + (1.0 - f) * v
            f = apply(second.jet(f), self._act)
            f = f * u + (1.0 - f) * v
            f = apply(third.jet(f), self._act)
            alpha = self.alpha[k]
            h = f * alpha + h * (1.0 - alpha)
        return self.head.jet(h)

    def forward(self, h: Tensor) -> Tensor:
        """``(B, in_features) -> (B, out)`` (the order-0 jet)."""
        return self.jet(Jet(h)).value


DECODERS: dict[str, type[nn.Module]] = {cls.name: cls for cls in (MLP, PirateNet, FactorizedLinear)}
"""The decoders by the name their :meth:`config` records."""


def decoder_from_config(config: Mapping[str, Any]) -> nn.Module:
    """Rebuild a decoder from its ``config()`` (``{"name": ..., <options>}``).

    Example:
        >>> net = PirateNet(16, hidden=32, blocks=2)
        >>> type(decoder_from_config(net.config())).__name__
        'PirateNet'
    """
    options = dict(config)
    name = options.pop("name", None)
    if name not in DECODERS:
        raise ValueError(f"unknown decoder {name!r} in the config; known: {', '.join(DECODERS)}")
    return DECODERS[name](**options)
