"""The part of a box outside a closed solid: the domain of a problem around an obstacle.

Its boundary has seven parts: the box's six faces (``"left" ... "front"``, indices ``0 .. 5``,
named as :class:`~.box.Box` names them) and the solid's ``"surface"`` (index 6); ``"box"`` stands
for all six faces. A condition picks parts by name (``Dirichlet(value, on="surface")``). Points
are ``(n, 3)`` in domain coordinates; samplers follow :class:`~.box.Box` (float64 on the
generator's device, then cast).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from .boundary import Part, face_aliases, select_parts
from .box import Box
from .solid import Solid

__all__ = ["ExteriorDomain", "BOUNDARY_PARTS"]

BOUNDARY_PARTS = ("box", "surface")
"""The two groups of boundary parts of an :class:`ExteriorDomain`: its box's faces and the
solid's surface (each face is also a part of its own, see :attr:`ExteriorDomain.boundary_names`)."""
_SURFACE = 6


class ExteriorDomain:
    """``box \\ solid``: the points of a 3D box outside a closed solid.

    Args:
        box: the outer box (3D).
        solid: a :class:`~.solid.Solid` strictly inside it.

    Attributes:
        dim: 3. lo, hi: the box's corners (float64 ``(3,)``).

    Example:
        >>> from smoothgrid.geometry import Box, make_shape
        >>> domain = ExteriorDomain(Box([-1] * 3, [1] * 3), make_shape("sphere", radius=0.5))
        >>> x, normals = domain.sample_boundary(8, part="surface")
        >>> bool(torch.allclose(normals, -x / x.norm(dim=1, keepdim=True), atol=1e-6))
        True
    """

    def __init__(self, box: Box, solid: Solid) -> None:
        if box.dim != 3:
            raise ValueError(f"an exterior domain needs a 3D box, got a {box.dim}-D one")
        self.box = box
        self.solid = solid
        self.dim = 3
        self.lo, self.hi = box.lo, box.hi

    def __repr__(self) -> str:
        return f"ExteriorDomain({self.box!r}, {self.solid!r})"

    @property
    def bounds(self) -> tuple[list[float], list[float]]:
        """The box's ``(lo, hi)`` as lists (what encodings' ``set_bounds`` takes)."""
        return self.box.bounds

    def outside(self, x: Tensor) -> Tensor:
        """``(n,)`` bool: whether each point of ``x (n, 3)`` lies outside the solid."""
        return self.solid.sdf(x) > 0

    def sample_interior(
        self,
        n: int,
        generator: torch.Generator | None = None,
        stratified: bool = False,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
    ) -> Tensor:
        """``(n, 3)`` points uniform in the domain: box points (uniform or stratified) that fall
        inside the solid are drawn again."""
        kept: list[Tensor] = []
        have, draw = 0, n
        while have < n:
            x = self.box.sample_interior(draw, generator, stratified, torch.float64, device)
            x = x[self.outside(x)]
            kept.append(x)
            have += len(x)
            draw = max(64, 2 * (n - have))
        return torch.cat(kept)[:n].to(dtype)

    @property
    def boundary_names(self) -> tuple[str, ...]:
        """The parts in index order: the six faces (as :attr:`Box.boundary_names`), then
        ``"surface"``."""
        return (*self.box.boundary_names, "surface")

    def select_boundary(self, on: Part) -> tuple[int, ...]:
        """Sorted part indices chosen by ``on``: a face name or index (``0 .. 5``),
        ``"surface"`` (6), ``"box"`` (all faces), or a sequence of them."""
        names = {**face_aliases(3), "box": tuple(range(6)), "surface": (_SURFACE,)}
        return select_parts(on, names, 7, "an exterior domain")

    def sample_boundary(
        self,
        n: int,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
        part: Part | None = None,
    ) -> tuple[Tensor, Tensor]:
        """``n`` points on the boundary, uniform by area, with the domain's outward normals.

        Args:
            n: number of points.
            generator, dtype, device: as :meth:`Box.sample_boundary`.
            part: parts by name or index (see :meth:`select_boundary`): ``"box"`` (the faces),
                ``"surface"`` (the solid's; the normals point into the solid), single faces,
                or ``None`` (all; each point's part drawn by area).

        Returns:
            ``points (n, 3)`` and unit ``normals (n, 3)``.
        """
        chosen = range(7) if part is None else self.select_boundary(part)
        faces = [k for k in chosen if k != _SURFACE]
        on_box = n
        if faces and _SURFACE in chosen:
            box_area = float(self.box.face_areas()[faces].sum())
            areas = torch.tensor([box_area, self.solid.area])
            where = generator.device if generator is not None else device
            on_box = int(
                torch.multinomial(areas.to(where), n, True, generator=generator).eq(0).sum()
            )
        elif not faces:
            on_box = 0
        parts = []
        if faces:
            which = None if len(faces) == 6 else faces
            parts.append(self.box.sample_boundary(on_box, generator, torch.float64, device, which))
        if _SURFACE in chosen:
            x, normals = self.solid.sample_surface(n - on_box, generator, torch.float64, device)
            parts.append((x, -normals))
        x, normals = (torch.cat(t) for t in zip(*parts))
        return x.to(dtype), normals.to(dtype)

    def grid(self, n: int | Sequence[int]) -> Tensor:
        """The box's regular grid (see :meth:`Box.grid`) without the nodes inside the solid:
        ``(N, 3)`` float64."""
        x = self.box.grid(n)
        return x[self.outside(x)]

    def contains(self, x: Tensor, tol: float = 1e-9) -> Tensor:
        """``(n,)`` bool: in the box and not inside the solid (``tol`` slack on both)."""
        return self.box.contains(x, tol) & (self.solid.sdf(x) > -tol)
