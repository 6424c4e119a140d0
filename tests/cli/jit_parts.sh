#!/usr/bin/env bash
# The JIT's code compiled in parts (issue 20): a model's C split into SLIMC_JIT_JOBS
# translation units, compiled at once (threads of the in-process Clang, or cc processes)
# and linked, computes what ONNX Runtime computes (the references of tests/onnx/models)
# and exactly what one part computes; the cache key covers the parts (a hit for the same
# split, a new entry for another); identical node bodies are written once.
source "$(dirname "$0")/lib.bash"
M=$SLIMC_SOURCE_DIR/tests/onnx/models
export SLIMC_CACHE_DIR=$TEST_TMP/cache

if "$SLIMC" run "$M/mlp.onnx" --input "$M/mlp.input.npy" 2>&1 | grep -q "built without ONNX"; then
  finish
  exit $?
fi

for jit in default cc; do
  for m in transformer_layer lenet lenet_qdq mlp; do
    for jobs in 1 2 3 5; do
      if [ $jit = cc ]; then
        run() { SLIMC_JIT=cc SLIMC_JIT_JOBS=$jobs "$SLIMC" "$@"; }
      else
        run() { SLIMC_JIT_JOBS=$jobs "$SLIMC" "$@"; }
      fi
      out=out_${jit}_${m}_$jobs input=$M/$m.input.npy tol=1e-4
      # the int8 model: onnx_qdq.sh's input and tolerance (int8 rounding against ORT's)
      [ $m = lenet_qdq ] && input=$S/lenet/test_x.npy tol="0.02 0.99"
      expect_ok "$jit: $m in $jobs parts runs" run run "$M/$m.onnx" --input "$input" \
        --output-dir "$out"
      # shellcheck disable=SC2086
      expect_ok "$jit: $m in $jobs parts matches onnxruntime" \
        "$NPYCMP" "$out/output.npy" "$M/$m.ort.npy" $tol
      expect_ok "$jit: $m in $jobs parts is bit-identical to one part" \
        "$NPYCMP" "$out/output.npy" "out_${jit}_${m}_1/output.npy" 0
    done
  done
done

# the cache: the same split hits, another split is another entry
rm -rf "$SLIMC_CACHE_DIR"
t() { SLIMC_JIT_JOBS=$1 "$SLIMC" run "$M/transformer_layer.onnx" --input "$M/transformer_layer.input.npy" \
        --output-dir out_cache --time 2>&1 | grep -o 'compile [0-9.]* ms'; }
first=$(t 3) second=$(t 3) other=$(t 2)
if [ "$first" != "compile 0.00 ms" ] && [ "$second" = "compile 0.00 ms" ] &&
   [ "$other" != "compile 0.00 ms" ]; then
  ok "cache: 3 parts compiled ($first), hit ($second); 2 parts compiled ($other)"
else
  bad "cache: 3 parts '$first' then '$second', 2 parts '$other'"
fi
entries=$("$SLIMC" cache info 2>&1 | grep -oE '^entries: [0-9]+' | grep -oE '[0-9]+')
[ "${entries:-0}" -ge 2 ] && ok "cache: two entries ($entries)" || bad "cache: $entries entries"

# what the compiler is given: cc (a wrapper keeping the sources) gets 3 files, each
# starting with the runtime header; the transformer's q, k and v projections share a body
cat > cc_keep.sh <<'SH'
#!/bin/sh
for a in "$@"; do case "$a" in *.c) cp "$a" "$KEEP/src${a##*/.src}";; esac; done
exec cc "$@"
SH
chmod +x cc_keep.sh
mkdir -p kept
rm -rf "$SLIMC_CACHE_DIR"
expect_ok "cc in 3 parts" env KEEP="$TEST_TMP/kept" SLIMC_JIT=cc SLIMC_CC="$TEST_TMP/cc_keep.sh" \
  SLIMC_JIT_JOBS=3 "$SLIMC" run "$M/transformer_layer.onnx" --input "$M/transformer_layer.input.npy" \
  --output-dir out_kept
n=$(ls kept/*.c 2>/dev/null | wc -l)
[ "$n" -eq 3 ] && ok "3 translation units" || bad "$n translation units, not 3"
runs=$(grep -l '_run(const void' kept/*.c | wc -l)
[ "$runs" -eq 1 ] && ok "one part holds the entry" || bad "$runs parts hold the entry"
grep -q '(the code of ' kept/*.c && ok "identical bodies written once" ||
  bad "no body was shared"
expect_ok "kept parts' result matches onnxruntime" \
  "$NPYCMP" out_kept/output.npy "$M/transformer_layer.ort.npy" 1e-4
finish
