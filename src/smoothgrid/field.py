"""A neural field ``u(x) = decoder(encoding(x))``, optionally under a hard constraint.

``Field.jet`` returns ``u`` with its spatial derivatives by one of three derivative methods:

* ``"jet"``: analytic encoding jets pushed through the decoder (no double backward);
* ``"autograd"``: ``torch.autograd.grad`` with ``create_graph=True`` on ``field(x)``, the
  double-backward reference that coordinate PINNs use;
* ``"fd"``: central finite differences of ``field(x)`` (the Instant-NGP-FD / Neuralangelo
  baseline). Their error is ``O(h^2)`` truncation plus round-off ``O(eps / h)`` (first
  derivatives) or ``O(eps / h^2)`` (second), ``eps`` the dtype's machine epsilon, relative to the
  field's scale of variation, the finest active cell ``Delta``. The default step minimises the
  sum: ``h = eps^(1/3) Delta`` for first derivatives and ``h = eps^(1/4) Delta`` for second
  ones (:func:`default_fd_step`), leaving relative errors ``O(eps^(2/3))`` and ``O(eps^(1/2))``.
  Measured on quintic fields against the analytic jet (largest error over 400 points relative
  to the largest value, tests/test_field.py): gradient ~2e-4 and Laplacian ~2e-2 in float32,
  ~2e-10 and ~2e-5 in float64 (one cell as the step: 0.8 for both). Where a stencil straddles a
  cell face of a C1 encoding (Hermite, cosine), second differences see the jump of the second
  derivative there and are no better than O(1) at those points.
  ``fd_cells`` (a Field option) fixes the step to a number of finest cells instead, as the
  ``ingp_fd`` baseline does (one cell, as Neuralangelo).

The encoding is any :class:`~smoothgrid.encodings.Encoding` (a grid, or the coordinates of the
baselines), the decoder an :class:`~smoothgrid.nn.MLP` or any module with ``forward`` and
``jet`` (e.g. :class:`~smoothgrid.nn.PirateNet`).

All three return the same :class:`~smoothgrid.jet.Jet` and keep the autograd graph, so a loss
built from any of them trains the field with ``loss.backward()``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from . import encodings
from .encodings.protocol import Encoding
from .jet import Jet, _check_order
from .nn import MLP, decoder_from_config
from .options import RecordsOptions, plain

__all__ = ["Field", "HardConstraint", "DERIVATIVES", "default_fd_step"]

DERIVATIVES = ("jet", "autograd", "fd")
"""The derivative methods of :meth:`Field.jet`."""


def default_fd_step(cell: Tensor, dtype: torch.dtype, derivative: int) -> Tensor:
    """The central-difference step that balances truncation and round-off error.

    A central difference of the ``k``-th derivative has truncation error ``~ h^2 f^(k+2)`` and
    round-off error ``~ eps f / h^k``; with ``f^(j) ~ f / cell^j`` (the field varies on the scale
    of its finest cell) their sum is smallest at ``h = eps^(1 / (k + 2)) * cell``, where the
    relative error is ``O(eps^(2 / (k + 2)))``.

    Args:
        cell: ``(d,)`` the finest active cell's edges, domain units.
        dtype: the dtype the field is evaluated in (its ``eps``).
        derivative: ``k``, 1 or 2.

    Returns:
        ``(d,)`` steps in domain units.

    Example:
        >>> default_fd_step(torch.tensor([0.01]), torch.float32, 1)  # eps^(1/3) cells
        tensor([4.9216e-05])
    """
    return cell * torch.finfo(dtype).eps ** (1.0 / (derivative + 2))


class HardConstraint:
    """``u(x) = g(x) + B(x) N(x)``: exact boundary values by construction.

    Args:
        factor: ``B``: a function of the coordinate jet ``X`` (``C = d``, see
            :meth:`Jet.coordinates`) returning a jet with 1 or ``out`` channels, zero where ``u``
            is prescribed; written with jet arithmetic, e.g. ``lambda X: 1 - X[..., 0] ** 2``.
        offset: ``g``, likewise, taking the prescribed values there (``None``: zero).

    Example:
        >>> c = HardConstraint(lambda X: (1 - X[..., 0] ** 2) * (1 - X[..., 1] ** 2))
    """

    def __init__(
        self, factor: Callable[[Jet], Jet], offset: Callable[[Jet], Jet] | None = None
    ) -> None:
        self.factor = factor
        self.offset = offset

    def __call__(self, coordinates: Jet, n: Jet) -> Jet:
        """Combine the coordinate jet ``X`` and the network's jet ``N`` into ``u``'s jet."""
        u = self.factor(coordinates) * n
        if self.offset is not None:
            u = u + self.offset(coordinates)
        return u


class Field(nn.Module, RecordsOptions):
    """``u(x) = decoder(encoding(x))`` with analytic, autograd or finite-difference derivatives.

    The field's input box is its encoding's: built without ``bounds``, the encoding takes the
    unit box ``[0, 1]^d`` until :meth:`set_bounds` (or :func:`smoothgrid.solve`, which adopts
    the problem's box) gives another.

    Args:
        encoding: an :class:`~smoothgrid.encodings.Encoding`: a grid encoding (see
            :func:`smoothgrid.encodings.make`) or a coordinate encoding.
        hidden: hidden widths of the MLP decoder.
        out: output channels ``C``.
        activation: the decoder's activation (see :class:`~smoothgrid.nn.MLP`).
        constraint: an optional :class:`HardConstraint`.
        omega0: SIREN frequency when ``activation="sin"``.
        decoder: a module replacing the MLP (``hidden``, ``activation`` and ``omega0`` are then
            unused): ``forward(h: (B, encoding.out_features)) -> (B, out)`` and
            ``jet(Jet) -> Jet`` with the same channels.
        derivatives: the field's own derivative method, one of :data:`DERIVATIVES`: what
            :meth:`jet` and :func:`smoothgrid.solve` use when not given one (the baselines
            build theirs with their paper's). Stored as :attr:`derivatives` (assignable).
        fd_cells: the ``fd`` step as a number of the finest active level's cells (the
            ``ingp_fd`` baseline: 1); ``None``: the accurate default (see the module
            docstring and :func:`default_fd_step`).
        decoder_impl: the MLP decoder's jet implementation, ``"torch"`` (default),
            ``"auto"`` or ``"triton"`` (the fused kernel; see :class:`~smoothgrid.nn.MLP`).

    Every option is recorded: :meth:`config` rebuilds the field with :meth:`from_config`, except
    the hard constraint, which holds functions and is not recorded (:func:`smoothgrid.solve`
    adopts the problem's constraint again).

    Example:
        >>> import smoothgrid as sg
        >>> enc = sg.encodings.make("hermite", dim=2, levels=4, min_res=4, max_res=32)
        >>> field = sg.Field(enc, hidden=(32,), out=1)
        >>> u = field.jet(torch.rand(8, 2), order=2)
        >>> u.value.shape, u.grad.shape, u.lap.shape
        (torch.Size([8, 1]), torch.Size([8, 1, 2]), torch.Size([8, 1]))
    """

    def __init__(
        self,
        encoding: Encoding,
        hidden: Sequence[int] = (64, 64),
        out: int = 1,
        activation: str = "tanh",
        constraint: HardConstraint | None = None,
        omega0: float = 30.0,
        decoder: nn.Module | None = None,
        derivatives: str = "jet",
        fd_cells: float | None = None,
        decoder_impl: str = "torch",
    ) -> None:
        super().__init__()
        if not isinstance(encoding, Encoding):
            raise TypeError(
                f"encoding must be a smoothgrid encoding, got {type(encoding).__name__}"
            )
        if decoder is not None and not callable(getattr(decoder, "jet", None)):
            raise TypeError(f"decoder must have a jet(Jet) method, got {type(decoder).__name__}")
        self.encoding = encoding
        if decoder is None:
            decoder = MLP(encoding.out_features, hidden, out, activation, omega0, decoder_impl)
        self.decoder = decoder
        self.constraint = constraint
        self.out = int(out)
        self.derivatives = derivatives
        if fd_cells is not None and not fd_cells > 0:
            raise ValueError(f"fd_cells must be > 0 or None, got {fd_cells!r}")
        self.fd_cells = fd_cells

    @property
    def derivatives(self) -> str:
        """The field's own derivative method, one of :data:`DERIVATIVES` (recorded in
        :meth:`config`)."""
        return self._options["derivatives"]

    @derivatives.setter
    def derivatives(self, method: str) -> None:
        if method not in DERIVATIVES:
            raise ValueError(
                f"unknown derivative method {method!r}; known: {', '.join(DERIVATIVES)}"
            )
        self._options["derivatives"] = method

    def config(self) -> dict[str, Any]:
        """``{"encoding": {"name": ..., <options>}, "field": {<options>}}`` in plain JSON / YAML
        values: every option of the encoding and of the field except the encoding itself and
        the hard constraint (functions are not recorded); a decoder given in place of the MLP
        is recorded as its own ``{"name": ..., <options>}``.

        Example:
            >>> import smoothgrid as sg
            >>> field = sg.Field(sg.encodings.make("quintic", 2, levels=2, max_res=32))
            >>> sorted(field.config()["field"])  # doctest: +NORMALIZE_WHITESPACE
            ['activation', 'decoder', 'decoder_impl', 'derivatives', 'fd_cells', 'hidden',
             'omega0', 'out']
        """
        options = self.options
        options.pop("encoding")
        options.pop("constraint")
        decoder = options["decoder"]
        if decoder is not None and not callable(getattr(decoder, "config", None)):
            options["decoder"] = {"name": type(decoder).__name__}  # not rebuildable
        return {"encoding": self.encoding.config(), "field": plain(options, "field")}

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], constraint: HardConstraint | None = None
    ) -> Field:
        """Rebuild a field from its :meth:`config` (fresh parameters: load the original's state
        dict to get the same values).

        Args:
            config: ``{"encoding": {...}, "field": {...}}``.
            constraint: the hard constraint, which the config does not hold.

        Example:
            >>> import smoothgrid as sg
            >>> field = sg.Field(sg.encodings.make("hermite", 2, levels=2, max_res=32))
            >>> twin = sg.Field.from_config(field.config())
            >>> _ = twin.load_state_dict(field.state_dict())
        """
        options = dict(config.get("field", {}))
        decoder = options.pop("decoder", None)
        if isinstance(decoder, Mapping):
            decoder = decoder_from_config(decoder)
        encoding = encodings.from_config(config["encoding"])
        return cls(encoding, constraint=constraint, decoder=decoder, **options)

    @property
    def dim(self) -> int:
        """Input dimension ``d``."""
        return self.encoding.dim

    def set_bounds(self, lo, hi) -> None:
        """Set the input box (see :meth:`~smoothgrid.encodings.Encoding.set_bounds`)."""
        self.encoding.set_bounds(lo, hi)

    def forward(self, x: Tensor) -> Tensor:
        """``x: (B, d)`` in domain coordinates -> ``u: (B, C)``."""
        return self._values(x, check=True)

    def _values(self, x: Tensor, check: bool) -> Tensor:
        enc = self.encoding
        n = self.decoder(enc.encode_unit(enc.to_unit(x, check)))
        if self.constraint is None:
            return n
        return self.constraint(Jet(x), Jet(n)).value

    def jet(
        self,
        x: Tensor,
        order: int = 2,
        hessian: bool = False,
        lap_axes: Sequence[int] | None = None,
        derivatives: str | None = None,
        fd_step: float | Tensor | None = None,
    ) -> Jet:
        """``u`` and its derivatives at ``x``.

        Args:
            x: ``(B, d)`` points in domain coordinates.
            order: 0, 1 or 2.
            hessian: at order 2, the full Hessian instead of the Laplacian.
            lap_axes: the Laplacian's axes (``None``: all).
            derivatives: ``"jet"``, ``"autograd"`` or ``"fd"`` (see the module docstring);
                ``None``: the field's own (:attr:`derivatives`).
            fd_step: the ``fd`` step in domain units, a number or ``(d,)``, for every
                derivative; default ``fd_cells`` finest cells if the field has them, else
                :func:`default_fd_step` of the finest active cell for each derivative order
                (required for an encoding without a grid).

        Returns:
            A :class:`~smoothgrid.jet.Jet` with ``C = out`` channels.
        """
        _check_order(order)
        lap_axes = self.encoding._check_lap_axes(lap_axes)
        derivatives = self.derivatives if derivatives is None else derivatives
        if derivatives == "jet":
            return self._jet_analytic(x, order, hessian, lap_axes)
        if derivatives == "autograd":
            return _autograd_jet(lambda p: self._values(p, True), x, order, hessian, lap_axes)
        if derivatives == "fd":
            self.encoding.to_unit(x)  # validate the points themselves
            first, second = self._fd_steps(x.dtype, fd_step)
            return _fd_jet(
                lambda p: self._values(p, False), x, order, hessian, lap_axes, first, second
            )
        raise ValueError(
            f"unknown derivative method {derivatives!r}; known: {', '.join(DERIVATIVES)}"
        )

    def _fd_steps(
        self, dtype: torch.dtype, fd_step: float | Tensor | None
    ) -> tuple[float | Tensor, float | Tensor | None]:
        """Steps of the first and second differences (``None``: the first's)."""
        if fd_step is not None:
            return fd_step, None
        cell = self.encoding.cell_size()
        if self.fd_cells is not None:
            return cell * self.fd_cells, None
        return default_fd_step(cell, dtype, 1), default_fd_step(cell, dtype, 2)

    def _jet_analytic(
        self, x: Tensor, order: int, hessian: bool, lap_axes: tuple[int, ...] | None
    ) -> Jet:
        n = self.decoder.jet(self.encoding.jet(x, order, hessian, lap_axes))
        if self.constraint is None:
            return n
        return self.constraint(Jet.coordinates(x, order, hessian, lap_axes), n)


def _autograd_jet(
    f: Callable[[Tensor], Tensor],
    x: Tensor,
    order: int,
    hessian: bool,
    lap_axes: tuple[int, ...] | None,
) -> Jet:
    """Derivatives of ``f: (B, d) -> (B, C)`` by ``torch.autograd.grad(create_graph=True)``."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        value = f(x)
        if order == 0:
            return Jet(value)
        d = x.shape[1]

        def grad_of(y: Tensor) -> Tensor:
            return torch.autograd.grad(
                y.sum(), x, create_graph=True, allow_unused=True, materialize_grads=True
            )[0]

        grads = [grad_of(value[:, c]) for c in range(value.shape[1])]
        grad = torch.stack(grads, dim=1)  # (B, C, d)
        if order == 1:
            return Jet(value, grad)
        if hessian:
            hess = torch.stack(
                [torch.stack([grad_of(g[:, i]) for i in range(d)], dim=-2) for g in grads], dim=1
            )
            return Jet(value, grad, hess=hess, lap_axes=lap_axes)
        axes = range(d) if lap_axes is None else lap_axes
        lap = torch.stack([sum(grad_of(g[:, i])[:, i] for i in axes) for g in grads], dim=1)
        return Jet(value, grad, lap=lap, lap_axes=lap_axes)


def _fd_jet(
    f: Callable[[Tensor], Tensor],
    x: Tensor,
    order: int,
    hessian: bool,
    lap_axes: tuple[int, ...] | None,
    step: float | Tensor,
    second_step: float | Tensor | None = None,
) -> Jet:
    """Central finite differences of ``f: (B, d) -> (B, C)``.

    ``step`` (a number or ``(d,)``) for the gradient, ``second_step`` for the second
    derivatives (``None``: the same). All stencil points go through ``f`` in one batch:
    ``1 + 2d`` of them, ``2d`` more for a second step of its own, and ``4`` per axis pair for a
    full Hessian.
    """
    B, d = x.shape
    if order == 0:
        return Jet(f(x))

    def per_axis(h: float | Tensor) -> Tensor:
        return torch.as_tensor(h, dtype=x.dtype, device=x.device).flatten().expand(d)

    h1 = per_axis(step)
    own_second = order == 2 and second_step is not None
    h2 = per_axis(second_step) if own_second else h1
    eye = torch.eye(d, dtype=x.dtype, device=x.device)
    shifts = [torch.zeros(1, d, dtype=x.dtype, device=x.device)]
    shifts += [torch.stack([sign * h1[i] * eye[i] for sign in (1.0, -1.0)]) for i in range(d)]
    if own_second:
        shifts += [torch.stack([sign * h2[i] * eye[i] for sign in (1.0, -1.0)]) for i in range(d)]
    pairs = [(i, j) for i in range(d) for j in range(i + 1, d)] if (order == 2 and hessian) else []
    for i, j in pairs:
        shifts += [torch.stack([si * h2[i] * eye[i] + sj * h2[j] * eye[j] for si, sj in _SIGNS])]
    shift = torch.cat(shifts)
    points = (x.unsqueeze(0) + shift[:, None, :]).reshape(-1, d)
    values = f(points).reshape(len(shift), B, -1)
    centre = values[0]
    plus, minus = values[1 : 1 + 2 * d : 2], values[2 : 2 + 2 * d : 2]  # (d, B, C)
    grad = ((plus - minus) / (2.0 * h1[:, None, None])).permute(1, 2, 0)
    if order == 1:
        return Jet(centre, grad)
    base = 1 + 2 * d
    if own_second:
        plus, minus = values[base : base + 2 * d : 2], values[base + 1 : base + 2 * d : 2]
        base += 2 * d
    second = (plus - 2.0 * centre + minus) / (h2[:, None, None] ** 2)  # (d, B, C)
    if not hessian:
        axes = list(range(d)) if lap_axes is None else list(lap_axes)
        return Jet(centre, grad, lap=second[axes].sum(0), lap_axes=lap_axes)
    hess = torch.diag_embed(second.permute(1, 2, 0))  # (B, C, d, d)
    for k, (i, j) in enumerate(pairs):
        pp, pm, mp, mm = values[base + 4 * k : base + 4 * k + 4]
        mixed = (pp - pm - mp + mm) / (4.0 * h2[i] * h2[j])
        hess[..., i, j] = mixed
        hess[..., j, i] = mixed
    return Jet(centre, grad, hess=hess, lap_axes=lap_axes)


_SIGNS = ((1.0, 1.0), (1.0, -1.0), (-1.0, 1.0), (-1.0, -1.0))
"""Corner signs of a mixed second difference, in the order ``_fd_jet`` reads them."""
