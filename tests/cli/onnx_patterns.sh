#!/usr/bin/env bash
# The patterns of PyTorch exports that the default pipeline rewrites (issue 20;
# docs/onnx.md, "Patterns of exported graphs"): the linearize pass (MatMul by a constant +
# Add of a bias -> linear; the fused in_proj's three Slices -> three linears) and the gelu
# pass (the erf and tanh GELU chains -> gelu / gelu_tanh, fused into the linear before them)
# and the attention pass (MatMul, scale, mask Add, Softmax, MatMul -> attention;
# MultiheadAttention with and without a causal mask (the constant one becomes causal=1), a
# BERT-style block with a [B, 1, 1, S] mask). On graphs exported from PyTorch by
# tests/tools/onnx_patterns.py with Debian's python (torch), checked against ONNX Runtime
# (pip python3) to 1e-5 of the output's largest magnitude, at 1 and 3 threads and on the
# AVX2 path; inspect shows the linears and no Slice, Erf or Tanh left; the int8-dynamic mode
# still quantizes the exported linears; and the emitted C's erf (a polynomial,
# runtime/kernels/vmath.h) stays within 5e-7 of libm's erf over a dense grid of [-6, 6].
# Skipped without torch, onnxruntime or slimc's ONNX import.
source "$(dirname "$0")/lib.bash"

torch_onnx_models onnx_patterns.py

# inspect: the default pipeline's graph (--memory runs it)
summary() { "$SLIMC" inspect "m/$1.onnx" --memory "${@:2}" 2>&1 | grep ' nodes: '; }
s=$(summary tf_relu)
[[ $s == *"linear x6 "* && $s == *"attention x1"* && $s != *slice* && $s != *matmul* &&
  $s != *softmax* ]] && ok "tf_relu: in_proj split, 6 linears, one attention: $s" ||
  bad "tf_relu summary: $s"
s=$(summary tf_gelu)
[[ $s == *"linear x6 "* && $s == *"attention x1"* && $s != *erf* && $s != *slice* &&
  $s != *softmax* ]] && ok "tf_gelu: 6 linears, no erf, one attention: $s" ||
  bad "tf_gelu summary: $s"
for n in tf_causal bert_attn; do
  s=$(summary $n)
  [[ $s == *"attention x1"* && $s != *matmul* && $s != *softmax* ]] &&
    ok "$n: one attention, no matmul or softmax: $s" || bad "$n summary: $s"
done
# a constant causal mask is causal=1, another mask the attention's fourth input; the scale is
# the product of the exported steps (the IR is written to a file first: grep -q closing the
# pipe early failed the pipeline under pipefail)
ir() { "$SLIMC" inspect "m/$1.onnx" --ir --passes 'fold,dce,cse,linearize,gelu,attention,dce' 2>&1; }
ir tf_causal >ir_causal.txt
grep -qE '= attention\(%[0-9]+:[^,]+, %[0-9]+:[^,]+, %[0-9]+:[^,)]+\) \{scale=0.25, causal=1\}' ir_causal.txt &&
  ok "tf_causal: the constant -inf triangle is causal=1: attention(q, k, v), scale 1/4" ||
  { bad "tf_causal IR"; cat ir_causal.txt; }
ir bert_attn >ir_bert.txt
grep -qE '= attention\(.*, %[0-9]+:ext\) \{scale=0.25\}' ir_bert.txt &&
  ok "bert_attn: attention(q, k, v, ext), scale 1/4" || { bad "bert_attn IR"; cat ir_bert.txt; }
s=$(summary mlp_tanh)
[[ $s == *": linear x2" ]] && ok "mlp_tanh: the tanh chain fused: $s" || bad "mlp_tanh summary: $s"
"$SLIMC" inspect m/tf_gelu.onnx --ir --passes 'fold,dce,cse,linearize,gelu,layout,fuse,dce' >ir.txt 2>&1
grep -qE '= linear\(.*\|> gelu :' ir.txt && ok "gelu is the ff1 linear's epilogue" ||
  { bad "no gelu epilogue"; cat ir.txt; }
"$SLIMC" inspect m/mlp_tanh.onnx --ir --passes 'fold,dce,cse,linearize,gelu,layout,fuse,dce' >ir.txt 2>&1
grep -qE '= linear\(.*\|> gelu_tanh :' ir.txt && ok "gelu_tanh is the first linear's epilogue" ||
  { bad "no gelu_tanh epilogue"; cat ir.txt; }
# without the two passes the chains stay as exported (the checks above can fail)
s=$(summary tf_gelu --passes 'fold,dce,cse,layout,fuse,dce,memplan')
[[ $s == *"matmul x5"* && $s == *slice* && $s == *softmax* ]] && ok "without linearize/gelu/attention: $s" ||
  bad "without the passes: $s"

# numbers against ONNX Runtime
for n in tf_relu tf_gelu mlp_tanh tf_causal bert_attn; do
  against_ort $n
  # dynamic int8 takes the same linears (quantize runs before linearize and takes the
  # MatMuls itself): int8 error, not a wrong graph
  expect_ok "$n int8-dynamic" "$SLIMC" run "m/$n.onnx" --quantize int8-dynamic \
    --input "x=m/x_$n.npy" --output-dir "q_$n"
  expect_ok "$n int8-dynamic near ORT fp32 (5%)" "$NPYCMP" "q_$n/y.npy" "m/ref_$n.npy" 0.05
done
s=$(summary tf_relu --quantize int8-dynamic)
[[ $s == *"dqlinear x4"* ]] && ok "int8-dynamic: 4 dqlinears: $s" || bad "int8-dynamic: $s"

# erf: the emitted polynomial against libm (max|b| = 1, so the tolerance is absolute)
expect_ok "erf grid" "$SLIMC" run m/erf.onnx --input x=m/x_erf.npy --output-dir e
expect_ok "erf within 5e-7 of libm" "$NPYCMP" e/y.npy m/ref_erf.npy 5e-7
cat out.txt
SLIMC_MAX_ISA=avx2 expect_ok "erf grid (AVX2)" "$SLIMC" run m/erf.onnx --input x=m/x_erf.npy \
  --output-dir e2
expect_ok "erf within 5e-7 of libm (AVX2)" "$NPYCMP" e2/y.npy m/ref_erf.npy 5e-7
finish
