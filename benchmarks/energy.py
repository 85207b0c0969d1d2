"""Energy (Ritz) forms against their residual twins at equal training time.

Each pair solves the same problem (same exact solution, test grid, encoding, decoder and
schedule: the zoo's suggested settings) once in strong form (mean square residual) and once in
energy form (the Monte Carlo integral of the energy density), for ``--time`` seconds each, one
after the other in this process. The table gives the steps done, ms per step and the relative L2
error at a quarter, half and all of the budget; ``--out`` gets the error-against-time curves
(``energy_vs_residual.png``) and every history row (``energy_vs_residual.csv``). On a shared
CPU the runs' speeds differ with the load, so a second table gives ms per step measured
interleaved: ``--rounds`` rounds of a fresh ``--probe-steps``-step run of every form, the median.

    python benchmarks/energy.py --time 20 --out bench/energy
"""

from __future__ import annotations

import argparse
import csv
import statistics
from pathlib import Path

import torch

import smoothgrid as sg
from smoothgrid.problems import suggested_field, suggested_settings

PAIRS = {
    "poisson2d": "poisson2d_energy",
    "kirchhoff_love": "kirchhoff_love_energy",
    "poisson_neumann": "poisson_neumann_energy",
}
EXTRA = {"kirchhoff_love": [("biharmonic", "kirchhoff_love", {"formulation": "biharmonic"})]}
"""More strong forms of a pair: (form label, problem, parameters). The plate's fourth-order
residual (autograd on the RBF encoding) is what its energy form avoids."""


def run(name: str, seconds: float, batch: int | None, seed: int, **params) -> list[dict]:
    """The history of one ``seconds``-long solve of zoo problem ``name``."""
    problem = sg.problems.make(name, **params)
    torch.manual_seed(seed)
    field = suggested_field(problem)
    settings = suggested_settings(problem)
    if batch is not None:
        settings["batch"] = batch
    settings.update(eval_every=25, seed=seed)
    return sg.solve(problem, field, time_budget=seconds, progress=False, **settings).history


def step_ms(name: str, steps: int, batch: int | None, **params) -> float:
    """ms per step of a fresh ``steps``-step solve (evaluation excluded)."""
    problem = sg.problems.make(name, **params)
    torch.manual_seed(0)
    settings = suggested_settings(problem)
    if batch is not None:
        settings["batch"] = batch
    settings["eval_every"] = 10**9
    result = sg.solve(problem, suggested_field(problem), steps=steps, progress=False, **settings)
    return 1000.0 * result.metrics["wall_time"] / steps


def error_at(history: list[dict], t: float) -> float:
    """The last evaluated relative L2 error at training time <= ``t``."""
    rows = [row for row in history if row["time"] <= t + 1e-9 and row.get("rel_l2") is not None]
    return rows[-1]["rel_l2"] if rows else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--time", type=float, default=20.0, help="training seconds per run")
    parser.add_argument("--batch", type=int, help="points per step (default: suggested)")
    parser.add_argument("--pairs", nargs="+", default=list(PAIRS), choices=list(PAIRS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds")
    parser.add_argument("--probe-steps", type=int, default=20, help="steps per timing run")
    parser.add_argument("--out", help="directory for the curves and the CSV")
    args = parser.parse_args()
    histories: dict[str, list[dict]] = {}
    T = args.time
    head = f"rel L2 at {T / 4:g} s | at {T / 2:g} s | at {T:g} s"
    print(f"| problem | form | steps | ms/step | {head} |")
    print("|---|---|---|---|---|---|---|")
    runs = [(twin, form, name, params) for twin in args.pairs
            for form, name, params in [("residual", twin, {}), *EXTRA.get(twin, []),
                                       ("energy", PAIRS[twin], {})]]  # fmt: skip
    for twin, form, name, params in runs:
        history = run(name, T, args.batch, args.seed, **params)
        histories[f"{name} ({form})"] = history
        last = history[-1]
        ms = 1000 * last["time"] / max(last["step"], 1)
        errors = [error_at(history, t) for t in (T / 4, T / 2)] + [last["rel_l2"]]
        cells = " | ".join(f"{e:.2e}" for e in errors)
        print(f"| {twin} | {form} | {last['step']} | {ms:.1f} | {cells} |", flush=True)
    times: dict[str, list[float]] = {f"{twin} ({form})": [] for twin, form, _, _ in runs}
    for _ in range(args.rounds):
        for twin, form, name, params in runs:
            times[f"{twin} ({form})"].append(step_ms(name, args.probe_steps, args.batch, **params))
    print("\n| problem (form) | ms/step, interleaved median |\n|---|---|")
    for label, values in times.items():
        print(f"| {label} | {statistics.median(values):.1f} |")
    if args.out:
        write(Path(args.out), histories, args.pairs)


def write(out: Path, histories: dict[str, list[dict]], pairs: list[str]) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    out.mkdir(parents=True, exist_ok=True)
    with (out / "energy_vs_residual.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["problem", "step", "time", "rel_l2", "loss"])
        for name, history in histories.items():
            for row in history:
                writer.writerow([name, row["step"], row["time"], row.get("rel_l2"), row["loss"]])
    fig = Figure(figsize=(4.2 * len(pairs), 3.6), layout="constrained")
    FigureCanvasAgg(fig)
    for ax, twin in zip(fig.subplots(1, len(pairs), squeeze=False)[0], pairs):
        for label, history in histories.items():
            if label.split(" ")[0] not in (twin, PAIRS[twin]):
                continue
            ax.plot([r["time"] for r in history], [r["rel_l2"] for r in history], label=label)
        ax.set(xlabel="training time (s)", ylabel="relative L2 error", yscale="log", title=twin)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.savefig(out / "energy_vs_residual.png", dpi=110)
    print(f"curves in {out}")


if __name__ == "__main__":
    main()
