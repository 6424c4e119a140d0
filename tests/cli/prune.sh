# The prune pass from the command line (docs/pruning.md): --passes and a compress block on
# samples/lenet, inspect --sparsity on a model pruned now and on one pruned earlier and
# saved (the zeros measured from the file), and errors with their places. The masks
# themselves are checked against PyTorch in prune_torch.sh and unit_prune.
source "$(dirname "$0")/lib.bash"

L=$S/lenet
OPT=fold,bn_fold,fold,dce,cse,layout,fuse,dce,memplan
X="x=$L/test_x.npy"

# amount=0 prunes nothing: the outputs equal the dense model's bit for bit
expect_ok "dense" "$SLIMC" run "$L/lenet.slim" --input "$X" --output-dir dense --passes "$OPT"
expect_ok "amount=0" "$SLIMC" run "$L/lenet.slim" --input "$X" --output-dir p0 --passes "prune(amount=0),$OPT"
"$NPYCMP" p0/output0.npy dense/output0.npy 0 >/dev/null && ok "prune(amount=0) == dense" || bad "amount=0 changed the outputs"

# amount=1.0 zeros every weight: every row of the output is the same (the biases alone)
expect_ok "amount=1.0" "$SLIMC" run "$L/lenet.slim" --input "$X" --output-dir p1 --passes "prune(amount=1.0),$OPT"
python3 -c "
import numpy as np, sys
y = np.load('p1/output0.npy')
sys.exit(0 if (y == y[0]).all() else 1)" && ok "all weights pruned: outputs from the biases alone" || bad "amount=1.0 left weights"

# pruning after layout (linear weights stored [K, N]) gives the outputs of pruning before it
expect_ok "prune before layout" "$SLIMC" run "$L/lenet.slim" --input "$X" --output-dir pa \
  --passes "prune(method=ln_structured, amount=0.5, dim=1),$OPT"
expect_ok "prune after layout" "$SLIMC" run "$L/lenet.slim" --input "$X" --output-dir pb \
  --passes "fold,layout,prune(method=ln_structured, amount=0.5, dim=1),fuse,dce,memplan"
"$NPYCMP" pa/output0.npy pb/output0.npy 0 >/dev/null && ok "same masks on a transposed linear" || bad "layout changed the masks"

# inspect --sparsity: global 90% leaves 10% of the 430500 weights; L2 channels show as such
"$SLIMC" inspect "$L/lenet.slim" --sparsity --passes 'prune(amount=90%, scope=global)' >g.txt 2>&1
grep -q "total: 4 layers, 430500 weights, 43050 nonzero (10.00% density)" g.txt && grep -q "kernel: dense" g.txt \
  && ok "inspect --sparsity after global 90%" || { bad "inspect --sparsity"; cat g.txt; }
"$SLIMC" inspect "$L/lenet.slim" --sparsity --passes 'prune(conv1, conv2, method=ln_structured, amount=0.5, remove=false)' >c.txt 2>&1
grep -qE "conv1 +conv2d +conv1.weight +50.00%  channels \(10 of 20 zero\)" c.txt \
  && grep -qE "fc1 +linear +fc1.weight +100.00%  dense" c.txt && ok "channels pattern; fc1 untouched" \
  || { bad "ln_structured in inspect"; cat c.txt; }
"$SLIMC" inspect "$L/lenet.slim" --sparsity --passes 'prune(fc1, method=nm, n=2, m=4)' >n.txt 2>&1
grep -qE "fc1 +linear +fc1.weight +50.00%  n:m 2:4" n.txt && ok "n:m pattern" || { bad "nm in inspect"; cat n.txt; }

# slimc compress saves the zeros; the saved model, loaded with no pass, is measured as pruned
# and runs like pruning on the fly
mkdir -p s
expect_ok "compress" "$SLIMC" compress "$L/lenet.slim" --passes 'prune(amount=0.9, scope=global)' -o s/pruned.slim
"$SLIMC" inspect s/pruned.slim --sparsity >s.txt 2>&1
grep -q "43050 nonzero (10.00% density)" s.txt && ok "a model pruned earlier is measured from its file" || { bad "saved sparsity"; cat s.txt; }
expect_ok "run saved" "$SLIMC" run s/pruned.slim --input "$X" --output-dir saved --passes "$OPT"
expect_ok "run on the fly" "$SLIMC" run "$L/lenet.slim" --input "$X" --output-dir fly --passes "prune(amount=0.9, scope=global),$OPT"
"$NPYCMP" saved/output0.npy fly/output0.npy 0 >/dev/null && ok "saved pruned model == on the fly" || bad "saved pruned model differs"

