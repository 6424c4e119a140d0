#!/bin/bash
# Pruning a model exported from PyTorch (issue 17): its linears are MatMul (+ Add) by
# constant weights; prune takes them as linears, names them by PyTorch's module path (fc1),
# and its masks equal torch.nn.utils.prune's (l1 per layer, global L1, L2 structured); the
# compressed model runs as PyTorch's pruned one. tests/cli/prune_onnx_torch.py, run with
# Debian's python (it has torch); skipped when it has none. Its exit status is the check.
. "$(dirname "$0")/lib.bash"

PY=/usr/bin/python3
if ! [ -x "$PY" ] || ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
  echo "skip: $PY has no torch (or numpy): the exported-model prune check is not run"
  finish
  exit $?
fi
if "$SLIMC" inspect "$SLIMC_SOURCE_DIR/tests/data/no_such.onnx" 2>&1 | grep -q "built without ONNX"; then
  finish
  exit $?
fi
mkdir -p work
"$PY" "$SLIMC_SOURCE_DIR/tests/cli/prune_onnx_torch.py" "$SLIMC" work >check.txt 2>&1
rc=$?
cat check.txt
if [ $rc -eq 0 ] && grep -q '^all checks hold$' check.txt && [ "$(grep -c '^ok: ' check.txt)" -eq 11 ]; then
  ok "exported linears pruned as PyTorch prunes them (11 checks)"
else
  bad "prune_onnx_torch.py: exit $rc (see above)"
fi
finish
