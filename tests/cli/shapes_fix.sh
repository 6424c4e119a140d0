#!/bin/bash
# --shape NAME=D0,D1,... and --dim SYMBOL=N (issue 19): an input's dims or a symbolic dim
# fixed at import, for ONNX (dim_params) and .slim models (N), on inspect, run, emit,
# import; and every wrong use is an error naming the fault, with a did-you-mean.
# Models: tests/cli/shapes_models.py (onnx.helper); references: ONNX Runtime.
. "$(dirname "$0")/lib.bash"
PYM="$SLIMC_SOURCE_DIR/tests/cli/shapes_models.py"
L=$S/lenet/lenet.slim

# --- .slim (always runs) ---
"$SLIMC" inspect "$L" --dim N=4 >out.txt 2>err.txt
grep -q 'input  x: f32\[4, 1, 28, 28\]' out.txt && grep -q 'output0: f32\[4, 10\]' out.txt \
  && ok "slim --dim N=4 fixes the batch" || { bad "slim --dim N=4"; cat out.txt err.txt; }
"$SLIMC" inspect "$L" --shape x=3,1,28,28 >out.txt 2>err.txt
grep -q 'input  x: f32\[3, 1, 28, 28\]' out.txt && ! grep -q 'symbolic dims' out.txt \
  && ok "slim --shape x=3,1,28,28 fixes N" || { bad "slim --shape"; cat out.txt err.txt; }
expect_ok "slim run with --shape 0=... (a position)" "$SLIMC" run "$L" --shape 0=8,1,28,28 \
  --input "x=$S/lenet/input.npy" --output-dir lo
"$NPYCMP" lo/output0.npy "$S/lenet/expected.npy" 1e-4 >/dev/null && ok "slim fixed batch computes as before" \
  || bad "slim fixed batch output"
expect_fail "slim: --shape with a static dim that differs" \
  "lenet.slim: error: --shape x: dim 3 of input 'x' is 28 in the model, not 29" \
  "$SLIMC" inspect "$L" --shape x=3,1,28,29
expect_fail "slim: --dim of an unknown symbol" "no symbolic dim named 'M' \(the model's: N\)" \
  "$SLIMC" inspect "$L" --dim M=3
expect_fail "slim: --shape of an unknown input" "--shape: no input named 'y' \(the inputs: x\)" \
  "$SLIMC" inspect "$L" --shape y=1,1,28,28
expect_fail "slim: wrong rank" "--shape x: the input has 4 dims, not 2" \
  "$SLIMC" inspect "$L" --shape x=1,784
expect_fail "--shape: a dim of 0" "--shape x: a dim is a whole number from 1 to [0-9]+, not 0" \
  "$SLIMC" inspect "$L" --shape x=0,1,28,28
expect_fail "--dim: a negative value" "--dim N: a dim is a whole number from 1 to [0-9]+, not -2" \
  "$SLIMC" inspect "$L" --dim N=-2
expect_fail "--shape without '='" "--shape takes NAME=D0,D1,... .*not 'x'" \
  "$SLIMC" inspect "$L" --shape x
expect_fail "--shape with a bad number" "--shape takes NAME=D0,D1,... .*not 'x=1,a'" \
  "$SLIMC" inspect "$L" --shape x=1,a
expect_fail "--dim without a value" "--dim takes SYMBOL=N .*not 'N='" "$SLIMC" inspect "$L" --dim N=
expect_fail "--shape and --dim disagree" "--shape x makes the symbolic dim 'N' 3, but --dim N=2" \
  "$SLIMC" inspect "$L" --shape x=3,1,28,28 --dim N=2

# N*4 in the model's expressions: a symbolic size (ir_dim_attr names the product), and a
# fixed symbol is a number there
printf 'model m(x: f32[N, 4]) -> f32[N*4]\n    return reshape(x, [N*4])\n' >flat.slim
"$SLIMC" inspect flat.slim >out.txt 2>&1
grep -q 'output output0: f32\[4\*N\]' out.txt && ok "slim: N*4 symbolic" \
  || { bad "slim: N*4 symbolic"; cat out.txt; }
"$SLIMC" inspect flat.slim --dim N=3 >out.txt 2>&1
grep -q 'output output0: f32\[12\]' out.txt && ok "slim: N in an expression with --dim N=3" \
  || { bad "slim: --dim N=3 in an expression"; cat out.txt; }

# --- ONNX (needs onnx and onnxruntime in python3) ---
if ! python3 -c 'import onnx, onnxruntime, numpy' 2>/dev/null; then
  echo "skip: python3 has no onnx/onnxruntime: the ONNX --shape/--dim checks are not run"
  finish
  exit $?
fi
if "$SLIMC" inspect "$S/lenet/lenet.slim" >/dev/null 2>&1 && python3 "$PYM" make . \
  && "$SLIMC" inspect two_in.onnx 2>&1 | grep -q "built without ONNX"; then
  finish
  exit $?
fi
[ -f conv_dyn.onnx ] || { bad "shapes_models.py make"; finish; exit 1; }

# refused without a fix (a slice [0:3] of the pooled symbolic W, whose length clamps; the
# conv and the ceil_mode pool before it would stay symbolic): the message says how
expect_fail "a clamping slice of symbolic W: the note names the dims and the way out" \
  "note: the model's symbolic dims are batch, H, W \(input 'x' is f32\[batch, 3, H, W\]\); fix them at import: --shape x=D0,D1,... or --dim batch=N" \
  "$SLIMC" inspect conv_dyn.onnx

