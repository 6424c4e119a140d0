#!/bin/bash
# ONNX models with symbolic dims run as exported (issue 19): shape arithmetic over a batch
# and a sequence length (Shape, Gather, Slice, Unsqueeze, Concat, Mul, Div, Add, Sub,
# Reshape, Expand, ConstantOfShape) stays symbolic, Resize keeps a batch whose scale is 1,
# and each model runs at two input shapes with one compile per shape, matching ONNX Runtime
# (1e-4). S + 1 is a derived symbol (tests/cli/onnx_derived_dims.sh has more).
# Core models: tests/cli/shapes_models.py (onnx.helper); then a TransformerEncoder and a CNN
# with nn.Upsample exported by Debian's torch with dynamic_axes (skipped without torch).
. "$(dirname "$0")/lib.bash"
PYM="$SLIMC_SOURCE_DIR/tests/cli/shapes_models.py"
if ! python3 -c 'import onnx, onnxruntime, numpy' 2>/dev/null; then
  echo "skip: python3 has no onnx/onnxruntime: the dynamic-axes checks are not run"
  finish
  exit $?
fi
python3 "$PYM" make . || { bad "shapes_models.py make"; finish; exit 1; }
if "$SLIMC" inspect two_in.onnx 2>&1 | grep -q "built without ONNX"; then
  finish
  exit $?
fi

# same MODEL SHAPE [ARGS...]: slimc run on the seeded input of SHAPE agrees with ORT (the
# input and ORT's output made beforehand by `shapes_models.py refs MODEL:SHAPE`)
same() {
  local model=$1 shape=$2; shift 2
  local name="${model%.onnx} at $shape${*:+ ($*)}" stem="${model%.onnx}.$shape"
  [ -f "$stem.ref.npy" ] || { bad "$name: no reference"; return; }
  rm -rf o
  if ! "$SLIMC" run "$model" "$@" --input "x=$stem.x.npy" --output-dir o >out.txt 2>err.txt; then
    bad "$name: slimc run failed"; cat err.txt; return
  fi
  "$NPYCMP" o/y.npy "$stem.ref.npy" 1e-4 >cmp.txt && ok "$name matches ORT" || { bad "$name"; cat cmp.txt; }
}
# one_compile NAME: the last run (err.txt) compiled symbolically, without the per-shape note
one_compile() {
  grep -q "note: imported with the inputs' shapes fixed" err.txt \
    && { bad "$1 specialised"; cat err.txt; } || ok "$1 runs symbolically"
}
# symbolic MODEL TYPE: inspect shows the input and output types with the symbols kept
symbolic() {
  "$SLIMC" inspect "$1" >out.txt 2>&1
  grep -qF "$2" out.txt && ok "${1%.onnx}: $2" || { bad "${1%.onnx}: wants $2"; cat out.txt; }
}

python3 "$PYM" refs shape_dyn.onnx:2,3,8 shape_dyn.onnx:4,1,8 heads_dyn.onnx:2,3,8 \
  heads_dyn.onnx:1,6,8 expand_where.onnx:2,3,4 expand_where.onnx:1,5,4 resize_dyn.onnx:1,2,4,4 \
  resize_dyn.onnx:3,2,4,4 resize_sizes_dyn.onnx:1,2,4,4 resize_sizes_dyn.onnx:2,2,4,4 scores_dyn.onnx:2,3,8 scores_dyn.onnx:1,5,8 add1.onnx:5 dropout_mask_dyn.onnx:2,3,4 \
  dropout_mask_dyn.onnx:5,3,4 range_pos.onnx:2,5,8 range_pos.onnx:1,11,8 range_step.onnx:5 \
  range_step.onnx:8 einsum_dyn.onnx:2,5,8 einsum_dyn.onnx:1,9,8 einsum3_dyn.onnx:2,5,8 einsum3_dyn.onnx:1,9,8 unet_dyn.onnx:1,1,8,8 unet_dyn.onnx:2,1,12,20 resize_to_dyn.onnx:1,2,7,9 resize_to_dyn.onnx:2,2,10,12 trilu_dyn.onnx:2,5,4 \
  trilu_dyn.onnx:1,8,4 lstm_dyn.onnx:5,2,4 lstm_dyn.onnx:3,1,4 convt_dyn.onnx:1,3,5,7 \
  convt_dyn.onnx:2,3,8,4 half_cnn.onnx:2,3,6,6 d2s_dyn.onnx:1,8,3,5 \
  d2s_dyn.onnx:2,8,4,2 s2d_dyn.onnx:3,2,4,6 s2d_dyn.onnx:1,2,4,6 \
  cos_dyn.onnx:2,5 cos_dyn.onnx:3,2 reduce_shape.onnx:2,3,4 reduce_shape.onnx:1,7,4 \
  convt1d_dyn.onnx:2,3,5 convt1d_dyn.onnx:1,3,9 conv3d_dyn.onnx:2,2,5,7,6 conv3d_dyn.onnx:1,2,8,7,6 \
  gather_dyn.onnx:2,5,4 gather_dyn.onnx:3,1,4 \
  same_dyn.onnx:1,2,7,9 same_dyn.onnx:2,2,4,5 \
  mean_dyn.onnx:2,5,4 mean_dyn.onnx:1,9,4 || bad "ORT references"
