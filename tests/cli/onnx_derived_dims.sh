#!/bin/bash
# Derived symbolic dims (issue 19, ir/symbols.c): a model exported by PyTorch with
# dynamic_axes that concatenates a CLS token (seq+1 tokens) compiles once with its dims
# symbolic, `inspect` names the derived dim by its expression, and the JIT and an AOT
# executable (one build) match ONNX Runtime to 1e-4 at two input shapes; the AOT library's
# header takes only the inputs' symbols. A reshape to [batch, side*side, 8] of an input
# [batch, side, side, 8] keeps side*side symbolic; a CNN with a stride-2 conv, a depthwise
# conv and nn.Upsample on a symbolic height and width compiles once for three image sizes,
# and so does a ResNet stem (7x7 stride-2 conv, batch norm, max pool) with a global pool,
# and a CNN with a reflect pad, a ceil_mode max pool, bilinear resizes and slices; flips
# (Slice with step -1) and a reflect pad on symbolic dims, and bicubic upsamples (Resize
# cubic), compile once for three shapes.
. "$(dirname "$0")/lib.bash"
PYM="$SLIMC_SOURCE_DIR/tests/cli/shapes_models.py"
PY=/usr/bin/python3
if ! python3 -c 'import onnx, onnxruntime, numpy' 2>/dev/null || ! [ -x "$PY" ] ||
  ! "$PY" -c 'import torch' 2>/dev/null; then
  echo "skip: no onnx/onnxruntime or no torch: the derived-dims checks are not run"
  finish
  exit $?
fi
"$PY" "$SLIMC_SOURCE_DIR/tests/cli/onnx_derived_dims_torch.py" . >export.txt 2>&1 \
  || { bad "torch export"; cat export.txt; finish; exit 1; }
if "$SLIMC" inspect cls_token.onnx 2>&1 | grep -q "built without ONNX"; then
  finish
  exit $?
fi
python3 "$PYM" refs cls_token.onnx:2,5,16 cls_token.onnx:3,9,16 grid.onnx:2,3,3,8 \
  grid.onnx:1,5,5,8 cnn_hw.onnx:1,3,8,8 cnn_hw.onnx:2,3,9,7 cnn_hw.onnx:1,3,33,70 \
  stem_hw.onnx:1,3,32,32 stem_hw.onnx:2,3,45,61 stem_hw.onnx:1,3,7,9 \
  pad_pool_up.onnx:1,3,16,16 pad_pool_up.onnx:2,3,9,13 pad_pool_up.onnx:1,3,21,8 \
  flip_pad.onnx:2,5,7 flip_pad.onnx:1,9,4 flip_pad.onnx:3,2,16 \
  bicubic.onnx:1,3,6,6 bicubic.onnx:2,3,5,9 bicubic.onnx:1,3,1,3 || bad "ORT references"

"$SLIMC" inspect cls_token.onnx >out.txt 2>&1
grep -qF "output y: f32[batch, seq+1, 16]" out.txt && grep -qF "derived dims: seq+1" out.txt \
  && ok "inspect: seq+1 kept symbolic and named" || { bad "inspect"; cat out.txt; }
for s in 2,5,16 3,9,16; do
  rm -rf o
  if "$SLIMC" run cls_token.onnx --input "x=cls_token.$s.x.npy" --output-dir o >out.txt 2>err.txt; then
    "$NPYCMP" o/y.npy "cls_token.$s.ref.npy" 1e-4 >cmp.txt && ok "JIT at $s matches ORT" \
      || { bad "JIT at $s"; cat cmp.txt; }
    grep -q "note: " err.txt && { bad "JIT at $s: a note (specialised?)"; cat err.txt; }
  else
    bad "JIT at $s failed"; cat err.txt
  fi
done
expect_ok "slimc build keeps the symbols" "$SLIMC" build cls_token.onnx -o cls
for s in 2,5,16 3,9,16; do
  rm -rf o
  ./cls --input "x=cls_token.$s.x.npy" --output-dir o >/dev/null 2>err.txt \
    && "$NPYCMP" o/y.npy "cls_token.$s.ref.npy" 1e-4 >cmp.txt && ok "AOT at $s matches ORT" \
    || { bad "AOT at $s"; cat err.txt cmp.txt; }
done
expect_ok "slimc build --lib" "$SLIMC" build cls_token.onnx --lib -o clslib
grep -qF "#define CLS_TOKEN_OUTPUT0_SHAPE(batch, seq) " clslib/cls_token.h \
  && ok "the header's macros take batch and seq only" || bad "clslib/cls_token.h macros"

