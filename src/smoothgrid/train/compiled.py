"""Decoder jets compiled by ``torch.compile`` (``sg.solve(..., compile=True)``).

On the CPU about half of a grid field's step is the decoder's jet arithmetic: elementwise
products on ``(components, B, width)`` tensors, each a pass over memory in eager PyTorch.
Inductor fuses them (C++ on the CPU, Triton on CUDA). While a :class:`CompiledDecoders` is open,
every :class:`~smoothgrid.nn.MLP` of the trained module runs its jet through one
``torch.compile``-d :func:`~smoothgrid.nn.mlp_jet` (``dynamic=False``: one specialised graph per
input shape and jet kind, forward and backward).

What is compiled is a function of plain tensors with fixed shapes. The grid encoding stays
eager: its active levels change during a curriculum (a traced encoding would recompile at every
change), and its output always has every level (zeros for inactive ones), so a level change
never reaches the compiled graphs. The residual and the loss are a few operations on
``(B, 1)`` tensors and stay eager too: a graph break around the encoding inside one compiled
loss proved fragile (torch 2.13 crashed replaying aliased outputs across the breaks).

Compilation happens in :meth:`CompiledDecoders.warm_up`, which the loop calls outside its
timed step whenever the batch's shapes change (the first step, a last partial batch). When
``torch.compile`` is unavailable or fails (no C++ compiler, an unsupported Python, an operation
it cannot trace), a :class:`RuntimeWarning` says why and the eager jet is used from then on.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ..nn import MLP, mlp_jet

__all__ = ["CompiledDecoders", "batch_key"]


def batch_key(samples: Mapping[str, Any]) -> Hashable:
    """The shapes and dtypes of a batch (``term -> {name: tensor}``), what the compiled graphs
    specialise on; entries named ``_...`` (RAD's pool) are not part of a step's loss."""
    key = []
    for term, batch in sorted(samples.items()):
        if term.startswith("_") or not isinstance(batch, Mapping):
            continue
        for name, value in sorted(batch.items()):
            if isinstance(value, Tensor):
                key.append((term, name, tuple(value.shape), str(value.dtype)))
    return tuple(key)


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"[:300]


class CompiledDecoders:
    """A context in which ``module``'s MLP decoders run a ``torch.compile``-d jet.

    Args:
        module: the trained module (a :class:`~smoothgrid.field.Field`, or any module holding
            :class:`~smoothgrid.nn.MLP` decoders; other decoders stay eager).
        mode: ``torch.compile``'s mode (``None``: the default).

    Attributes:
        failure: why compilation was abandoned (``None`` while the compiled jet is used).

    Example:
        >>> compiled = CompiledDecoders(field)                     # doctest: +SKIP
        >>> with compiled:                                         # doctest: +SKIP
        ...     compiled.warm_up(task.loss, samples, params)       # compiles, untimed
        ...     loss, terms = task.loss(samples)
    """

    def __init__(self, module: nn.Module, mode: str | None = None) -> None:
        self.decoders = [m for m in module.modules() if isinstance(m, MLP)]
        self.failure: str | None = None
        self._compiled: Callable[..., Any] | None = None
        self._warm: set[Hashable] = set()
        self._open = False
        if not self.decoders:
            self._give_up("the field has no MLP decoder")
            return
        try:
            self._compiled = torch.compile(mlp_jet, dynamic=False, mode=mode)
        except Exception as error:  # an unsupported Python or platform raises here
            self._give_up(_first_line(error))

    @property
    def active(self) -> bool:
        """Whether the decoders run the compiled jet."""
        return self._compiled is not None

    def _give_up(self, why: str) -> None:
        self._compiled = None
        self.failure = why
        self._install(mlp_jet)
        warnings.warn(
            f"compile=True: nothing is compiled ({why}); training continues with the eager "
            "decoder jet",
            RuntimeWarning,
            stacklevel=3,
        )

    def _install(self, function: Callable[..., Any]) -> None:
        for decoder in self.decoders:
            decoder.jet_function = function

    def __enter__(self) -> CompiledDecoders:
        self._open = True
        if self._compiled is not None:
            self._install(self._compiled)
        return self

    def __exit__(self, *exc: object) -> None:
        self._open = False
        self._install(mlp_jet)

    def warm_up(
        self, loss: Callable[[Any], tuple[Tensor, Any]], samples: Any, params: Sequence[Tensor]
    ) -> bool:
        """Compile the graphs a step on ``samples`` needs, if their shapes are new.

        Runs ``loss(samples)`` and its gradient with respect to ``params`` once (the gradients
        are discarded, the parameters' ``.grad`` untouched). Returns whether it compiled; a
        failure switches to the eager jet (with a warning).
        """
        if self._compiled is None or not self._open:
            return False
        key = batch_key(samples)
        if key in self._warm:
            return False
        try:
            value, _ = loss(samples)
            wanted = [p for p in params if p.requires_grad]
            if value.requires_grad and wanted:
                torch.autograd.grad(value, wanted, allow_unused=True)
        except Exception as error:
            self._give_up(_first_line(error))
            return False
        self._warm.add(key)
        return True
