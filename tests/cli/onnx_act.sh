#!/usr/bin/env bash
# The activations and LayerNorm of PyTorch exports that the default pipeline puts back
# together (issue 20; docs/onnx.md, "Patterns of exported graphs"): the act pass (ReLU6
# exported as Clip, SiLU as x * Sigmoid(x), Hardswish as HardSigmoid and Mul, hardsigmoid,
# YOLOv5's x * hardtanh(x + 3, 0, 6) / 6), the lnorm pass (LayerNorm below opset 17 as
# ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add; over one and two trailing dims,
# without affine; in a TransformerEncoderLayer at opset 14) and bn_fold's folding of
# constant per-channel Mul/Add after a conv into its weights; a MobileNetV3-style network
# (the 5x5 and 7x7 depthwise kernels, squeeze-excite's global average pooling). Graphs exported by
# tests/tools/onnx_act.py with Debian's python (torch), checked against ONNX Runtime (pip
# python3) to 1e-5 of the output's largest magnitude at 1 and 3 threads and on the AVX2 path;
# inspect shows each activation fused into its conv and no ReduceMean left. Skipped without
# torch, onnxruntime or slimc's ONNX import.
source "$(dirname "$0")/lib.bash"

torch_onnx_models onnx_act.py

summary() { "$SLIMC" inspect "m/$1.onnx" --memory "${@:2}" 2>&1 | grep ' nodes: '; }
s=$(summary acts)
[[ $s == *"6 nodes: conv2d x6" ]] && ok "acts: every activation fused into its conv: $s" ||
  bad "acts summary: $s"
s=$(summary ln)
[[ $s == *"layer_norm x3"* && $s != *reduce_mean* && $s != *sqrt* ]] &&
  ok "ln: three layer_norms: $s" || bad "ln summary: $s"
s=$(summary tf14)
[[ $s == *"layer_norm x2"* && $s != *reduce_mean* ]] && ok "tf14: two layer_norms: $s" ||
  bad "tf14 summary: $s"
s=$(summary affine)
"$SLIMC" inspect m/affine.onnx --ir --memory >affine.txt 2>&1
[[ $s == *"4 nodes: conv2d x3 conv_transpose2d x1" ]] && ! grep -qE '\|> add' affine.txt &&
  [ "$(grep -cE '\.(weight|bias)_(scaled|shifted)' affine.txt)" -ge 4 ] &&
  grep -qE '\|> mul\(_, %[0-9]+:kw\)' affine.txt &&
  ok "affine: the per-channel mul/adds folded into the convs, the [W] mul an epilogue: $s" ||
  { bad "affine summary: $s"; cat affine.txt; }
s=$(summary near)
[[ $s == *sigmoid* && $s == *clip* && $s == *reduce_mean* && $s != *silu* && $s != *layer_norm* ]] &&
  ok "near: the chains that differ stay: $s" || bad "near summary: $s"
# the IR names the activations the chains became, each a conv's epilogue
"$SLIMC" inspect m/acts.onnx --ir --memory >ir.txt 2>&1
for a in relu6 silu hardswish hardsigmoid; do
  grep -qE "= conv2d\(.*\|> $a[ :]" ir.txt && ok "$a is a conv's epilogue" ||
    { bad "no $a epilogue"; cat ir.txt; }
done
[ "$(grep -cE '\|> hardswish[ :]' ir.txt)" = 2 ] && ok "both hardswish forms" ||
  { bad "hardswish count"; cat ir.txt; }
[ "$(grep -cE '\|> silu[ :]' ir.txt)" = 2 ] && ok "both silu forms" || { bad "silu count"; cat ir.txt; }
s=$(summary mbv3)
[[ $s == *"conv2d x35"* && $s == *"reduce_mean x7"* && $s == *"mul x6"* && $s != *hardsigmoid* &&
  $s != *hardswish* ]] &&
  ok "mbv3: every Hardswish and the SE gates' HardSigmoid in a conv, the 6 SE muls left: $s" ||
  bad "mbv3 summary: $s"
# without the two passes the chains stay as exported (the checks above can fail)
s=$(summary acts --passes 'fold,dce,cse,layout,fuse,dce,memplan')
[[ $s == *sigmoid* && $s == *clip* ]] && ok "without act: $s" || bad "without act: $s"
s=$(summary ln --passes 'fold,dce,cse,layout,fuse,dce,memplan')
[[ $s == *reduce_mean* ]] && ok "without lnorm: $s" || bad "without lnorm: $s"

# numbers against ONNX Runtime
for n in acts ln tf14 near affine mbv3; do
  against_ort $n
done
finish
