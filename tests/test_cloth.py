"""Cloth: shell energies against closed forms (rigid motion, stretch, cylinder), exact pins,
bad materials and pins, and a tiny run of ``smoothgrid cloth``."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from smoothgrid.apps import cloth
from smoothgrid.cli import main
from smoothgrid.jet import Jet, cat, cos, linear, sin

F64 = torch.float64
L = 0.8  # the cloth's side, m
MATERIAL = cloth.Material(young=2e5, poisson=0.3, thickness=1e-3, density=150.0)


def midpoints(n: int = 16) -> torch.Tensor:
    t = (torch.arange(n, dtype=F64) + 0.5) / n
    return torch.stack(torch.meshgrid(t, t, indexing="ij"), -1).reshape(-1, 2)


def energies(surface) -> dict[str, float]:
    """Membrane and bending energies (J) of ``surface: Jet (u, v) -> Jet (3 channels)``: the
    densities' mean over the unit square."""
    uv = midpoints()
    x = surface(Jet.coordinates(uv, order=2, hessian=True))
    reference = cloth.flat_reference(L, len(uv), F64, "cpu")
    forms = cloth.fundamental_forms(x)
    return {
        "membrane": float(cloth.membrane_density(forms, reference, MATERIAL).mean()),
        "bending": float(cloth.bending_density(forms, reference, MATERIAL).mean()),
    }


def flat(X: Jet) -> Jet:
    return cat([X[..., 0] * L, X[..., 1] * L, X[..., 0] * 0.0])


def test_rigid_motions_of_the_flat_cloth_store_no_energy():
    g = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(3, 3, generator=g, dtype=F64))
    shift = torch.randn(3, generator=g, dtype=F64)
    scale = 0.5 * MATERIAL.membrane_stiffness * L**2 * 0.01**2  # a 1 % stretch's energy
    for motion in (lambda X: flat(X), lambda X: linear(flat(X), q, shift)):
        e = energies(motion)
        assert abs(e["membrane"]) < 1e-12 * scale and abs(e["bending"]) < 1e-12 * scale


@pytest.mark.parametrize("s", [1.01, 1.2, 0.9])
def test_a_stretch_stores_membrane_energy_only(s):
    e = energies(lambda X: cat([X[..., 0] * (s * L), X[..., 1] * L, X[..., 0] * 0.0]))
    # M = diag((s^2 - 1) / 2, 0): E h / (2 (1 - nu^2)) ((s^2 - 1) / 2)^2 per unit area
    expected = 0.5 * MATERIAL.membrane_stiffness * ((s * s - 1) / 2) ** 2 * L**2
    assert e["membrane"] == pytest.approx(expected, rel=1e-12)
    assert abs(e["bending"]) < 1e-12 * expected


@pytest.mark.parametrize(("radius", "s"), [(0.3, 1.0), (0.5, 1.0), (0.4, 1.05)])
def test_a_cylinder_has_its_closed_form_energies(radius, s):
    def cylinder(X: Jet) -> Jet:
        angle = X[..., 0] * (s * L / radius)
        return cat([sin(angle) * radius, X[..., 1] * L, (1.0 - cos(angle)) * radius])

    e = energies(cylinder)
    bending = MATERIAL.bending_stiffness * s**4 / (2 * radius**2) * L**2
    membrane = 0.5 * MATERIAL.membrane_stiffness * ((s * s - 1) / 2) ** 2 * L**2
    assert e["bending"] == pytest.approx(bending, rel=1e-10)
    if s == 1.0:  # bent without stretch: an isometry
        assert abs(e["membrane"]) < 1e-10 * bending
    else:
        assert e["membrane"] == pytest.approx(membrane, rel=1e-10)
    # a bend is positive whichever way it goes (the normal's orientation does not matter)
    flipped = energies(
        lambda X: linear(cylinder(X), torch.diag(torch.tensor([1.0, 1, -1], dtype=F64)))
    )
    assert flipped["bending"] == pytest.approx(bending, rel=1e-10)


def test_principal_strains_of_a_stretch():
    uv = midpoints(4)
    s1, s2 = 1.03, 0.98
    X = Jet.coordinates(uv, order=2, hessian=True)
    x = cat([X[..., 0] * (s1 * L), X[..., 1] * (s2 * L), X[..., 0] * 0.0])
    strains = cloth.principal_strains(
        cloth.fundamental_forms(x), cloth.flat_reference(L, 16, F64, "cpu")
    )
    assert torch.allclose(strains, torch.tensor([[s2 - 1, s1 - 1]], dtype=F64).expand(16, 2))


