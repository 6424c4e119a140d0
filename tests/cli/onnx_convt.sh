#!/bin/bash
# ONNX ConvTranspose as exporters write it (issue 19): asymmetric pads (the transposed conv
# without pads, then a slice), output_shape and auto_pad
# SAME_UPPER / SAME_LOWER (pads from ONNX's total_padding rule), an output_padding inside
# asymmetric pads, grouped and dilated, 1-D; each against ONNX Runtime (1e-4). Models:
# tests/cli/convt_models.py.
. "$(dirname "$0")/lib.bash"
PYM="$SLIMC_SOURCE_DIR/tests/cli/convt_models.py"
if ! python3 -c 'import onnx, onnxruntime, numpy' 2>/dev/null; then
  echo "skip: python3 has no onnx/onnxruntime: the ConvTranspose checks are not run"
  finish
  exit $?
fi
python3 "$PYM" make . || { bad "convt_models.py make"; finish; exit 1; }
if "$SLIMC" inspect asym_pads.onnx 2>&1 | grep -q "built without ONNX"; then
  finish
  exit $?
fi
for name in $(python3 "$PYM" list); do
  rm -rf o
  if ! "$SLIMC" run "$name.onnx" --input "x=$name.x.npy" --output-dir o >out.txt 2>err.txt; then
    bad "$name: slimc run failed"; cat err.txt; continue
  fi
  "$NPYCMP" o/y.npy "$name.ref.npy" 1e-4 >cmp.txt && ok "$name matches ORT" || { bad "$name"; cat cmp.txt; }
done
# slimc compress writes such a model as .slim (InstanceNormalization / GroupNormalization as
# GroupNorm modules, ConvTranspose2d, a Gather's constant index as Parameter(2, dtype="i64")):
# the written model runs as ORT runs the original
if "$SLIMC" compress gn_convt.onnx --passes 'prune(amount=0)' -o gn.slim >out.txt 2>&1; then
  grep -q "ConvTranspose2d(4, 3, \[4, 4\], stride=\[2, 2\], padding=\[1, 1\]" gn.slim && grep -q "GroupNorm(2, 4" gn.slim \
    && grep -q 'Parameter(2, dtype="i64")' gn.slim \
    && ok "compress writes ConvTranspose2d, GroupNorm and an i64 Parameter" || { bad "gn.slim modules"; cat gn.slim; }
  rm -rf o && "$SLIMC" run gn.slim --input x=gn_convt.x.npy --output-dir o >out.txt 2>&1 \
    && "$NPYCMP" o/*.npy gn_convt.ref.npy 1e-4 >cmp.txt && ok "compressed gn_convt matches ORT" \
    || { bad "compressed gn_convt"; cat out.txt cmp.txt; }
else
  bad "compress gn_convt"; cat out.txt
fi
# the language's cumsum and argmax (what compress writes of ONNX CumSum and ArgMax), against
# numpy: an exclusive reverse cumsum along dim 1, argmax along dim 1 (ties: the first)
printf 'model m(x: f32[3, 5]) -> (c: f32[3, 5], a: i64[3])\n    return cumsum(x, dim=1, exclusive=true, reverse=true), argmax(x, dim=1)\n' >along.slim
python3 -c "import numpy as np; x = np.round(np.random.default_rng(3).standard_normal((3, 5)), 1).astype(np.float32); x[2] = 1.0; np.save('ax.npy', x)"
rm -rf o && "$SLIMC" run along.slim --input x=ax.npy --output-dir o >out.txt 2>&1 \
  && python3 -c "
import numpy as np, sys
x = np.load('ax.npy'); c = np.load('o/c.npy'); a = np.load('o/a.npy')
want = np.flip(np.cumsum(np.flip(x, 1), 1), 1) - x
sys.exit(0 if np.allclose(c, want, atol=1e-6) and (a == np.argmax(x, 1)).all() and a.dtype == np.int64 else 1)" \
  && ok "cumsum (exclusive, reverse) and argmax match numpy" || { bad "cumsum / argmax"; cat out.txt; }
# Parameter's dtype: f32, i64, i32 or bool; another is an error at its place
printf 'model m(x: f32[4]) -> f32[2]\n    p = Parameter(2, dtype="f16")\n    return index_select(x, 0, p())\n' >bad.slim
"$SLIMC" run bad.slim --input x=gn_convt.x.npy >out.txt 2>&1 && bad "Parameter dtype f16 accepted" \
  || { grep -qF 'bad.slim:2:22: error: Parameter'"'"'s dtype is "f32", "i64", "i32" or "bool"' out.txt \
    && ok "Parameter dtype f16 refused at its place" || { bad "Parameter dtype message"; cat out.txt; }; }
finish
