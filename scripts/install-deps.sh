#!/usr/bin/env bash
# Installs what slimc needs to build and test, on Debian 12: only what is missing.
#   scripts/install-deps.sh          build + tests
#   scripts/install-deps.sh --train  also Debian's torch/sklearn to regenerate samples/
set -euo pipefail

pkgs=(build-essential cmake pkg-config flex bison clang-format check libsubunit-dev clang-14 libclang-rt-14-dev
      protobuf-c-compiler libprotobuf-c-dev libonnx-dev)
# The in-process JIT (SLIMC_WITH_LLVM, on when these are present): LLVM, Clang and lld 14.
pkgs+=(llvm-14-dev libclang-cpp14-dev libclang-14-dev libclang-common-14-dev liblld-14-dev zlib1g-dev)
# The Python package's tests (tests/python; docs/python.md): the python_package ctest test
# runs them with Debian's python3, numpy and pytest; scripts/python_test.sh makes a venv
# (python3-venv) and pip-installs the package into it (pip fetches scikit-build-core).
pkgs+=(python3-venv python3-pip python3-numpy python3-pytest)
# Cross compilation (slimc build --target-triple) and its test under qemu-user.
pkgs+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)
if [ "${1:-}" = "--train" ]; then
  pkgs+=(python3-numpy python3-torch python3-torchvision python3-sklearn libopenblas0)
fi

# The ONNX conformance suite reads the node tests shipped in this pinned onnx release
# (the last ones that still ship onnx/backend/test/data/node), into the python3 on PATH.
ONNX_PIN=1.20.1
install_onnx_tests() {
  command -v python3 >/dev/null || { echo "note: no python3: the ONNX conformance test will be skipped" >&2; return 0; }
  if [ "$(python3 -c 'import onnx; print(onnx.__version__)' 2>/dev/null)" != "$ONNX_PIN" ]; then
    echo "installing onnx==$ONNX_PIN (pip, for its node tests)"
    python3 -m pip install --quiet "onnx==$ONNX_PIN" || echo "warning: could not install onnx==$ONNX_PIN" >&2
  fi
}

# NVRTC, the CUDA backend's compiler (loaded at run time; test_cuda_rt needs it): the CUDA
# toolkit's when there is one, else the pip wheel nvidia-cuda-nvrtc, which runtime/nvrtc.c
# finds in the site-packages of the python3 on PATH (docs/cuda.md).
install_nvrtc() {
  if ls /usr/local/cuda/lib64/libnvrtc.so* >/dev/null 2>&1 || ldconfig -p 2>/dev/null | grep -q 'libnvrtc\.so'; then
    return 0
  fi
  command -v python3 >/dev/null || { echo "warning: no python3 to install NVRTC with: the CUDA tests will fail" >&2; return 0; }
  if ! python3 -c 'import glob, site, sys; sys.exit(not any(glob.glob(p + "/nvidia/*/lib/libnvrtc.so*") for p in site.getsitepackages() + [site.getusersitepackages()]))' 2>/dev/null; then
    echo "installing nvidia-cuda-nvrtc (pip: no CUDA toolkit here, and the CUDA backend's tests need NVRTC)"
    python3 -m pip install --quiet nvidia-cuda-nvrtc || echo "warning: could not install nvidia-cuda-nvrtc: the CUDA tests will fail" >&2
  fi
}

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  install_onnx_tests
  install_nvrtc
  exit 0
fi

echo "installing: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "error: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
install_onnx_tests
install_nvrtc