@pytest.mark.parametrize("name", ["drape", "hang", "clips"])
def test_pins_hold_exactly_for_any_network(name):
    scene = cloth.scene(name, size=L)
    torch.manual_seed(1)
    field = cloth.cloth_field(scene, max_res=8).to(F64)
    with torch.no_grad():  # any decoder: the constraint alone must hold the pins
        field.decoder.layers[-1].weight.normal_()
        field.decoder.layers[-1].bias.normal_()
    if scene.pins:
        pinned = torch.tensor(scene.pins, dtype=F64)
    else:  # the top edge, or its parts
        t = torch.cat(
            [torch.linspace(a, b, 17, dtype=F64) for _, a, b in map(cloth.edge_part, scene.edges)]
        )
        pinned = torch.stack([t, torch.ones_like(t)], 1)
    rest = torch.cat([pinned * L, torch.zeros(len(pinned), 1, dtype=F64)], 1)
    assert torch.equal(field(pinned), rest)
    free = torch.tensor(scene.free_corners, dtype=F64)
    assert (field(free) - torch.cat([free * L, torch.zeros(len(free), 1, dtype=F64)], 1)).norm(
        dim=1
    ).min() > 1e-3
    # the factor vanishes on the pins only
    factor = cloth.pin_factor(scene.pins, scene.edges)(Jet(midpoints(32))).value
    assert factor.min() > 0


def test_scenes_know_their_free_corners():
    for name in ("drape", "hang", "clips"):
        assert cloth.scene(name).free_corners == ((0.0, 0.0), (1.0, 0.0))
    # between two clips the top edge is free, and the factor's Hessian stays bounded
    factor = cloth.pin_factor((), cloth.scene("clips").edges)
    t = torch.linspace(0, 1, 201, dtype=F64)
    top = factor(Jet.coordinates(torch.stack([t, torch.ones_like(t)], 1), order=2, hessian=True))
    free = (t > 0.1 + 1e-9) & (t < 0.9 - 1e-9)
    assert (top.value[free] > 0).all() and (top.value[~free] == 0).all()
    assert top.hess.abs().max() < 50


def test_bad_materials_and_pins_are_refused():
    for key, value, match in [
        ("young", -1.0, "young must be a finite number > 0"),
        ("young", math.nan, "young"),
        ("poisson", 0.5, r"poisson must be a finite number in \(-1, 0.5\), got 0.5"),
        ("poisson", -1.0, "poisson"),
        ("thickness", 0.0, "thickness must be a finite number > 0"),
        ("density", -5.0, "density must be a finite number >= 0"),
    ]:
        with pytest.raises(ValueError, match=match):
            cloth.Material(**{key: value})
    with pytest.raises(ValueError, match=r"pin \(1.2, 0.5\) lies outside the cloth"):
        cloth.Scene("mine", pins=((1.2, 0.5),))
    with pytest.raises(ValueError, match="unknown edge 'tpo'. Did you mean 'top'"):
        cloth.Scene("mine", edges=("tpo",))
    with pytest.raises(ValueError, match=r"pinned part \('top', 0.5, 1.2\) lies outside"):
        cloth.Scene("mine", edges=(("top", 0.5, 1.2),))
    with pytest.raises(ValueError, match="at least one pin"):
        cloth.Scene("mine")
    with pytest.raises(ValueError, match="unknown cloth scene 'drap'. Did you mean 'drape'"):
        cloth.scene("drap")
    assert main(["cloth", "drape", "--steps", "1", "--young", "-3"]) == 2
    assert main(["cloth", "drape", "--steps", "1", "--pins", "0,1", "1.5,1"]) == 2
    assert main(["cloth", "hang", "--frames", "1", "--dt", "-0.1", "--steps", "1"]) == 2


