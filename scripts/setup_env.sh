#!/usr/bin/env bash
# One-command environment for realbasicvsr_plugin.
#
# Creates .venv in the repository root with torch 2.14.1 + torchvision 0.29.1, mmcv 2.1.0 built
# from source with its compiled ops, MMagic 1.2.0, openmim and the plugin (editable), all held
# together by requirements/constraints.txt. Idempotent: a second run on a ready environment only
# checks a stamp and an import, and finishes in seconds. Any failing step stops the script with
# the name of that step.
#
# Environment variables:
#   VENV               where to create the environment (default: <repo>/.venv)
#   PYTHON             the interpreter to create it with (default: python3)
#   RBVSR_WHEEL_CACHE  where the built mmcv wheel is kept for reuse
#                      (default: ~/.cache/realbasicvsr_plugin/wheels)
#   MAX_JOBS           parallel compile jobs for mmcv (default: number of cores)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
TORCH_VERSION=2.14.1
TORCHVISION_VERSION=0.29.1
MMCV_VERSION=2.1.0
CONSTRAINTS="$ROOT/requirements/constraints.txt"
WHEEL_CACHE="${RBVSR_WHEEL_CACHE:-$HOME/.cache/realbasicvsr_plugin/wheels}/torch-$TORCH_VERSION"
STAMP="$VENV/.realbasicvsr_plugin.stamp"

step=""
trap 'rc=$?; if [ $rc -ne 0 ]; then echo "setup_env: FAILED at step: $step (exit $rc)" >&2; fi' EXIT
say() { step="$1"; echo "==> $1"; }

# What the environment was built from: any change to these rebuilds the dependency layer.
want_stamp="$(cat "$CONSTRAINTS" "$ROOT/requirements/runtime.txt" "$ROOT/requirements/tests.txt" \
  "$ROOT/requirements/deploy.txt" "$ROOT/requirements/demo_data.txt" "$ROOT/setup.py" "$ROOT/setup.cfg" "$0" | sha256sum | cut -d' ' -f1)"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want_stamp" ]; then
  say "check the ready environment"
  if "$VENV/bin/python" -c "import realbasicvsr_plugin, mmagic.models" 2>/dev/null; then
    echo "environment at $VENV is ready"
    exit 0
  fi
  echo "environment at $VENV is stale or broken: rebuilding"
fi

PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)

say "create the virtual environment at $VENV"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"${PIP[@]}" install -q --upgrade pip

say "install torch $TORCH_VERSION and torchvision $TORCHVISION_VERSION"
"${PIP[@]}" install -q "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION" -c "$CONSTRAINTS"

say "install build tools for mmcv (setuptools<81 keeps pkg_resources)"
"${PIP[@]}" install -q 'setuptools<81' wheel ninja -c "$CONSTRAINTS"

mmcv_ok() {
  "$VENV/bin/python" - <<'PY' 2>/dev/null
import importlib.metadata as md
import mmcv, mmcv.ops  # noqa: F401  (the compiled _ext must load)
from mmcv.ops import nms  # noqa: F401
assert md.version('mmcv') == '2.1.0'
PY
}

if ! mmcv_ok; then
  mkdir -p "$WHEEL_CACHE"
  wheel="$(ls "$WHEEL_CACHE"/mmcv-$MMCV_VERSION-*.whl 2>/dev/null | head -n1 || true)"
  if [ -z "$wheel" ]; then
    say "build mmcv $MMCV_VERSION with its ops against torch $TORCH_VERSION (about 7 min on 2 cores)"
    src="$(mktemp -d)"
    "${PIP[@]}" download -q --no-deps --no-binary :all: --no-build-isolation \
      "mmcv==$MMCV_VERSION" -d "$src"
    tar -xzf "$src"/mmcv-$MMCV_VERSION.tar.gz -C "$src"
    # torch 2.14's headers require C++20; mmcv 2.1.0 hard-codes -std=c++17.
    grep -q "'-std=c++17'" "$src/mmcv-$MMCV_VERSION/setup.py"
    sed -i "s/'-std=c++17'/'-std=c++20'/g" "$src/mmcv-$MMCV_VERSION/setup.py"
    MAX_JOBS="${MAX_JOBS:-$(nproc)}" "${PIP[@]}" wheel --no-deps --no-build-isolation \
      "$src/mmcv-$MMCV_VERSION" -w "$src/dist"
    cp "$src"/dist/mmcv-$MMCV_VERSION-*.whl "$WHEEL_CACHE"/
    rm -rf "$src"
    wheel="$(ls "$WHEEL_CACHE"/mmcv-$MMCV_VERSION-*.whl | head -n1)"
  fi
  say "install mmcv from $wheel"
  "${PIP[@]}" install -q --no-deps --force-reinstall "$wheel"
  say "install mmcv's runtime dependencies"
  "${PIP[@]}" install -q addict packaging Pillow pyyaml yapf 'mmengine==0.10.7' -c "$CONSTRAINTS"
fi

say "install MMagic 1.2.0, the plugin's runtime, test and deploy (ONNX) dependencies"
"${PIP[@]}" install -q -c "$CONSTRAINTS" -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/tests.txt" \
  -r "$ROOT/requirements/deploy.txt" -r "$ROOT/requirements/demo_data.txt"

say "install the plugin (editable)"
"${PIP[@]}" install -q --no-deps --no-build-isolation -e "$ROOT"

say "keep one OpenCV distribution (opencv-python-headless)"
# mmcv, albumentations and mediapipe each ask for another OpenCV distribution; they all install
# into the same cv2 package and overwrite each other. Keep the headless one alone.
for dist in opencv-python opencv-contrib-python opencv-contrib-python-headless opencv-python-headless; do
  if "${PIP[@]}" show -q "$dist" >/dev/null 2>&1; then
    "${PIP[@]}" uninstall -q -y "$dist"
  fi
done
"${PIP[@]}" install -q --no-deps --force-reinstall 'opencv-python-headless==4.11.0.86'

say "check that mmcv's ops, MMagic's models and the plugin import"
mmcv_ok || { echo "mmcv.ops does not load" >&2; exit 1; }
"$VENV/bin/python" -c "import cv2, mmagic.models, realbasicvsr_plugin; print('realbasicvsr_plugin', realbasicvsr_plugin.__version__, '| mmagic models ok | cv2', cv2.__version__)"

echo "$want_stamp" > "$STAMP"
step=""
echo "environment at $VENV is ready"
