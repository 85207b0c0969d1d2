#!/usr/bin/env bash
# The apps' GPU rows (issues 13 and 14), one prepared run of at most ~9 minutes on one H100/H200;
# every result under $OUT (default ./gpu_apps_out):
#   gpu.txt          the card, driver and torch version
#   nerf/table.md    benchmarks/nerf_poses.py: the `solids` scene (16 + 4 views, 100 x 100), poses
#                    6 degrees / 0.1 units off, every variant (linear, cosine, straight-through
#                    axis / corner at lambda 1, each with and without the curriculum, true
#                    poses) for NERF_STEPS steps of 1024 rays x 64 samples, NERF_SEEDS seeds
#   smoke/results.md benchmarks/smoke_table.py: the 3D plume at 64^3 x 30 frames, 3 + 1 views, on
#                    the blueprint's grid (L = 16, 16..512 cells, 2^19 rows), every method,
#                    SMOKE_TIME seconds each
#   log.txt          everything printed
#     bash benchmarks/gpu_apps.sh                                   # on the GPU machine
#     DEVICE=cpu NERF_STEPS=2 NERF_SEEDS=1 SMOKE_TIME=2 SMOKE_RES=8 SMOKE_FRAMES=4 \
#         SMOKE_PIXELS=16 NERF_SIZE=24 bash benchmarks/gpu_apps.sh  # a dry run of the script
set -u
OUT=${OUT:-gpu_apps_out}; PY=${PYTHON:-python3}; DEVICE=${DEVICE:-cuda}
NERF_STEPS=${NERF_STEPS:-1000}; NERF_SEEDS=${NERF_SEEDS:-3}; NERF_SIZE=${NERF_SIZE:-100}
SMOKE_TIME=${SMOKE_TIME:-15}; SMOKE_RES=${SMOKE_RES:-64}; SMOKE_FRAMES=${SMOKE_FRAMES:-30}
SMOKE_PIXELS=${SMOKE_PIXELS:-128}
mkdir -p "$OUT"; export PYTHONPATH=src PYTHONUNBUFFERED=1
exec > >(tee -a "$OUT/log.txt") 2>&1
T0=$(date +%s)
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || echo "no nvidia-smi"
  "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
} > "$OUT/gpu.txt" 2>&1
cat "$OUT/gpu.txt"

timeout "${NERF_TIMEOUT:-330}" "$PY" benchmarks/nerf_poses.py --device "$DEVICE" \
    --size "$NERF_SIZE" --steps "$NERF_STEPS" --batch 1024 --samples 64 --seeds "$NERF_SEEDS" --lambdas 1 \
    --true-poses linear \
    --out "$OUT/nerf" || echo "nerf_poses stopped (exit $?): the rows done are in $OUT/nerf/rows.jsonl"
timeout "${SMOKE_TIMEOUT:-200}" "$PY" benchmarks/smoke_table.py --source plume3d --device "$DEVICE" \
    --resolution "$SMOKE_RES" --frames "$SMOKE_FRAMES" --pixels "$SMOKE_PIXELS" --views 3 \
    --grid "${SMOKE_GRID:-blueprint}" \
    --time "$SMOKE_TIME" --out "$OUT/smoke" || echo "smoke_table stopped (exit $?)"
echo "elapsed $(( $(date +%s) - T0 )) s"
