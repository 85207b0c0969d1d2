#!/usr/bin/env bash
# One prepared GPU session: derivative methods side by side, then accuracy runs of the
# Hermite-NGP benchmarks under a wall-clock budget. Results go to $OUT (default ./gpu_out):
# gpu.txt, derivatives_*.md, accuracy.jsonl (one metrics line per run), log.txt.
#   DEVICE=cuda SCALE=1 bash benchmarks/gpu_checks.sh      # SCALE multiplies the time budgets
#   DEVICE=cpu SCALE=0.02 DERIVATIVES=0 bash benchmarks/gpu_checks.sh   # a dry run of the script
set -u
OUT=${OUT:-gpu_out}; DEVICE=${DEVICE:-cuda}; SCALE=${SCALE:-1}; PY=${PYTHON:-python3}
mkdir -p "$OUT"; export PYTHONPATH=src PYTHONUNBUFFERED=1
exec > >(tee -a "$OUT/log.txt") 2>&1
budget() { "$PY" -c "print(max(1.0, $1 * $SCALE))"; }
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || echo "no nvidia-smi";
  "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"; } > "$OUT/gpu.txt"
cat "$OUT/gpu.txt"
[ "${DERIVATIVES:-1}" = 1 ] && timeout 240 "$PY" benchmarks/derivatives.py --device "$DEVICE" --batch 16384 --rounds 10 \
    --out "$OUT/derivatives_2d_16k.md"
[ "${DERIVATIVES:-1}" = 1 ] && timeout 120 "$PY" benchmarks/derivatives.py --device "$DEVICE" --batch 100000 --rounds 10 \
    --encodings hermite rbf --out "$OUT/derivatives_2d_100k.md"
run() {  # name time problem [options...]
  local name=$1 seconds; seconds=$(budget "$2"); shift 2
  local dir=/tmp/smoothgrid_runs/$name
  echo "== $name ($seconds s): $*"
  timeout $(( ${seconds%.*} + 120 )) "$PY" -m smoothgrid solve "$@" --device "$DEVICE" \
      --time "$seconds" --out "$dir" --no-progress
  "$PY" - "$name" "$dir" "$OUT/accuracy.jsonl" <<'PY'
import json, sys
name, run, out = sys.argv[1:]
try:
    metrics = json.load(open(f"{run}/metrics.json"))
except OSError as err:
    metrics = {"error": str(err)}
with open(out, "a") as f:
    f.write(json.dumps({"run": name, **metrics}) + "\n")
print(name, metrics)
PY
}
run helmholtz2d_1_4 30 helmholtz2d --set batch=65536 --set final_lr_factor=0.05
run helmholtz2d_a10 90 helmholtz2d --set problem.a1=10 --set problem.a2=10  # suggested: the energy by CG
run helmholtz2d_a10_residual 90 helmholtz2d --set problem.a1=10 --set problem.a2=10 --set problem.formulation=residual
run convection_b30 60 convection --set batch=65536
run flow_mixing 45 flow_mixing --set batch=65536
run taylor_green 45 taylor_green --set batch=65536
