#!/bin/bash
# The prune pass against torch.nn.utils.prune (issue 17): slimc's masks on samples/lenet's
# weights equal PyTorch's for l1_unstructured (30%, 90%, a count), global L1 90% and
# ln_structured (L2 50% dim 0, L1 45% with Python's half-even rounding, Linf 25% dim 1),
# by scripts/prune_torch_check.py run with Debian's python (it has torch); skipped when it
# has none. The script's own exit status is the check; its lines are shown.
. "$(dirname "$0")/lib.bash"

PY=/usr/bin/python3
if ! [ -x "$PY" ] || ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
  echo "skip: $PY has no torch (or numpy): the PyTorch comparison of prune masks is not run"
  finish
  exit $?
fi
"$PY" "$SLIMC_SOURCE_DIR/scripts/prune_torch_check.py" --slimc "$SLIMC" --tmp "$TEST_TMP/work" >check.txt 2>&1
rc=$?
cat check.txt
if [ $rc -eq 0 ] && grep -q '^all masks equal$' check.txt && [ "$(grep -c '^ok: ' check.txt)" -eq 28 ]; then
  ok "masks equal PyTorch's in all 7 cases x 4 layers"
else
  bad "prune_torch_check.py: exit $rc (see above)"
fi
finish