symbolic shape_dyn.onnx "output y: f32[batch*seq, 8]"
same shape_dyn.onnx 2,3,8
same shape_dyn.onnx 4,1,8
symbolic heads_dyn.onnx "output y: f32[batch, seq, 8]"
same heads_dyn.onnx 2,3,8
same heads_dyn.onnx 1,6,8
symbolic expand_where.onnx "output y: f32[4*batch*seq]"
same expand_where.onnx 2,3,4
same expand_where.onnx 1,5,4
# a Dropout's mask output over a symbolic batch: all true, computed, not refused
symbolic dropout_mask_dyn.onnx "output y: f32[batch, 3, 4]"
same dropout_mask_dyn.onnx 2,3,4
same dropout_mask_dyn.onnx 5,3,4
# Range(0, seq, 1) (torch.arange(x.size(1))) and Range(1, seq, 2): tensors of symbolic length
symbolic range_pos.onnx "output y: f32[batch, seq, 8]"
same range_pos.onnx 2,5,8
same range_pos.onnx 1,11,8
one_compile range_pos
same range_step.onnx 5
same range_step.onnx 8
one_compile range_step
# two-operand Einsums as batched matmuls keep batch and seq symbolic
symbolic einsum_dyn.onnx "output y: f32[batch, seq, 6]"
same einsum_dyn.onnx 2,5,8
same einsum_dyn.onnx 1,9,8
one_compile einsum_dyn
symbolic einsum3_dyn.onnx "output y: f32[batch, seq, 6]"
same einsum3_dyn.onnx 2,5,8
same einsum3_dyn.onnx 1,9,8
one_compile einsum3_dyn
symbolic unet_dyn.onnx "assumed: H//2 == 2*((H//2)//2) (for the model's concat 'Concat_5'; checked at run time)"
same unet_dyn.onnx 1,1,8,8
same unet_dyn.onnx 2,1,12,20
one_compile unet_dyn
symbolic resize_to_dyn.onnx "output y: f32[N, 2, H, W]"
same resize_to_dyn.onnx 1,2,7,9
same resize_to_dyn.onnx 2,2,10,12
one_compile resize_to_dyn
# an odd h//2 makes the skip's sizes differ (ONNX Runtime fails too): a clear error, exit 1
python3 -c "import numpy as np; np.save('odd.npy', np.ones((1, 1, 10, 8), np.float32))"
if "$SLIMC" run unet_dyn.onnx --input x=odd.npy --output-dir o >out.txt 2>err.txt; then
  bad "unet_dyn at 10x8 ran"
else
  grep -qF "error: the model's concat 'Concat_5' needs two dims equal that these input shapes make differ (H//2 = 5, the other 4)" err.txt \
    && ok "unet_dyn at 10x8: the assumed equality fails by name" || { bad "unet_dyn at 10x8: message"; cat err.txt; }
fi
# the same from an AOT build (its model description carries the equality)
if "$SLIMC" build unet_dyn.onnx -o unet_aot >out.txt 2>&1; then
  rm -rf o && ./unet_aot --input x=unet_dyn.2,1,12,20.x.npy --output-dir o >out.txt 2>&1 \
    && "$NPYCMP" o/y.npy unet_dyn.2,1,12,20.ref.npy 1e-4 >cmp.txt && ok "unet_dyn AOT matches ORT" \
    || { bad "unet_dyn AOT"; cat out.txt cmp.txt; }
  ./unet_aot --input x=odd.npy --output-dir o >out.txt 2>&1 && bad "unet_dyn AOT at 10x8 ran" \
    || { grep -qF "needs two dims equal that these input shapes make differ (H//2 = 5, the other 4)" out.txt \
      && ok "unet_dyn AOT at 10x8 fails by name" || { bad "unet_dyn AOT at 10x8"; cat out.txt; }; }
else
  bad "unet_dyn AOT build"; cat out.txt
