#!/usr/bin/env bash
# The plugin's GPU checks in one run, for the lent GPU machine (see the device tool), from the
# repository root, after `bash scripts/device/fetch_wheels.sh` here:
#
#   run(command="bash scripts/device/gpu_checks.sh", carry=[".whl"], timeout_s=540)
#
# 1. installs the carried wheels into /tmp/site and builds mmcv 2.1.0 there (CPU ops, ~1-2 min);
# 2. runs the tests that need CUDA (fp16/bf16 inference) and the network tests on that machine;
# 3. benchmarks the network against MMagic's at 180x320 -> 720x1280 in fp32/fp16/bf16
#    (scripts/benchmark_net.py) and the streaming inference end to end against MMagic's video
#    inferencer (scripts/benchmark_inference.py throughput).
# Everything is logged to $OUT/gpu_checks.log. DEVICE=cpu runs the same on a CPU (to try the
# script itself on a machine without a GPU, with small sizes).
set -uo pipefail
out="${OUT:-/tmp/gpu_checks}"
mkdir -p "$out"
exec > >(tee "$out/gpu_checks.log") 2>&1
device="${DEVICE:-cuda}"
py="${PYTHON:-python3}"
site=/tmp/site
step() { echo; echo "== $(date +%T) $*"; }
fail=0

step "install the carried wheels"
"$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target "$site" .whl/*.whl || exit 1
export PYTHONPATH="$site:$PWD/scripts/device/shims:$PWD"
export PYTHONUNBUFFERED=1 NO_ALBUMENTATIONS_UPDATE=1

if ! "$py" -c 'import mmcv.ops' 2>/dev/null; then
  step "build mmcv 2.1.0 (CPU ops)"
  rm -rf /tmp/mmcv-2.1.0 && tar -xzf .whl/mmcv-2.1.0.tar.gz -C /tmp || exit 1
  # torch's recent headers need C++20; mmcv 2.1.0 asks for C++17
  sed -i "s/'-std=c++17'/'-std=c++20'/g" /tmp/mmcv-2.1.0/setup.py
  (cd /tmp/mmcv-2.1.0 && CUDA_VISIBLE_DEVICES= MMCV_WITH_OPS=1 MAX_JOBS="$(nproc)" \
    "$py" -m pip install -q --no-deps --no-build-isolation --no-cache-dir --target "$site" .) \
    > "$out/mmcv_build.log" 2>&1 || { tail -30 "$out/mmcv_build.log"; exit 1; }
fi
"$py" - <<'PY' || exit 1
import torch, mmcv, mmcv.ops, mmengine, mmagic, av
print('torch', torch.__version__, '| cuda', torch.cuda.is_available(),
      torch.cuda.get_device_name() if torch.cuda.is_available() else '',
      '| mmcv', mmcv.__version__, '| mmengine', mmengine.__version__, '| mmagic', mmagic.__version__,
      '| av', av.__version__)
import realbasicvsr_plugin.models, realbasicvsr_plugin.apis  # noqa: F401
from mmagic.apis import MMagicInferencer  # noqa: F401
PY

step "tests: CUDA precisions, the network, the inference API"
"$py" -m pytest -q -p no:cacheprovider -o addopts="" tests/test_inference_api.py \
  tests/test_realbasicvsr_net.py -rs || fail=1

if [ "$device" = cuda ]; then
  net_args=(--device cuda --height 180 --width 320 --frames 10 --repeat 5 --dtype fp32 fp16 bf16)
  e2e_args=(--device cuda --size 180x320 --frames 30 --precisions fp32 fp16 bf16)
else
  net_args=(--device cpu --height 64 --width 64 --frames 2 --repeat 1 --num-cleaning-blocks 2
            --num-propagation-blocks 2 --dtype fp32 bf16)
  e2e_args=(--device cpu --size 32x32 --frames 4 --blocks 1 --precisions fp32)
fi
step "benchmark: network, plugin vs MMagic"
"$py" scripts/benchmark_net.py "${net_args[@]}" || fail=1
"$py" scripts/benchmark_net.py "${net_args[@]}" --thres 0 || fail=1
step "benchmark: streaming inference end to end, plugin vs MMagic's video inferencer"
"$py" scripts/benchmark_inference.py throughput "${e2e_args[@]}" || fail=1
step "done (failures: $fail)"
exit "$fail"
