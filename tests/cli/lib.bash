# Shared by the CLI tests (sourced; not a test itself).
set -uo pipefail
: "${SLIMC:?run through ctest}" "${SLIMC_SOURCE_DIR:?}" "${TEST_TMP:?}"
S=$SLIMC_SOURCE_DIR/samples
rm -rf "$TEST_TMP" && mkdir -p "$TEST_TMP"
cd "$TEST_TMP"
failures=0
passes=0

ok() { passes=$((passes + 1)); echo "ok: $*"; }
bad() { failures=$((failures + 1)); echo "FAIL: $*"; }

# expect_fail NAME PATTERN CMD...: CMD must exit 1 and print PATTERN (grep -E) on stderr.
expect_fail() {
  local name=$1 pattern=$2; shift 2
  "$@" >out.txt 2>err.txt
  local rc=$?
  if [ $rc -ne 1 ]; then bad "$name: exit status $rc, not 1"; cat err.txt; return; fi
  if ! grep -qE -- "$pattern" err.txt; then bad "$name: stderr lacks /$pattern/"; cat err.txt; return; fi
  if grep -qiE "sanitizer|segmentation|internal error" err.txt; then bad "$name: crashed"; cat err.txt; return; fi
  ok "$name"
}

# expect_ok NAME CMD...: CMD must exit 0.
expect_ok() {
  local name=$1; shift
  if "$@" >out.txt 2>err.txt; then ok "$name"; else bad "$name: exit $?"; cat err.txt out.txt; fi
}

finish() {
  echo "$passes passed, $failures failed"
  [ $failures -eq 0 ]
}

# torch_onnx_models TOOL: for the tests of PyTorch exports (tests/tools/TOOL): exits the test
# as skipped without Debian's python with torch, pip's python3 with onnxruntime and onnx, or
# slimc's ONNX import; otherwise exports the models into m/ (`TOOL export m`) and writes
# ONNX Runtime's references (`TOOL ref m`).
torch_onnx_models() {
  local tool=$SLIMC_SOURCE_DIR/tests/tools/$1
  if "$SLIMC" inspect "$S/mlp/mlp.slim" --passes 'fold' 2>&1 | grep -q "built without ONNX" ||
    ! /usr/bin/python3 -c 'import torch' 2>/dev/null ||
    ! python3 -c 'import onnxruntime, onnx' 2>/dev/null; then
    echo "skip: needs /usr/bin/python3 with torch, python3 with onnxruntime and onnx, slimc with ONNX import"
    finish
    exit $?
  fi
  /usr/bin/python3 "$tool" export m >export.txt 2>&1 || { bad "export"; cat export.txt; }
  python3 "$tool" ref m >ref.txt 2>&1 || { bad "ORT references"; cat ref.txt; }
}

# against_ort NAME: m/NAME.onnx run on m/x_NAME.npy at 1 and 3 threads and on the AVX2 path,
# each output within 1e-5 (of its largest magnitude) of m/ref_NAME.npy.
against_ort() {
  local n=$1 t
  for t in 1 3; do
    expect_ok "$n run, $t threads" "$SLIMC" run "m/$n.onnx" --threads $t --input "x=m/x_$n.npy" \
      --output-dir "o_${n}_$t"
    expect_ok "$n == ORT to 1e-5, $t threads" "$NPYCMP" "o_${n}_$t/y.npy" "m/ref_$n.npy" 1e-5
  done
  SLIMC_MAX_ISA=avx2 expect_ok "$n run, AVX2" "$SLIMC" run "m/$n.onnx" --input "x=m/x_$n.npy" \
    --output-dir "o_${n}_avx2"
  expect_ok "$n == ORT to 1e-5, AVX2" "$NPYCMP" "o_${n}_avx2/y.npy" "m/ref_$n.npy" 1e-5
}
