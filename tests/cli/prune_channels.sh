#!/bin/bash
# Structured pruning removes channels (issue 17, docs/pruning.md "Removing channels"):
# scripts/prune_channels_torch.py, run with Debian's python (it has torch; skipped without
# it), checks samples/lenet, resnet_tiny (batch norms unfolded and folded),
# mobilenet_v2_narrow (depthwise) and transformer_narrow (its feed-forward) against
# PyTorch's ln_structured on the dense model;
# scripts/prune_channels_onnx.py checks an imported ONNX model (residual add, depthwise,
# batch norm, flatten -> Gemm) against ONNX Runtime. Here too: inspect's FLOPs and
# weights of lenet before and after, and the errors and warnings of removal.
. "$(dirname "$0")/lib.bash"

L=$S/lenet
P='prune(conv1, conv2, method=ln_structured, n=2, amount=50%)'

# lenet: conv1 and conv2 keep half their output channels; inspect's FLOPs fall with them
expect_ok "compress lenet" "$SLIMC" compress "$L/lenet.slim" --passes "$P" -o small.slim
"$SLIMC" inspect "$L/lenet.slim" --sparsity >before.txt 2>&1
"$SLIMC" inspect small.slim --sparsity >after.txt 2>&1
python3 - <<'PY' && ok "lenet: conv1 FLOPs halved, conv2 quartered (half its inputs too), fc1 halved" || { bad "lenet FLOPs"; cat before.txt after.txt; }
import re, sys
def flops(path):
    rows = {}
    for line in open(path):
        m = re.match(r"\s+(\S+)\s+(conv2d|linear)\s+(\S+)\s.*?(\d+)\s+dense\s*$", line)
        if m:
            rows[m.group(2) + str(len([k for k in rows if k.startswith(m.group(2))]))] = int(m.group(4))
    return rows
b, a = flops("before.txt"), flops("after.txt")
print(b, a)
want = {"conv2d0": 0.5, "conv2d1": 0.25, "linear0": 0.5, "linear1": 1.0}
sys.exit(0 if len(b) == 4 and all(a[k] * 1.0 / b[k] == r for k, r in want.items()) else 1)
PY
grep -q "total: 4 layers, 211500 weights" after.txt && ok "lenet: 211500 weights left of 430500" \
  || { bad "lenet weights after removal"; cat after.txt; }

# remove=false keeps PyTorch's shapes (the zeros stay, densely)
"$SLIMC" inspect "$L/lenet.slim" --sparsity --passes "${P%)}, remove=false)" >kept.txt 2>&1
grep -qE "conv1 +conv2d +conv1.weight +50.00%  channels \(10 of 20 zero\)" kept.txt \
  && ok "remove=false keeps the zero channels" || { bad "remove=false"; cat kept.txt; }

# a model pruned elsewhere: amount=0 prunes nothing more and removes the zero channels it has
expect_ok "compress, remove=false" "$SLIMC" compress "$L/lenet.slim" --passes "${P%)}, remove=false)" -o zeros.slim
expect_ok "compress, amount=0" "$SLIMC" compress zeros.slim --passes 'prune(method=ln_structured, amount=0)' -o again.slim
"$SLIMC" inspect again.slim --sparsity >again.txt 2>&1
grep -q "total: 4 layers, 211500 weights" again.txt && ok "zero channels of a model pruned earlier removed" \
  || { bad "amount=0 removal"; cat again.txt; }
expect_ok "run removed" "$SLIMC" run small.slim --input "x=$L/test_x.npy" --output-dir o1
expect_ok "run re-removed" "$SLIMC" run again.slim --input "x=$L/test_x.npy" --output-dir o2
"$NPYCMP" o1/output0.npy o2/output0.npy 1e-5 >/dev/null && ok "both removals give the same outputs" \
  || bad "removal of saved zeros differs"

