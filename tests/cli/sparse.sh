# Sparse kernels chosen by cost (issue 17; docs/pruning.md, "Sparse kernels"): an MLP
# 784-512-512-10 magnitude-pruned to 10% density (tests/tools/sparse_mlp.py writes it here,
# zeros stored densely) runs its two big layers on the CSR kernel under the default pipeline
# (the 512 -> 10 one, bound by moving x, is predicted barely faster and stays dense) and agrees with
# numpy at batch 1 and 64, JIT and AOT (batch 1 on the CSR blob's one-row part); a device profile whose sparse rates are slow keeps
# every layer dense (and the outputs are then the dense kernel's), one whose rates are fast
# picks CSR, and inspect --sparsity says which and why; a dense model is untouched; a model
# pruned in PyTorch and exported to ONNX (Debian's python, when it has torch) gets the CSR
# kernel the same; sparse(mode=...) is checked.
source "$(dirname "$0")/lib.bash"

python3 "$SLIMC_SOURCE_DIR/tests/tools/sparse_mlp.py" m >/dev/null || bad "sparse_mlp.py"
D="qdq,fold,bn_fold,fold,dce,cse,place,qchain,layout,fuse,dce,memplan"

# the default pipeline: the CSR kernel for the three layers, numpy's outputs
for b in 1 64; do
  expect_ok "run batch $b" "$SLIMC" run m/mlp.slim --input x=m/x$b.npy --output-dir o$b
  "$NPYCMP" o$b/output0.npy m/y$b.npy 1e-5 >/dev/null && ok "batch $b == numpy" || bad "batch $b differs from numpy"
  expect_ok "dense batch $b" "$SLIMC" run m/mlp.slim --input x=m/x$b.npy --output-dir d$b --passes "$D"
  "$NPYCMP" d$b/output0.npy m/y$b.npy 1e-5 >/dev/null && ok "dense batch $b == numpy" || bad "dense batch $b"
done
expect_ok "emit" "$SLIMC" emit m/mlp.slim --target c -o em
[ "$(grep -c 'slimc_rt_spmm_tile(M, A, W' em/mlp.c)" -eq 2 ] && grep -q "sparse CSR kernel: 40141 of 401408 weights nonzero (10.0% density); the cost model predicted it" em/mlp.c \
  && ok "emitted code calls the CSR kernel, with the reason" || bad "emitted code lacks the CSR kernel"

# inspect --sparsity: the kernel per layer and why, bytes and FLOPs as run
"$SLIMC" inspect m/mlp.slim --sparsity >i.txt 2>&1
grep -qE "^  fc1 +linear +fc1.weight.T +10.00%  unstructured +1.53 MiB -> 315.8 KiB +802816 -> 80282  csr$" i.txt \
  && grep -qE "^    fc1: sparse csr: 10.0% density, predicted [0-9.]+x faster" i.txt \
  && grep -qE "^    fc3: kept dense: 10.0% density, sparse predicted only 1.[0-9]+x faster at batch 64 \(under 1.2x\)" i.txt \
  && grep -q "kernel: dense for 1 layer, sparse csr for 2" i.txt && ok "inspect --sparsity: csr and why" || { bad "inspect --sparsity"; cat i.txt; }

# profiles: sparse slow keeps dense (its outputs the dense kernel's, bit for bit), fast picks CSR
head='{"slimc_device_profile": 1, "devices": {"cpu": {"name": "t", "gflops": {"gemm_f32": 80, "conv_f32": 60, "gemm_int8": 200, "gemm_f16": 80, "elementwise": 8, "reduce": 8, "data": 8}, "bandwidth_gbs": 20, "launch_us": 2'
echo "$head, \"sparse\": {\"csr_gflops\": 0.5, \"csr_gemv_gflops\": 0.05, \"dense_gemv_gflops\": 40, \"nm_gflops\": 0.5, \"nm_gemv_gflops\": 0.05}}}}" > slow.json
echo "$head, \"sparse\": {\"csr_gflops\": 500, \"csr_gemv_gflops\": 500, \"dense_gemv_gflops\": 1}}}}" > fast.json
echo "$head}}}" > old.json
"$SLIMC" inspect m/mlp.slim --sparsity --device-profile slow.json >s.txt 2>&1
[ "$(grep -cE "^    fc[123]: kept dense: 10.0% density, sparse predicted [0-9.]+x slower" s.txt)" -eq 3 ] && grep -q "kernel: dense for 3 layers, sparse csr for 0" s.txt \
  && grep -q "profile slow.json" s.txt && ok "slow sparse profile: kept dense, with the reason" || { bad "slow profile"; cat s.txt; }
