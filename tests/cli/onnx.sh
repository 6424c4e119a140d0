#!/usr/bin/env bash
# ONNX models through the CLI: the real models of tests/onnx/models (exported from PyTorch
# by tests/onnx/export_models.py, ONNX Runtime's outputs recorded by ort_reference.py) run
# and agree with ONNX Runtime (max|a - b| <= 1e-4 * max|b|); bad files fail cleanly.
source "$(dirname "$0")/lib.bash"
M=$SLIMC_SOURCE_DIR/tests/onnx/models

if ! "$SLIMC" run "$M/mlp.onnx" --input "$M/mlp.input.npy" 2>&1 | grep -q "built without ONNX"; then
  for m in mlp lenet transformer_layer lstm; do
    expect_ok "run $m.onnx" "$SLIMC" run "$M/$m.onnx" --input "$M/$m.input.npy" --output-dir "out_$m"
    expect_ok "$m matches onnxruntime" "$NPYCMP" "out_$m/output.npy" "$M/$m.ort.npy" 1e-4
  done
  # import: a .slim + .safetensors that computes the same
  for m in mlp lenet transformer_layer; do
    expect_ok "import $m" "$SLIMC" import "$M/$m.onnx" -o "imp_$m.slim"
    expect_ok "run imported $m" "$SLIMC" run "imp_$m.slim" --input "$M/$m.input.npy" --output-dir "imp_out_$m"
    expect_ok "imported $m matches" "$NPYCMP" "imp_out_$m/output.npy" "$M/$m.ort.npy" 1e-4
  done
  expect_ok "inspect lenet.onnx --ir" "$SLIMC" inspect "$M/lenet.onnx" --ir
  printf 'not a model at all\377\377\377' > junk.onnx
  expect_fail "not protobuf" "junk.onnx: error: not a valid ONNX model" "$SLIMC" inspect junk.onnx
  head -c 3000 "$M/mlp.onnx" > cut.onnx
  expect_fail "truncated" "cut.onnx: error: not a valid ONNX model" "$SLIMC" inspect cut.onnx
  expect_fail "missing file" "nope.onnx" "$SLIMC" inspect nope.onnx
  expect_fail "wrong input shape" "input" \
    "$SLIMC" run "$M/lenet.onnx" --input "$M/mlp.input.npy"
fi
finish
