# Held-out-style hostile files (issue 13): the reproducers that tests/data/hostile/redteam/
# make_redteam.py found with its generic mutations of every mapped ONNX op (and of the .slim
# reader), each fixed. Every .onnx and .slim there goes through `slimc inspect` and
# `slimc run` (inputs NAME.input.INPUT.npy) under `timeout 20` and must: exit 0 or 1 (never a
# signal or a hang), print no sanitizer report, and on exit 1 start its first error line with
# the file's name. `slimc import` of each .onnx either fails so (naming the model or the .slim
# it cannot write) or writes a .slim that `slimc inspect` reads back. Where ONNX Runtime computes a result (NAME.ort.OUTPUT.npy), slimc run must
# succeed and agree with it; NAME.expect, where present, is a pattern the stderr must match.
# The fuzzers' finds in tests/data/hostile/fuzz-found/ go through `slimc inspect` alike.
source "$(dirname "$0")/lib.bash"
R=$SLIMC_SOURCE_DIR/tests/data/hostile/redteam

if "$SLIMC" inspect "$R/op_transpose_a_perm_long.onnx" 2>&1 | grep -q "built without ONNX"; then
  finish
  exit
fi

# check NAME FILE CMD...: the rules above for one command.
check() {
  local name=$1 file=$2; shift 2
  timeout 20 "$@" >out.txt 2>err.txt
  local rc=$?
  if [ $rc -gt 1 ]; then bad "$name: exit status $rc"; head -c 2000 err.txt; return 1; fi
  if grep -qE "AddressSanitizer|LeakSanitizer|runtime error:|Segmentation|internal error" err.txt; then
    bad "$name: sanitizer report or crash"; head -c 2000 err.txt; return 1
  fi
  if [ $rc -eq 1 ] && ! grep -m1 "error:" err.txt | grep -qE -- "$file"; then
    bad "$name: the error does not name $file"; head -c 2000 err.txt; return 1
  fi
  ok "$name (exit $rc)"
  return $rc
}

for m in "$R"/*.onnx "$R"/*.slim; do
  [ -e "$m" ] || continue
  base=${m##*/}
  name=${base%.*}
  args=()
  for f in "$R/$name".input.*.npy; do
    [ -e "$f" ] || continue
    k=${f##*/$name.input.}
    args+=(--input "${k%.npy}=$f")
  done
  check "$base inspect" "$base" "$SLIMC" inspect "$m"
  if [ -e "$R/$name.expect" ]; then
    if grep -qE -- "$(cat "$R/$name.expect")" err.txt; then ok "$base: the expected message"; else
      bad "$base: stderr lacks /$(cat "$R/$name.expect")/"; cat err.txt
    fi
  fi
  if [ "${base##*.}" = onnx ]; then
    rm -rf "i_$name" && mkdir "i_$name"
    if check "$base import" "$base|m\.slim" "$SLIMC" import "$m" -o "i_$name/m.slim"; then
      check "$base import: the .slim read back" "m\.slim" "$SLIMC" inspect "i_$name/m.slim" ||
        bad "$base: slimc import wrote a .slim that slimc refuses"
    fi
  fi
  rm -rf "o_$name"
  check "$base run" "$base" "$SLIMC" run "$m" "${args[@]}" --output-dir "o_$name" --opt-level 0
  rc=$?
  for f in "$R/$name".ort.*.npy; do
    [ -e "$f" ] || continue
    o=${f##*/$name.ort.}
    if [ $rc -ne 0 ]; then bad "$base: ORT computes ${o%.npy}, slimc run failed"; continue; fi
    if "$NPYCMP" "o_$name/$o" "$f" 1e-5 >/dev/null 2>&1; then ok "$base: ${o%.npy} as ORT's"; else
      bad "$base: ${o%.npy} differs from ORT's"
    fi
  done
done

# The files the fuzzers found (tests/data/hostile/fuzz-found/, each fixed): the same rules
# for `slimc inspect`, which imports and checks the whole model, with the fuzzers' memory cap.
for m in "$SLIMC_SOURCE_DIR"/tests/data/hostile/fuzz-found/*.onnx; do
  [ -e "$m" ] || continue
  base=${m##*/}
  check "fuzz-found $base inspect" "$base" "$SLIMC" inspect --max-memory 16M "$m"
done
finish
