#!/bin/bash
# Antialiased Resize (opset 18; issue 19) of a symbolic image x [batch, 3, H, W]: linear and
# cubic downsampling by 2x, 3x, non-integer and per-axis different factors, to constant
# sizes (the scale when it runs) and through a torchvision-style Shape/Concat sizes input,
# upsampling (where antialias has no effect), the four coordinate modes that stay
# symbolic, exclude_outside, and keep_aspect_ratio_policy (per shape). Each runs at two or
# more shapes, compiled once (no per-shape note), and matches ONNX Runtime to 1e-5; the
# static form (--shape) matches too. A constant size bounds the length to 16 times it
# (the least scale antialias takes): a longer input is refused naming the input dim, by
# `slimc run` and by an AOT executable built once. Models: tests/cli/resize_aa_models.py.
. "$(dirname "$0")/lib.bash"
PYM="$SLIMC_SOURCE_DIR/tests/cli/resize_aa_models.py"
if ! python3 -c 'import onnx, onnxruntime, numpy' 2>/dev/null; then
  echo "skip: no onnx/onnxruntime: the antialiased-resize checks are not run"
  finish
  exit $?
fi
python3 "$PYM" make . || { bad "resize_aa_models.py make"; finish; exit 1; }
if "$SLIMC" inspect aa_lin_half.onnx 2>&1 | grep -q "built without ONNX"; then
  finish
  exit $?
fi
declare -A SHAPES=(
  [aa_lin_half]="1,3,8,8 2,3,9,13 1,3,2,4"
  [aa_cub_mixed]="2,3,8,12 1,3,17,5"
  [aa_lin_sizes]="1,3,15,21 2,3,16,16 1,3,5,7 1,3,4,5 1,3,80,112"
  [aa_tv]="2,3,20,9 1,3,6,4 1,3,96,64"
  [aa_cub_up]="1,3,4,6 2,3,5,3"
  [aa_lin_asym]="1,3,8,8 1,3,11,6"
  [aa_cub_align]="1,3,16,18 1,3,7,30"
  [aa_lin_pthp]="1,3,16,8 2,3,9,10"
  [aa_cub_excl]="1,3,10,12 1,3,7,9"
  [aa_policy]="1,3,20,24 1,3,12,30"
)
cases=()
for m in "${!SHAPES[@]}"; do
  for s in ${SHAPES[$m]}; do cases+=("$m.onnx:$s"); done
done
python3 "$PYM" refs "${cases[@]}" || bad "ORT references"
python3 -c '
import numpy as np
np.save("h81.npy", np.zeros((1, 3, 81, 7), np.float32))
np.save("w65.npy", np.zeros((1, 3, 8, 65), np.float32))' || bad "making the long inputs"

# same MODEL SHAPE [ARGS...]: slimc run on the seeded input agrees with ORT to 1e-5
same() {
  local model=$1 shape=$2; shift 2
  local stem="${model%.onnx}.$shape"
  rm -rf o
  if ! "$SLIMC" run "$model" "$@" --input "x=$stem.x.npy" --output-dir o >out.txt 2>err.txt; then
    bad "$stem${*:+ ($*)}: slimc run failed"; cat err.txt; return 1
  fi
  "$NPYCMP" o/y.npy "$stem.ref.npy" 1e-5 >cmp.txt || { bad "$stem${*:+ ($*)}"; cat cmp.txt; return 1; }
}
per_shape() { grep -q "note: imported with the inputs' shapes fixed\|note: compiled for these input shapes" err.txt; }

for m in aa_lin_half aa_cub_mixed aa_lin_sizes aa_tv aa_cub_up aa_lin_asym aa_cub_align aa_lin_pthp aa_cub_excl; do
  for s in ${SHAPES[$m]}; do
    same $m.onnx $s || continue
    if per_shape; then bad "$m at $s: specialised per shape"; cat err.txt; else ok "$m at $s: symbolic, matches ORT"; fi
  done
done
"$SLIMC" inspect aa_cub_mixed.onnx >out.txt 2>&1
grep -qF "output y: f32[batch, 3, H//4, (3*W)//4]" out.txt && ok "inspect: x0.25, x0.75 give H//4, (3*W)//4" \
  || { bad "inspect aa_cub_mixed"; cat out.txt; }
"$SLIMC" inspect aa_tv.onnx >out.txt 2>&1
grep -qF "output y: f32[batch, 3, 6, 4]" out.txt && grep -qF "bound: H <= 96" out.txt \
  && grep -qF "bound: W <= 64" out.txt && ok "inspect aa_tv: sizes 6 x 4 bound H to 96, W to 64" \
  || { bad "inspect aa_tv"; cat out.txt; }
# keep_aspect_ratio_policy: one scale for both axes from the input's shape, per shape
for s in ${SHAPES[aa_policy]}; do
  same aa_policy.onnx $s && per_shape && ok "aa_policy at $s: per shape (a note), matches ORT" \
    || { bad "aa_policy at $s"; cat err.txt; }
done
# the lowest ISA the dispatch takes (the taps are plain C: the same answers)
SLIMC_MAX_ISA=avx2 SLIMC_NO_VNNI=1 same aa_cub_mixed.onnx 1,3,17,5 && ok "aa_cub_mixed under SLIMC_MAX_ISA=avx2 matches ORT"
# the static form, fixed at import
same aa_lin_sizes.onnx 1,3,15,21 --shape x=1,3,15,21 && ok "aa_lin_sizes --shape x=1,3,15,21 matches ORT"
same aa_cub_mixed.onnx 2,3,8,12 --dim H=8 --dim W=12 && ok "aa_cub_mixed --dim H=8 --dim W=12 matches ORT"
# beyond 16x down to a constant size: refused when the inputs bind H, W
expect_fail "aa_lin_sizes at H = 81: refused naming the input dim and the bound" \
  "error: input 'x' dim 2 = 81 exceeds 80, the largest the model's antialiased resize 'Resize_0' allows" \
  "$SLIMC" run aa_lin_sizes.onnx --input x=h81.npy --output-dir o
expect_fail "aa_tv at W = 65: refused" "input 'x' dim 3 = 65 exceeds 64" \
  "$SLIMC" run aa_tv.onnx --input x=w65.npy --output-dir o

# an AOT executable built once: symbolic H, W, the bound checked by its binder
expect_ok "build aa_tv once" "$SLIMC" build aa_tv.onnx -o tv
for s in 2,3,20,9 1,3,96,64; do
  rm -rf so
  ./tv --input x=aa_tv.$s.x.npy --output-dir so >/dev/null 2>err.txt \
    && "$NPYCMP" so/y.npy aa_tv.$s.ref.npy 1e-5 >cmp.txt && ok "aa_tv AOT at $s matches ORT" \
    || { bad "aa_tv AOT at $s"; cat err.txt cmp.txt; }
done
expect_fail "aa_tv AOT at W = 65: refused the same way" "input 'x' dim 3 = 65 exceeds 64" \
  ./tv --input x=w65.npy --output-dir so
finish