@pytest.mark.slow
def test_a_tiny_cloth_run_writes_its_mesh_pictures_and_metrics(tmp_path):
    code = main(["cloth", "hang", "--steps", "60", "--batch", "1024", "--resolution", "16",
                 "--mesh-resolution", "8", "--out", str(tmp_path), "--no-progress"])  # fmt: skip
    assert code == 0
    for name in ("cloth.obj", "cloth.ply", "views.png", "metrics.json", "history.csv",
                 "config.yaml", "checkpoint.pt"):  # fmt: skip
        assert (tmp_path / name).stat().st_size > 0, name
    lines = (tmp_path / "cloth.obj").read_text().splitlines()
    assert sum(line.startswith("v ") for line in lines) == 81
    assert sum(line.startswith("f ") for line in lines) == 128
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["energy"] == pytest.approx(
        m["membrane_energy"] + m["bending_energy"] + m["gravity_energy"]
    )
    # flat it has no energy; hanging, its weight has come down about half its side
    weight = m["material"]["density"] * m["material"]["thickness"] * 9.81
    assert m["gravity_energy"] < -0.8 * weight * 0.5
    corner = np.array(m["free_corners"]["0,0"])
    assert corner[2] < -0.8 and 0 < m["max_strain"] < 0.1


def test_discrete_shell_reference_bends_a_cylinder_and_holds_its_pins():
    from smoothgrid.apps.cloth.reference import _Energy, _pinned, discrete_shell

    uv = _Energy(10, cloth.scene("clips"), MATERIAL, cloth.GRAVITY).uv  # nodes every 0.1
    held = uv[_pinned(cloth.scene("clips"), uv)]
    assert held.tolist() == [[0.0, 1.0], [0.1, 1.0], [0.9, 1.0], [1.0, 1.0]]

    n, radius = 8, 0.4
    energy = _Energy(n, cloth.scene("hang", size=L), MATERIAL, cloth.GRAVITY)
    # rolled onto a cylinder with chords of the rest length: no strain, facets turned by step
    step = 2 * math.asin(L / (2 * radius * n))
    angle = energy.uv[:, 0] * (n * step)
    x = torch.stack([radius * angle.sin(), energy.uv[:, 1] * L, radius * (1 - angle.cos())], 1)
    terms = energy.terms(x)
    # (n - 1) x n interior hinges along the axis, each D / 2 step^2 |e|^2 / (A_1 + A_2) with
    # |e|^2 = A_1 + A_2: the continuum D / (2 R^2) per unit area as the mesh refines
    expected = MATERIAL.bending_stiffness / 2 * step**2 * n * (n - 1)
    assert float(terms["bending"]) == pytest.approx(expected, rel=1e-10)
    assert abs(float(terms["membrane"])) < 1e-12 * expected
    result = discrete_shell(cloth.scene("hang", size=L), MATERIAL, n=4)
    top = result.mesh.uv[:, 1] == 1.0
    rest = np.c_[result.mesh.uv[top] * L, np.zeros(top.sum())]
    assert np.array_equal(result.mesh.vertices[top], rest)
    assert result.max_gradient < 1e-3 and result.energies["gravity_energy"] < 0
    # it hangs straight down: the free edge a little below L
    assert -1.02 * L < result.free_corners["0,0"][2] < -L


@pytest.mark.slow
def test_backward_euler_frames_fall_and_lose_energy():
    from smoothgrid.apps.cloth.dynamics import animate_cloth

    dt = 0.05
    result = animate_cloth("hang", frames=2, dt=dt, steps=40, batch=512, resolution=8)
    first, second = result.history
    fall = cloth.GRAVITY * dt**2
    # free fall under backward Euler: -g dt^2, then -3 g dt^2; a hinged sheet's corner a bit
    # faster (a rigid hinged plate's edge starts at 1.5 g)
    assert -1.6 < first["corner_z"] / fall < -0.9
    assert -4.8 < second["corner_z"] / fall < -2.7
    # from rest at zero energy, backward Euler only dissipates
    mechanical = [row["energy"] + row["kinetic_energy"] for row in result.history]
    assert 0 > mechanical[0] > mechanical[1]
    assert first["kinetic_energy"] > 0 and second["t"] == pytest.approx(2 * dt)
    top = torch.tensor([[0.0, 1.0], [0.5, 1.0], [1.0, 1.0]])
    assert torch.equal(
        result.field(top), torch.tensor([[0.0, 1.0, 0.0], [0.5, 1.0, 0.0], [1.0, 1.0, 0.0]])
    )
    with pytest.raises(ValueError, match="dt must be > 0"):
        animate_cloth("hang", frames=1, dt=0.0, steps=1)
