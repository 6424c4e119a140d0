# The N:M kernel chosen by cost (issue 17; docs/pruning.md, "Sparse kernels"): an MLP
# 784-512-512-10 pruned to 2:4 by magnitude (tests/tools/sparse_mlp.py --nm 2:4, zeros stored
# densely) runs fc1 and fc2 on the N:M kernel under the default pipeline with a profile whose
# N:M rates are fast, and agrees with numpy at batch 1 and 64, JIT and AOT; inspect --sparsity
# names the kernel (n:m 2:4), the bytes as run and the reason with CSR's predicted gain beside
# it; a profile whose N:M rates are slow keeps them dense; sparse(mode=nm) forces it, and the
# emitted C calls slimc_rt_nm_tile with the reason in its comment. Then N:M convs (2:4 along
# the input channels for each tap, a 3x3 padded conv, relu, a 1x1 conv): kept dense by the
# built-in nm_conv rate, run on the N:M conv kernel under a profile whose nm_conv rate is
# fast, JIT and AOT, against numpy's convolution.
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

# N:M convs against numpy
python3 - <<'PY'
import sys, os
import numpy as np
sys.path.insert(0, os.path.join(os.environ["SLIMC_SOURCE_DIR"], "tests", "tools"))
from st_io import write_safetensors
rng = np.random.default_rng(7)
def nm(w, n=2, m=4):  # keep the n largest |w| of m consecutive input channels per (o, kh, kw)
    o, c, kh, kw = w.shape
    g = np.abs(w).transpose(0, 2, 3, 1).reshape(o, kh, kw, c // m, m)
    keep = np.argsort(-g, axis=-1, kind="stable")[..., :n]
    mask = np.zeros_like(g, dtype=bool)
    np.put_along_axis(mask, keep, True, axis=-1)
    return (w * mask.reshape(o, kh, kw, c).transpose(0, 3, 1, 2)).astype(np.float32)
w1 = nm(rng.standard_normal((40, 16, 3, 3)).astype(np.float32))
w2 = nm(rng.standard_normal((24, 40, 1, 1)).astype(np.float32))
b1 = rng.standard_normal(40).astype(np.float32)
b2 = rng.standard_normal(24).astype(np.float32)
write_safetensors("c.safetensors", {"c1.weight": w1, "c1.bias": b1, "c2.weight": w2, "c2.bias": b2})
open("c.slim", "w").write(
    "model c(x: f32[2, 16, 13, 11]) -> f32[2, 24, 13, 11]\n"
    '    weights "c.safetensors"\n'
    "    c1 = Conv2d(16, 40, 3, padding=1)\n"
    "    c2 = Conv2d(40, 24, 1)\n"
    "    return c2(relu(c1(x)))\n")
x = rng.standard_normal((2, 16, 13, 11)).astype(np.float32)
np.save("cx.npy", x)
def conv(x, w, b, p):
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (p, p), (p, p)))
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    y = np.zeros((n, o, h, wd))
    for i in range(kh):
        for j in range(kw):
            y += np.einsum("nchw,oc->nohw", xp[:, :, i:i + h, j:j + wd], w[:, :, i, j].astype(np.float64))
    return y + b.reshape(1, -1, 1, 1)
np.save("cy.npy", conv(np.maximum(conv(x, w1, b1, 1), 0), w2, b2, 0).astype(np.float32))
PY
echo "$head, \"sparse\": {$csr, \"nm_conv_gflops\": 55}}}}" > fastconv.json
"$SLIMC" inspect c.slim --sparsity >cd.txt 2>&1
[ "$(grep -cE "^    c[12]: kept dense: 50.0% density, sparse predicted [0-9.]+x slower" cd.txt)" -eq 2 ] \
  && ok "N:M convs kept dense by the built-in rate" || { bad "N:M convs, built-in rate"; cat cd.txt; }
"$SLIMC" inspect c.slim --sparsity --device-profile fastconv.json >cf.txt 2>&1
[ "$(grep -cE "^    c[12]: sparse n:m 2:4: 50.0% density, predicted [0-9.]+x faster" cf.txt)" -eq 2 ] \
  && ok "N:M convs chosen by a fast nm_conv rate" || { bad "N:M convs, fast rate"; cat cf.txt; }
expect_ok "run N:M convs" "$SLIMC" run c.slim --input x=cx.npy --output-dir co --device-profile fastconv.json
"$NPYCMP" co/output0.npy cy.npy 1e-5 >/dev/null && ok "N:M convs == numpy" || bad "N:M convs differ from numpy"
expect_ok "emit N:M convs" "$SLIMC" emit c.slim --target c -o cem --device-profile fastconv.json
[ "$(grep -c 'slimc_rt_nmconv_tile(&s' cem/c.c)" -eq 2 ] && ok "emitted code calls the N:M conv kernel" || bad "no N:M conv call"
expect_ok "build N:M convs" "$SLIMC" build c.slim -o c_exe --device-profile fastconv.json
./c_exe --input x=cx.npy --output-dir cb >/dev/null 2>&1 && "$NPYCMP" cb/output0.npy cy.npy 1e-5 >/dev/null \
  && ok "AOT executable (N:M convs) == numpy" || bad "AOT executable (N:M convs)"
finish
