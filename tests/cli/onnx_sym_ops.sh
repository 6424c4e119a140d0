#!/bin/bash
# Pad, Slice (negative steps too), ceil_mode pools and Resize (nearest, linear, cubic) on
# symbolic dims (issue 19; the models and their ONNX Runtime outputs:
# tests/cli/sym_ops_models.py). Each model compiles once (one entry in a JIT cache of its
# own, no "note:" of a per-shape compile) and matches ORT to 1e-5 at three input shapes (a
# ceil_mode pool's one window over an image shorter than it too, as PyTorch and ORT take
# it); `inspect` shows the derived dims; an AOT executable built once matches ORT at two
# shapes and its header's macros take the inputs' symbols only. Inputs too small for a
# reflect pad, a pool or a slice are refused naming the derived dim and its node; a slice
# whose length clamps still compiles per shape, with a note (an antialiased resize is
# symbolic: tests/cli/onnx_resize_aa.sh has more).
. "$(dirname "$0")/lib.bash"
PYM="$SLIMC_SOURCE_DIR/tests/cli/sym_ops_models.py"
if ! python3 -c 'import onnx, onnxruntime, numpy' 2>/dev/null; then
  echo "skip: no onnx/onnxruntime: the symbolic-op checks are not run"
  finish
  exit $?
fi
python3 "$PYM" make . || { bad "sym_ops_models.py make"; finish; exit 1; }
if "$SLIMC" inspect pad_hw.onnx 2>&1 | grep -q "built without ONNX"; then
  finish
  exit $?
fi
declare -A SHAPES=(
  [pad_hw]="2,3,5,6 1,3,3,4 3,3,9,17"
  [slice_seq]="2,7,8 1,4,8 3,12,8"
  [slice_neg]="2,7,8 1,4,8 3,13,8"
  [pool_ceil]="1,4,8,9 2,4,2,7 1,4,13,10"
  [resize_hw]="1,3,4,5 2,3,7,3 1,3,1,1"
  [resize_cubic]="1,3,4,5 2,3,7,3 1,3,6,2"
)
declare -A OUTS=([pad_hw]="y" [slice_seq]="y1 y2 y3 y4 y5" [slice_neg]="y1 y2 y3 y4 y5"
  [pool_ceil]="y1 y2 y3" [resize_cubic]="y1 y2 y3 y4 y5"
  [resize_hw]="y1 y2 y3 y4 y5")
cases=()
for m in "${!SHAPES[@]}"; do
  for s in ${SHAPES[$m]}; do cases+=("$m.onnx:$s"); done
done
python3 "$PYM" refs "${cases[@]}" slice_clamp.onnx:2,5,8 slice_clamp.onnx:1,2,8 \
  resize_aa.onnx:1,3,8,8 || bad "ORT references"

"$SLIMC" inspect pad_hw.onnx >out.txt 2>&1
grep -qF "output y: f32[batch, 3, H+7, W+6]" out.txt && ok "inspect: pads give H+7, W+6" \
  || { bad "inspect pad_hw"; cat out.txt; }
"$SLIMC" inspect slice_seq.onnx >out.txt 2>&1
grep -qF "output y1: f32[batch, seq-1, 8]" out.txt && grep -qF "output y2: f32[batch, seq//2, 8]" out.txt \
  && grep -qF "output y3: f32[batch, 1, 8]" out.txt && grep -qF "output y5: f32[batch, seq-3, 3]" out.txt \
  && ok "inspect: slices give seq-1, seq//2, 1, seq-3" || { bad "inspect slice_seq"; cat out.txt; }
"$SLIMC" inspect slice_neg.onnx >out.txt 2>&1
grep -qF "output y1: f32[batch, seq, 8]" out.txt && grep -qF "output y2: f32[batch, (seq+1)//2, 8]" out.txt \
  && grep -qF "output y3: f32[batch, seq-1, 8]" out.txt && grep -qF "output y4: f32[batch, seq, 3]" out.txt \
  && grep -qF "output y5: f32[batch, 1, 8]" out.txt \
  && ok "inspect: negative steps give seq, (seq+1)//2, seq-1, 1" || { bad "inspect slice_neg"; cat out.txt; }
"$SLIMC" inspect pool_ceil.onnx >out.txt 2>&1
grep -qF "output y2: f32[batch, 4, (H+3)//3, (W+3)//3]" out.txt \
  && grep -qF "output y3: f32[batch, 4, H//2, W//2]" out.txt \
  && ok "inspect: ceil_mode pools give floor divisions" || { bad "inspect pool_ceil"; cat out.txt; }
"$SLIMC" inspect resize_hw.onnx >out.txt 2>&1
grep -qF "output y1: f32[batch, 3, 2*H, 2*W]" out.txt && grep -qF "output y4: f32[batch, 3, 7, 9]" out.txt \
  && grep -qF "output y3: f32[batch, 3, H, W]" out.txt \
  && ok "inspect: linear resizes stay symbolic" || { bad "inspect resize_hw"; cat out.txt; }
"$SLIMC" inspect resize_cubic.onnx >out.txt 2>&1
grep -qF "output y1: f32[batch, 3, 2*H, 2*W]" out.txt && grep -qF "output y4: f32[batch, 3, 7, 9]" out.txt \
  && grep -qF "output y5: f32[batch, 3, H//2, W//2]" out.txt \
  && ok "inspect: cubic resizes stay symbolic" || { bad "inspect resize_cubic"; cat out.txt; }

