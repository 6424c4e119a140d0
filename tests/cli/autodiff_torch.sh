#!/bin/bash
# Gradients against PyTorch's autograd (issue 18): `slimc grad` (the compiled training step)
# on samples/lenet's weights with each loss (cross entropy, NLL, MSE, distillation with
# T=4 and alpha=0.7; labels with -100 among them), on samples/mlp, on a model using the
# other ops with gradient rules (grouped/strided/dilated/padded conv, batch and group norm, pools, activations,
# transpose, concat, slice, softmax, matmul, broadcasting, reductions), on an embedding and
# on samples/textcls (embedding, layer_norm, softmax) and samples/resnet_tiny (batch norm in
# training mode, residual adds, strided convs):
# the loss and every gradient to 1e-4 relative, by scripts/autodiff_torch_check.py run with
# Debian's python (it has torch); skipped when it has none, as prune_torch.sh is.
. "$(dirname "$0")/lib.bash"

PY=/usr/bin/python3
if ! [ -x "$PY" ] || ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
  echo "skip: $PY has no torch (or numpy): the PyTorch comparison of gradients is not run"
  finish
  exit $?
fi
cases="lenet-ce lenet-nll lenet-mse lenet-distill mlp-ce ops-ce emb-ce textcls-ce resnet-ce"
"$PY" "$SLIMC_SOURCE_DIR/scripts/autodiff_torch_check.py" "$SLIMC" "$TEST_TMP/work" $cases >check.txt 2>&1
rc=$?
cat check.txt
for c in $cases; do
  if grep -q "^$c: .* OK$" check.txt; then
    ok "$c: loss and gradients equal PyTorch's"
  else
    bad "$c: no agreement (see above)"
  fi
done
[ $rc -eq 0 ] && grep -q '^all gradients equal$' check.txt || bad "autodiff_torch_check.py: exit $rc"
finish
