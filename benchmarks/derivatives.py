"""Training-step time and peak memory of the derivative methods, per encoding, side by side.

One step = field jet at a batch of points (order 2, Laplacian) + a Helmholtz-like residual loss
+ backward + Adam. Backends: ``jet`` (analytic jets, one ordinary backward), ``autograd``
(double backward through torch.autograd.grad(create_graph=True)), ``fd`` (central finite
differences, 1 + 2d field evaluations). Timings are measured in one process, the derivative methods
interleaved round by round, median of the rounds; peak memory is measured per configuration in a
fresh child process on the CPU (peak resident set above the set-up baseline) or with
torch.cuda.max_memory_allocated on a GPU.

    python benchmarks/derivatives.py                       # 2D, all encodings, this machine
    python benchmarks/derivatives.py --device cuda --batch 100000 --out docs/derivatives_gpu.md
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import time

import torch

import smoothgrid as sg

DERIVATIVES = ("jet", "autograd", "fd")


def build(encoding: str, dim: int, batch: int, device: str, seed: int = 0):
    """A field at the issue's realistic size, an Adam optimiser and a batch of points."""
    torch.manual_seed(seed)
    options = {"rings": 2} if encoding == "rbf" else {}
    enc = sg.encodings.make(
        encoding,
        dim=dim,
        levels=16,
        features=2,
        min_res=16,
        max_res=512 if dim == 2 else 128,
        log2_table=19,
        bounds=(-1.0, 1.0),
        **options,
    )
    field = sg.Field(enc, hidden=(64, 64), out=1).to(device)
    opt = torch.optim.Adam(field.parameters(), lr=1e-3)
    x = (torch.rand(batch, dim, device=device) * 2 - 1) * 0.999
    return field, opt, x


def train_step(field, opt, x, derivatives: str) -> float:
    """One Adam step on a Helmholtz-like residual ``lap u + u``; returns the loss."""
    u = field.jet(x, order=2, derivatives=derivatives)
    loss = (u.lap + u.value).square().mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.item()


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_steps(encoding: str, dim: int, batch: int, device: str, rounds: int) -> dict[str, float]:
    """Median ms per step of each derivatives, derivative methods interleaved round by round."""
    setups = {b: build(encoding, dim, batch, device) for b in DERIVATIVES}
    for b, (field, opt, x) in setups.items():
        train_step(field, opt, x, b)  # warm-up: Adam state, allocator, kernels
    times: dict[str, list[float]] = {b: [] for b in DERIVATIVES}
    for _ in range(rounds):
        for b, (field, opt, x) in setups.items():
            _sync(device)
            start = time.perf_counter()
            train_step(field, opt, x, b)
            _sync(device)
            times[b].append((time.perf_counter() - start) * 1e3)
    return {b: statistics.median(t) for b, t in times.items()}


def _memory_kib(key: str) -> int:
    """A ``/proc/self/status`` memory line (``VmRSS``, ``VmHWM``) in KiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{key} not found in /proc/self/status")


def _peak_child(encoding: str, dim: int, batch: int, derivatives: str, queue) -> None:
    field, opt, x = build(encoding, dim, batch, "cpu")
    for p in field.parameters():  # allocate Adam's state before the baseline
        p.grad = torch.zeros_like(p)
    opt.step()
    opt.zero_grad(set_to_none=True)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak resident set (VmHWM) to the current one
    base = _memory_kib("VmRSS")
    for _ in range(2):
        train_step(field, opt, x, derivatives)
    queue.put((_memory_kib("VmHWM") - base) / 1024.0)


def peak_memory_mb(encoding: str, dim: int, batch: int, derivatives: str, device: str) -> float:
    """Peak memory of training steps above the set-up (model + Adam state), in MiB.

    CPU: a fresh child process, its peak resident set (``VmHWM``, reset after set-up) minus the
    resident set after set-up. GPU: ``torch.cuda.max_memory_allocated`` above the set-up.
    """
    if device.startswith("cuda"):
        field, opt, x = build(encoding, dim, batch, device)
        train_step(field, opt, x, derivatives)
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        train_step(field, opt, x, derivatives)
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - base) / 2**20
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_peak_child, args=(encoding, dim, batch, derivatives, queue))
    proc.start()
    value = queue.get()
    proc.join()
    return value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--encodings", nargs="+", default=sg.encodings.names())
    parser.add_argument("--dim", type=int, default=2)
    parser.add_argument("--batch", type=int, default=16384)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory runs")
    parser.add_argument("--out", help="also write the Markdown table to this file")
    args = parser.parse_args(argv)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    device_name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU"
    lines = [
        f"{args.dim}D, 16 levels, F=2, T=2^19, MLP 2x64 tanh, batch {args.batch}, "
        f"{device_name}, torch {torch.__version__}, threads {torch.get_num_threads()}",
        "",
        "| encoding | jet ms | autograd ms | fd ms | autograd / jet | jet MiB | autograd MiB "
        "| fd MiB | jet / autograd memory |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    for name in args.encodings:
        ms = time_steps(name, args.dim, args.batch, args.device, args.rounds)
        mem = {b: float("nan") for b in DERIVATIVES}
        if not args.no_memory:
            mem = {
                b: peak_memory_mb(name, args.dim, args.batch, b, args.device) for b in DERIVATIVES
            }
        row = (
            f"| {name} | {ms['jet']:.1f} | {ms['autograd']:.1f} | {ms['fd']:.1f} "
            f"| {ms['autograd'] / ms['jet']:.2f}x | {mem['jet']:.0f} | {mem['autograd']:.0f} "
            f"| {mem['fd']:.0f} | {mem['jet'] / max(mem['autograd'], 1e-9):.2f} |"
        )
        lines.append(row)
        print(row, flush=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
