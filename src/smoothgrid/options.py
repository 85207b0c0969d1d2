"""Constructor options recorded once, so that a model's ``config()`` rebuilds it.

A class deriving from :class:`RecordsOptions` keeps every argument its constructor received,
with the defaults filled in: each ``__init__`` along the class chain is wrapped when the class is
defined (``__init_subclass__``), binds its own arguments to its own signature and records the
named ones. What an outer constructor passes on through ``*args`` / ``**kwargs`` is recorded by
the inner constructor that names it; an inner constructor called by one without ``*args`` or
``**kwargs`` records nothing (its options are fixed by the outer one, which the record rebuilds).
The outer constructor's value of a name wins. Nothing is handwritten per class, so no option can
be left out of the record, and a new option is recorded the moment it is added to a signature.

:meth:`RecordsOptions.config` returns ``{"name": ..., **options}`` in plain JSON / YAML values
(:func:`plain`: tuples as lists, tensors as nested lists).
"""

from __future__ import annotations

import functools
import inspect
import numbers
from collections.abc import Callable, Mapping
from typing import Any

from torch import Tensor

__all__ = ["RecordsOptions", "plain"]


class RecordsOptions:
    """Mixin: records the constructor arguments of every subclass (see the module docstring).

    Example:
        >>> class Box(RecordsOptions):
        ...     name = "box"
        ...     def __init__(self, size=(1, 1), label="a"):
        ...         pass
        >>> Box(size=(2, 3)).config()
        {'name': 'box', 'size': [2, 3], 'label': 'a'}
    """

    name: str = ""
    """The registry name written into :meth:`config`."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None:
            cls.__init__ = _recording(init)

    @property
    def options(self) -> dict[str, Any]:
        """Every constructor argument by name, as given (defaults filled in); a copy."""
        return dict(self.__dict__.get("_options", {}))

    def config(self) -> dict[str, Any]:
        """``{"name": ..., <every constructor option>}`` in plain JSON / YAML values."""
        return {"name": self.name, **plain(self.options)}


def _recording(init: Callable[..., None]) -> Callable[..., None]:
    """``init`` that first records its named arguments into ``self._options``."""
    signature = inspect.signature(init)
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)

    passes_on = any(p.kind in variadic for p in signature.parameters.values())

    @functools.wraps(init)
    def recording_init(self, *args: Any, **kwargs: Any) -> None:
        state = self.__dict__
        outermost = "_options" not in state
        if outermost:
            state["_options"], state["_options_open"] = {}, True
        try:
            if state["_options_open"]:
                try:
                    bound = signature.bind(self, *args, **kwargs)
                except TypeError:  # the constructor itself says what was wrong
                    bound = None
                if bound is not None:
                    bound.apply_defaults()
                    for name, value in list(bound.arguments.items())[1:]:
                        if signature.parameters[name].kind not in variadic:
                            state["_options"].setdefault(name, value)
                state["_options_open"] = passes_on
            init(self, *args, **kwargs)
        finally:
            if outermost:
                del state["_options_open"]

    return recording_init


def plain(value: Any, where: str = "options") -> Any:
    """``value`` in plain JSON / YAML types: tuples as lists, tensors as (nested) lists, numbers
    as Python numbers, objects with a ``config()`` as their config.

    Raises:
        TypeError: for anything else (a function, say), naming where it was found.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, Tensor):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        return {str(k): plain(v, f"{where}.{k}") for k, v in value.items()}
    if callable(getattr(value, "config", None)):
        return value.config()
    raise TypeError(
        f"{where} = {value!r} ({type(value).__name__}) cannot be recorded in a config: "
        "only numbers, strings, booleans, None, lists, mappings and tensors can"
    )