# prune, then quantize: the zeros stay zero codes, and inspect measures the int8 layers (all
# four: a profile without the small-K int8 penalty is pinned, see tests/cli/quant_cpu.sh)
"$SLIMC" inspect "$L/lenet.slim" --device-profile "$SLIMC_SOURCE_DIR/tests/data/profile_int8_fast.json" --sparsity --passes "prune(amount=0.5),quantize(int8, calibrate=\"$L/calib.npy\")" >q.txt 2>&1
[ "$(grep -cE "q(conv2d|linear) .* 50.00%  unstructured" q.txt)" -eq 4 ] && ok "prune then quantize: int8 layers at 50%" \
  || { bad "prune then quantize"; cat q.txt; }

# a compress block: prune runs before the default pipeline
mkdir -p m && cp "$L/lenet.safetensors" m/ && cp "$L/lenet.slim" m/lenet.slim
printf '\ncompress lenet\n    prune(amount=0.9, scope=global)\n' >> m/lenet.slim
expect_ok "compress block" "$SLIMC" run m/lenet.slim --input "$X" --output-dir blk
"$NPYCMP" blk/output0.npy fly/output0.npy 1e-5 >/dev/null && ok "compress block prunes" || bad "compress block output"
cp "$L/lenet.slim" m/bad.slim
printf '\ncompress lenet\n    prune(fc3, amount=0.5)\n' >> m/bad.slim
expect_fail "bad layer in a compress block" "bad.slim:16:11: error: prune: no layer 'fc3' in model 'lenet'; did you mean 'fc1'\?" \
  "$SLIMC" run m/bad.slim --input "$X"

# errors: the message, at the argument's column, with a caret; nothing runs
expect_fail "amount above 1" "^--passes:1:7: error: prune: amount=1.5 is outside \[0, 1\]" \
  "$SLIMC" run "$L/lenet.slim" --input "$X" --passes 'prune(amount=1.5)'
grep -qE "^        \^$" err.txt && ok "caret under amount" || { bad "no caret"; cat err.txt; }
expect_fail "negative amount" "amount=-0.5 is outside \[0, 1\]" \
  "$SLIMC" run "$L/lenet.slim" --input "$X" --passes 'prune(amount=-0.5)'
expect_fail "count above the weights" "^--passes:1:13: error: prune: amount=501 is more than the 500 weights of 'conv1'" \
  "$SLIMC" run "$L/lenet.slim" --input "$X" --passes 'prune(conv1,amount=501)'
expect_fail "unknown layer" "^--passes:1:7: error: prune: no layer 'cnv2' in model 'lenet'; did you mean 'conv2'\?" \
  "$SLIMC" run "$L/lenet.slim" --input "$X" --passes 'prune(cnv2, amount=0.5)'
expect_fail "every channel" "error: prune: amount=20 would remove all 20 output channels of 'conv1' \(dim 0\)" \
  "$SLIMC" run "$L/lenet.slim" --input "$X" --passes 'prune(conv1, method=ln_structured, amount=20)'
expect_fail "nm on conv1" "error: prune: m=4 does not divide the 1 input channels of 'conv1'" \
  "$SLIMC" run "$L/lenet.slim" --input "$X" --passes 'prune(conv1, method=nm, m=4)'
expect_fail "nm m=3 on fc2" "m=3 does not divide the 500 input features of 'fc2'" \
  "$SLIMC" run "$L/lenet.slim" --input "$X" --passes 'prune(fc2, method=nm, n=1, m=3)'
expect_fail "unknown method" "^--passes:1:7: error: prune: unknown method 'magnitude'" \
  "$SLIMC" run "$L/lenet.slim" --input "$X" --passes 'prune(method=magnitude, amount=0.5)'
expect_fail "unknown argument" "^--passes:1:19: error: pass 'prune' has no argument 'sparsity'" \
  "$SLIMC" run "$L/lenet.slim" --input "$X" --passes 'prune(amount=0.5, sparsity=2)'
expect_fail "global ln" "scope=global applies to l1_unstructured and random_unstructured" \
  "$SLIMC" run "$L/lenet.slim" --input "$X" --passes 'prune(method=ln_structured, amount=0.5, scope=global)'
expect_fail "not a layer" "'relu0' is a relu; prune takes conv2d and linear" \
  "$SLIMC" run "$L/lenet.slim" --input "$X" --passes 'prune(relu0, amount=0.5)'
finish
