"""GPU speed of the fused encoding kernels against the PyTorch path, side by side in one process.

Prints (and writes with ``--out``) four Markdown tables:

1. **Encoding** throughput per encoding and dimension: the forward jet (value, gradient,
   Laplacian; ``linear``: value and gradient) and the backward to the table, wall ms of the eager
   calls on the PyTorch path and on the kernel path, their ratio and million points per second;
   then the kernel's own device time (profiler) and its fraction of the memory bound: bytes a
   point moves (its coordinates, one table row per corner and level, read-modify-written by the
   backward's atomics, the jet written or its gradient read) over the device bandwidth measured
   by a copy in the same run.
2. **Point order** of the encoding kernels (Hermite 2D and 3D): the forward and backward on the
   same random points as drawn and sorted along a Morton curve
   (:func:`smoothgrid.train.losses.morton_sorted`, what ``order="morton"`` does to the interior
   points), each with the backward's pre-reduction of runs of points on one table row and
   without it (``kernels._RUNS = 0``, one atomic per point): wall ms, the backward against the
   PyTorch backward of table 1, the backward kernel's device time, and the sort's own ms.
3. **Decoder** jet (2 x 64 tanh on the 32 features of 16 levels, value, gradient and
   Laplacian) forward and backward: wall ms of :func:`smoothgrid.nn.mlp_jet` (PyTorch) and of
   the fused kernel :func:`smoothgrid.kernels.decoder.decoder_jet`, the kernels' device time and
   their fraction of the memory bound (the input jet read, the output and the saved
   pre-activations written; backward: those read, the input jet's gradient written).
4. **Training step** (sample points, the field's jet, a Helmholtz-type residual, backward,
   Adam) in ms at Hermite-NGP's sizes: 1e5 points, 2D and 3D, a small and a ~17M-parameter
   table, decoder 2x64 tanh (Adam fused on CUDA): the PyTorch path, the kernel, and the kernel
   with the whole step captured in a CUDA graph, with the decoder and loss compiled by
   ``torch.compile``, and with both; then the fused decoder kernel, alone and in a graph.

    python benchmarks/gpu.py --out docs/bench/gpu.md            # on a CUDA machine
    python benchmarks/gpu.py --device cpu --batch 4096 --quick  # a dry run of the PyTorch rows
    TRITON_INTERPRET=1 python benchmarks/gpu.py --device cpu --batch 64 --rounds 1 \
        --encodings hermite --steps "2D small" --compile-workers 0  # the kernel rows, interpreted

Kernels are compiled before timing, several at once in worker processes (``--compile-workers``),
so the first measurement does not pay for compilation.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import smoothgrid as sg  # noqa: E402
from smoothgrid import kernels  # noqa: E402
from smoothgrid.nn import MLP, mlp_jet  # noqa: E402
from smoothgrid.train.losses import morton_sorted  # noqa: E402
from smoothgrid.train.optim import grid_decoder_adam  # noqa: E402

ORDERED = [("hermite", 2, 2), ("hermite", 3, 2)]  # the point-order rows: (name, dim, order)
ENCODINGS = [  # (name, dim, derivative order)
    ("hermite", 2, 2),
    ("hermite", 3, 2),
    ("quintic", 2, 2),
    ("quintic", 3, 2),
    ("cosine", 2, 2),
    ("smoothstep", 2, 2),
    ("linear", 2, 1),
    ("linear", 3, 1),
]
GRID = {2: dict(levels=16, min_res=16, max_res=2048), 3: dict(levels=16, min_res=16, max_res=512)}
STEPS = [  # (label, dim, log2_table): small tables and ~17M parameters (2^d coefficients x F=2)
    ("2D small", 2, 12),
    ("2D 17M", 2, 17),
    ("3D small", 3, 12),
    ("3D 17M", 3, 16),
]


def _timed(fn: Callable[[], object], rounds: int, device: torch.device) -> float:
    """Median milliseconds of ``fn`` over ``rounds`` calls after two warm-up calls."""
    for _ in range(2):
        fn()
    times = []
    for _ in range(rounds):
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            fn()
            times.append(1e3 * (time.perf_counter() - t0))
    return statistics.median(times)


def bandwidth(device: torch.device) -> float:
    """Device memory bandwidth in GB/s: bytes read + written by a 1 GiB copy."""
    n = (1 << 30) // 4 if device.type == "cuda" else (1 << 24)
    src = torch.empty(n, device=device)
    dst = torch.empty_like(src)
    ms = _timed(lambda: dst.copy_(src), 10, device)
    return 2 * 4 * n / ms / 1e6


def make_encoding(name: str, dim: int, impl: str, log2_table: int = 19):
    """The benchmark grid: 16 levels, 2 features."""
    return sg.encodings.make(name, dim, features=2, log2_table=log2_table, impl=impl, **GRID[dim])


def _components(jet: sg.Jet, order: int) -> list[torch.Tensor]:
    parts = [jet.value]
    if order >= 1:
        parts.append(jet.grad)
    if order == 2:
        parts.append(jet.lap)
    return parts


def bytes_per_point(enc, order: int, backward: bool) -> int:
    """Bytes a point moves: coordinates, a table row per corner and level, the jet components."""
    d, levels, features = enc.dim, enc.levels, enc.features
    components = 1 + (d if order >= 1 else 0) + (1 if order == 2 else 0)
    row = enc.coefficients * features * 4 * (2 if backward else 1)  # atomics read and write
    jet = components * levels * features * 4
    return 4 * d + levels * 2**d * row + jet


def _forward_backward(enc, x, order) -> tuple[Callable[[], object], Callable[[], object]]:
    """The forward jet, and the backward of all its components to the table."""
    parts = _components(enc.jet(x, order), order)
    grads = [torch.randn_like(p) for p in parts]
    return (
        lambda: enc.jet(x, order),
        lambda: torch.autograd.backward(parts, grads, retain_graph=True),
    )


def _device_ms(fn: Callable[[], object], kernel: str, rounds: int) -> float:
    """Mean device milliseconds per call of the Triton kernel named ``kernel`` inside ``fn``
    (the profiler's kernel time: no launch or Python overhead)."""
    from torch.profiler import ProfilerActivity, profile

    fn()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(rounds):
            fn()
        torch.cuda.synchronize()
    total = sum(e.self_device_time_total for e in prof.key_averages() if e.key == kernel)
    return total / rounds / 1e3


def _runs_kernels(device: torch.device) -> bool:
    return device.type == "cuda" or kernels.interpreted()


def decoder_bytes(parts, mlp: MLP, backward: bool) -> int:
    """Bytes the fused decoder kernel moves: the input jet, the output jet and the saved hidden
    pre-activations (backward: those read and the input jet's gradient written)."""
    K, B = 1 + parts[1].shape[-1] + 1, parts[0].shape[0]
    widths = [layer.out_features for layer in mlp.layers]
    width = max(16, 1 << (max(widths + [mlp.layers[0].in_features]) - 1).bit_length())
    cin, cout = mlp.layers[0].in_features, widths[-1]
    saved = (len(widths) - 1) * K * B * width
    moved = K * B * cin + K * B * cout + saved
    return 4 * (moved + (K * B * cin if backward else 0))


def decoder_row(dim: int, batch: int, rounds: int, device: torch.device, peak: float) -> dict:
    """The decoder jet's forward and backward: PyTorch and the fused kernel (wall ms), the
    kernels' device time and fraction of the memory bound."""
    from smoothgrid.kernels.decoder import decoder_jet

    row: dict = {"decoder": f"2x64 tanh, {dim}D Laplacian jet"}
    torch.manual_seed(0)
    mlp = MLP(32, (64, 64), 1).to(device)
    weights = [layer.weight for layer in mlp.layers]
    biases = [layer.bias for layer in mlp.layers]
    parts = (
        torch.randn(batch, 32, device=device, requires_grad=True),
        torch.randn(batch, 32, dim, device=device, requires_grad=True),
        None,
        torch.randn(batch, 32, device=device, requires_grad=True),
    )
    paths = [("torch", mlp_jet)] + ([("kernel", decoder_jet)] if _runs_kernels(device) else [])
    for key, function in paths:
        try:
            out = function(parts, weights, biases, "tanh")
            present = [t for t in out if t is not None]
            grads = [torch.randn_like(t) for t in present]

            def forward(function=function):
                return function(parts, weights, biases, "tanh")

            def backward(present=present, grads=grads):
                torch.autograd.backward(present, grads, retain_graph=True)

            row[f"{key}_fwd_ms"] = _timed(forward, rounds, device)
            row[f"{key}_bwd_ms"] = _timed(backward, rounds, device)
            if key == "kernel" and device.type == "cuda":
                for kind, fn in (("fwd", forward), ("bwd", backward)):
                    name = "forward_kernel" if kind == "fwd" else "backward_kernel"
                    ms = row[f"device_{kind}_ms"] = _device_ms(fn, name, rounds)
                    row[f"bound_{kind}"] = (
                        decoder_bytes(parts, mlp, kind == "bwd") / ms / 1e6 / peak
                    )
        except Exception as err:
            row[f"{key}_error"] = f"{type(err).__name__}: {str(err)[:160]}"
    for kind in ("fwd", "bwd"):
        if f"kernel_{kind}_ms" in row:
            row[f"speedup_{kind}"] = row[f"torch_{kind}_ms"] / row[f"kernel_{kind}_ms"]
    return row


def encoding_row(name, dim, order, batch, rounds, device, peak) -> dict:
    """Forward/backward ms of both paths for one encoding (wall time of the eager calls), and
    the kernels' own device time with its fraction of the memory bound."""
    row: dict = {"encoding": f"{name} {dim}D", "order": order}
    x = torch.rand(batch, dim, device=device)
    for impl in ("torch", "triton"):
        if impl == "triton" and not _runs_kernels(device):
            continue
        try:
            enc = make_encoding(name, dim, impl).to(device)
            forward, backward = _forward_backward(enc, x, order)
            row[f"{impl}_fwd_ms"] = _timed(forward, rounds, device)
            row[f"{impl}_bwd_ms"] = _timed(backward, rounds, device)
            if impl == "triton" and device.type == "cuda":
                for kind, fn in (("fwd", forward), ("bwd", backward)):
                    kernel = "forward_kernel" if kind == "fwd" else "backward_kernel"
                    ms = row[f"device_{kind}_ms"] = _device_ms(fn, kernel, rounds)
                    moved = bytes_per_point(enc, order, kind == "bwd") * batch
                    row[f"bound_{kind}"] = moved / ms / 1e6 / peak
        except Exception as err:  # a failed row is reported, the others still run
            row[f"{impl}_error"] = f"{type(err).__name__}: {str(err)[:120]}"
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return row


def order_rows(name, dim, order, batch, rounds, device) -> list[dict]:
    """The kernels on the same random points as drawn and Morton-sorted, the backward with its
    pre-reduction of runs and without (``kernels._RUNS = 0``): wall ms of the forward and the
    backward, on CUDA the backward kernel's device ms, and the sort's own ms."""
    label = f"{name} {dim}D"
    if not _runs_kernels(device):
        return []
    rows = []
    x = torch.rand(batch, dim, device=device)
    sort_ms = _timed(lambda: morton_sorted(x), rounds, device)
    enc = make_encoding(name, dim, "triton").to(device)
    runs, default = kernels._BLOCK // 4, kernels._RUNS
    for points, unit in (("random", x), ("Morton", morton_sorted(x))):
        for pre in (True, False):
            row: dict = {"encoding": label, "points": points, "pre": "yes" if pre else "no"}
            if points == "Morton":
                row["sort_ms"] = sort_ms
            kernels._RUNS = runs if pre else 0
            try:
                forward, backward = _forward_backward(enc, unit, order)
                row["fwd_ms"] = _timed(forward, rounds, device)
                row["bwd_ms"] = _timed(backward, rounds, device)
                if device.type == "cuda":
                    row["device_bwd_ms"] = _device_ms(backward, "backward_kernel", rounds)
            except Exception as err:  # a failed row is reported, the others still run
                row["triton_error"] = f"{type(err).__name__}: {str(err)[:120]}"
            finally:
                kernels._RUNS = default
            rows.append(row)
            if device.type == "cuda":
                torch.cuda.empty_cache()
    return rows


def _source(x: torch.Tensor) -> torch.Tensor:
    return torch.sin(4 * torch.pi * x[:, :1])


def _decoder_loss(field, value, grad, lap, x) -> torch.Tensor:
    """The loss from the encoding's jet on: decoder jet, ``r = lap u + u - f``, mean square."""
    u = field.decoder.jet(sg.Jet(value, grad, lap=lap))
    return ((u.lap + u.value - _source(x)) ** 2).mean()


def _helmholtz_step(field, opt, x: torch.Tensor, compiled: bool) -> Callable[[], torch.Tensor]:
    """One training step on fresh points ``x``: ``r = lap u + u - f``, ``f = sin(4 pi x_0)``;
    ``compiled``: the decoder and loss go through ``torch.compile``."""
    loss_of = torch.compile(_decoder_loss) if compiled else _decoder_loss

    def step() -> torch.Tensor:
        x.uniform_(-1.0, 1.0)
        features = field.encoding.jet(x, order=2)
        loss = loss_of(field, features.value, features.grad, features.lap, x)
        opt.zero_grad(set_to_none=False)
        loss.backward()
        opt.step()
        return loss

    return step


def _graphed(step: Callable[[], torch.Tensor]) -> Callable[[], torch.Tensor]:
    """The step captured in a CUDA graph (warm-up on a side stream, then capture)."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            step()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        loss = step()

    def replay() -> torch.Tensor:
        graph.replay()
        return loss

    return replay


STEP_VARIANTS = [  # (column, encoding impl, decoder impl, compiled decoder, CUDA graph)
    ("torch", "torch", "torch", False, False),
    ("torch_compiled", "torch", "torch", True, False),
    ("kernel", "triton", "torch", False, False),
    ("kernel_graph", "triton", "torch", False, True),
    ("kernel_compiled", "triton", "torch", True, False),
    ("kernel_compiled_graph", "triton", "torch", True, True),
    ("fused", "triton", "triton", False, False),
    ("fused_graph", "triton", "triton", False, True),
]


def step_row(label, dim, log2_table, batch, rounds, device) -> dict:
    """ms per training step for each of :data:`STEP_VARIANTS` (on the CPU: no graph, and the
    kernels only under ``TRITON_INTERPRET=1``)."""
    row: dict = {"setup": label}
    variants = [
        v for v in STEP_VARIANTS
        if device.type == "cuda" or (not v[4] and (v[1] == "torch" or kernels.interpreted()))
    ]  # fmt: skip
    for key, impl, decoder_impl, compiled, graph in variants:
        try:
            torch.manual_seed(0)
            enc = make_encoding("hermite", dim, impl, log2_table).to(device)
            enc.set_bounds(-1.0, 1.0)
            enc.set_level_scale([enc.resolutions[0] / n for n in enc.resolutions])  # as solve
            row["params"] = sum(p.numel() for p in enc.parameters())
            field = sg.Field(enc, hidden=(64, 64), out=1, decoder_impl=decoder_impl).to(device)
            opt = grid_decoder_adam(field, 1e-2, 1e-3, capturable=graph)
            step = _helmholtz_step(field, opt, torch.empty(batch, dim, device=device), compiled)
            if graph:
                step = _graphed(step)
            row[f"{key}_ms"] = _timed(step, rounds, device)
        except Exception as err:
            row[f"{key}_error"] = f"{type(err).__name__}: {str(err)[:160]}"
    return row


def _compile_one(name: str, dim: int, order: int, levels: int) -> str:
    """Compile one encoding's kernels (forward and backward) into Triton's on-disk cache."""
    enc = make_encoding(name, dim, "triton").cuda()
    x = torch.rand(256, dim, device="cuda")
    parts = _components(enc.jet(x, order), order)
    torch.autograd.backward(parts, [torch.ones_like(p) for p in parts])
    torch.cuda.synchronize()
    return f"{name} {dim}D"


def precompile(workers: int, encodings: list, steps: list) -> None:
    """Compile the benchmarked encoding kernels in parallel worker processes."""
    jobs = {(n, d, o) for n, d, o in encodings} | {("hermite", d, 2) for _, d, _ in steps}
    ctx = torch.multiprocessing.get_context("spawn")
    t0 = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        futures = [pool.submit(_compile_one, n, d, o, 16) for n, d, o in sorted(jobs)]
        for future in concurrent.futures.as_completed(futures):
            try:
                print("compiled", future.result(), flush=True)
            except Exception as err:
                print("compile failed:", type(err).__name__, str(err)[:300], flush=True)
    print(f"compiled {len(jobs)} kernels in {time.perf_counter() - t0:.0f} s", flush=True)


def _table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    head = "| " + " | ".join(title for title, _, _ in columns) + " |"
    rule = "|" + "---|" * len(columns)
    lines = [head, rule]
    for row in rows:
        cells = []
        for _, key, fmt in columns:
            value = row.get(key)
            cells.append("-" if value is None else format(value, fmt) if fmt else str(value))
        lines.append("| " + " | ".join(cells) + " |")
    errors = [
        f"- {r.get('encoding', r.get('setup', r.get('decoder')))}: {k}: {v}"
        for r in rows
        for k, v in r.items()
        if k.endswith("error")
    ]
    return "\n".join(lines + errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--compile-workers", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="first two encodings, one step row")
    parser.add_argument("--encodings", nargs="*", help="only these encodings (names)")
    parser.add_argument("--steps", nargs="*", help="only these training-step rows (labels)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = False
    encodings = ENCODINGS[:2] if args.quick else ENCODINGS
    steps = STEPS[:1] if args.quick else STEPS
    if args.encodings is not None:
        encodings = [e for e in encodings if e[0] in args.encodings]
    if args.steps is not None:
        steps = [s for s in steps if s[0] in args.steps]
    if device.type == "cuda":
        name = torch.cuda.get_device_name()
        if args.compile_workers > 0:
            precompile(args.compile_workers, encodings, steps)
    else:
        name = "CPU"
    peak = bandwidth(device)
    header = (
        f"{name}, torch {torch.__version__}, batch {args.batch}, median of {args.rounds}; "
        f"copy bandwidth {peak:.0f} GB/s"
    )
    print(header, flush=True)
    enc_rows = []
    for n, d, o in encodings:
        enc_rows.append(encoding_row(n, d, o, args.batch, args.rounds, device, peak))
        print(enc_rows[-1], flush=True)
    for row in enc_rows:
        for kind in ("fwd", "bwd"):
            if f"triton_{kind}_ms" in row:
                row[f"speedup_{kind}"] = row[f"torch_{kind}_ms"] / row[f"triton_{kind}_ms"]
                row[f"mpts_{kind}"] = args.batch / row[f"triton_{kind}_ms"] / 1e3
    decoder_rows = []
    for d in (2, 3):
        decoder_rows.append(decoder_row(d, args.batch, args.rounds, device, peak))
        print(decoder_rows[-1], flush=True)
    step_rows = []
    for label, d, log2 in steps:
        step_rows.append(step_row(label, d, log2, args.batch, args.rounds, device))
        print(step_rows[-1], flush=True)
    # last: their extra backward compiles must not crowd out the rows above under a timeout
    point_rows = []
    for n, d, o in ORDERED:
        if args.encodings is not None and n not in args.encodings:
            continue
        torch_bwd = {r["encoding"]: r.get("torch_bwd_ms") for r in enc_rows}.get(f"{n} {d}D")
        for row in order_rows(n, d, o, args.batch, args.rounds, device):
            if torch_bwd is not None and "bwd_ms" in row:
                row["speedup_bwd"] = torch_bwd / row["bwd_ms"]
            point_rows.append(row)
            print(row, flush=True)
    text = "\n\n".join(
        [
            header,
            _table(
                enc_rows,
                [
                    ("encoding", "encoding", ""),
                    ("torch fwd ms", "torch_fwd_ms", ".3f"),
                    ("kernel fwd ms", "triton_fwd_ms", ".3f"),
                    ("fwd x", "speedup_fwd", ".1f"),
                    ("kernel fwd Mpts/s", "mpts_fwd", ".0f"),
                    ("fwd kernel-only ms", "device_fwd_ms", ".3f"),
                    ("fwd of bound", "bound_fwd", ".0%"),
                    ("torch bwd ms", "torch_bwd_ms", ".3f"),
                    ("kernel bwd ms", "triton_bwd_ms", ".3f"),
                    ("bwd x", "speedup_bwd", ".1f"),
                    ("kernel bwd Mpts/s", "mpts_bwd", ".0f"),
                    ("bwd kernel-only ms", "device_bwd_ms", ".3f"),
                    ("bwd of bound", "bound_bwd", ".0%"),
                ],
            ),
            _table(
                point_rows,
                [
                    ("encoding", "encoding", ""),
                    ("points", "points", ""),
                    ("pre-reduced runs", "pre", ""),
                    ("kernel fwd ms", "fwd_ms", ".3f"),
                    ("kernel bwd ms", "bwd_ms", ".3f"),
                    ("bwd x torch", "speedup_bwd", ".1f"),
                    ("bwd kernel-only ms", "device_bwd_ms", ".3f"),
                    ("sort ms", "sort_ms", ".3f"),
                ],
            ),
            _table(
                decoder_rows,
                [
                    ("decoder", "decoder", ""),
                    ("torch fwd ms", "torch_fwd_ms", ".3f"),
                    ("kernel fwd ms", "kernel_fwd_ms", ".3f"),
                    ("fwd x", "speedup_fwd", ".1f"),
                    ("fwd kernel-only ms", "device_fwd_ms", ".3f"),
                    ("fwd of bound", "bound_fwd", ".0%"),
                    ("torch bwd ms", "torch_bwd_ms", ".3f"),
                    ("kernel bwd ms", "kernel_bwd_ms", ".3f"),
                    ("bwd x", "speedup_bwd", ".1f"),
                    ("bwd kernel-only ms", "device_bwd_ms", ".3f"),
                    ("bwd of bound", "bound_bwd", ".0%"),
                ],
            ),
            _table(
                step_rows,
                [
                    ("training step", "setup", ""),
                    ("table params", "params", ","),
                    ("torch ms", "torch_ms", ".2f"),
                    ("torch + compiled ms", "torch_compiled_ms", ".2f"),
                    ("kernel ms", "kernel_ms", ".2f"),
                    ("+ CUDA graph", "kernel_graph_ms", ".2f"),
                    ("+ compiled decoder", "kernel_compiled_ms", ".2f"),
                    ("+ compiled + graph", "kernel_compiled_graph_ms", ".2f"),
                    ("fused decoder", "fused_ms", ".2f"),
                    ("fused + graph", "fused_graph_ms", ".2f"),
                ],
            ),
        ]
    )
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
