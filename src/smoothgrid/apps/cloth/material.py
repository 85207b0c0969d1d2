"""The cloth's material: a St. Venant-Kirchhoff thin shell of given thickness and density.

Units are SI throughout: metres, kilograms, seconds, so energies are in joules.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

__all__ = ["Material", "GRAVITY"]

GRAVITY = 9.81
"""Standard gravity, m/s^2."""


@dataclass(frozen=True)
class Material:
    """An isotropic St. Venant-Kirchhoff shell (plane stress).

    The default is a soft, light fabric-like sheet (membrane stiffness ``E h = 100 N/m``,
    bending stiffness ``D = 9.2e-6 N m``, ``0.2 kg/m^2``): stiff enough that a 1 m cloth
    stretches about one per cent under its own weight, soft enough for a few minutes of Adam
    on a CPU. Woven cotton is ~100 times stiffer in membrane (``E h ~ 1e4 N/m``).

    Attributes:
        young: Young's modulus ``E``, Pa (> 0).
        poisson: Poisson's ratio ``nu``, ``-1 < nu < 0.5``.
        thickness: ``h``, m (> 0).
        density: mass per volume ``rho``, kg/m^3 (>= 0; the areal density is ``rho h``).

    Raises:
        ValueError: a parameter that is not a finite number in its range, named.

    Example:
        >>> Material(young=1e5, poisson=0.3, thickness=1e-3).bending_stiffness  # doctest: +ELLIPSIS
        9.157...e-06
    """

    young: float = 1e5
    poisson: float = 0.3
    thickness: float = 1e-3
    density: float = 200.0

    def __post_init__(self) -> None:
        checks = {
            "young": (self.young, lambda v: v > 0, "> 0 (Pa)"),
            "poisson": (self.poisson, lambda v: -1.0 < v < 0.5, "in (-1, 0.5)"),
            "thickness": (self.thickness, lambda v: v > 0, "> 0 (m)"),
            "density": (self.density, lambda v: v >= 0, ">= 0 (kg/m^3)"),
        }
        for name, (value, ok, allowed) in checks.items():
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or not ok(value)
            ):
                raise ValueError(
                    f"material {name} must be a finite number {allowed}, got {value!r}"
                )

    @property
    def membrane_stiffness(self) -> float:
        """``E h / (1 - nu^2)``, N/m: the plane-stress stiffness of the membrane."""
        return self.young * self.thickness / (1.0 - self.poisson**2)

    @property
    def bending_stiffness(self) -> float:
        """``D = E h^3 / (12 (1 - nu^2))``, N m."""
        return self.young * self.thickness**3 / (12.0 * (1.0 - self.poisson**2))

    @property
    def areal_density(self) -> float:
        """``rho h``, kg/m^2."""
        return self.density * self.thickness

    def as_dict(self) -> dict[str, float]:
        """The four parameters (for ``metrics.json`` and ``config.yaml``)."""
        return {k: float(v) for k, v in asdict(self).items()}