fi
# Trilu over a symbolic sequence (a decoder's causal mask): computed, symbolic
symbolic trilu_dyn.onnx "output y: f32[batch, seq, seq]"
same trilu_dyn.onnx 2,5,4
same trilu_dyn.onnx 1,8,4
one_compile trilu_dyn
# an LSTM over symbolic dims is one rnn op: one compile for both shapes
symbolic lstm_dyn.onnx "output y: f32[seq, batch, 3]"
same lstm_dyn.onnx 5,2,4
same lstm_dyn.onnx 3,1,4
one_compile lstm_dyn
# ConvTranspose over symbolic H, W: derived output sizes, one compile
symbolic convt_dyn.onnx "output y: f32[batch, 6,"
same convt_dyn.onnx 1,3,5,7
same convt_dyn.onnx 2,3,8,4
one_compile convt_dyn
# ReduceProd of a shape (x.std's divisor) and ConvTranspose1d over a symbolic length
symbolic reduce_shape.onnx "output y: f32[batch, 4*seq]"
same reduce_shape.onnx 2,3,4
same reduce_shape.onnx 1,7,4
one_compile reduce_shape
same convt1d_dyn.onnx 2,3,5
same convt1d_dyn.onnx 1,3,9
one_compile convt1d_dyn
# Conv3d (as depth taps of 2-D convs) and a (1, 2, 2) MaxPool3d over a symbolic depth
same conv3d_dyn.onnx 2,2,5,7,6
same conv3d_dyn.onnx 1,2,8,7,6
one_compile conv3d_dyn
# one constant index into a symbolic seq (x[:, -1], x[:, 0]) is a slice, symbolic
symbolic gather_dyn.onnx "output y: f32[batch, 4]"
same gather_dyn.onnx 2,5,4
same gather_dyn.onnx 3,1,4
one_compile gather_dyn
# auto_pad SAME at stride 1 over a symbolic H, W (a TensorFlow export's convs): symbolic
symbolic same_dyn.onnx "output y: f32[batch, 2, H, W]"
same same_dyn.onnx 1,2,7,9
same same_dyn.onnx 2,2,4,5
one_compile same_dyn
# static int8 over a symbolic H, W: the convs stay float, the warning says why and how; fixed
# by --dim they are int8 (cosine to ORT's fp32 output >= 0.99)
rm -rf o
"$SLIMC" run same_dyn.onnx --input x=same_dyn.1,2,7,9.x.npy --quantize int8 \
  --calibrate same_dyn.1,2,7,9.x.npy --output-dir o >out.txt 2>err.txt &&
  grep -q "nothing quantized (0 of 2 layers).*height and width are symbolic (int8 convs need them fixed: --dim or --shape)" err.txt &&
  "$NPYCMP" o/y.npy same_dyn.1,2,7,9.ref.npy 1e-4 >/dev/null &&
  ok "same_dyn int8 over symbolic H, W: float, with the reason" || { bad "same_dyn int8 symbolic"; cat err.txt; }
rm -rf o
"$SLIMC" run same_dyn.onnx --input x=same_dyn.1,2,7,9.x.npy --quantize int8 --dim H=7 --dim W=9 \
  --calibrate same_dyn.1,2,7,9.x.npy --output-dir o >out.txt 2>err.txt &&
  grep -q "2 of 2 layers quantized" err.txt && python3 -c '
import numpy as np
y, r = np.load("o/y.npy"), np.load("same_dyn.1,2,7,9.ref.npy")
c = float((y * r).sum() / np.linalg.norm(y) / np.linalg.norm(r))
assert c >= 0.99, c' && ok "same_dyn int8 with --dim H, W: quantized, close to ORT" ||
  { bad "same_dyn int8 with --dim"; cat err.txt; }
# a size Cast to float as data (x.sum(1) / x.shape[1]): symbolic
symbolic mean_dyn.onnx "output y: f32[batch, 4]"
same mean_dyn.onnx 2,5,4
same mean_dyn.onnx 1,9,4
one_compile mean_dyn
# ConstantOfShape to [4*batch, 1, seq] (a key-padding mask's): symbolic
symbolic cos_dyn.onnx "output y: f32[4*batch, 1, seq]"
same cos_dyn.onnx 2,5
one_compile cos_dyn
same cos_dyn.onnx 3,2
# DepthToSpace over symbolic H, W (2*H and 2*W: a reshape names the second product with a
# symbol, ir_dim_attr) and SpaceToDepth + DepthToSpace over a symbolic batch: symbolic, and
# the model imported to the language reads back
symbolic d2s_dyn.onnx "output y: f32[batch, 2, 2*H, 2*W]"
same d2s_dyn.onnx 1,8,3,5
one_compile d2s_dyn
same d2s_dyn.onnx 2,8,4,2
"$SLIMC" import d2s_dyn.onnx -o d2s.slim >out.txt 2>&1 || { bad "import d2s_dyn"; cat out.txt; }
rm -rf o
"$SLIMC" run d2s.slim --input x=d2s_dyn.2,8,4,2.x.npy --output-dir o >out.txt 2>&1 &&
  "$NPYCMP" o/y.npy d2s_dyn.2,8,4,2.ref.npy 1e-4 >cmp.txt && ok "d2s_dyn as .slim matches ORT" ||
  { bad "d2s_dyn as .slim"; cat out.txt cmp.txt; }
