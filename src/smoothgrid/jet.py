"""Second-order jets: values with their analytic spatial derivatives.

A :class:`Jet` carries, for a batch of ``B`` points and ``C`` channels,

* ``value``: ``(B, C)``,
* ``grad``:  ``(B, C, d)`` first derivatives (order >= 1),
* ``hess``:  ``(B, C, d, d)`` full Hessian (order 2, ``hessian=True``), or
* ``lap``:   ``(B, C)`` the Laplacian over ``lap_axes`` (order 2, ``hessian=False``).

Every derivative is taken with respect to the *domain* coordinates ``x`` of the points. Jets are
pushed through functions by the chain rule, so a PDE residual is written as arithmetic on jets
and training needs only one ordinary (first-order) backward pass::

    u = field.jet(x, order=2)                 # Jet of the network output
    residual = u.lap + k**2 * u.value - q     # a plain tensor

Arithmetic (``+ - * /``, ``**`` with a number), elementwise functions (:func:`sin`, :func:`exp`,
...), linear maps (:func:`linear`) and channel slicing (``u[..., 0]``, which keeps the channel
axis) all return jets. A tensor or number in an expression counts as a constant (zero derivatives).

Internally derivative axes may be stored first (``grad`` as a permuted view of a ``(d, B, C)``
tensor); every operation here is layout-agnostic, and linear maps keep that layout so matrix
products stay contiguous.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Union

import torch
from torch import Tensor

from .elementwise import ACTIVATIONS, FUNCTIONS, Derivatives, activation_derivatives

__all__ = [
    "Jet",
    "Derivatives",
    "apply",
    "linear",
    "cat",
    "sin",
    "cos",
    "exp",
    "tanh",
    "sqrt",
    "square",
    "ACTIVATIONS",
    "activation_derivatives",
    "MultiIndex",
    "derivative_multi_indices",
]

Operand = Union["Jet", Tensor, float, int]
MultiIndex = tuple[int, ...]
"""Derivative counts per axis, e.g. ``(1, 0)`` = d/dx, ``(0, 2)`` = d2/dy2."""


class Jet:
    """A batch of values with their gradient and Hessian (or Laplacian) in domain coordinates.

    Args:
        value: ``(B, C)``.
        grad: ``(B, C, d)`` or ``None`` (order 0).
        hess: ``(B, C, d, d)`` or ``None``.
        lap: ``(B, C)`` or ``None``; the Laplacian summed over ``lap_axes``. Give ``hess`` or
            ``lap`` (not both) for order 2; neither for order <= 1.
        lap_axes: the axes the Laplacian sums over (``None``: all ``d`` axes). With a full
            Hessian, :attr:`lap` is its trace over these axes.

    Example:
        >>> x = torch.rand(5, 2, dtype=torch.float64)
        >>> X = Jet.coordinates(x, order=2)           # the identity map, C = d = 2
        >>> r2 = X[..., 0] ** 2 + X[..., 1] ** 2      # |x|^2 as a jet, C = 1
        >>> bool(torch.allclose(r2.lap, torch.full((5, 1), 4.0, dtype=torch.float64)))
        True
    """

    __slots__ = ("value", "grad", "hess", "_lap", "lap_axes")

    def __init__(
        self,
        value: Tensor,
        grad: Tensor | None = None,
        hess: Tensor | None = None,
        lap: Tensor | None = None,
        lap_axes: Sequence[int] | None = None,
    ) -> None:
        if value.dim() != 2:
            raise ValueError(f"Jet value must have shape (B, C), got {tuple(value.shape)}")
        if grad is None and (hess is not None or lap is not None):
            raise ValueError("a Jet with second derivatives needs its gradient too")
        if hess is not None and lap is not None:
            raise ValueError("give either the full Hessian or the Laplacian, not both")
        if grad is not None and grad.shape[:2] != value.shape:
            raise ValueError(
                f"Jet grad must have shape (B, C, d) = {tuple(value.shape)} + (d,), "
                f"got {tuple(grad.shape)}"
            )
        if hess is not None and hess.shape != grad.shape + grad.shape[-1:]:
            raise ValueError(
                f"Jet hess must have shape (B, C, d, d) = {tuple(grad.shape)} + "
                f"({grad.shape[-1]},), got {tuple(hess.shape)}"
            )
        if lap is not None and lap.shape != value.shape:
            raise ValueError(
                f"Jet lap must have shape (B, C) = {tuple(value.shape)}, got {tuple(lap.shape)}"
            )
        self.value = value
        self.grad = grad
        self.hess = hess
        self._lap = lap
        self.lap_axes = None if lap_axes is None else tuple(int(a) for a in lap_axes)

    # ----------------------------------------------------------------- structure
    @property
    def order(self) -> int:
        """0 (value), 1 (+ gradient) or 2 (+ Hessian or Laplacian)."""
        if self.grad is None:
            return 0
        return 2 if (self.hess is not None or self._lap is not None) else 1

    @property
    def dim(self) -> int:
        """Number of spatial dimensions ``d`` (0 for an order-0 jet)."""
        return 0 if self.grad is None else self.grad.shape[-1]

    @property
    def channels(self) -> int:
        """Number of channels ``C``."""
        return self.value.shape[1]

    @property
    def lap(self) -> Tensor:
        """``(B, C)`` Laplacian over :attr:`lap_axes` (the trace of the Hessian if it is full)."""
        if self._lap is not None:
            return self._lap
        if self.hess is None:
            raise ValueError(f"this jet has order {self.order}: it carries no second derivatives")
        diag = torch.diagonal(self.hess, dim1=-2, dim2=-1)
        return _sum_axes(diag, self.lap_axes)

    def d(self, i: int) -> Tensor:
        """``(B, C)`` first derivative along axis ``i``."""
        if self.grad is None:
            raise ValueError("this jet has order 0: it carries no derivatives")
        return self.grad[..., i]

    def d2(self, i: int, j: int) -> Tensor:
        """``(B, C)`` second derivative along axes ``i`` and ``j`` (needs the full Hessian)."""
        if self.hess is None:
            raise ValueError(
                "this jet carries no full Hessian; ask for it with hessian=True"
                if self._lap is not None
                else f"this jet has order {self.order}: it carries no second derivatives"
            )
        return self.hess[..., i, j]

    def __repr__(self) -> str:
        kind = "hess" if self.hess is not None else ("lap" if self._lap is not None else "")
        return (
            f"Jet(B={self.value.shape[0]}, C={self.channels}, d={self.dim}, order={self.order}"
            f"{', ' + kind if kind else ''}, dtype={self.value.dtype})"
        )

    def detach(self) -> Jet:
        """The same jet cut from the autograd graph."""
        return self._map_parts(lambda t: t.detach())

    def to(self, *args, **kwargs) -> Jet:
        """Move or cast every part, as :meth:`torch.Tensor.to`."""
        return self._map_parts(lambda t: t.to(*args, **kwargs))

    def _map_parts(self, f: Callable[[Tensor], Tensor]) -> Jet:
        return Jet(
            f(self.value),
            None if self.grad is None else f(self.grad),
            None if self.hess is None else f(self.hess),
            None if self._lap is None else f(self._lap),
            self.lap_axes,
        )

    # ---------------------------------------------------------------- builders
    @staticmethod
    def coordinates(
        x: Tensor, order: int = 2, hessian: bool = False, lap_axes: Sequence[int] | None = None
    ) -> Jet:
        """The identity map ``x -> x`` as a jet with ``C = d`` channels.

        Args:
            x: ``(B, d)`` points in domain coordinates.
            order: 0, 1 or 2.
            hessian: carry the full (zero) Hessian instead of the Laplacian.
            lap_axes: axes of the Laplacian (``None``: all).

        Use it to build jets of known functions of ``x`` (hard-constraint factors, manufactured
        solutions) with ordinary jet arithmetic.
        """
        _check_order(order)
        B, d = x.shape
        grad = hess = lap = None
        if order >= 1:
            grad = torch.eye(d, dtype=x.dtype, device=x.device).expand(B, d, d)
        if order == 2:
            if hessian:
                hess = x.new_zeros(B, d, d, d)
            else:
                lap = x.new_zeros(B, d)
        return Jet(x, grad, hess, lap, lap_axes)

    @staticmethod
    def constant(value: Tensor, like: Jet) -> Jet:
        """A jet of ``value`` (broadcast to ``like.value``'s shape) with zero derivatives."""
        value = torch.broadcast_to(value, like.value.shape)
        grad = hess = lap = None
        if like.grad is not None:
            grad = value.new_zeros(()).expand(like.grad.shape)
        if like.hess is not None:
            hess = value.new_zeros(()).expand(like.hess.shape)
        if like._lap is not None:
            lap = value.new_zeros(()).expand(like._lap.shape)
        return Jet(value, grad, hess, lap, like.lap_axes)

    # --------------------------------------------------------------- arithmetic
    def __getitem__(self, key) -> Jet:
        """Channel slicing: ``u[..., i]`` (keeps the channel axis, C = 1), ``u[..., i:j]``,
        ``u[..., [i, j]]``. Only the channel axis may be indexed."""
        if not (isinstance(key, tuple) and len(key) == 2 and key[0] is Ellipsis):
            raise TypeError(
                "a Jet is indexed along its channel axis only: use u[..., i], u[..., i:j] or "
                f"u[..., [i, j]]; got {key!r}"
            )
        k = key[1]
        if isinstance(k, int):
            k = slice(k, k + 1) if k != -1 else slice(-1, None)
        return Jet(
            self.value[:, k],
            None if self.grad is None else self.grad[:, k],
            None if self.hess is None else self.hess[:, k],
            None if self._lap is None else self._lap[:, k],
            self.lap_axes,
        )

    def __neg__(self) -> Jet:
        return self._map_parts(torch.neg)

    def __add__(self, other: Operand) -> Jet:
        if not isinstance(other, Jet):
            return Jet(self.value + other, self.grad, self.hess, self._lap, self.lap_axes)
        a, b = _common(self, other)
        return Jet(
            a.value + b.value,
            _add(a.grad, b.grad),
            _add(a.hess, b.hess),
            _add(a._lap, b._lap),
            a.lap_axes,
        )

    __radd__ = __add__

    def __sub__(self, other: Operand) -> Jet:
        return self + (-other)

    def __rsub__(self, other: Operand) -> Jet:
        return (-self) + other

    def __mul__(self, other: Operand) -> Jet:
        if not isinstance(other, Jet):
            c = other
            if isinstance(c, Tensor) and c.dim() > 0:
                c = torch.broadcast_to(c, self.value.shape)
                cd = c.unsqueeze(-1)
                return Jet(
                    self.value * c,
                    None if self.grad is None else self.grad * cd,
                    None if self.hess is None else self.hess * cd.unsqueeze(-1),
                    None if self._lap is None else self._lap * c,
                    self.lap_axes,
                )
            return self._map_parts(lambda t: t * c)
        a, b = _common(self, other)
        value = a.value * b.value
        if a.grad is None:
            return Jet(value)
        u, v = a.value.unsqueeze(-1), b.value.unsqueeze(-1)
        grad = a.grad * v + b.grad * u
        hess = lap = None
        if a.hess is not None:
            outer = a.grad.unsqueeze(-1) * b.grad.unsqueeze(-2)
            hess = (
                a.hess * v.unsqueeze(-1)
                + b.hess * u.unsqueeze(-1)
                + outer
                + outer.transpose(-1, -2)
            )
        elif a._lap is not None:
            cross = _sum_axes(a.grad * b.grad, a.lap_axes)
            lap = a._lap * b.value + b._lap * a.value + 2.0 * cross
        return Jet(value, grad, hess, lap, a.lap_axes)

    __rmul__ = __mul__

    def __truediv__(self, other: Operand) -> Jet:
        if not isinstance(other, Jet):
            return self * (1.0 / other)
        return self * other.reciprocal()

    def __rtruediv__(self, other: Operand) -> Jet:
        return self.reciprocal() * other

    def __pow__(self, p: float) -> Jet:
        if isinstance(p, (Jet, Tensor)):
            raise TypeError("Jet ** p takes a number p; write exp(p * log(u)) for other powers")
        if p == 2:
            return square(self)
        return apply(self, lambda z: (z**p, p * z ** (p - 1), p * (p - 1) * z ** (p - 2)))

    def reciprocal(self) -> Jet:
        """``1 / u`` elementwise."""

        def f(z: Tensor) -> Derivatives:
            r = 1.0 / z
            return r, -r * r, 2.0 * r * r * r

        return apply(self, f)

    def sum(self) -> Jet:
        """Sum over channels (``C -> 1``)."""
        return Jet(
            self.value.sum(1, keepdim=True),
            None if self.grad is None else self.grad.sum(1, keepdim=True),
            None if self.hess is None else self.hess.sum(1, keepdim=True),
            None if self._lap is None else self._lap.sum(1, keepdim=True),
            self.lap_axes,
        )


# ----------------------------------------------------------------------- helpers
def _check_order(order: int) -> None:
    if order not in (0, 1, 2):
        raise ValueError(f"derivative order must be 0, 1 or 2, got {order!r}")


def derivative_multi_indices(
    dim: int, order: int, hessian: bool, lap_axes: Sequence[int] | None
) -> list[MultiIndex]:
    """The partial derivatives a jet of this kind is made of, in the order of its components.

    The value; then ``d/dx_i`` for each axis; then either the Hessian's upper triangle
    ``(i <= j)`` row by row, or ``d2/dx_i2`` for ``i`` in ``lap_axes`` (which sum into the
    Laplacian). The encodings compute their weights in this order and the kernels lay out their
    components by it.

    Example:
        >>> derivative_multi_indices(2, 2, hessian=True, lap_axes=None)
        [(0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2)]
    """
    unit = [tuple(int(k == i) for k in range(dim)) for i in range(dim)]
    out: list[MultiIndex] = [(0,) * dim]
    if order >= 1:
        out += unit
    if order == 2:
        if hessian:
            out += [
                tuple(a + b for a, b in zip(unit[i], unit[j]))
                for i in range(dim)
                for j in range(i, dim)
            ]
        else:
            axes = range(dim) if lap_axes is None else lap_axes
            out += [tuple(2 * u for u in unit[i]) for i in axes]
    return out


def _add(a: Tensor | None, b: Tensor | None) -> Tensor | None:
    return None if a is None else a + b


def _sum_axes(t: Tensor, axes: tuple[int, ...] | None) -> Tensor:
    """Sum the last axis of ``t`` over ``axes`` (all if ``None``)."""
    if axes is None:
        return t.sum(-1)
    return t[..., list(axes)].sum(-1)


def _lower(u: Jet, order: int, hessian: bool) -> Jet:
    """Drop ``u``'s parts above ``order``; turn a Hessian into a Laplacian unless ``hessian``."""
    if order == 0:
        return Jet(u.value)
    if order == 1:
        return Jet(u.value, u.grad)
    if u.hess is not None and not hessian:
        return Jet(u.value, u.grad, lap=u.lap, lap_axes=u.lap_axes)
    return u


def _common(a: Jet, b: Jet) -> tuple[Jet, Jet]:
    """Bring two jets to the same order and second-order kind (the less informative one)."""
    if a.order and b.order and a.dim != b.dim:
        raise ValueError(f"cannot combine jets over {a.dim} and {b.dim} dimensions")
    order = min(a.order, b.order)
    hessian = a.hess is not None and b.hess is not None
    if order == 2 and not hessian and a.lap_axes != b.lap_axes:
        raise ValueError(
            f"cannot combine Laplacians over different axes: {a.lap_axes} and {b.lap_axes}"
        )
    return _lower(a, order, hessian), _lower(b, order, hessian)


# ------------------------------------------------------------- chain-rule maps
def apply(u: Jet, f: Callable[[Tensor], Derivatives]) -> Jet:
    """Apply an elementwise function given with its first two derivatives.

    Args:
        u: a jet.
        f: ``z -> (s(z), s'(z), s''(z))``, each shaped like ``z``.

    Returns:
        ``s(u)``: value ``s``, gradient ``s' grad u``, Hessian ``s'' grad u grad u^T + s' hess u``
        (Laplacian mode: ``s'' |grad u|^2 + s' lap u``).
    """
    s, s1, s2 = f(u.value)
    if u.grad is None:
        return Jet(s)
    grad = u.grad * s1.unsqueeze(-1)
    hess = lap = None
    if u.hess is not None:
        outer = u.grad.unsqueeze(-1) * u.grad.unsqueeze(-2)
        hess = outer * s2[..., None, None] + u.hess * s1[..., None, None]
    elif u._lap is not None:
        lap = s2 * _sum_axes(u.grad.square(), u.lap_axes) + s1 * u._lap
    return Jet(s, grad, hess, lap, u.lap_axes)


def linear(u: Jet, weight: Tensor, bias: Tensor | None = None) -> Jet:
    """The affine map ``z = u W^T + b`` on channels.

    Args:
        u: jet with ``C_in`` channels.
        weight: ``(C_out, C_in)``.
        bias: ``(C_out,)`` or ``None``.

    Returns:
        A jet with ``C_out`` channels; derivatives are mapped by ``W`` alone. Derivative axes
        are contracted as leading batch axes, so a derivative-major layout stays contiguous.
    """
    wt = weight.t()
    value = u.value @ wt if bias is None else torch.addmm(bias, u.value, wt)
    grad = hess = lap = None
    if u.grad is not None:
        grad = (u.grad.movedim(-1, 0) @ wt).movedim(0, -1)
    if u.hess is not None:
        hess = (u.hess.permute(2, 3, 0, 1) @ wt).permute(2, 3, 0, 1)
    if u._lap is not None:
        lap = u._lap @ wt
    return Jet(value, grad, hess, lap, u.lap_axes)


def cat(jets: Sequence[Jet]) -> Jet:
    """Concatenate jets along the channel axis (they are first brought to a common order)."""
    if not jets:
        raise ValueError("cat needs at least one jet")
    first = jets[0]
    common = [first]
    for j in jets[1:]:
        a, b = _common(common[0], j)
        common = [_common(c, a)[0] for c in common] + [b]
    parts = list(zip(*[(j.value, j.grad, j.hess, j._lap) for j in common]))
    value, grad, hess, lap = (None if p[0] is None else torch.cat(p, dim=1) for p in parts)
    return Jet(value, grad, hess, lap, common[0].lap_axes)


# ------------------------------------------------------ elementwise functions
def sin(u: Jet) -> Jet:
    """``sin(u)`` elementwise."""
    return apply(u, FUNCTIONS["sin"])


def cos(u: Jet) -> Jet:
    """``cos(u)`` elementwise."""
    return apply(u, FUNCTIONS["cos"])


def exp(u: Jet) -> Jet:
    """``exp(u)`` elementwise."""
    return apply(u, FUNCTIONS["exp"])


def tanh(u: Jet) -> Jet:
    """``tanh(u)`` elementwise."""
    return apply(u, FUNCTIONS["tanh"])


def sqrt(u: Jet) -> Jet:
    """``sqrt(u)`` elementwise (``u > 0``)."""
    return apply(u, FUNCTIONS["sqrt"])


def square(u: Jet) -> Jet:
    """``u**2`` elementwise."""
    return apply(u, FUNCTIONS["square"])
