#!/usr/bin/env bash
# ONNX Runtime's QDQ form of exported linear layers (passes/qdq.c): MatMul(x [2, 8, 32],
# W [32, 48]) + Add and Gemm without transB, each weight s8 per channel along axis 1 of
# [K, N] (tests/onnx/make_qdq_matmul.py, which recorded ONNX Runtime's output). Both layers
# run as qlinear (int8 kernels, no float matmul or linear left) and agree with ONNX
# Runtime to one step of the output's u8 scale (about 0.016 of 2.0; the same integer sums,
# a requantization may round the other way), on the native int8 GEMMs and on plain AVX2.
source "$(dirname "$0")/lib.bash"
M=$SLIMC_SOURCE_DIR/tests/onnx/models

if ! "$SLIMC" inspect "$M/matmul_qdq.onnx" 2>&1 | grep -q "built without ONNX"; then
  expect_ok "inspect: two int8 linears" "$SLIMC" inspect "$M/matmul_qdq.onnx" --memory
  grep -q "qlinear x2" out.txt && ! grep -qE "(^| )(matmul|linear) x" out.txt &&
    ok "qlinear x2, no float matmul / linear" || { bad "not int8"; cat out.txt; }
  expect_ok "run matmul_qdq.onnx" "$SLIMC" run "$M/matmul_qdq.onnx" \
    --input x="$M/matmul_qdq.input.npy" --output-dir q8
  expect_ok "int8 agrees with onnxruntime" "$NPYCMP" q8/y.npy "$M/matmul_qdq.ort.npy" 0.01 0.99
  SLIMC_MAX_ISA=avx2 SLIMC_NO_VNNI=1 expect_ok "run (AVX2, no VNNI)" "$SLIMC" run \
    "$M/matmul_qdq.onnx" --input x="$M/matmul_qdq.input.npy" --output-dir q8a
  expect_ok "AVX2 int8 agrees with onnxruntime" "$NPYCMP" q8a/y.npy "$M/matmul_qdq.ort.npy" 0.01 0.99
fi
finish