symbolic s2d_dyn.onnx "output y: f32[batch, 2, 4, 6]"
same s2d_dyn.onnx 3,2,4,6
same s2d_dyn.onnx 1,2,4,6
one_compile s2d_dyn
# a float16 model computes in f32 (as ORT's CPU provider) and answers in f16
rm -rf o
if "$SLIMC" run half_cnn.onnx --input x=half_cnn.2,3,6,6.x.npy --output-dir o >out.txt 2>err.txt; then
  python3 -c '
import sys, numpy as np
y, r = np.load("o/y.npy"), np.load("half_cnn.2,3,6,6.ref.npy")
assert y.dtype == np.float16 and y.shape == r.shape, (y.dtype, y.shape, r.shape)
d = np.abs(y.astype(np.float32) - r.astype(np.float32)).max()
assert d <= 2e-3 * np.abs(r.astype(np.float32)).max(), d
' && ok "half_cnn (f16 weights, input and output) matches ORT" || bad "half_cnn differs from ORT"
else
  bad "half_cnn: slimc run failed"; cat err.txt
fi
symbolic resize_dyn.onnx "output y: f32[batch, 2, 8, 8]"
same resize_dyn.onnx 1,2,4,4
same resize_dyn.onnx 3,2,4,4
symbolic resize_sizes_dyn.onnx "output y: f32[batch, 2, 6, 10]"
same resize_sizes_dyn.onnx 1,2,4,4
same resize_sizes_dyn.onnx 2,2,4,4
# Shape + 1 is a derived symbol (ir/symbols.c): symbolic, no note
symbolic add1.onnx "output y: f32[seq+1]"
same add1.onnx 5 --dim seq=5
same add1.onnx 5
one_compile add1

# seq squared (attention scores [batch, seq, seq]): its size counts seq*seq, a derived
# symbol (ir/symbols.c), so it compiles once, symbolically, and an AOT build keeps both
same scores_dyn.onnx 2,3,8
grep -q "note: compiled for these input shapes" err.txt \
  && { bad "scores_dyn specialised"; cat err.txt; } || ok "scores_dyn runs symbolically"
same scores_dyn.onnx 1,5,8
expect_ok "build keeps seq squared symbolic" "$SLIMC" build scores_dyn.onnx -o scores
rm -rf so
./scores --input x=scores_dyn.1,5,8.x.npy --output-dir so >/dev/null 2>&1 \
  && "$NPYCMP" so/y.npy scores_dyn.1,5,8.ref.npy 1e-4 >cmp.txt && ok "scores AOT at 1,5,8 matches ORT" \
  || { bad "scores AOT"; cat cmp.txt; }
expect_ok "emit --dim seq=4 (the batch symbolic)" "$SLIMC" emit scores_dyn.onnx --dim seq=4 -o sc
grep -qF 'SCORES_DYN_N_SYMS 1' sc/scores_dyn.h && grep -qF 'f32[batch, 4, 8]' sc/scores_dyn.h \
  && ok "emitted: one symbol (batch), seq 4" || bad "emit --dim seq=4: sc/scores_dyn.h"

PY=/usr/bin/python3
if ! [ -x "$PY" ] || ! "$PY" -c 'import torch' 2>/dev/null; then
  echo "skip: $PY has no torch: the PyTorch-exported models are not checked"
  finish
  exit $?
fi
"$PY" "$SLIMC_SOURCE_DIR/tests/cli/onnx_dynamic_axes_torch.py" . >export.txt 2>&1 \
  || { bad "torch export"; cat export.txt; finish; exit 1; }
python3 "$PYM" refs cnn_upsample.onnx:1,3,8,8 cnn_upsample.onnx:3,3,8,8 transformer.onnx:2,5,16 \
  transformer.onnx:3,7,16 transformer.onnx:1,7,16 || bad "ORT references (torch models)"
symbolic cnn_upsample.onnx "input  x: f32[batch, 3, 8, 8]"
same cnn_upsample.onnx 1,3,8,8
same cnn_upsample.onnx 3,3,8,8
symbolic transformer.onnx "input  x: f32[batch, seq, 16]"
symbolic transformer.onnx "output y: f32[batch, seq, 16]"
same transformer.onnx 2,5,16
same transformer.onnx 3,7,16
same transformer.onnx 2,5,16 --dim seq=5
same transformer.onnx 1,7,16 --shape x=1,7,16
finish
