#!/usr/bin/env bash
# Download, on a machine with PyPI access, what the lent GPU machine lacks to run the plugin's GPU
# checks (scripts/device/gpu_checks.sh). That machine has Python 3.12 with PyTorch, NumPy 2,
# OpenCV, SciPy, scikit-image, pandas, transformers 5 and huggingface_hub 1, and no MMagic stack;
# nothing can be fetched there, and at most 64 MiB travel with the working tree per call.
#
#   make install && bash scripts/device/fetch_wheels.sh [DEST=.whl] [PYTHON_VERSION=3.12]
#
# DEST must be ignored by git (the device tool carries it with `carry: [".whl"]`).
set -euo pipefail
dest="${1:-.whl}"
py="${2:-3.12}"
mkdir -p "$dest"
pip_download() {
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$py" \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d "$dest" "$@"
}
# The MMagic stack at the versions of requirements/constraints.txt, and what importing it needs
# beyond that machine's image. Not mediapipe (36 MB, would not fit beside PyAV): without it
# controlnet_aux only warns, and MMagic's ControlNet code is never run by the checks.
pip_download av==18.1.0 mmengine==0.10.7 mmagic==1.2.0 diffusers==0.24.0 \
  'huggingface_hub==0.25.2' 'transformers==4.46.3' 'tokenizers==0.20.3' \
  albumentations==1.4.24 albucore==0.0.23 'pydantic==2.10.6' 'pydantic_core==2.27.2' \
  annotated_types==0.7.0 addict==2.4.0 yapf==0.43.0 platformdirs==4.3.6 termcolor==2.5.0 \
  controlnet_aux==0.0.10 stringzilla==3.12.3 simsimd==6.2.1 \
  lpips==0.1.4 resize_right==0.0.2 \
  "setuptools==80.9.0"  # pkg_resources, for building mmcv and for MMEngine's mmagic:: configs
# mmcv 2.1.0 has no wheel for that PyTorch: its source is built there (CPU ops; the plugin and
# MMagic's RealBasicVSR need no mmcv CUDA op). Reading its metadata needs torch: the project's
# environment (make install) has it.
.venv/bin/python -m pip download -q --no-deps --no-binary :all: --no-build-isolation \
  -d "$dest" mmcv==2.1.0
du -sh "$dest"
