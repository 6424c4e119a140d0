# The N:M kernel chosen by cost (issue 17; docs/pruning.md, "Sparse kernels"): an MLP
# 784-512-512-10 pruned to 2:4 by magnitude (tests/tools/sparse_mlp.py --nm 2:4, zeros stored
# densely) runs fc1 and fc2 on the N:M kernel under the default pipeline with a profile whose
# N:M rates are fast, and agrees with numpy at batch 1 and 64, JIT and AOT; inspect --sparsity
# names the kernel (n:m 2:4), the bytes as run and the reason with CSR's predicted gain beside
# it; a profile whose N:M rates are slow keeps them dense; sparse(mode=nm) forces it, and the
# emitted C calls slimc_rt_nm_tile with the reason in its comment.
source "$(dirname "$0")/lib.bash"

python3 "$SLIMC_SOURCE_DIR/tests/tools/sparse_mlp.py" m --nm 2:4 >/dev/null || bad "sparse_mlp.py --nm"
head='{"slimc_device_profile": 1, "devices": {"cpu": {"name": "t", "gflops": {"gemm_f32": 80, "conv_f32": 60, "gemm_int8": 200, "gemm_f16": 80, "elementwise": 8, "reduce": 8, "data": 8}, "bandwidth_gbs": 20, "launch_us": 2'
csr='"csr_gflops": 30, "csr_gemv_gflops": 3, "dense_gemv_gflops": 15'
echo "$head, \"sparse\": {$csr, \"nm_gflops\": 60, \"nm_gemv_gflops\": 15}}}}" > fast.json
echo "$head, \"sparse\": {$csr, \"nm_gflops\": 10, \"nm_gemv_gflops\": 1}}}}" > slow.json

"$SLIMC" inspect m/mlp.slim --sparsity --device-profile fast.json >i.txt 2>&1
grep -qE "^  fc1 +linear +fc1.weight.T +50.00%  n:m 2:4 +1.53 MiB -> 980.1 KiB +802816 -> 401408  n:m 2:4$" i.txt \
  && grep -qE "^    fc1: sparse n:m 2:4: 50.0% density, predicted [0-9.]+x faster( at batch 64)? \(csr predicted 0.[0-9]+x\)$" i.txt \
  && grep -qE "^    fc2: sparse n:m 2:4" i.txt \
  && grep -q "kernel: dense for 1 layer, sparse csr for 0, n:m for 2" i.txt && ok "inspect --sparsity: n:m and why" || { bad "inspect --sparsity"; cat i.txt; }
for b in 1 64; do
  expect_ok "run batch $b" "$SLIMC" run m/mlp.slim --input x=m/x$b.npy --output-dir o$b --device-profile fast.json
  "$NPYCMP" o$b/output0.npy m/y$b.npy 1e-5 >/dev/null && ok "n:m batch $b == numpy" || bad "n:m batch $b differs from numpy"
done
expect_ok "emit" "$SLIMC" emit m/mlp.slim --target c -o em --device-profile fast.json
[ "$(grep -c 'slimc_rt_nm_tile(M, A, W' em/mlp.c)" -eq 2 ] && grep -q "sparse N:M kernel: 2 of every 4 weights along K kept (512 x 784); the cost model predicted it" em/mlp.c \
  && ok "emitted code calls the N:M kernel, with the reason" || bad "emitted code lacks the N:M kernel"
expect_ok "build" "$SLIMC" build m/mlp.slim -o mlp_exe --device-profile fast.json
./mlp_exe --input x=m/x64.npy --output-dir ob >/dev/null 2>&1 && "$NPYCMP" ob/output0.npy m/y64.npy 1e-5 >/dev/null \
  && ok "AOT executable (N:M) == numpy" || bad "AOT executable"

"$SLIMC" inspect m/mlp.slim --sparsity --device-profile slow.json >s.txt 2>&1
[ "$(grep -cE "^    fc[12]: kept dense: 50.0% density, sparse predicted [0-9.]+x slower( at batch 64)? \(csr predicted 0.[0-9]+x, n:m 0.[0-9]+x\)" s.txt)" -eq 2 ] \
  && grep -q "kernel: dense for 3 layers, sparse csr for 0, n:m for 0" s.txt && ok "slow N:M profile: kept dense, with the reason" || { bad "slow profile"; cat s.txt; }

# sparse(mode=nm) forces the kernel (here at batch 3, a partial row block)
python3 - <<'PY'
import numpy as np
np.save("x3.npy", np.load("m/x64.npy")[:3])
np.save("y3.npy", np.load("m/y64.npy")[:3])
PY
expect_ok "mode=nm" "$SLIMC" run m/mlp.slim --input x=x3.npy --output-dir f3 --passes "layout,sparse(mode=nm),fuse,dce,memplan"
"$NPYCMP" f3/output0.npy y3.npy 1e-5 >/dev/null && ok "mode=nm batch 3 == numpy" || bad "mode=nm batch 3"
"$SLIMC" inspect m/mlp.slim --sparsity --passes "layout,sparse(mode=nm),fuse,dce,memplan" >n.txt 2>&1
grep -q "kernel: dense for 0 layers, sparse csr for 0, n:m for 3" n.txt && ok "mode=nm: every 2:4 layer" || { bad "mode=nm inspect"; cat n.txt; }
finish
