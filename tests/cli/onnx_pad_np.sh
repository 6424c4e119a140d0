#!/bin/bash
# ONNX Pad against numpy's np.pad (issue 19; the models, inputs and references:
# tests/cli/pad_np_models.py): constant, reflect and edge pads of 1-D to 4-D inputs with odd
# sizes, each compiled with its dims symbolic (one compile for both shapes) and with them
# fixed by --shape, must equal np.pad exactly (a pad copies, it computes nothing).
. "$(dirname "$0")/lib.bash"
PYM="$SLIMC_SOURCE_DIR/tests/cli/pad_np_models.py"
if ! python3 -c 'import onnx, numpy' 2>/dev/null; then
  echo "skip: no onnx/numpy: the pad checks are not run"
  finish
  exit $?
fi
python3 "$PYM" make . || { bad "pad_np_models.py make"; finish; exit 1; }
if "$SLIMC" inspect pad1d_edge.onnx 2>&1 | grep -q "built without ONNX"; then
  finish
  exit $?
fi
export SLIMC_CACHE_DIR=$TEST_TMP/cache
for c in $(python3 "$PYM" list); do
  m=${c%%:*} s=${c#*:}
  for how in symbolic static; do
    extra=()
    [ $how = static ] && extra=(--shape "x=$s")
    rm -rf o
    if "$SLIMC" run "$m.onnx" --input "x=$m.$s.x.npy" "${extra[@]}" --output-dir o --threads 2 \
      >/dev/null 2>err.txt && "$NPYCMP" o/y.npy "$m.$s.ref.npy" 0 >cmp.txt; then
      ok "$m $how at $s equals np.pad"
    else
      bad "$m $how at $s"; cat err.txt cmp.txt 2>/dev/null
    fi
    grep -q "note: " err.txt && { bad "$m $how at $s: a note (specialised?)"; cat err.txt; }
  done
done
finish
