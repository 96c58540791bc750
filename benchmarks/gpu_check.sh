#!/usr/bin/env bash
# One prepared GPU check (run on a machine with a CUDA GPU and CuPy, e.g. through the device tool):
# the `gpu`-marked tests and the GPU benchmarks, output also saved under $OUT (or ./gpu_out).
#
# The device image has numpy, scipy, numba, h5py, matplotlib, scikit-learn, hypothesis, pytest,
# tqdm and CuPy, but not array-api-compat, array-api-strict or tensorly: carry them as wheels
# in .whl/ (git-ignored via .git/info/exclude), made on the CPU machine with
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#     --implementation cp --platform manylinux_2_17_x86_64 -d .whl \
#     array-api-compat==1.16.0 array-api-strict==2.6.1 tensorly==0.10.0
# and call this script with carry [".whl"]. Total run time: a few minutes.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-gpu_out}"
mkdir -p "$OUT"
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH="/tmp/site:${PYTHONPATH:-}"
fi
export PYTHONPATH="$PWD:${PYTHONPATH:-}" PYTHONUNBUFFERED=1 MPLBACKEND=Agg
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee "$OUT/gpu.txt"
python3 -c "import cupy; print('cupy', cupy.__version__, 'devices', cupy.cuda.runtime.getDeviceCount())" 2>&1 | tee -a "$OUT/gpu.txt"
timeout 300 python3 -m pytest -m gpu -q -p no:cacheprovider -x --timeout=120 2>&1 | tee "$OUT/pytest_gpu.txt" \
  || timeout 300 python3 -m pytest -m gpu -q -p no:cacheprovider 2>&1 | tee "$OUT/pytest_gpu.txt"
timeout 120 python3 benchmarks/bench_cfr.py --gpu 2>&1 | tee "$OUT/bench_cfr.txt"
timeout 180 python3 benchmarks/bench_subspace.py --gpu-only 2>&1 | tee "$OUT/bench_subspace_gpu.txt"
timeout 180 python3 benchmarks/bench_vbi.py --quick --gpu 2>&1 | tee "$OUT/bench_vbi_gpu.txt"