"$SLIMC" inspect grid.onnx >out.txt 2>&1
grep -qF "output y: f32[batch, side*side, 8]" out.txt && grep -qF "derived dims: side*side" out.txt \
  && ok "inspect: side*side kept symbolic" || { bad "inspect grid"; cat out.txt; }
expect_ok "slimc build grid" "$SLIMC" build grid.onnx -o grid
for s in 2,3,3,8 1,5,5,8; do
  rm -rf o g
  "$SLIMC" run grid.onnx --input "x=grid.$s.x.npy" --output-dir o >/dev/null 2>err.txt \
    && "$NPYCMP" o/y.npy "grid.$s.ref.npy" 1e-4 >cmp.txt && ok "grid JIT at $s matches ORT" \
    || { bad "grid JIT at $s"; cat err.txt cmp.txt; }
  ./grid --input "x=grid.$s.x.npy" --output-dir g >/dev/null 2>err.txt \
    && "$NPYCMP" g/y.npy "grid.$s.ref.npy" 1e-4 >cmp.txt && ok "grid AOT at $s matches ORT" \
    || { bad "grid AOT at $s"; cat err.txt cmp.txt; }
done
"$SLIMC" inspect cnn_hw.onnx >out.txt 2>&1
grep -qF "output y: f32[batch, 2, 2*((h+1)//2), 2*((w+1)//2)]" out.txt \
  && ok "inspect: the CNN's sizes kept symbolic" || { bad "inspect cnn_hw"; cat out.txt; }
expect_ok "slimc build cnn_hw" "$SLIMC" build cnn_hw.onnx -o cnn
for s in 1,3,8,8 2,3,9,7 1,3,33,70; do
  rm -rf o g
  "$SLIMC" run cnn_hw.onnx --input "x=cnn_hw.$s.x.npy" --output-dir o --threads 2 >/dev/null 2>err.txt \
    && "$NPYCMP" o/y.npy "cnn_hw.$s.ref.npy" 1e-4 >cmp.txt && ! grep -q "note: " err.txt \
    && ok "cnn_hw JIT at $s matches ORT (symbolic)" || { bad "cnn_hw JIT at $s"; cat err.txt cmp.txt; }
  ./cnn --input "x=cnn_hw.$s.x.npy" --output-dir g >/dev/null 2>err.txt \
    && "$NPYCMP" g/y.npy "cnn_hw.$s.ref.npy" 1e-4 >cmp.txt && ok "cnn_hw AOT at $s matches ORT" \
    || { bad "cnn_hw AOT at $s"; cat err.txt cmp.txt; }
done
"$SLIMC" inspect stem_hw.onnx >out.txt 2>&1
grep -qF "derived dims: (h+1)//2 (w+1)//2 (((h+1)//2)+1)//2 (((w+1)//2)+1)//2" out.txt \
  && ok "inspect: the stem's pooled sizes derived" || { bad "inspect stem_hw"; cat out.txt; }
for s in 1,3,32,32 2,3,45,61 1,3,7,9; do
  rm -rf o
  "$SLIMC" run stem_hw.onnx --input "x=stem_hw.$s.x.npy" --output-dir o >/dev/null 2>err.txt \
    && "$NPYCMP" o/y.npy "stem_hw.$s.ref.npy" 1e-4 >cmp.txt && ! grep -q "note: " err.txt \
    && ok "stem_hw JIT at $s matches ORT (symbolic)" || { bad "stem_hw JIT at $s"; cat err.txt cmp.txt; }
done
"$SLIMC" inspect pad_pool_up.onnx >out.txt 2>&1
grep -qF "output y: f32[batch, 4, (h//2)-1, (w//2)-1]" out.txt \
  && ok "inspect: pad, ceil_mode pool, resizes and slices kept symbolic" || { bad "inspect pad_pool_up"; cat out.txt; }
shared_cache=$SLIMC_CACHE_DIR
export SLIMC_CACHE_DIR=$TEST_TMP/cache_ppu
for s in 1,3,16,16 2,3,9,13 1,3,21,8; do
  rm -rf o
  "$SLIMC" run pad_pool_up.onnx --input "x=pad_pool_up.$s.x.npy" --output-dir o >/dev/null 2>err.txt \
    && "$NPYCMP" o/y.npy "pad_pool_up.$s.ref.npy" 1e-5 >cmp.txt && ! grep -q "note: " err.txt \
    && ok "pad_pool_up JIT at $s matches ORT (symbolic)" || { bad "pad_pool_up JIT at $s"; cat err.txt cmp.txt; }
