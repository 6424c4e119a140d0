#!/bin/bash
# ONNX LSTM, GRU and RNN over a symbolic sequence length and batch (issue 19): the rnn op
# keeps both symbolic, so each model compiles once and runs at two (T, B) from that one
# compile (one JIT cache entry), at 1 and 3 threads and on the AVX2 path, matching ONNX
# Runtime (1e-4) on every output: a bidirectional LSTM with peepholes and a run-time
# initial_h (Y, Y_h, Y_c), a reverse GRU with linear_before_reset and sequence_lens given at
# run time, a bidirectional RNN with Relu / Tanh and clip; each also through `slimc import`
# (the model language's rnn call). Models: tests/cli/rnn_dyn_models.py.
. "$(dirname "$0")/lib.bash"
if ! python3 -c 'import onnx, onnxruntime, numpy' 2>/dev/null; then
  echo "skip: python3 has no onnx/onnxruntime: the symbolic RNN checks are not run"
  finish
  exit $?
fi
python3 "$SLIMC_SOURCE_DIR/tests/cli/rnn_dyn_models.py" make . || { bad "rnn_dyn_models.py"; finish; exit 1; }
if "$SLIMC" inspect lstm_bi_dyn.onnx 2>&1 | grep -q "built without ONNX"; then
  finish
  exit $?
fi

# the output types keep the symbols (one rnn node, no unrolled steps)
"$SLIMC" inspect lstm_bi_dyn.onnx >out.txt 2>&1
grep -qF "y: f32[seq, 2, batch, 5]" out.txt && ok "lstm_bi_dyn: Y symbolic" || { bad "lstm_bi_dyn: Y type"; cat out.txt; }
grep -qF "yh: f32[2, batch, 5]" out.txt && ok "lstm_bi_dyn: Y_h symbolic" || { bad "lstm_bi_dyn: Y_h type"; cat out.txt; }

# check MODEL T_B THREADS [ENV...]: every output of slimc run agrees with ORT's (MODEL.onnx,
# or with SLIM=1 the .slim `slimc import` wrote)
check() {
  local model=$1 tb=$2 th=$3 file=$1.onnx; shift 3
  [ "${SLIM:-0}" = 1 ] && file=imp_$model.slim
  local stem="$model.$tb" args=()
  for f in "$stem".in.*.npy; do
    local k=${f#"$stem".in.}
    args+=(--input "${k%.npy}=$f")
  done
  rm -rf o
  if ! env "$@" "$SLIMC" run "$file" "${args[@]}" --threads "$th" --output-dir o >out.txt 2>err.txt; then
    bad "$model at $tb ($th threads $*): slimc run failed"; cat err.txt; return
  fi
  grep -q "note: imported with the inputs' shapes fixed" err.txt && { bad "$model specialised"; cat err.txt; }
  for r in "$stem".ref.*.npy; do
    local o=${r#"$stem".ref.}
    "$NPYCMP" "o/$o" "$r" 1e-4 >cmp.txt && ok "$model at $tb, $th threads $*: ${o%.npy}" \
      || { bad "$model at $tb ($th threads $*): ${o%.npy}"; cat cmp.txt; }
  done
}

for m in lstm_bi_dyn gru_lens_dyn rnn_bi_dyn; do
  export SLIMC_CACHE_DIR=$TEST_TMP/cache_$m
  rm -rf "$SLIMC_CACHE_DIR"
  check $m 6_2 1
  check $m 11_3 3
  check $m 11_3 1 SLIMC_MAX_ISA=avx2
  n=$(find "$SLIMC_CACHE_DIR" -type f -name '*.so' | wc -l)
  [ "$n" -eq 1 ] && ok "$m: one compile for both shapes" || { bad "$m: $n compiled objects"; find "$SLIMC_CACHE_DIR" -type f; }
done
# the model language has the op too: `slimc import` writes it, and the .slim runs the same
for m in lstm_bi_dyn gru_lens_dyn rnn_bi_dyn; do
  expect_ok "import $m" "$SLIMC" import $m.onnx -o imp_$m.slim
  grep -q "rnn(x, " imp_$m.slim && ok "$m: one rnn call in the .slim" || { bad "$m: no rnn call"; cat imp_$m.slim; }
  SLIM=1 check $m 11_3 2
done
finish
