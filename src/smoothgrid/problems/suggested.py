"""A problem's suggested settings as a ready field and ``sg.solve`` keywords.

Every zoo problem carries ``problem.suggested`` (:func:`~.base.suggested_defaults`: the
encoding, the decoder and the solver settings measured to work on it). These two functions turn
that record into what a script needs, so an example stays at the best-known settings when they
are retuned:

>>> problem = make("flow_mixing")                                   # doctest: +SKIP
>>> run = sg.solve(problem, suggested_field(problem), time_budget=60,
...                **suggested_settings(problem))                     # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from .. import encodings
from ..field import Field
from .base import Problem

__all__ = ["suggested_field", "suggested_settings", "DECODER_KEYS"]

DECODER_KEYS = ("hidden", "activation", "omega0")
"""Keys of ``problem.suggested`` that are options of the field's decoder (``sg.Field``)."""

_FIELD_KEYS = ("encoding_name", "encoding", *DECODER_KEYS)


def suggested_field(problem: Problem) -> Field:
    """A freshly initialised field of ``problem.suggested``: its encoding (made periodic on the
    problem's periodic axes), its decoder, one output per ``problem.outputs``; no input box and
    no constraint (``sg.solve`` adopts the problem's)."""
    s = problem.suggested
    options = {"periodic": tuple(problem.periodic), **s.get("encoding", {})}
    enc = encodings.make(s.get("encoding_name", "hermite"), dim=problem.dim, **options)
    decoder = {k: s[k] for k in DECODER_KEYS if k in s}
    return Field(enc, out=len(problem.outputs), **decoder)


def suggested_settings(problem: Problem) -> dict[str, Any]:
    """The ``sg.solve`` keywords of ``problem.suggested`` (``batch``, ``lr``, ``decay``,
    ``causal``, ...), without the step count (give ``steps=`` or ``time_budget=``)."""
    return {k: v for k, v in problem.suggested.items() if k not in _FIELD_KEYS and k != "steps"}
