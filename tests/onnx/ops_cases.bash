# Sourced by tests/cli/onnx_if_slice.sh and onnx_rnn.sh (after lib.bash): runs the cases
# tests/onnx/ops_cases.py writes for one group and compares slimc with ONNX Runtime.

# ops_cases_ready: true when this slimc imports ONNX and python3 has onnx and onnxruntime
# (says why it skips otherwise).
ops_cases_ready() {
  if "$SLIMC" inspect /nonexistent.onnx 2>&1 | grep -q "built without ONNX"; then
    echo "skip: slimc is built without ONNX"
    return 1
  fi
  if ! python3 -c 'import onnx, onnxruntime, numpy' 2>/dev/null; then
    echo "skip: python3 lacks onnx, onnxruntime or numpy: no reference outputs"
    return 1
  fi
}

# ops_case_inputs DIR NAME: the --input arguments of case NAME, one a line.
ops_case_inputs() {
  local f
  for f in "$1/$2".input.*.npy; do
    [ -e "$f" ] || continue
    local k=${f##*/$2.input.}
    printf -- '--input\n%s=%s\n' "${k%.npy}" "$f"
  done
}

# ops_cases GROUP TOL: makes GROUP's models, then checks that slimc run agrees with ORT on
# every output of every case (max|a-b| <= TOL * max|b|) and refuses the refused ones with
# their message (exit 1, no crash).
ops_cases() {
  local group=$1 tol=$2 d=cases_$1 name pat args f
  if ! python3 "$SLIMC_SOURCE_DIR/tests/onnx/ops_cases.py" "$group" "$d" >gen.txt 2>&1; then
    bad "$group: ops_cases.py failed"
    cat gen.txt
    return
  fi
  [ -s "$d/cases.txt" ] || bad "$group: no cases"
  while read -r name; do
    mapfile -t args < <(ops_case_inputs "$d" "$name")
    if ! "$SLIMC" run "$d/$name.onnx" "${args[@]}" --output-dir "o_$name" >out.txt 2>err.txt; then
      bad "$name: slimc run failed"
      cat err.txt
      continue
    fi
    for f in "$d/$name".ort.*.npy; do
      local o=${f##*/$name.ort.}
      if "$NPYCMP" "o_$name/$o" "$f" "$tol" >cmp.txt 2>&1; then
        ok "$name: ${o%.npy} as ORT's"
      else
        bad "$name: ${o%.npy} differs from ORT's"
        cat cmp.txt
      fi
    done
  done <"$d/cases.txt"
  while IFS=$'\t' read -r name pat; do
    mapfile -t args < <(ops_case_inputs "$d" "$name")
    expect_fail "$name refused" "$pat" "$SLIMC" run "$d/$name.onnx" "${args[@]}" \
      --output-dir "o_$name"
  done <"$d/refused.txt"
}
