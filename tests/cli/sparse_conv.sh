# Sparse conv2d kernels chosen by cost (issue 17; docs/pruning.md, "Sparse kernels"): a CNN
# whose four convs are magnitude-pruned to 10% density (tests/tools/sparse_cnn.py writes it
# here, zeros stored densely: 3x3, 3x3 stride 2 with bias, 1x1 with a residual add, 3x3
# dilation 2; 625 and 169 output pixels) runs every conv on the CSR conv kernel under the
# default pipeline (the built-in profile; the choice does not depend on this CPU's rates) and
# agrees with numpy (float64) at batch 2, JIT and AOT; the dense pipeline agrees too; emit
# shows the kernel and the reason; inspect --sparsity names the kernel per conv; a profile
# whose sparse conv rate is slow keeps every conv dense.
source "$(dirname "$0")/lib.bash"

python3 "$SLIMC_SOURCE_DIR/tests/tools/sparse_cnn.py" c >/dev/null || bad "sparse_cnn.py"
D="qdq,fold,bn_fold,fold,dce,cse,place,qchain,layout,fuse,dce,memplan"

expect_ok "run" "$SLIMC" run c/cnn.slim --input x=c/x.npy --output-dir o
"$NPYCMP" o/output0.npy c/y.npy 1e-5 >/dev/null && ok "sparse convs == numpy" || bad "sparse convs differ from numpy"
expect_ok "run dense" "$SLIMC" run c/cnn.slim --input x=c/x.npy --output-dir d --passes "$D"
"$NPYCMP" d/output0.npy c/y.npy 1e-5 >/dev/null && ok "dense convs == numpy" || bad "dense convs differ from numpy"

expect_ok "emit" "$SLIMC" emit c/cnn.slim --target c -o em
[ "$(grep -c 'slimc_rt_spconv_px(&s' em/cnn.c)" -eq 4 ] \
  && grep -q "sparse CSR kernel: 1843 of 18432 weights nonzero (10.0% density); the cost model predicted it" em/cnn.c \
  && ok "emitted code calls the sparse conv kernel, with the reason" || bad "emitted code lacks the sparse conv kernel"

"$SLIMC" inspect c/cnn.slim --sparsity >i.txt 2>&1
grep -qE "^  conv2 +conv2d +conv2.weight +10.00%  unstructured +72.0 KiB -> [0-9.]+ KiB +6230016 -> 622934  csr$" i.txt \
  && grep -qE "^    conv4: sparse csr: 10.0% density, predicted [0-9.]+x faster" i.txt \
  && grep -q "kernel: dense for 0 layers, sparse csr for 4" i.txt && ok "inspect --sparsity: csr for the convs" || { bad "inspect --sparsity"; cat i.txt; }

# a slow measured sparse conv rate keeps them dense
head='{"slimc_device_profile": 1, "devices": {"cpu": {"name": "t", "gflops": {"gemm_f32": 80, "conv_f32": 60, "gemm_int8": 200, "gemm_f16": 80, "elementwise": 8, "reduce": 8, "data": 8}, "bandwidth_gbs": 20, "launch_us": 2'
echo "$head, \"sparse\": {\"csr_gflops\": 30, \"csr_gemv_gflops\": 4, \"dense_gemv_gflops\": 20, \"csr_conv_gflops\": 1}}}}" > slow.json
"$SLIMC" inspect c/cnn.slim --sparsity --device-profile slow.json >s.txt 2>&1
[ "$(grep -cE "^    conv[1-4]: kept dense: 10.0% density, sparse predicted [0-9.]+x slower" s.txt)" -eq 4 ] \
  && ok "slow sparse conv rate: kept dense, with the reason" || { bad "slow profile"; cat s.txt; }
expect_ok "profile-device --show of a profile with csr_conv_gflops" "$SLIMC" profile-device --show --device-profile slow.json
grep -qE "^sparse_conv +1 GF/s$" out.txt && ok "--show prints the sparse conv rate" || { bad "--show"; cat out.txt; }

# AOT: the CSR constant (with its k-block table) is embedded like any other
expect_ok "build" "$SLIMC" build c/cnn.slim -o cnn_exe
./cnn_exe --input x=c/x.npy --output-dir ob >/dev/null 2>&1 && "$NPYCMP" ob/output0.npy c/y.npy 1e-5 >/dev/null \
  && ok "AOT executable == numpy" || bad "AOT executable"

finish
