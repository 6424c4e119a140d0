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

# ops_cases GROUP TOL: makes GROUP's models (tests/onnx/ops_cases.py), then ops_cases_check.
ops_cases() {
  if ! python3 "$SLIMC_SOURCE_DIR/tests/onnx/ops_cases.py" "$1" "cases_$1" >gen.txt 2>&1; then
    bad "$1: ops_cases.py failed"
    cat gen.txt
    return
  fi
  ops_cases_check "cases_$1" "$2"
}

# ops_cases_check DIR TOL: slimc run agrees with the reference (NAME.ref.OUT.npy: ONNX
# Runtime's or PyTorch's) on every output of every case in DIR/cases.txt (max|a-b| <= TOL *
# max|b|), and refuses each case of DIR/refused.txt with its message (exit 1, no crash).
# OPS_RUN_ARGS: more arguments of slimc run (--opt-level 0 for the unrolled recurrent
# models, whose -O2 compile takes tens of seconds).
ops_cases_check() {
  local d=$1 tol=$2 name pat args f
  [ -s "$d/cases.txt" ] || bad "$d: no cases"
  while read -r name; do
    mapfile -t args < <(ops_case_inputs "$d" "$name")
    if ! "$SLIMC" run "$d/$name.onnx" "${args[@]}" ${OPS_RUN_ARGS:-} --output-dir "o_$name" \
      >out.txt 2>err.txt; then
      bad "$name: slimc run failed"
      cat err.txt
      continue
    fi
    for f in "$d/$name".ref.*.npy; do
      local o=${f##*/$name.ref.}
      if "$NPYCMP" "o_$name/$o" "$f" "$tol" >cmp.txt 2>&1; then
        ok "$name: ${o%.npy} as the reference's"
      else
        bad "$name: ${o%.npy} differs from the reference's"
        cat cmp.txt
      fi
    done
  done <"$d/cases.txt"
  [ -e "$d/refused.txt" ] || return
  while IFS=$'\t' read -r name pat; do
    mapfile -t args < <(ops_case_inputs "$d" "$name")
    expect_fail "$name refused" "$pat" "$SLIMC" run "$d/$name.onnx" "${args[@]}" \
      --output-dir "o_$name"
  done <"$d/refused.txt"
}

# ops_torch GROUP TOL: the same with models exported by PyTorch (tests/onnx/ops_torch.py,
# Debian's /usr/bin/python3); skipped, saying so, when that python has no torch.
ops_torch() {
  local py=/usr/bin/python3
  if ! [ -x "$py" ] || ! "$py" -c 'import torch, numpy' 2>/dev/null; then
    echo "skip: $py has no torch: the PyTorch-exported $1 models are not checked"
    return
  fi
  if ! "$py" "$SLIMC_SOURCE_DIR/tests/onnx/ops_torch.py" "$1" "torch_$1" >gen.txt 2>&1; then
    bad "$1: ops_torch.py failed"
    cat gen.txt
    return
  fi
  ops_cases_check "torch_$1" "$2"
}
