"""Step time of one process with two threads against two processes with one thread each.

The same problem, field and global batch; ``--steps`` steps each; the two set-ups alternate
for ``--rounds`` rounds and the table gives the median ms per step (the one-process run's own
clock; the two-process run's process-0 clock) and the ratio.

    python benchmarks/data_parallel.py --problem poisson2d --batch 8192 --steps 60
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def run(processes: int, threads: int, args: argparse.Namespace, out: Path) -> float:
    """ms per step of one run (``smoothgrid solve``) with ``processes`` x ``threads``."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    solve = ["-m", "smoothgrid", "solve", args.problem, "--steps", str(args.steps),
             "--set", f"batch={args.batch}", "--set", "eval_every=1000000", "--no-progress",
             "--out", str(out)]  # fmt: skip
    if processes > 1:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                   "--nproc-per-node", str(processes), *solve]  # fmt: skip
    else:
        command = [sys.executable, *solve]
    subprocess.run(command, check=True, env=env, capture_output=True, text=True)
    return json.loads((out / "metrics.json").read_text())["ms_per_step"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problem", default="poisson2d")
    parser.add_argument("--batch", type=int, default=8192)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    setups = {"1 process x 2 threads": (1, 2), "2 processes x 1 thread": (2, 1)}
    times: dict[str, list[float]] = {name: [] for name in setups}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for name, (p, t) in setups.items():
                times[name].append(run(p, t, args, Path(tmp) / f"{r}_{p}"))
    first = statistics.median(next(iter(times.values())))
    print(f"{args.problem}, batch {args.batch} (all processes), {args.steps} steps, "
          f"{args.rounds} rounds, {os.cpu_count()} CPUs")  # fmt: skip
    print("| set-up | ms/step (median) | all rounds | ratio |")
    print("|---|---|---|---|")
    for name, values in times.items():
        median = statistics.median(values)
        shown = ", ".join(f"{v:.1f}" for v in values)
        print(f"| {name} | {median:.1f} | {shown} | {median / first:.2f} |")


if __name__ == "__main__":
    main()
