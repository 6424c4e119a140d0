#!/usr/bin/env bash
# Runs the ONNX node-test conformance suite and rewrites docs/ONNX_SUPPORT.md.
#   tests/onnx/run.sh [BUILD_DIR] [run_node_tests options, e.g. --filter test_conv -v]
# BUILD_DIR defaults to build. Needs the onnx package pinned by scripts/install-deps.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
[ $# -gt 0 ] && shift
runner=$build/tests/run_node_tests
[ -x "$runner" ] || { echo "error: $runner not built (cmake --build $build)" >&2; exit 1; }
node_dir=$(python3 -c "import onnx, os; print(os.path.join(os.path.dirname(onnx.__file__), 'backend', 'test', 'data', 'node'))")
export SLIMC_CACHE_DIR=${SLIMC_CACHE_DIR:-$build/tests/cache}
exec "$runner" "$node_dir" --jobs "$(nproc)" --report "$root/docs/ONNX_SUPPORT.md" \
     --ratchet "$root/tests/onnx/ratchet.txt" "$@"