done
[ "$(ls "$SLIMC_CACHE_DIR" | grep -c '\.so$')" = 1 ] && ok "pad_pool_up: one compile for three shapes" \
  || { bad "pad_pool_up: JIT cache"; ls "$SLIMC_CACHE_DIR"; }
"$SLIMC" inspect flip_pad.onnx >out.txt 2>&1
grep -qF "output y: f32[batch, seq, w+5]" out.txt \
  && ok "inspect: flips (Slice step -1) and a reflect pad kept symbolic" || { bad "inspect flip_pad"; cat out.txt; }
export SLIMC_CACHE_DIR=$TEST_TMP/cache_flip
for s in 2,5,7 1,9,4 3,2,16; do
  rm -rf o
  "$SLIMC" run flip_pad.onnx --input "x=flip_pad.$s.x.npy" --output-dir o >/dev/null 2>err.txt \
    && "$NPYCMP" o/y.npy "flip_pad.$s.ref.npy" 1e-6 >cmp.txt && ! grep -q "note: " err.txt \
    && ok "flip_pad JIT at $s matches ORT (symbolic)" || { bad "flip_pad JIT at $s"; cat err.txt cmp.txt; }
done
[ "$(ls "$SLIMC_CACHE_DIR" | grep -c '\.so$')" = 1 ] && ok "flip_pad: one compile for three shapes" \
  || { bad "flip_pad: JIT cache"; ls "$SLIMC_CACHE_DIR"; }
"$SLIMC" inspect bicubic.onnx >out.txt 2>&1
grep -qF "output y: f32[batch, 4, 4*h, 4*w]" out.txt \
  && ok "inspect: bicubic upsamples kept symbolic" || { bad "inspect bicubic"; cat out.txt; }
export SLIMC_CACHE_DIR=$TEST_TMP/cache_bicubic
for s in 1,3,6,6 2,3,5,9 1,3,1,3; do
  rm -rf o
  "$SLIMC" run bicubic.onnx --input "x=bicubic.$s.x.npy" --output-dir o >/dev/null 2>err.txt \
    && "$NPYCMP" o/y.npy "bicubic.$s.ref.npy" 1e-5 >cmp.txt && ! grep -q "note: " err.txt \
    && ok "bicubic JIT at $s matches ORT (symbolic)" || { bad "bicubic JIT at $s"; cat err.txt cmp.txt; }
done
[ "$(ls "$SLIMC_CACHE_DIR" | grep -c '\.so$')" = 1 ] && ok "bicubic: one compile for three shapes" \
  || { bad "bicubic: JIT cache"; ls "$SLIMC_CACHE_DIR"; }
export SLIMC_CACHE_DIR=$shared_cache
# a 1x1 image makes no (h+1)//2 >= 1 problem, but conv needs h >= 1: a 0-wide input is refused
python3 -c "import numpy as np; np.save('zero.npy', np.zeros((1, 3, 0, 4), np.float32))"
expect_fail "a 0-high image is refused" "input 'x'" "$SLIMC" run cnn_hw.onnx --input x=zero.npy

# the .slim text keeps derived dims as expressions (seq+1, side*side) and reads them back
for m in cls_token:3,9,16 grid:1,5,5,8; do
  name=${m%%:*} s=${m#*:}
  rm -rf so
  "$SLIMC" compress "$name.onnx" --passes fold -o "$name.slim" >/dev/null 2>&1 \
    && "$SLIMC" run "$name.slim" --input "x=$name.$s.x.npy" --output-dir so >/dev/null 2>err.txt \
    && "$NPYCMP" so/y.npy "$name.$s.ref.npy" 1e-4 >cmp.txt \
    && ok "$name: compressed .slim round trip at $s" || { bad "$name .slim"; cat err.txt cmp.txt; }
done
grep -qF -- "-> y: f32[batch, seq+1, 16]" cls_token.slim && ok "cls_token.slim declares seq+1" \
  || { bad "cls_token.slim"; head -3 cls_token.slim; }
# an input that does not give side the same value twice is refused by name
python3 -c "import numpy as np; np.save('bad.npy', np.zeros((1, 2, 3, 8), np.float32))"
expect_fail "a [1, 2, 3, 8] input is refused" "input 'x'" "$SLIMC" run grid.onnx --input x=bad.npy
finish