shared_cache=$SLIMC_CACHE_DIR
for m in pad_hw slice_seq slice_neg pool_ceil resize_hw resize_cubic; do
  export SLIMC_CACHE_DIR=$TEST_TMP/cache_$m
  for s in ${SHAPES[$m]}; do
    rm -rf o
    if ! "$SLIMC" run "$m.onnx" --input "x=$m.$s.x.npy" --output-dir o --threads 2 >/dev/null 2>err.txt; then
      bad "$m JIT at $s failed"; cat err.txt; continue
    fi
    grep -q "note: " err.txt && { bad "$m JIT at $s: a note (specialised?)"; cat err.txt; }
    for y in ${OUTS[$m]}; do
      "$NPYCMP" "o/$y.npy" "$m.$s.$y.ref.npy" 1e-5 >cmp.txt && ok "$m JIT at $s: $y matches ORT" \
        || { bad "$m JIT at $s: $y"; cat cmp.txt; }
    done
  done
  n=$(ls "$SLIMC_CACHE_DIR" | grep -c '\.so$')
  [ "$n" = 1 ] && ok "$m: one compile for three shapes" || { bad "$m: $n JIT cache entries"; ls "$SLIMC_CACHE_DIR"; }
done
export SLIMC_CACHE_DIR=$shared_cache

for m in pad_hw pool_ceil resize_hw resize_cubic slice_seq slice_neg; do
  expect_ok "slimc build $m keeps the symbols" "$SLIMC" build "$m.onnx" -o "aot_$m"
  set -- ${SHAPES[$m]}
  for s in "$1" "$3"; do
    rm -rf g
    if ./"aot_$m" --input "x=$m.$s.x.npy" --output-dir g >/dev/null 2>err.txt; then
      for y in ${OUTS[$m]}; do
        "$NPYCMP" "g/$y.npy" "$m.$s.$y.ref.npy" 1e-5 >cmp.txt || { bad "$m AOT at $s: $y"; cat cmp.txt; }
      done
      ok "$m AOT at $s ran"
    else
      bad "$m AOT at $s failed"; cat err.txt
    fi
  done
done
expect_ok "slimc build pad_hw --lib" "$SLIMC" build pad_hw.onnx --lib -o padlib
grep -qF "#define PAD_HW_OUTPUT0_SHAPE(batch, H, W) " padlib/pad_hw.h \
  && ok "the header's macros take batch, H and W only" || bad "padlib/pad_hw.h macros"

# inputs too small: refused naming the derived dim that must be >= 1 and the node deriving it
python3 -c "
import numpy as np
np.save('h2.npy', np.zeros((1, 3, 2, 5), np.float32))
np.save('p1.npy', np.zeros((1, 4, 1, 5), np.float32))
np.save('s1.npy', np.zeros((1, 1, 8), np.float32))"
expect_fail "reflect padding 2 of H = 2 is refused" "the symbolic dim H-2 is 0 for these input shapes \\(must be >= 1; from pad 'Pad_0'\\)" \
  "$SLIMC" run pad_hw.onnx --input x=h2.npy
expect_fail "the AOT executable names it and its node too" "H-2 is 0 .*from pad 'Pad_0'" \
  ./aot_pad_hw --input x=h2.npy
expect_fail "a 3x3 stride-2 ceil_mode pool of H = 1 is refused (as PyTorch)" "the symbolic dim H//2 is 0 .*from avg_pool2d 'AveragePool_3'" \
  "$SLIMC" run pool_ceil.onnx --input x=p1.npy
expect_fail "x[:, 1:] of seq = 1 is refused (empty)" "the symbolic dim seq-1 is 0 .*from slice 'Slice_0'" \
  "$SLIMC" run slice_seq.onnx --input x=s1.npy
expect_fail "x[:, -1:0:-1] of seq = 1 is refused (empty)" "the symbolic dim seq-1 is 0 .*from slice 'Slice_2'" \
  "$SLIMC" run slice_neg.onnx --input x=s1.npy

# what stays specialised says so, and still matches ORT
for s in 2,5,8 1,2,8; do
  rm -rf o
  "$SLIMC" run slice_clamp.onnx --input "x=slice_clamp.$s.x.npy" --output-dir o >/dev/null 2>err.txt \
    && "$NPYCMP" o/y.npy "slice_clamp.$s.y.ref.npy" 1e-5 >cmp.txt \
    && grep -q "note: imported with the inputs' shapes fixed (slice 'Slice_0': the sliced dimension is symbolic and the bounds may clamp" err.txt \
    && ok "slice x[:, 0:3] at $s: specialised with a note, matches ORT" || { bad "slice_clamp at $s"; cat err.txt cmp.txt; }
done
"$SLIMC" inspect resize_aa.onnx >out.txt 2>&1
grep -qF "output y: f32[batch, 3, H//2, W//2]" out.txt \
  && ok "inspect: an antialiased cubic x0.5 keeps H//2, W//2" || { bad "inspect resize_aa"; cat out.txt; }
rm -rf o
"$SLIMC" run resize_aa.onnx --input x=resize_aa.1,3,8,8.x.npy --output-dir o >/dev/null 2>err.txt \
  && "$NPYCMP" o/y.npy resize_aa.1,3,8,8.y.ref.npy 1e-5 >cmp.txt && ! grep -q "note: " err.txt \
  && ok "antialiased cubic resize: symbolic, matches ORT" || { bad "resize_aa"; cat err.txt cmp.txt; }
finish
