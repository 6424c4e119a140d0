# The place pass's bad input (passes/place.c): an unknown device, a pin naming no layer, a
# pin without a device, bad numbers: exit status 1, the message at the argument's place in
# --passes or in the model's compress block, no crash.
source "$(dirname "$0")/lib.bash"
M=$S/mlp/mlp.slim

expect_fail "unknown device, at the argument" \
  "^--passes:1:7: error: place: 'tpu' is not a device \(cpu, cuda\)" \
  "$SLIMC" inspect "$M" --passes 'place(device=tpu)'
grep -q "place(device=tpu)" err.txt && grep -qF '        ^' err.txt && ok "the pipeline quoted, a caret" \
  || { bad "no quote or caret"; cat err.txt; }
[ "$(grep -c 'error:' err.txt)" -eq 1 ] && ok "one error for a bad device" || { bad "more errors"; cat err.txt; }

expect_fail "a pin naming no layer" \
  "^--passes:1:7: error: place: 'nosuchlayer' names no node of model 'mlp' \(its nodes are named like 'fc1', 'relu0', 'fc2', 'relu1'\)" \
  "$SLIMC" inspect "$M" --passes 'place(nosuchlayer, device=cuda)'

expect_fail "a prefix is a whole part of the name (fc names no node)" \
  "^--passes:1:7: error: place: 'fc' names no node" \
  "$SLIMC" inspect "$M" --passes 'place(fc, device=cuda)'

expect_fail "the second pin's place" \
  "^--passes:1:12: error: place: 'fc9' names no node" \
  "$SLIMC" inspect "$M" --passes 'place(fc1, fc9, device=cpu)'

expect_fail "a pin without a device" \
  "^--passes:1:7: error: place: pinning 'fc1' needs a device" \
  "$SLIMC" inspect "$M" --passes 'place(fc1)'

expect_fail "a device without a pin" \
  "^--passes:1:13: error: place: device=cuda pins nothing" \
  "$SLIMC" inspect "$M" --passes 'place(auto, device=cuda)'

expect_fail "a bad budget" \
  "^--passes:1:13: error: place: gpu_memory_mb is a number of MiB" \
  "$SLIMC" inspect "$M" --passes 'place(auto, gpu_memory_mb=-1)'

expect_fail "a bad symbol value" \
  "^--passes:1:13: error: place: symbols is the whole number" \
  "$SLIMC" inspect "$M" --passes 'place(auto, symbols=2.5)'

expect_fail "an unknown key" \
  "^--passes:1:13: error: pass 'place' has no argument 'gpu' \(its arguments: device gpu_memory_mb symbols\)" \
  "$SLIMC" inspect "$M" --passes 'place(auto, gpu=1)'

# in a model's compress block: the place in the model file
rm -rf m && mkdir m && cp "$S/mlp/mlp.slim" "$S/mlp/mlp.safetensors" m/
printf '\ncompress mlp\n    place(fc1, layer7, device=cuda)\n' >> m/mlp.slim
LINE=$(wc -l < m/mlp.slim)
expect_fail "a pin naming no layer in a compress block" \
  "m/mlp\.slim:$LINE:16: error: place: 'layer7' names no node of model 'mlp'" \
  "$SLIMC" inspect m/mlp.slim --placement
grep -qF 'place(fc1, layer7, device=cuda)' err.txt && ok "the block's line quoted" \
  || { bad "the block's line not quoted"; cat err.txt; }
[ ! -s out.txt ] || ! grep -q "placement:" out.txt && ok "no placement printed after the error" \
  || { bad "a placement printed"; cat out.txt; }

finish
