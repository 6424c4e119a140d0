#!/usr/bin/env bash
# ONNX Runtime's QDQ form of a resnet-style stem and block (tests/onnx/make_qdq_resblock.py,
# which recorded ONNX Runtime's output): the MaxPool between a DequantizeLinear and a
# QuantizeLinear of the same scale runs on the u8 codes (the qchain pass: the stem conv
# writes u8 and the pool reads it), the residual add runs on the codes (one qadd), and the
# whole model agrees with ONNX Runtime to one
# step of the output's u8 scale (about 0.02 of 2.7; the same integer sums, a requantization
# may round the other way), on the native int8 kernels and on plain AVX2.
source "$(dirname "$0")/lib.bash"
M=$SLIMC_SOURCE_DIR/tests/onnx/models

if ! "$SLIMC" inspect "$M/resblock_qdq.onnx" 2>&1 | grep -q "built without ONNX"; then
  expect_ok "inspect after qchain" "$SLIMC" inspect "$M/resblock_qdq.onnx" --ir \
    --passes 'qdq,fold,act,bn_fold,fold,dce,cse,qchain'
  grep -qE "= max_pool2d\(.*: u8\[1, 16, 12, 12\]" out.txt &&
    ok "the pool runs on u8 codes" || { bad "the pool is not on codes"; cat out.txt; }
  # the pool's div and quantize are gone, and the residual add's (one qadd on codes)
  grep -qE " div x2 " out.txt && grep -qE " qadd x1 " out.txt &&
    ok "the pool's and the add's div and quantize are gone" ||
    { bad "div count"; grep nodes: out.txt; }
  expect_ok "run resblock_qdq.onnx" "$SLIMC" run "$M/resblock_qdq.onnx" \
    --input x="$M/resblock_qdq.input.npy" --output-dir q8
  expect_ok "int8 agrees with onnxruntime" "$NPYCMP" q8/y.npy "$M/resblock_qdq.ort.npy" 0.01 0.99
  SLIMC_MAX_ISA=avx2 SLIMC_NO_VNNI=1 expect_ok "run (AVX2, no VNNI)" "$SLIMC" run \
    "$M/resblock_qdq.onnx" --input x="$M/resblock_qdq.input.npy" --output-dir q8a
  expect_ok "AVX2 int8 agrees with onnxruntime" "$NPYCMP" q8a/y.npy "$M/resblock_qdq.ort.npy" \
    0.01 0.99
fi
finish
