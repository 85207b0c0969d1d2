"""Error against optimiser steps: how many steps each setting needs to reach 1e-2, 1e-3, 1e-4.

The number of steps to an error carries over from a CPU to a GPU when the batch per step is the
same, so accuracy per step can be studied on a small machine. Each run is what
``smoothgrid solve PROBLEM --set ...`` would do (the problem's suggested settings, then the
variant's ``--set`` entries, then ``--steps`` and ``--batch`` from here, a variant's own
``batch=`` winning over ``--batch``), evaluated every
``--eval-every`` steps. Today's defaults run beside every variant.

    python benchmarks/accuracy_per_step.py helmholtz2d --set problem.a1=10 --set problem.a2=10 \\
        --steps 20000 --batch 8192 --variant "slow:lr=3e-3" --out runs/acc/h10

writes ``table.md`` (one row per variant: steps to each threshold, final and best error,
seconds), ``errors.png`` (error against steps, one curve per variant) and ``runs.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

import smoothgrid as sg
from smoothgrid.cli.config import build_config
from smoothgrid.cli.solve import build_field
from smoothgrid.train.settings import SOLVE_KEYS

THRESHOLDS = (1e-2, 1e-3, 1e-4)


def run_variant(problem_name: str, sets: Sequence[str], steps: int, batch: int | None,
                eval_every: int, seed: int) -> dict[str, Any]:  # fmt: skip
    """One run; its history of ``(step, rel_l2)`` and wall time."""
    problem, config = build_config(problem_name, sets=sets)
    config.update(steps=steps, time_budget=None, eval_every=eval_every, seed=seed)
    if batch is not None and not any(s.startswith("batch=") for s in sets):
        config["batch"] = batch  # a variant's own batch wins
    torch.manual_seed(seed)
    field = build_field(problem, config)
    options = {k: v for k, v in config.items() if k in SOLVE_KEYS and v is not None}
    start = time.perf_counter()
    result = sg.solve(problem, field, progress=False, **options)
    history = [(row["step"], row["rel_l2"]) for row in result.history]
    return {"history": history, "seconds": time.perf_counter() - start,
            "final": result.metrics["rel_l2"], "best": result.metrics["best_rel_l2"]}  # fmt: skip


def steps_to(history: Sequence[tuple[int, float]], threshold: float) -> int | None:
    """The first evaluated step whose error is at most ``threshold`` (``None``: never)."""
    return next((step for step, error in history if error <= threshold), None)


def table(runs: dict[str, dict[str, Any]]) -> str:
    """Markdown: one row per variant."""
    head = " | ".join(f"steps to {t:.0e}" for t in THRESHOLDS)
    lines = [f"| variant | {head} | final rel L2 | best rel L2 | seconds |",
             "|---|" + "---|" * (len(THRESHOLDS) + 3)]  # fmt: skip
    for name, run in runs.items():
        reached = " | ".join(str(steps_to(run["history"], t) or "-") for t in THRESHOLDS)
        lines.append(f"| {name} | {reached} | {run['final']:.3e} | {run['best']:.3e} "
                     f"| {run['seconds']:.0f} |")  # fmt: skip
    return "\n".join(lines)


def plot(runs: dict[str, dict[str, Any]], title: str, path: Path) -> None:
    """Error against steps, log scale, one curve per variant."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, run in runs.items():
        steps, errors = zip(*run["history"])
        ax.semilogy(steps, errors, label=name)
    for t in THRESHOLDS:
        ax.axhline(t, color="0.8", lw=0.8, zorder=0)
    ax.set(xlabel="step", ylabel="rel L2 error")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("problem")
    parser.add_argument("--set", action="append", default=[], dest="sets",
                        help="KEY=VALUE for every run (the problem's parameters)")  # fmt: skip
    parser.add_argument("--variant", action="append", default=[],
                        help="a variant: [NAME:]KEY=VALUE[,KEY=VALUE...]; repeatable")  # fmt: skip
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=None,
                        help="points per step (default: the problem's suggested one)")  # fmt: skip
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    variants: dict[str, list[str]] = {"defaults": []}
    for v in args.variant:
        name, _, sets = v.rpartition(":")
        variants[name or sets] = sets.split(",")
    runs: dict[str, dict[str, Any]] = {}
    for name, extra in variants.items():
        runs[name] = run_variant(args.problem, [*args.sets, *extra], args.steps, args.batch,
                                 args.eval_every, args.seed)  # fmt: skip
        (args.out / "runs.json").write_text(json.dumps(runs, indent=1))
        print(f"{name}: final {runs[name]['final']:.3e} in {runs[name]['seconds']:.0f} s",
              flush=True)  # fmt: skip
    batch = "suggested" if args.batch is None else args.batch
    title = f"{args.problem} {' '.join(args.sets)}, batch {batch}"
    text = f"{title}, seed {args.seed}\n\n{table(runs)}\n"
    (args.out / "table.md").write_text(text)
    plot(runs, title, args.out / "errors.png")
    print(text)


if __name__ == "__main__":
    main()
