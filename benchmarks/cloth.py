"""Cloth scenes at two or three grid resolutions: energy against steps, strain, free corners.

Each run is ``smoothgrid cloth SCENE --steps N --resolution R`` (the default material: a 1 m
square, ``E = 1e5 Pa``, ``nu = 0.3``, ``h = 1 mm``, ``rho = 200 kg/m^3``) through
:func:`smoothgrid.apps.cloth.simulate_cloth`, one after the other. The table gives the energies
(midpoint rule on 64 x 64 cells), the largest and 99th-percentile principal strains and the free
corner ``(u, v) = (0, 0)``; ``--out`` gets each run's directory (mesh, views, metrics) and
``energy_vs_steps.png`` / ``.csv``. Then the independent discrete shell
(:func:`smoothgrid.apps.cloth.discrete_shell`: constant-strain triangles, hinge bending,
L-BFGS) on ``--references`` meshes gives the same figures. For ``hang`` the free edge's drop is
also compared with a uniaxial bar under its own weight: ``L + rho g L^2 / (2 E)``.

    python benchmarks/cloth.py --steps 400 --resolutions 8 16 32 --references 16 --out bench/cloth
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

from smoothgrid.apps import cloth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenes", nargs="+", default=["drape", "hang"])
    parser.add_argument("--resolutions", nargs="*", type=int, default=[8, 16, 32])
    parser.add_argument("--references", nargs="*", type=int, default=[16],
                        help="cells per side of the discrete-shell meshes")  # fmt: skip
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch", type=int, default=2048)
    parser.add_argument("--out", default="bench/cloth")
    args = parser.parse_args()
    out = Path(args.out)
    material = cloth.Material()
    histories = {}
    print("| scene | grid N | steps | s | energy (J) | membrane | bending | gravity "
          "| max strain | p99 strain | corner (0,0) x, y, z (m) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in args.scenes:
        for res in args.resolutions:
            r = cloth.simulate_cloth(name, material, steps=args.steps, resolution=res,
                                     batch=args.batch, out=out / f"{name}_{res}")  # fmt: skip
            m = r.metrics
            histories[f"{name}_{res}"] = r.history
            corner = ", ".join(f"{c:.4f}" for c in m["free_corners"]["0,0"])
            print(
                f"| {name} | {res} | {m['steps']} | {m['wall_time']:.0f} | {m['energy']:.5f} "
                f"| {m['membrane_energy']:.2e} | {m['bending_energy']:.2e} "
                f"| {m['gravity_energy']:.5f} | {100 * m['max_strain']:.2f} % "
                f"| {100 * m['p99_strain']:.2f} % | {corner} |",
                flush=True,
            )
    print("\n| scene | discrete shell n | L-BFGS iterations | s | energy (J) | membrane "
          "| gravity | max strain | corner (0,0) x, y, z (m) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.scenes:
        for n in args.references:
            start = time.perf_counter()
            ref = cloth.discrete_shell(cloth.scene(name), material, n=n)
            seconds = time.perf_counter() - start
            e = ref.energies
            corner = ", ".join(f"{c:.4f}" for c in ref.free_corners["0,0"])
            print(
                f"| {name} | {n} | {ref.iterations} | {seconds:.0f} | {e['energy']:.5f} "
                f"| {e['membrane_energy']:.2e} | {e['gravity_energy']:.5f} "
                f"| {100 * ref.mesh.strain.max():.2f} % | {corner} |",
                flush=True,
            )
    drop = 1.0 + material.density * cloth.GRAVITY / (2 * material.young)
    print(f"uniaxial bar estimate of the hanging cloth's drop: {drop:.4f} m")
    if histories:
        write(out, histories)


def write(out: Path, histories: dict[str, list[dict]]) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    out.mkdir(parents=True, exist_ok=True)
    keys = ["step", "time", "energy", "membrane_energy", "bending_energy", "gravity_energy",
            "max_strain"]  # fmt: skip
    with (out / "energy_vs_steps.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["run", *keys])
        for run, history in histories.items():
            for row in history:
                writer.writerow([run, *(row[k] for k in keys)])
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    for run, history in histories.items():
        steps = [r["step"] for r in history]
        left.plot(steps, [r["energy"] for r in history], label=run)
        right.plot(steps, [100 * r["max_strain"] for r in history], label=run)
    left.set(xlabel="step", ylabel="energy (J)", title="total energy (32 x 32 midpoints)")
    right.set(xlabel="step", ylabel="max principal strain (%)", title="largest strain")
    for ax in (left, right):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.savefig(out / "energy_vs_steps.png", dpi=110)
    print(f"runs and curves in {out}")


if __name__ == "__main__":
    main()
