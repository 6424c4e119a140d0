#!/usr/bin/env bash
# Installs what is missing, builds slimc and runs the LeNet demo on real handwritten digits.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target slimc_cli slimc_demo_lenet >/dev/null
build/slimc_demo_lenet samples/lenet
echo
echo "the same model from the command line:"
build/slimc run samples/lenet/lenet.slim --input x=samples/lenet/input.npy --time
