"""Cloth: the static drape of a pinned square cloth under gravity, by minimising its
Kirchhoff-Love thin-shell energy over a smooth grid field of its position.

The field maps reference coordinates ``(u, v) in [0, 1]^2`` to the deformed position
``x(u, v) in R^3`` (a Hermite grid with a small decoder; value, gradient and Hessian are
analytic jets), the energy is St. Venant-Kirchhoff membrane (change of the first fundamental
form) plus bending (change of the second) plus gravity (:mod:`.shell`), and the pins hold
exactly by a hard constraint (:mod:`.scenes`). :func:`animate_cloth` adds time: backward-Euler
frames from rest, each the same minimisation with an inertia term (:mod:`.dynamics`).

>>> from smoothgrid.apps import cloth
>>> result = cloth.simulate_cloth("drape", time_budget=60, out="runs/drape")  # doctest: +SKIP
>>> result.metrics["max_strain"], result.metrics["free_corners"]             # doctest: +SKIP

Command line: ``smoothgrid cloth drape --time 60 --out runs/drape``.
"""

from .dynamics import animate_cloth, kinetic_energy
from .export import ClothMesh, cloth_mesh, grid_faces, write_cloth_mesh
from .material import GRAVITY, Material
from .plots import VIEWS, plot_views
from .reference import DiscreteShell, discrete_shell
from .scenes import EDGES, SCENES, EdgePart, Scene, edge_part, pin_factor, scene
from .shell import (
    FundamentalForms,
    bending_density,
    flat_reference,
    fundamental_forms,
    gravity_density,
    membrane_density,
    principal_strains,
    shell_densities,
)
from .simulate import CLOTH_GRID, ClothResult, cloth_energies, cloth_field, simulate_cloth

__all__ = [
    "simulate_cloth",
    "animate_cloth",
    "kinetic_energy",
    "ClothResult",
    "cloth_field",
    "cloth_energies",
    "CLOTH_GRID",
    "Material",
    "GRAVITY",
    "Scene",
    "SCENES",
    "EDGES",
    "EdgePart",
    "edge_part",
    "scene",
    "pin_factor",
    "FundamentalForms",
    "fundamental_forms",
    "flat_reference",
    "membrane_density",
    "bending_density",
    "gravity_density",
    "shell_densities",
    "principal_strains",
    "discrete_shell",
    "DiscreteShell",
    "ClothMesh",
    "cloth_mesh",
    "grid_faces",
    "write_cloth_mesh",
    "plot_views",
    "VIEWS",
]
