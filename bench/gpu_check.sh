#!/usr/bin/env bash
# GPU check of issue #19: the GPU area kernel against the CPU kernel on a real GPU, and the
# benchmark workloads a and b on both devices, in one run of at most ~8 minutes.
#
# On a fresh Linux GPU machine with Python 3 and pip, from the repository root:
#
#     OUT=/path/to/folder bash bench/gpu_check.sh
#
# Writes into "$OUT": setup.log (installation), env.json (GPU, driver, numba), equality.json
# (per case: pixels, NaN patterns equal, largest |GPU - CPU| in dB, fraction within 0.05 dB,
# fraction bit-identical), bench.json (`c2000cov bench` records of workloads a and b, device
# cpu and gpu) and summary.txt (printed at the end). Exit status 0 when the equality check
# passes (99.9 % within 0.05 dB, none above 0.5 dB) and both benchmarks ran.
#
# numba.cuda needs NVVM and libdevice matching the driver: the script uses what the machine
# has (a GPU image with numba-cuda), else installs nvidia-cuda-nvcc-cu12 for the driver's
# CUDA version (CUDA_HOME points at it), else numba-cuda[cu12]; the first that compiles and
# runs the kernel on a small window wins. PYTHON picks the interpreter (default python3),
# VENV the virtual environment (default .venv-gpu). A dry run without a GPU, on Numba's
# CUDA simulator (plumbing only):
#     NUMBA_ENABLE_CUDASIM=1 GPU_CHECK_CASES=sim GPU_CHECK_WORKLOADS= OUT=/tmp/x bash bench/gpu_check.sh
set -uo pipefail

OUT="${OUT:?set OUT to an output folder}"
mkdir -p "$OUT"
PYTHON="${PYTHON:-python3}"
CASES="${GPU_CHECK_CASES:-gpu}"           # sim: the small windows (dry run on the simulator)
WORKLOADS="${GPU_CHECK_WORKLOADS-a-single-25km-25m b-single-25km-10m}"
VENV="${VENV:-.venv-gpu}"
LOG="$OUT/setup.log"
START=$(date +%s)
say() { echo "[gpu_check $(( $(date +%s) - START ))s] $*" | tee -a "$OUT/summary.txt"; }
: > "$OUT/summary.txt"

# 1. a virtual environment that also sees the machine's own GPU packages (numba-cuda on a
#    GPU image); without the venv module, the system Python itself
if [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv --system-site-packages "$VENV" >>"$LOG" 2>&1; then
    PY="$VENV/bin/python"
    "$PY" -m pip install -q --upgrade pip >>"$LOG" 2>&1
else
    say "no venv module: installing into $PYTHON itself"
    PY="$PYTHON"
fi
# pip install into $PY (a system Python may need --break-system-packages, PEP 668)
pipi() { "$PY" -m pip install -q "$@" >>"$LOG" 2>&1 \
         || "$PY" -m pip install -q --break-system-packages "$@" >>"$LOG" 2>&1; }
say "installing the project (pip install -e .) for $PY"
pipi -e . || { say "pip install -e . failed (see setup.log)"; exit 1; }

# 2. a CUDA toolchain numba can use: probe = compile and run the GPU kernel on a small window
probe() {
    timeout 300 "$PY" - <<'EOF' >>"$LOG" 2>&1
import numpy as np
from c2000cov.kernels.area import area_loss_multi_db
from c2000cov.kernels.area_cuda import area_loss_multi_db_gpu, gpu_name
name = gpu_name()
print("probe gpu:", name)
assert name is not None, "numba finds no GPU"
rng = np.random.default_rng(0)
g = (10 + rng.normal(0, 2, (41, 41))).astype(np.float32)
s = g + 5
f = np.array([392.5, 382.5])
cpu = area_loss_multi_db(s, g, 20, 20, 30.0, 1.5, 25.0, 500.0, f, 8494.0)
gpu = area_loss_multi_db_gpu(s, g, 20, 20, 30.0, 1.5, 25.0, 500.0, f, 8494.0)
d = np.nanmax(np.abs(cpu - gpu))
print("probe max diff dB:", d)
assert d < 0.5
EOF
}
CUDA_VER=$(nvidia-smi 2>/dev/null | sed -n 's/.*CUDA Version: *\([0-9]*\.[0-9]*\).*/\1/p' | head -1)
say "driver CUDA version: ${CUDA_VER:-unknown}"
TOOLCHAIN=""
if probe; then
    TOOLCHAIN="as installed"
else
    if [ -n "$CUDA_VER" ] && [ "${CUDA_VER%%.*}" = "12" ]; then
        say "installing nvidia-cuda-nvcc-cu12==$CUDA_VER.* (NVVM, libdevice)"
        pipi "nvidia-cuda-nvcc-cu12==$CUDA_VER.*"
        NVCC_DIR=$("$PY" -c "import nvidia.cuda_nvcc as m; print(list(m.__path__)[0])" 2>>"$LOG")
        export CUDA_HOME="$NVCC_DIR"
        probe && TOOLCHAIN="nvidia-cuda-nvcc-cu12 $CUDA_VER (CUDA_HOME=$CUDA_HOME)"
    fi
    if [ -z "$TOOLCHAIN" ]; then
        unset CUDA_HOME
        say "installing numba-cuda[cu12]"
        pipi "numba-cuda[cu12]"
        probe && TOOLCHAIN="numba-cuda[cu12]"
    fi
fi
if [ -z "$TOOLCHAIN" ]; then
    say "FAILED: numba could not compile and run the GPU kernel (see setup.log)"
    exit 1
fi
say "CUDA toolchain: $TOOLCHAIN"
"$PY" - <<EOF > "$OUT/env.json" 2>>"$LOG"
import json, platform, subprocess, numba, numpy
from c2000cov.kernels.area_cuda import gpu_name
smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                      "--format=csv,noheader"], capture_output=True, text=True).stdout.strip()
from numba import cuda
print(json.dumps({"gpu": gpu_name(), "nvidia_smi": smi, "numba": numba.__version__,
                  "numba_cuda": getattr(cuda, "implementation", "?"), "numpy": numpy.__version__,
                  "python": platform.python_version(), "toolchain": "$TOOLCHAIN",
                  "cpu_threads": numba.config.NUMBA_NUM_THREADS}, indent=1))