# fixed: runs and matches ONNX Runtime, by --shape (name, position) and by --dim
python3 "$PYM" refs conv_dyn.onnx:2,3,8,10 conv_dyn.onnx:1,3,5,6 conv_dyn.onnx:3,3,4,7 \
  conv_dyn.onnx:2,3,6,6 || bad "ORT references"
check() { # NAME SHAPE ARGS...: run conv_dyn on the SHAPE input with ARGS against ORT
  local name=$1 shape=$2; shift 2
  rm -rf co
  if ! "$SLIMC" run conv_dyn.onnx "$@" --input "x=conv_dyn.$shape.x.npy" --output-dir co >out.txt 2>err.txt; then
    bad "$name: slimc run failed"; cat err.txt; return
  fi
  "$NPYCMP" co/y.npy "conv_dyn.$shape.ref.npy" 1e-4 >/dev/null && ok "$name" || bad "$name: differs from ORT"
}
check "--shape x=2,3,8,10 matches ORT" 2,3,8,10 --shape x=2,3,8,10
check "--shape 0=1,3,5,6 (position) matches ORT" 1,3,5,6 --shape 0=1,3,5,6
check "--dim batch=3 --dim H=4 --dim W=7 matches ORT" 3,3,4,7 --dim batch=3 --dim H=4 --dim W=7
check "--dim H, W only: the batch stays symbolic" 2,3,6,6 --dim H=6 --dim W=6
check "run with no fix: the input file's shape is fixed at import" 2,3,8,10
grep -qF "note: imported with the inputs' shapes fixed (slice 'Slice_3': the sliced dimension is symbolic and the bounds may clamp (a length min(end, len) - start: fix the dim with --dim or --shape) for 'MaxPool_2' (f32[batch, 4, (H+1)//2, (W+1)//2])); each new shape compiles once" err.txt \
  && ok "the run says it fixed the input's shape" || { bad "run with no fix: the note"; cat err.txt; }
python3 -c 'import numpy as np; np.save("rank3.npy", np.ones((3, 8, 8), np.float32))'
expect_fail "run with no fix, an input of the wrong rank: the model's error, then why" \
  "with the given inputs' shapes fixed at import:" "$SLIMC" run conv_dyn.onnx --input x=rank3.npy
grep -q "the bounds may clamp" err.txt && grep -q -- "--shape x: the input has 4 dims, not 3" err.txt \
  && ok "both errors are shown" || { bad "wrong rank: errors"; cat err.txt; }
"$SLIMC" inspect conv_dyn.onnx --dim H=6 --dim W=6 >out.txt 2>&1
grep -q 'input  x: f32\[batch, 3, 6, 6\]' out.txt && ok "inspect shows f32[batch, 3, 6, 6]" \
  || { bad "inspect after --dim H, W"; cat out.txt; }

# a --shape of one input fixes the dim_param it shares with another
"$SLIMC" inspect two_in.onnx --shape image=2,4 >out.txt 2>&1
grep -q 'input  mask: f32\[2, 4\]' out.txt && ok "--shape image fixes mask's batch too" \
  || { bad "shared dim_param"; cat out.txt; }
expect_fail "two --shape that disagree on a dim_param" \
  "--shape mask makes the symbolic dim 'batch' 3, but --shape image made it 2" \
  "$SLIMC" inspect two_in.onnx --shape image=2,4 --shape mask=3,4
expect_fail "--shape of an unknown input: did you mean" "--shape: no input named 'imag'; did you mean 'image'\?" \
  "$SLIMC" inspect two_in.onnx --shape imag=1,4
expect_fail "--dim of an unknown dim_param: did you mean" "--dim: no symbolic dim named 'bach'; did you mean 'batch'\?" \
  "$SLIMC" inspect two_in.onnx --dim bach=1
expect_fail "--shape by a position past the inputs" "--shape: the model has 2 inputs \(positions 0 to 1\), not 2" \
  "$SLIMC" inspect two_in.onnx --shape 2=1,4
expect_fail "--shape of an input given twice" "--shape: input 'image' is given twice, with other dims" \
  "$SLIMC" inspect two_in.onnx --shape image=1,4 --shape 0=2,4
expect_ok "--shape of an input by name and position, the same dims" \
  "$SLIMC" inspect two_in.onnx --shape image=1,4 --shape 0=1,4
expect_fail "ONNX: a static dim that differs" "--shape x: dim 1 of input 'x' is 3 in the model, not 4" \
  "$SLIMC" inspect conv_dyn.onnx --shape x=1,4,8,8

# the other commands that load a model
expect_ok "emit --dim" "$SLIMC" emit conv_dyn.onnx --dim batch=1 --dim H=4 --dim W=4 -o emitted
grep -qF 'CONV_DYN_INPUT0_SHAPE() {1, 3, 4, 4}' emitted/conv_dyn.h && grep -qF 'CONV_DYN_N_SYMS 0' emitted/conv_dyn.h \
  && ok "the emitted header has the fixed shape and no symbols" || bad "emit --dim: emitted/conv_dyn.h"
expect_ok "import --shape" "$SLIMC" import conv_dyn.onnx --shape x=1,3,5,5 -o fixed.slim
grep -q 'x: f32\[1, 3, 5, 5\]' fixed.slim && ok "the imported .slim has the fixed shape" \
  || { bad "import --shape"; head -3 fixed.slim; }
expect_fail "import: a wrong --dim is an error" "--dim: no symbolic dim named 'Q'" \
  "$SLIMC" import conv_dyn.onnx --dim Q=1 -o bad.slim
finish
