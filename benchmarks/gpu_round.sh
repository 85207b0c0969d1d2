#!/usr/bin/env bash
# One prepared GPU round for the step time (issue 16): at most ~9 minutes on one H100/H200 (the
# timeouts: 280 s of kernels, the point-order rows last; 2 x 110 s of steps; the tests alongside), every
# result under $OUT (default ./gpu_out):
#   gpu.txt        the card, driver, torch and Triton versions
#   tests.txt      on the GPU: the encoding and decoder kernels' parity tests, the CUDA-graph
#                  parity tests and the compile tests (in the background, they mostly compile)
#   kernels.md     benchmarks/gpu.py at 1e5 points, Hermite 2D and 3D: the encoding kernels and the
#                  fused decoder kernel (wall ms against PyTorch, kernel-only device ms, fraction
#                  of the memory bound) and training steps (PyTorch / kernel / graph / compiled
#                  decoder / fused decoder)
#   steps_helmholtz2d.md, steps_helmholtz3d.md
#                  sg.solve ms/step at 1e5 points (suggested fields, benchmarks/cpu_steps.py):
#                  eager, kernel, + graph, + compile, + compile + graph, fused decoder, + graph
#   log.txt        everything printed, with the elapsed time at the end
#     bash benchmarks/gpu_round.sh                       # on the GPU machine, from the repo root
#     OUT=/tmp/round ROUNDS=5 STEPS=50 bash benchmarks/gpu_round.sh   # shorter
set -u
OUT=${OUT:-gpu_out}; PY=${PYTHON:-python3}
ROUNDS=${ROUNDS:-10}; STEPS=${STEPS:-100}
mkdir -p "$OUT"; export PYTHONPATH=src PYTHONUNBUFFERED=1
exec > >(tee -a "$OUT/log.txt") 2>&1
T0=$(date +%s)
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || echo "no nvidia-smi"
  "$PY" -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__, 'cuda', torch.cuda.is_available())"
} > "$OUT/gpu.txt" 2>&1
cat "$OUT/gpu.txt"

(timeout "${TESTS_TIMEOUT:-300}" "$PY" -m pytest -q -p no:cacheprovider tests/test_kernels.py \
    tests/test_decoder_kernel.py tests/test_train_graph.py tests/test_train_compile.py \
    > "$OUT/tests.txt" 2>&1; echo "exit $?" >> "$OUT/tests.txt") &

timeout "${KERNELS_TIMEOUT:-280}" "$PY" benchmarks/gpu.py --encodings hermite \
    --steps "2D small" "3D small" --rounds "$ROUNDS" --compile-workers 6 --out "$OUT/kernels.md"
echo "kernels done at $(( $(date +%s) - T0 )) s"

E='encoding.impl=torch;field.decoder_impl=torch'
K='encoding.impl=triton;field.decoder_impl=torch'
F='encoding.impl=triton;field.decoder_impl=triton'
for problem in helmholtz2d helmholtz3d; do
  timeout "${STEPS_TIMEOUT:-110}" "$PY" benchmarks/cpu_steps.py "$problem" \
      --common device=cuda --common batch=100000 --steps "$STEPS" --rounds 2 \
      --variant "eager=$E" --variant "kernel=$K" --variant "graph=$K;cuda_graph=true" \
      --variant "compile=$K;compile=true" --variant "compile_graph=$K;compile=true;cuda_graph=true" \
      --variant "fused=$F" --variant "fused_graph=$F;cuda_graph=true" > "$OUT/steps_$problem.md"
  cat "$OUT/steps_$problem.md"
done
wait
tail -5 "$OUT/tests.txt"
echo "elapsed $(( $(date +%s) - T0 )) s"
