#!/bin/bash
# Slices whose end is a symbolic dim over a fixed buffer (issue 19): a GPT-2 style causal
# mask bias[:, :, :T, :T] of a 64x64 buffer and an HF-style position_ids[:, :T], both
# exported by Debian's torch with dynamic_axes. ONNX's Slice clamps T to 64; slimc takes the
# length as T with T <= 64 a bound on the model, so each compiles once, symbolically, and
# matches ONNX Runtime (1e-5) at several T. T > 64 is refused when the inputs bind the
# symbols, naming the input, its dim, the bound and the buffer: by `slimc run` (exit 1) and
# by an AOT executable built once (the C API's check: tests/python/test_slimc.py).
. "$(dirname "$0")/lib.bash"
PYM="$SLIMC_SOURCE_DIR/tests/cli/shapes_models.py"
PY=/usr/bin/python3
if ! python3 -c 'import onnx, onnxruntime, numpy' 2>/dev/null || ! [ -x "$PY" ] \
  || ! "$PY" -c 'import torch' 2>/dev/null; then
  echo "skip: no onnx/onnxruntime, or $PY has no torch: the clamping-slice checks are not run"
  finish
  exit $?
fi
"$PY" "$SLIMC_SOURCE_DIR/tests/cli/onnx_clamp_slice_torch.py" . >export.txt 2>&1 \
  || { bad "torch export"; cat export.txt; finish; exit 1; }
if "$SLIMC" inspect gpt_attn.onnx 2>&1 | grep -q "built without ONNX"; then
  finish
  exit $?
fi
python3 "$PYM" refs gpt_attn.onnx:2,5,32 gpt_attn.onnx:1,64,32 gpt_attn.onnx:3,1,32 \
  hf_pos.onnx:2,7 hf_pos.onnx:1,64 hf_pos.onnx:3,1 || bad "ORT references"
python3 -c '
import numpy as np
np.save("x80.npy", np.random.default_rng(1).standard_normal((1, 80, 32)).astype(np.float32))
np.save("ids65.npy", np.zeros((2, 65), np.int64))' || bad "making the long inputs"

# same MODEL INPUT SHAPE [ARGS...]: slimc run on the seeded input agrees with ORT to 1e-5,
# compiled symbolically (no per-shape note)
same() {
  local model=$1 input=$2 shape=$3; shift 3
  local name="${model%.onnx} at $shape${*:+ ($*)}" stem="${model%.onnx}.$shape"
  rm -rf o
  if ! "$SLIMC" run "$model" "$@" --input "$input=$stem.x.npy" --output-dir o >out.txt 2>err.txt; then
    bad "$name: slimc run failed"; cat err.txt; return
  fi
  if grep -q "note: imported with the inputs' shapes fixed\|note: compiled for these input shapes" err.txt; then
    bad "$name: specialised per shape"; cat err.txt; return
  fi
  "$NPYCMP" o/y.npy "$stem.ref.npy" 1e-5 >cmp.txt && ok "$name matches ORT, symbolically" \
    || { bad "$name"; cat cmp.txt; }
}

"$SLIMC" inspect gpt_attn.onnx >out.txt 2>&1
grep -qF "input  x: f32[batch, seq, 32]" out.txt && grep -qF "output y: f32[batch, seq, 32]" out.txt \
  && grep -qF "bound: seq <= 64 (the model's slice of 'bias'; checked at run time)" out.txt \
  && ok "inspect gpt_attn: seq symbolic, bounded by the mask buffer" || { bad "inspect gpt_attn"; cat out.txt; }
for s in 2,5,32 1,64,32 3,1,32; do same gpt_attn.onnx x $s; done
expect_fail "gpt_attn at T = 80: refused naming the input, dim and bound" \
  "error: input 'x' dim 1 = 80 exceeds 64, the largest the model's slice of 'bias' allows" \
  "$SLIMC" run gpt_attn.onnx --input x=x80.npy --output-dir o

"$SLIMC" inspect hf_pos.onnx >out.txt 2>&1
grep -qF "output y: f32[batch, seq, 16]" out.txt \
  && grep -qF "bound: seq <= 64 (the model's slice of 'position_ids'" out.txt \
  && ok "inspect hf_pos: seq symbolic, bounded by position_ids" || { bad "inspect hf_pos"; cat out.txt; }
for s in 2,7 1,64 3,1; do same hf_pos.onnx input_ids $s; done
expect_fail "hf_pos at T = 65: refused naming the input, dim and bound" \
  "error: input 'input_ids' dim 1 = 65 exceeds 64, the largest the model's slice of 'position_ids' allows" \
  "$SLIMC" run hf_pos.onnx --input input_ids=ids65.npy --output-dir o
# fixing seq at import gives static slices: the same answers
same hf_pos.onnx input_ids 2,7 --dim seq=7

# `slimc import` writes the slice as slice(p, dim=2, start=0, end=seq): the .slim model
# reads back symbolic, with the same bound
expect_ok "import gpt_attn to .slim" "$SLIMC" import gpt_attn.onnx -o gpt.slim
grep -q "end=seq, step=1)" gpt.slim && ok "gpt.slim: slices end at seq" || bad "gpt.slim has no end=seq"
rm -rf o
"$SLIMC" run gpt.slim --input x=gpt_attn.2,5,32.x.npy --output-dir o >/dev/null 2>err.txt \
  && "$NPYCMP" o/y.npy gpt_attn.2,5,32.ref.npy 1e-5 >cmp.txt && ok "gpt.slim at 2,5,32 matches ORT" \
  || { bad "gpt.slim at 2,5,32"; cat err.txt cmp.txt; }
expect_fail "gpt.slim at T = 80: refused" "input 'x' dim 1 = 80 exceeds 64, the largest the model's slice of" \
  "$SLIMC" run gpt.slim --input x=x80.npy --output-dir o

# an AOT executable built once keeps seq symbolic and checks the bound itself
expect_ok "build gpt_attn once" "$SLIMC" build gpt_attn.onnx -o gpt
for s in 1,64,32 2,5,32; do
  rm -rf so
  ./gpt --input x=gpt_attn.$s.x.npy --output-dir so >/dev/null 2>err.txt \
    && "$NPYCMP" so/y.npy gpt_attn.$s.ref.npy 1e-5 >cmp.txt && ok "gpt_attn AOT at $s matches ORT" \
    || { bad "gpt_attn AOT at $s"; cat err.txt cmp.txt; }
done
expect_fail "gpt_attn AOT at T = 80: refused the same way" \
  "input 'x' dim 1 = 80 exceeds 64, the largest the model's slice of 'bias' allows" \
  ./gpt --input x=x80.npy --output-dir so
finish
