#!/usr/bin/env bash
# A pre-quantized ONNX model (docs/quantization.md, "Pre-quantized ONNX models"): the
# trained samples/lenet quantized by ONNX Runtime's quantize_static into QDQ form (u8
# activations, s8 per-channel weights; tests/onnx/make_qdq_lenet.py, which also recorded
# ONNX Runtime's outputs for the 450 test digits) runs in slimc and agrees with ONNX
# Runtime: top-1 on at least 99% of the digits and max|a - b| <= 0.02 * max|b| (about 1.0
# on log-probabilities of magnitude up to 49, under 5 steps of the last layer's
# quantization scale 0.21; u8 rounding may differ by one step). Through the int8 kernels
# (the qdq pass of the default pipeline), the portable int8 path and the float path.
source "$(dirname "$0")/lib.bash"
M=$SLIMC_SOURCE_DIR/tests/onnx/models
X=$S/lenet/test_x.npy
FLOAT='fold,bn_fold,fold,dce,cse,layout,fuse,dce,memplan'

if ! "$SLIMC" inspect "$M/lenet_qdq.onnx" 2>&1 | grep -q "built without ONNX"; then
  expect_ok "inspect: the qdq pass makes int8 kernels" "$SLIMC" inspect "$M/lenet_qdq.onnx" --memory
  grep -q "qconv2d x2 qlinear x2" out.txt && ok "qconv2d x2 qlinear x2" || { bad "no int8 kernels"; cat out.txt; }
  expect_ok "run lenet_qdq.onnx (int8 kernels)" "$SLIMC" run "$M/lenet_qdq.onnx" --input x="$X" --output-dir q8
  expect_ok "int8 agrees with onnxruntime" "$NPYCMP" q8/output.npy "$M/lenet_qdq.ort.npy" 0.02 0.99
  cat out.txt
  SLIMC_NO_VNNI=1 expect_ok "run (portable int8)" "$SLIMC" run "$M/lenet_qdq.onnx" --input x="$X" --output-dir q8c
  expect_ok "portable int8 agrees with onnxruntime" "$NPYCMP" q8c/output.npy "$M/lenet_qdq.ort.npy" 0.02 0.99
  expect_ok "run (float path, no qdq pass)" "$SLIMC" run "$M/lenet_qdq.onnx" --input x="$X" --output-dir qf --passes "$FLOAT"
  expect_ok "float path agrees with onnxruntime" "$NPYCMP" qf/output.npy "$M/lenet_qdq.ort.npy" 0.02 0.99
  expect_ok "inspect (float path)" "$SLIMC" inspect "$M/lenet_qdq.onnx" --memory --passes "$FLOAT"
  grep -q "conv2d x2 linear x2" out.txt && ok "float path stays float" || { bad "float path"; cat out.txt; }
  expect_fail "qdq takes no arguments" "takes no arguments" \
    "$SLIMC" inspect "$M/lenet_qdq.onnx" --passes "qdq(1),fold"
fi
finish
