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
# GroupNorm modules, ConvTranspose2d): the written model runs as ORT runs the original
if "$SLIMC" compress gn_convt.onnx --passes 'prune(amount=0)' -o gn.slim >out.txt 2>&1; then
  grep -q "ConvTranspose2d(4, 3, \[4, 4\], stride=\[2, 2\], padding=\[1, 1\]" gn.slim && grep -q "GroupNorm(2, 4" gn.slim \
    && ok "compress writes ConvTranspose2d and GroupNorm" || { bad "gn.slim modules"; cat gn.slim; }
  rm -rf o && "$SLIMC" run gn.slim --input x=gn_convt.x.npy --output-dir o >out.txt 2>&1 \
    && "$NPYCMP" o/*.npy gn_convt.ref.npy 1e-4 >cmp.txt && ok "compressed gn_convt matches ORT" \
    || { bad "compressed gn_convt"; cat out.txt cmp.txt; }
else
  bad "compress gn_convt"; cat out.txt
fi
finish
