"""Parts of a domain's boundary: box face names, part selection, and sampling by part or predicate.

A domain with named boundary parts (:class:`~.box.Box`, :class:`~.spacetime.SpaceTime`,
:class:`~.exterior.ExteriorDomain`) numbers its parts ``0 .. P-1`` (``boundary_names``) and
accepts, wherever a part is chosen, a name, an index, or a sequence of them
(``select_boundary(on)``). :func:`sample_boundary` adds DeepXDE's ``on_boundary`` style: a
predicate ``(B, d) points -> (B,) bool`` that keeps the accepted points of a uniform boundary
sample.

Box faces (index ``2 i`` is ``x_i = lo_i``, index ``2 i + 1`` is ``x_i = hi_i``):

===  ==========================================================  ===========================
d    names, in index order                                       also accepted
===  ==========================================================  ===========================
1    ``left right``                                              ``x0- x0+``
2    ``left right bottom top``                                   ``x0- x0+ x1- x1+``
3    ``left right bottom top back front`` (front: ``z = hi``)    ``x0- x0+ x1- x1+ x2- x2+``
4    ``x0- x0+ x1- x1+ x2- x2+ x3- x3+``
===  ==========================================================  ===========================
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping, Sequence

import torch
from torch import Tensor

__all__ = ["Part", "Predicate", "face_names", "face_aliases", "select_parts", "sample_boundary"]

Part = str | int | Sequence[str | int]
"""Boundary parts by name or index: ``"top"``, ``3``, ``("left", "x1-")``."""
Predicate = Callable[[Tensor], Tensor]
"""``x (B, d) boundary points -> (B,) bool``: True on the wanted part of the boundary."""

_NAMED_FACES = {
    1: ("left", "right"),
    2: ("left", "right", "bottom", "top"),
    3: ("left", "right", "bottom", "top", "back", "front"),
}
_MIN_DRAW = 1024
_MAX_DRAW = 1 << 20
_GIVE_UP = 1 << 18  # boundary points a predicate may reject before it is judged empty


def face_names(dim: int) -> tuple[str, ...]:
    """The ``2 dim`` face names of a ``dim``-D box in index order (see the module docstring)."""
    return _NAMED_FACES.get(dim, tuple(f"x{i}{s}" for i in range(dim) for s in "-+"))


def face_aliases(dim: int) -> dict[str, tuple[int, ...]]:
    """Every accepted face name of a ``dim``-D box -> its index: the names and ``x0-``-style."""
    names = {name: (k,) for k, name in enumerate(face_names(dim))}
    names.update({f"x{k // 2}{'-+'[k % 2]}": (k,) for k in range(2 * dim)})
    return names


def select_parts(
    on: Part, names: Mapping[str, tuple[int, ...]], count: int, where: str
) -> tuple[int, ...]:
    """Sorted unique part indices chosen by ``on``.

    Args:
        on: a name, an index in ``0 .. count-1``, or a non-empty sequence of them.
        names: every accepted name -> the indices it stands for (a group may stand for several).
        count: the number of parts.
        where: the domain, for error messages.

    Raises:
        ValueError: an unknown name (with the nearest known one), an index out of range, or an
            empty selection. TypeError: anything else.
    """
    items = [on] if isinstance(on, (str, int)) else on
    if not isinstance(items, Sequence) or not items:
        raise TypeError(
            f"a boundary part is a name, an index or a non-empty sequence of them, got {on!r}"
        )
    chosen: set[int] = set()
    for item in items:
        if isinstance(item, str):
            if item not in names:
                near = difflib.get_close_matches(item, list(names), n=1)
                hint = f" Did you mean {near[0]!r}?" if near else ""
                raise ValueError(
                    f"unknown boundary part {item!r} of {where}.{hint} Known: "
                    f"{', '.join(names)} (or indices 0..{count - 1})"
                )
            chosen.update(names[item])
        elif isinstance(item, int) and not isinstance(item, bool):
            if not 0 <= item < count:
                raise ValueError(
                    f"boundary part index {item} is out of range: {where} has parts 0..{count - 1}"
                )
            chosen.add(item)
        else:
            raise TypeError(
                f"a boundary part is a name or an index, got {item!r} ({type(item).__name__})"
            )
    return tuple(sorted(chosen))


def _accepted(predicate: Predicate, x: Tensor) -> Tensor:
    """The ``(B,)`` bool mask of ``predicate`` at ``x (B, d)``, checked."""
    mask = torch.as_tensor(predicate(x), device=x.device)
    if mask.shape != (x.shape[0],) or mask.dtype != torch.bool:
        raise ValueError(
            f"a boundary predicate on=... takes points (B, d) and returns (B,) bools; for points "
            f"{tuple(x.shape)} it returned {mask.dtype} of shape {tuple(mask.shape)}"
        )
    return mask


def sample_boundary(
    domain,
    n: int,
    on: Part | Predicate | None = None,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
) -> tuple[Tensor, Tensor]:
    """``n`` points of ``domain``'s boundary, uniform by measure over the part ``on``.

    Args:
        domain: any domain with ``sample_boundary(n, generator, dtype=, device=)``; one with
            named parts (``part=``) for ``on`` given by name or index.
        n: number of points.
        on: ``None`` (the whole boundary), parts by name or index (see the module docstring),
            or a predicate ``x (B, d) -> (B,) bool``, evaluated on uniform boundary samples
            (in ``dtype``); the accepted points are kept and more are drawn until there are
            ``n``, so they are uniform over the accepted part.
        generator, dtype, device: as the domain's ``sample_boundary``.

    Returns:
        ``points (n, d)`` and outward unit ``normals (n, d)``.

    Raises:
        ValueError: a predicate that accepts none of ``2^18`` boundary points, or returns
            something other than ``(B,)`` bools.

    Example:
        >>> from smoothgrid.geometry import Box
        >>> x, normals = sample_boundary(Box([0, 0], [2, 1]), 4, on="top")
        >>> x[:, 1].tolist(), normals[:, 1].tolist()
        ([1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0])
    """
    kw = {"dtype": dtype, "device": device}
    if on is None:
        return domain.sample_boundary(n, generator, **kw)
    if not callable(on):
        if not hasattr(domain, "select_boundary"):
            raise TypeError(
                f"{domain!r} has no named boundary parts; choose a part with a predicate "
                f"on=lambda x: ... instead of {on!r}"
            )
        return domain.sample_boundary(n, generator, part=on, **kw)
    kept: list[tuple[Tensor, Tensor]] = []
    have = drawn = 0
    draw = max(n, _MIN_DRAW)
    while have < n:
        x, normals = domain.sample_boundary(draw, generator, **kw)
        mask = _accepted(on, x)
        kept.append((x[mask], normals[mask]))
        have += int(mask.sum())
        drawn += draw
        if have == 0 and drawn >= _GIVE_UP:
            raise ValueError(
                f"the boundary predicate on=... accepted none of {drawn} points of {domain!r}'s "
                f"boundary; it must be True on a part of positive measure (compare with a "
                f"tolerance, e.g. x[:, 1] > 1 - 1e-6, not x[:, 1] == 1 on a rounded coordinate)"
            )
        rate = max(have, 1) / drawn
        draw = min(_MAX_DRAW, math.ceil(1.2 * (n - have) / rate) + 16)
    x, normals = (torch.cat(t)[:n] for t in zip(*kept))
    return x, normals