# mobilenet_v2_narrow saved after removal (depthwise convs with groups rewritten) runs as
# the same removal done on the fly after compress's own fold,bn_fold,fold,dce,cse
M=$S/mobilenet_v2/mobilenet_v2_narrow.slim
MB="prune($(for i in $(seq 2 17); do printf "features.$i.conv.0.0, "; done)method=ln_structured, amount=50%)"
expect_ok "compress mobilenet_v2_narrow" "$SLIMC" compress "$M" --passes "$MB" -o mb.slim
grep -q "groups=24" mb.slim && ok "saved depthwise convs with groups=24 (of 48)" || { bad "mb.slim groups"; grep groups mb.slim | head; }
expect_ok "run saved mobilenet" "$SLIMC" run mb.slim --input "x=$S/mobilenet_v2/input.npy" --output-dir mb1
expect_ok "run mobilenet on the fly" "$SLIMC" run "$M" --input "x=$S/mobilenet_v2/input.npy" --output-dir mb2 \
  --passes "fold,bn_fold,fold,dce,cse,$MB,layout,fuse,dce,memplan"
"$NPYCMP" mb1/output0.npy mb2/output0.npy 0 >/dev/null && ok "saved == on the fly, bit for bit" || bad "saved mobilenet differs"

# errors: every channel of a layer; remove= with another dim or method
expect_fail "remove with dim=1" "^--passes:1:48: error: prune: remove=true removes output channels: it needs dim=0" \
  "$SLIMC" run "$L/lenet.slim" --input "x=$L/test_x.npy" --passes 'prune(method=ln_structured, amount=0.5, dim=1, remove=true)'
expect_fail "remove not a boolean" "prune: remove is true or false, not 'yes'" \
  "$SLIMC" run "$L/lenet.slim" --input "x=$L/test_x.npy" --passes 'prune(method=ln_structured, amount=0.5, remove=yes)'
expect_fail "remove with l1" "'remove' applies to method=ln_structured only" \
  "$SLIMC" run "$L/lenet.slim" --input "x=$L/test_x.npy" --passes 'prune(amount=0.5, remove=true)'
expect_fail "every channel" "amount=20 would remove all 20 output channels of 'conv1'" \
  "$SLIMC" compress "$L/lenet.slim" --passes 'prune(conv1, method=ln_structured, amount=20)' -o all.slim
# fc2 feeds log_softmax, an op the analysis does not follow: its zero rows stay, and the
# warning names the op and its place
"$SLIMC" inspect "$L/lenet.slim" --sparsity --passes 'prune(fc2, method=ln_structured, amount=0.5)' >fc2.txt 2>&1
grep -q "lenet.slim:13:12: warning: prune: 5 zero channels of 'fc2' kept: they reach 'log_softmax0' (log_softmax), which channel removal does not analyse" fc2.txt \
  && grep -qE "fc2 +linear +fc2.weight +50.00%  channels \(5 of 10 zero\)" fc2.txt \
  && ok "an op not analysed keeps the channels, with a warning at it" || { bad "fc2 warning"; cat fc2.txt; }

# PyTorch (Debian's python) and ONNX Runtime (python3 on PATH)
PY=/usr/bin/python3
if [ -x "$PY" ] && "$PY" -c 'import torch, numpy' 2>/dev/null; then
  "$PY" "$SLIMC_SOURCE_DIR/scripts/prune_channels_torch.py" --slimc "$SLIMC" --tmp "$TEST_TMP/torch" >torch.txt 2>&1
  rc=$?
  cat torch.txt
  [ $rc -eq 0 ] && grep -q '^all agree$' torch.txt && [ "$(grep -c '^ok: ' torch.txt)" -eq 11 ] \
    && ok "PyTorch: lenet, resnet_tiny (x2), mobilenet_v2_narrow, transformer_narrow" || bad "prune_channels_torch.py: exit $rc"
else
  echo "skip: $PY has no torch: the PyTorch comparison is not run"
fi
if python3 -c 'import onnx, onnxruntime, numpy' 2>/dev/null; then
  python3 "$SLIMC_SOURCE_DIR/scripts/prune_channels_onnx.py" --slimc "$SLIMC" --tmp "$TEST_TMP/onnx" >onnx.txt 2>&1
  rc=$?
  cat onnx.txt
  [ $rc -eq 0 ] && grep -q '^all agree$' onnx.txt && ok "ONNX Runtime: an imported model" || bad "prune_channels_onnx.py: exit $rc"
else
  echo "skip: python3 has no onnx/onnxruntime: the ONNX comparison is not run"
fi
finish