expect_ok "run with the slow profile" "$SLIMC" run m/mlp.slim --input x=m/x64.npy --output-dir os --device-profile slow.json
"$NPYCMP" os/output0.npy d64/output0.npy 0 >/dev/null && ok "slow profile: the dense kernel's outputs" || bad "slow profile outputs"
expect_ok "emit with the slow profile" "$SLIMC" emit m/mlp.slim --target c -o es --device-profile slow.json
! grep -q "slimc_rt_spmm_tile(M" es/mlp.c && ok "slow profile: no CSR kernel emitted" || bad "slow profile emitted CSR"
"$SLIMC" inspect m/mlp.slim --sparsity --device-profile fast.json >f.txt 2>&1
grep -qE "^    fc1: sparse csr: 10.0% density, predicted [0-9]{2}[0-9.]*x faster" f.txt && grep -q "kernel: dense for 1 layer, sparse csr for 2" f.txt && ok "fast sparse profile: csr" || { bad "fast profile"; cat f.txt; }
"$SLIMC" inspect m/mlp.slim --sparsity --device-profile old.json >o.txt 2>&1
grep -q "kernel: dense for 1 layer, sparse csr for 2" o.txt && ok "a profile without sparse rates: derived ones" || { bad "old profile"; cat o.txt; }
expect_ok "profile-device --show of a profile without sparse rates" "$SLIMC" profile-device --show --device-profile old.json
grep -q "sparse rates not in the profile" out.txt && ok "--show says the sparse rates are derived" || { bad "--show"; cat out.txt; }

# AOT: the CSR constant is embedded like any other
expect_ok "build" "$SLIMC" build m/mlp.slim -o mlp_exe
./mlp_exe --input x=m/x64.npy --output-dir ob >/dev/null 2>&1 && "$NPYCMP" ob/output0.npy m/y64.npy 1e-5 >/dev/null \
  && ok "AOT executable == numpy" || bad "AOT executable"
./mlp_exe --input x=m/x1.npy --output-dir ob1 >/dev/null 2>&1 && "$NPYCMP" ob1/output0.npy m/y1.npy 1e-5 >/dev/null \
  && ok "AOT executable at batch 1 (the one-row part) == numpy" || bad "AOT executable at batch 1"

# a dense model keeps its IR (no annotation) and kernels
python3 "$SLIMC_SOURCE_DIR/tests/tools/sparse_mlp.py" dn --density 1.0 --dims 64,32,8 >/dev/null
"$SLIMC" inspect dn/mlp.slim --ir --passes "layout,sparse" >dn.txt 2>&1
! grep -qE "w_sparse|sparse_gain" dn.txt && ok "dense weights: not considered" || { bad "dense model annotated"; cat dn.txt; }

# sparse(mode=...): csr forces, dense refuses, anything else is an error with its place
python3 "$SLIMC_SOURCE_DIR/tests/tools/sparse_mlp.py" h --density 0.7 --dims 33,65,7 --no-bias >/dev/null
expect_ok "mode=csr at 70%" "$SLIMC" run h/mlp.slim --input x=h/x64.npy --output-dir hc --passes "layout,sparse(mode=csr),fuse,memplan"
"$NPYCMP" hc/output0.npy h/y64.npy 1e-5 >/dev/null && ok "mode=csr, no bias: == numpy" || bad "mode=csr outputs"
"$SLIMC" inspect h/mlp.slim --ir --passes "layout,sparse(mode=dense)" >hd.txt 2>&1
! grep -q "w_sparse" hd.txt && ok "mode=dense: no CSR" || { bad "mode=dense"; cat hd.txt; }
expect_fail "mode=bsr" "^--passes:1:8: error: sparse: mode must be auto, csr, nm, q8 or dense, got 'bsr'" \
  "$SLIMC" run h/mlp.slim --input x=h/x1.npy --passes "sparse(mode=bsr)"

# pruned in PyTorch (torch.nn.utils.prune, zeros stored densely), exported to ONNX
PY=/usr/bin/python3
if [ -x "$PY" ] && "$PY" -c 'import torch, numpy' 2>/dev/null; then
  "$PY" - <<'EOF' >torch.txt 2>&1 || bad "torch export: $(cat torch.txt)"
import numpy as np, torch
import torch.nn.utils.prune as prune
torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512),
                        torch.nn.ReLU(), torch.nn.Linear(512, 10))
for layer in (m[0], m[2], m[4]):
    prune.l1_unstructured(layer, "weight", amount=0.9)
    prune.remove(layer, "weight")
x = torch.randn(64, 784)
with torch.no_grad():
    y = m(x)
np.save("tx.npy", x.numpy())
np.save("ty.npy", y.numpy())
torch.onnx.export(m, x, "torch_mlp.onnx", input_names=["x"], output_names=["y"],
                  dynamic_axes={"x": {0: "N"}, "y": {0: "N"}}, opset_version=13)
EOF
  expect_ok "run the PyTorch-pruned ONNX" "$SLIMC" run torch_mlp.onnx --input x=tx.npy --output-dir to
  "$NPYCMP" to/y.npy ty.npy 1e-5 >/dev/null && ok "PyTorch-pruned model == PyTorch" || bad "PyTorch-pruned outputs"
  "$SLIMC" inspect torch_mlp.onnx --sparsity >ti.txt 2>&1
  [ "$(grep -cE "^  \S+ +linear +\S+ +10.00%  .* csr$" ti.txt)" -eq 2 ] && grep -q "kernel: dense for 1 layer, sparse csr for 2" ti.txt \
    && ok "PyTorch-pruned model measured at load, CSR kernel" || { bad "PyTorch-pruned inspect"; cat ti.txt; }
else
  echo "skip: $PY has no torch: the PyTorch-pruned export is not checked"
fi
finish
