#!/usr/bin/env bash
# One prepared GPU session for the fused kernels: a Triton smoke test, the kernel parity tests on
# the GPU (in the background, they mostly compile), then benchmarks/gpu.py; optionally a timed
# solve on the kernel path, `sg.solve` with and without `cuda_graph=True` (GRAPH=1: its parity
# tests, then ms/step of both at the same steps) and (PAPER=1) rows of the `paper` bench suite.
# Results go to $OUT (default ./gpu_out): gpu.txt, kernel_tests.txt, gpu_kernels.md,
# kernel_layouts.txt, solve.txt, graph.txt, paper.md, log.txt.
#   bash benchmarks/gpu_kernels.sh                  # on the GPU machine
#   SOLVE=0 TESTS=0 bash benchmarks/gpu_kernels.sh  # the benchmark only
#   BENCH=0 SOLVE=0 TESTS=0 PAPER=1 PAPER_TIME=20 bash benchmarks/gpu_kernels.sh  # paper rows only
set -u
OUT=${OUT:-gpu_out}; PY=${PYTHON:-python3}
mkdir -p "$OUT"; export PYTHONPATH=src PYTHONUNBUFFERED=1
exec > >(tee -a "$OUT/log.txt") 2>&1
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || echo "no nvidia-smi"
  "$PY" -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__, 'cuda', torch.cuda.is_available())"
  "$PY" -c "import pytest; print('pytest', pytest.__version__)" || echo "no pytest"; } > "$OUT/gpu.txt" 2>&1
cat "$OUT/gpu.txt"
cat > /tmp/sg_triton_smoke.py <<'PY'
import torch, triton, triton.language as tl
@triton.jit
def _add(x, y, n, B: tl.constexpr):
    o = tl.program_id(0) * B + tl.arange(0, B)
    tl.store(y + o, tl.load(x + o, mask=o < n) + 1, mask=o < n)
x = torch.arange(10.0, device="cuda"); y = torch.empty_like(x)
_add[(1,)](x, y, 10, B=16); torch.cuda.synchronize()
print("triton smoke test:", bool((y == x + 1).all()))
PY
timeout 120 "$PY" /tmp/sg_triton_smoke.py
if [ "${TESTS:-1}" = 1 ]; then
  (timeout "${TESTS_TIMEOUT:-360}" "$PY" -m pytest -q -p no:cacheprovider tests/test_kernels.py > "$OUT/kernel_tests.txt" 2>&1;
   echo "exit $?" >> "$OUT/kernel_tests.txt") &
fi
[ "${BENCH:-1}" = 1 ] && timeout "${BENCH_TIMEOUT:-420}" "$PY" benchmarks/gpu.py --out "$OUT/gpu_kernels.md" --rounds "${ROUNDS:-20}"
[ "${LAYOUTS:-1}" = 1 ] && timeout 150 "$PY" benchmarks/kernel_layouts.py | tee "$OUT/kernel_layouts.txt"
wait
tail -3 "$OUT/kernel_tests.txt" 2>/dev/null
if [ "${SOLVE:-1}" = 1 ]; then
  timeout 100 "$PY" -m smoothgrid solve helmholtz2d --device cuda --time 30 --set batch=65536 \
      --set final_lr_factor=0.05 --out /tmp/sg_solve --no-progress > "$OUT/solve.txt" 2>&1
  tail -5 "$OUT/solve.txt"; grep -h "steps\|rel_l2" /tmp/sg_solve/metrics.json >> "$OUT/solve.txt" 2>/dev/null
fi
if [ "${GRAPH:-1}" = 1 ]; then  # eager steps against steps replayed from a CUDA graph
  timeout 240 "$PY" -m pytest -q -p no:cacheprovider tests/test_train_graph.py > "$OUT/graph.txt" 2>&1
  for graph in false true; do
    timeout 150 "$PY" -m smoothgrid solve helmholtz2d --device cuda --steps "${GRAPH_STEPS:-2000}" \
        --set batch=65536 --set cuda_graph=$graph --out /tmp/sg_graph_$graph --no-progress > /dev/null 2>&1
    echo "cuda_graph=$graph: $(grep -h '"ms_per_step"\|"rel_l2"' /tmp/sg_graph_$graph/metrics.json | tr -d '\n ')" >> "$OUT/graph.txt"
  done
  tail -4 "$OUT/graph.txt"
fi
if [ "${PAPER:-0}" = 1 ]; then  # ~ methods x problems x PAPER_TIME seconds, plus evaluations
  timeout "${PAPER_TIMEOUT:-540}" "$PY" -m smoothgrid bench paper --device cuda --time "${PAPER_TIME:-20}" \
      --methods ${PAPER_METHODS:-hermite pinn siren piratenet ingp_fd} \
      --problems ${PAPER_PROBLEMS:-helmholtz2d_10_10 convection flow_mixing} --out /tmp/sg_paper
  cp /tmp/sg_paper/results.md "$OUT/paper.md" 2>/dev/null
fi