EOF

# 3. GPU against CPU on windows of the size of a run (both frequencies, NaNs, buildings)
say "equality check (tests/kernels/cuda_compare.py --cases $CASES)"
STATUS=0
timeout 240 "$PY" tests/kernels/cuda_compare.py --cases "$CASES" --json "$OUT/equality.json" >>"$LOG" 2>&1 \
    || { say "equality check did not finish (see setup.log)"; STATUS=1; }
if [ -s "$OUT/equality.json" ]; then
    "$PY" - "$OUT/equality.json" <<'EOF' | tee -a "$OUT/summary.txt"
import json, sys
r = json.load(open(sys.argv[1]))
ok = True
for c in r["cases"]:
    good = c["nan_equal"] and c["max_abs_db"] <= 0.5 and c["frac_within"] >= 0.999
    ok &= good
    print(f"  {c['case']:<18} {c['pixels']:>9} px  max {c['max_abs_db']:.4f} dB  "
          f"within 0.05 dB {100 * c['frac_within']:.3f} %  identical {100 * c['frac_identical']:.1f} %  "
          f"NaN equal {c['nan_equal']}  {'OK' if good else 'FAIL'}")
print("  equality:", "PASS" if ok else "FAIL", "on", r["device"])
sys.exit(0 if ok else 1)
EOF
    [ "${PIPESTATUS[0]}" = "0" ] || STATUS=1
fi

# 4. benchmark workloads a and b on both devices (records carry a "device" key)
WL_ARGS=()
for w in $WORKLOADS; do WL_ARGS+=(--workload "$w"); done
for dev in cpu gpu; do
    [ ${#WL_ARGS[@]} -gt 0 ] || break
    say "bench $WORKLOADS, device $dev"
    timeout 240 "$PY" -m c2000cov.cli bench --device "$dev" "${WL_ARGS[@]}" \
        --json "$OUT/bench.json" >>"$LOG" 2>&1 \
        || { say "bench on $dev failed (see setup.log)"; STATUS=1; }
done
if [ -s "$OUT/bench.json" ]; then
    "$PY" - "$OUT/bench.json" <<'EOF' | tee -a "$OUT/summary.txt"
import json, sys
for r in json.load(open(sys.argv[1])):
    print(f"  {r['workload']:<20} {r.get('device', '?'):<4} threads {r['threads']:>3}  "
          f"{r['px_per_s']:.3g} px/s  ({r['seconds']:.3f} s, {r['pixels']} px)")
EOF
fi
say "done, status $STATUS; files in $OUT"
exit $STATUS
