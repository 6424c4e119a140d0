# slimc inspect --placement (api/placement.c): the place pass's decisions node by node with
# the built-in profile (place(auto) in --passes, so it needs no GPU), pins in a compress
# block, and a model placed by --device cpu.
source "$(dirname "$0")/lib.bash"
M=$S/mlp/mlp.slim

expect_ok "inspect --placement after place(auto)" \
  "$SLIMC" inspect "$M" --passes 'place(auto),memplan' --placement
grep -q "^placement: decided by the place pass" out.txt && ok "says the pass decided" \
  || { bad "no header"; cat out.txt; }
grep -qE "^  fc1 +linear +[0-9.]+ +[0-9.]+ +[0-9.]+  (cpu|cuda) +cost$" out.txt \
  && ok "a line per node: op, times, input copies, device, why" || { bad "fc1's line"; cat out.txt; }
[ "$(grep -cE '^  (fc[123]|relu[01]) ' out.txt)" -eq 5 ] && ok "every node" || { bad "not every node"; cat out.txt; }
grep -qE "^  predicted [0-9.]+ ms \(all on the CPU [0-9.]+ ms, all on the GPU [0-9.]+ ms\)$" out.txt \
  && ok "totals against one device" || { bad "totals"; cat out.txt; }
grep -qE "^  transfers: [0-9]+, [0-9.]+ ms" out.txt && grep -qE "^  GPU memory: .*budget 80000 MiB" out.txt \
  && grep -q "^  profile: built-in default profile" out.txt && ok "transfers, memory, profile" \
  || { bad "transfers, memory or profile"; cat out.txt; }

# at 4096 rows a run the GPU wins everything: the input goes up, the output comes down
expect_ok "symbols" "$SLIMC" inspect "$M" --passes 'place(auto, symbols=4096),memplan' --placement
[ "$(grep -cE '  cuda +cost$' out.txt)" -eq 5 ] && grep -q "^  transfers: 2," out.txt \
  && ok "all on the GPU at symbols=4096" || { bad "symbols=4096"; cat out.txt; }
expect_ok "budget" "$SLIMC" inspect "$M" --passes 'place(auto, symbols=4096, gpu_memory_mb=3),memplan' --placement
grep -qE "  cpu +memory budget$" out.txt && grep -q "budget 3 MiB" out.txt \
  && ok "a budget under the weights moves nodes back" || { bad "budget"; cat out.txt; }

# pins in the model's compress block win against the cost
rm -rf m && mkdir m && cp "$S/mlp/mlp.slim" "$S/mlp/mlp.safetensors" m/
printf '\ncompress mlp\n    place(auto, symbols=4096, fc2, device=cpu)\n' >> m/mlp.slim
expect_ok "pins in a compress block" "$SLIMC" inspect m/mlp.slim --placement
grep -qE "^  fc2 +linear .*  cpu +pin: place\(fc2, device=cpu\)$" out.txt \
  && grep -qE "^  fc1 +linear .*  cuda +cost$" out.txt && ok "the pin wins, the rest by cost" \
  || { bad "pin"; cat out.txt; }

# no place(auto): every node where --device put it, predicted anyway
expect_ok "placed by --device cpu" "$SLIMC" inspect "$M" --placement
grep -q "^placement: placed by --device cpu: every node on the CPU" out.txt \
  && [ "$(grep -cE '  cpu +fixed$' out.txt)" -ge 3 ] && ok "fixed on the CPU, with predictions" \
  || { bad "--device cpu"; cat out.txt; }

finish
