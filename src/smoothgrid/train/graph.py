"""A training step replayed from a CUDA graph (``sg.solve(..., cuda_graph=True)``).

On a GPU a step of a grid field is many small kernels; launching them costs more than running
them. A :class:`GraphedStep` records the loss, its backward pass and the optimiser step once in
a ``torch.cuda.CUDAGraph`` and replays the recording every step afterwards. Points are sampled
outside the graph, as in an eager step, and copied into the graph's static input buffers, so
sampling (and its generator) is untouched. The first ``warmup`` steps of every configuration
run eagerly on a side stream (CUDA's lazy initialisations, Adam's state, and the device tensors
and kernel variants a new set of active levels needs, none of which may be created while a
graph records); a change of the active levels (a curriculum) is a new configuration: a few
eager steps, then a new recording.

Requirements (checked by :func:`check_graphable`): a CUDA device, ``derivatives="jet"`` (one
ordinary backward pass), and an optimiser built with ``capturable=True`` whose learning rates
are device tensors (:func:`~smoothgrid.train.optim.grid_decoder_adam` does both), so a new rate
is a copy into the graph's tensor rather than a constant baked into the recording.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping

import torch
from torch import Tensor

__all__ = ["GraphedStep", "check_graphable"]

Samples = dict[str, dict[str, Tensor]]
StepOutput = tuple[Tensor, dict[str, Tensor]]
_UNSET = object()


def check_graphable(device: torch.device, derivatives: str) -> None:
    """Raise ``ValueError`` unless a step on ``device`` with ``derivatives`` can be captured."""
    if device.type != "cuda":
        raise ValueError(f"cuda_graph=True needs a CUDA device, got {str(device)!r}")
    if derivatives != "jet":
        raise ValueError(
            f"cuda_graph=True needs derivatives='jet' (one ordinary backward pass); "
            f"derivatives={derivatives!r} differentiates through autograd in ways a graph cannot "
            "record"
        )


def _copy_into(static: Samples, fresh: Samples) -> None:
    for term, batch in fresh.items():
        for key, tensor in batch.items():
            static[term][key].copy_(tensor)


class GraphedStep:
    """``step(samples, key) -> (loss, terms)``: one training step, replayed from a CUDA graph.

    Args:
        compute: ``samples -> (loss, terms)``: the loss (a scalar tensor) and its named terms of
            a step, differentiable in the field's parameters (the eager step's forward part).
        optimizer: a capturable optimiser over the field's parameters with tensor rates.
        warmup: eager steps (on a side stream) of each configuration before its recording.

    The returned tensors are the graph's static outputs: read them before the next call.
    ``key``: anything hashable that, when it changes, makes the recorded step stale (the
    active levels): ``warmup`` eager steps follow, then a new recording.
    """

    def __init__(
        self,
        compute: Callable[[Samples], StepOutput],
        optimizer: torch.optim.Optimizer,
        warmup: int = 3,
    ) -> None:
        for group in optimizer.param_groups:
            if not group.get("capturable", False) or not isinstance(group["lr"], Tensor):
                raise ValueError(
                    "GraphedStep needs an optimiser built with capturable=True and tensor "
                    "learning rates (grid_decoder_adam(..., capturable=True))"
                )
        self.compute = compute
        self.optimizer = optimizer
        self.warmup = int(warmup)
        self._warm_key: Hashable = _UNSET
        self._eager_left = 0
        self.recordings = 0
        """How many times the step has been recorded (1 + the changes of ``key``)."""
        self._graph: torch.cuda.CUDAGraph | None = None
        self._key: Hashable = _UNSET
        self._static: Samples = {}
        self._outputs: StepOutput | None = None
        self._stream = torch.cuda.Stream()

    def _eager(self, samples: Samples) -> StepOutput:
        self._stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(self._stream):
            loss, terms = self.compute(samples)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
        torch.cuda.current_stream().wait_stream(self._stream)
        return loss, terms

    def _record(self, samples: Samples, key: Hashable) -> None:
        self._graph = None  # free the old recording's memory pool first
        self._static = {t: {k: v.clone() for k, v in b.items()} for t, b in samples.items()}
        self.optimizer.zero_grad(set_to_none=True)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            loss, terms = self.compute(self._static)
            loss.backward()
            self.optimizer.step()
        self._graph, self._key, self._outputs = graph, key, (loss, terms)
        self.recordings += 1

    def __call__(self, samples: Mapping[str, Mapping[str, Tensor]], key: Hashable) -> StepOutput:
        """Train one step on ``samples`` (``term -> {"x": (n, d), ...}``, fixed shapes)."""
        samples = {t: dict(b) for t, b in samples.items()}
        if key != self._warm_key:  # a new configuration: warm it up eagerly first
            self._warm_key, self._eager_left = key, self.warmup
        if self._eager_left > 0:
            self._eager_left -= 1
            return self._eager(samples)
        if self._graph is None or key != self._key:
            self._record(samples, key)
        else:
            _copy_into(self._static, samples)
        self._graph.replay()
        return self._outputs
