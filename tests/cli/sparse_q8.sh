# Prune then quantize composes (issue 17; docs/pruning.md, "Sparse kernels"): an MLP
# 784-512-512-10 (tests/tools/sparse_mlp.py, dense random weights) pruned by slimc
# (l1_unstructured 90%) then quantized to static int8 in one `compress`, runs fc1 and fc2 on the
# int8 block-sparse kernel at batch 64 under a pinned profile whose int8 rates are this CPU
# family's (measured by profile-device on the AMD EPYC, bench/RESULTS.md): inspect --sparsity
# names it and why; fc3 (10 outputs) and the batch-1 point stay dense int8. The outputs equal
# a numpy reference computed from the saved i8 weights, scales and zero points in integer
# arithmetic (qlinear's f32 epilogue, relu, requantization), at batch 64 (the cost model's
# choice), batch 3 and 1 (the kernel forced by sparse(mode=q8): the gathered dot products),
# JIT and AOT, and stay close to the fp32 pruned model. The fp32 model pruned the same way and
# saved with its zeros (a model pruned elsewhere), quantized at run time, gets the same plan and
# the same bits. The built-in rates (a profile without the int8 sparse keys) keep all dense.
# Dynamic int8 (dqlinear) on the block-sparse kernel gives the dense dynamic kernel's bits.
source "$(dirname "$0")/lib.bash"

python3 "$SLIMC_SOURCE_DIR/tests/tools/sparse_mlp.py" d --density 1.0 >/dev/null || bad "sparse_mlp.py"
python3 - <<'PY'
import numpy as np
x = np.load("d/x64.npy")
np.save("calib.npy", np.random.default_rng(3).standard_normal((64, 784)).astype(np.float32))
np.save("x3.npy", x[:3])
np.save("x1.npy", x[:1])
PY
cp calib.npy d/
head='{"slimc_device_profile": 1, "devices": {"cpu": {"name": "t", "gflops": {"gemm_f32": 260, "conv_f32": 66, "gemm_int8": 920, "gemm_f16": 260, "elementwise": 8, "reduce": 8, "data": 8}, "bandwidth_gbs": 20, "launch_us": 2, "sparse": {"csr_gflops": 60, "csr_gemv_gflops": 7, "dense_gemv_gflops": 63'
echo "$head, \"q8sp_gflops\": 470, \"q8sp_gemv_gflops\": 18, \"q8_dense_gemv_gflops\": 170}}}}" > prof.json
echo "$head}}}}" > builtin.json

expect_ok "compress: prune then quantize" "$SLIMC" compress d/mlp.slim -o q.slim \
  --passes 'prune(method=l1_unstructured, amount=0.9),quantize(int8, calibrate="calib.npy")'
expect_ok "compress: prune only (zeros in the file)" "$SLIMC" compress d/mlp.slim -o p.slim \
  --passes 'prune(method=l1_unstructured, amount=0.9)'

"$SLIMC" inspect q.slim --sparsity --device-profile prof.json --dim N=64 >i.txt 2>&1
grep -qE "^  fc1 +qlinear +fc1.weight[^ ]* +10.00%  unstructured +392.0 KiB -> 27[0-9.]+ KiB +51380224 -> [0-9]+  int8 blocks$" i.txt \
  && grep -qE "^    fc1: sparse int8 blocks: 10.0% density, [0-9]+ of 100352 blocks of 4 kept, predicted 1.[0-9]+x faster than the dense int8 GEMM$" i.txt \
  && grep -qE "^    fc2: sparse int8 blocks: 10.0% density, [0-9]+ of 65536 blocks of 4 kept" i.txt \
  && grep -qE "^    fc3: kept dense int8: " i.txt \
  && grep -q "kernel: dense for 1 layer, sparse csr for 0, n:m for 0, int8 blocks for 2" i.txt \
  && ok "inspect --sparsity: int8 blocks for fc1, fc2, and why" || { bad "inspect --sparsity (batch 64)"; cat i.txt; }
"$SLIMC" inspect q.slim --sparsity --device-profile prof.json >i1.txt 2>&1
[ "$(grep -cE "^    fc[12]: kept dense int8: 10.0% density, [0-9]+ of [0-9]+ blocks of 4 kept, int8 blocks predicted [0-9.]+x slower$" i1.txt)" -eq 2 ] \
  && ok "symbolic batch (1 and 64): kept dense int8, the batch-1 point slower" || { bad "inspect at symbolic batch"; cat i1.txt; }
"$SLIMC" inspect q.slim --sparsity --device-profile builtin.json --dim N=64 >b.txt 2>&1
grep -q "kernel: dense for 3 layers, sparse csr for 0, n:m for 0, int8 blocks for 0" b.txt \
  && ok "built-in int8 sparse rates: kept dense (conservative)" || { bad "built-in rates"; cat b.txt; }

# pruned elsewhere (the fp32 zeros in the file), quantized at run time: the same plan
"$SLIMC" inspect p.slim --sparsity --quantize int8 --calibrate calib.npy --device-profile prof.json \
  --dim N=64 >e.txt 2>&1
diff <(grep -E "^    fc[123]:" i.txt) <(grep -E "^    fc[123]:" e.txt) >/dev/null \
  && ok "pruned elsewhere, quantized at run time: the same kernels and reasons" || { bad "plans differ"; cat i.txt e.txt; }

# numpy: the saved i8 weights, scales and zero points in integer arithmetic
python3 - <<'PY' || bad "numpy reference"
import json, re, struct
import numpy as np
def st(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    dt = {"I8": np.int8, "F32": np.float32, "I32": np.int32}
    return {k: np.frombuffer(b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]],
                             dt[v["dtype"]]).reshape(v["shape"])
            for k, v in h.items() if k != "__metadata__"}
t = st("q.safetensors")
src = open("q.slim").read()
xq = {m[0]: (np.float32(m[1]), int(m[2])) for m in
      re.findall(r"(fc\d) = QuantLinear\(.*x_scale=([0-9.e-]+), x_zero_point=(\d+)\)", src)}
def run(x):
    for i, name in enumerate(["fc1", "fc2", "fc3"]):
        s, zp = xq[name]
        q = np.clip(np.rint(x * (np.float32(1) / s)) + zp, 0, 255).astype(np.int64)
        w = t[name + ".weight"].astype(np.int64)
        acc = ((q - zp) @ w.T).astype(np.int32)
        y = acc.astype(np.float32) * (s * t[name + ".weight_scale"]) + t[name + ".bias"]
        x = np.maximum(y, np.float32(0)) if i < 2 else y
    return x.astype(np.float32)
for b in ("1", "3", "64"):
    x = np.load("d/x64.npy") if b == "64" else np.load(f"x{b}.npy")
    np.save(f"ref{b}.npy", run(x))
PY

expect_ok "run batch 64 (the cost model's choice)" "$SLIMC" run q.slim --input x=d/x64.npy --output-dir o64 --device-profile prof.json --dim N=64
"$NPYCMP" o64/output0.npy ref64.npy 0 >/dev/null && ok "int8 blocks, batch 64 == numpy int8, bit for bit" || { bad "batch 64 differs from numpy"; "$NPYCMP" o64/output0.npy ref64.npy 0; }
expect_ok "fp32 pruned model" "$SLIMC" run p.slim --input x=d/x64.npy --output-dir f64
"$NPYCMP" o64/output0.npy f64/output0.npy 0.05 >/dev/null && ok "int8 sparse within 5% of the fp32 pruned model" || { bad "far from fp32"; "$NPYCMP" o64/output0.npy f64/output0.npy 0.05; }
expect_ok "run pruned elsewhere, quantized at run time" "$SLIMC" run p.slim --quantize int8 --calibrate calib.npy --input x=d/x64.npy --output-dir e64 --device-profile prof.json --dim N=64
"$NPYCMP" e64/output0.npy ref64.npy 0 >/dev/null && ok "pruned elsewhere: the same bits" || bad "pruned elsewhere differs"

Q8='qchain,layout,sparse(mode=q8),fuse,dce,memplan'
for b in 1 3; do
  expect_ok "mode=q8 batch $b" "$SLIMC" run q.slim --input x=x$b.npy --output-dir m$b --passes "$Q8"
  "$NPYCMP" m$b/output0.npy ref$b.npy 0 >/dev/null && ok "mode=q8 batch $b == numpy int8" || bad "mode=q8 batch $b differs"
done
"$SLIMC" inspect q.slim --sparsity --passes "$Q8" >n.txt 2>&1
grep -q "int8 blocks for 3" n.txt && ok "mode=q8: every layer with an empty block" || { bad "mode=q8 inspect"; cat n.txt; }

# dynamic int8 (dqlinear: x quantized at run time) on the pruned fp32 model: the block-sparse
# kernel forced gives the dense dynamic int8 kernel's bits, batch 64 and 1
DQ='qdq,fold,act,bn_fold,fold,dce,cse,quantize(int8, dynamic),place,layout,sparse(mode=%s),fuse,dce,memplan'
"$SLIMC" inspect p.slim --sparsity --passes "$(printf "$DQ" q8)" >dq.txt 2>&1
[ "$(grep -cE "^  fc[123] +dqlinear .*  int8 blocks$" dq.txt)" -eq 3 ] \
  && ok "dqlinear: int8 blocks (forced) for the 3 layers" || { bad "dqlinear inspect"; cat dq.txt; }
for b in 64 1; do
  xin=d/x64.npy; [ $b = 1 ] && xin=x1.npy
  expect_ok "dqlinear dense batch $b" "$SLIMC" run p.slim --input x=$xin --output-dir dd$b --passes "$(printf "$DQ" dense)"
  expect_ok "dqlinear int8 blocks batch $b" "$SLIMC" run p.slim --input x=$xin --output-dir ds$b --passes "$(printf "$DQ" q8)" --threads 3
  "$NPYCMP" ds$b/output0.npy dd$b/output0.npy 0 >/dev/null && ok "dqlinear int8 blocks batch $b == dense dynamic int8, bit for bit" \
    || { bad "dqlinear batch $b differs"; "$NPYCMP" ds$b/output0.npy dd$b/output0.npy 0; }
done

expect_ok "emit" "$SLIMC" emit q.slim --target c -o em --device-profile prof.json --dim N=64
[ "$(grep -c 'slimc_rt_q8sp_tile(M, x, W' em/mlp.c)" -eq 2 ] \
  && grep -q "int8 block-sparse kernel: [0-9]* of 100352 blocks of 4 weights kept ([0-9.]*%); the cost model predicted it" em/mlp.c \
  && ok "emitted code calls the int8 block-sparse kernel, with the reason" || bad "emitted code lacks the kernel"
expect_ok "build" "$SLIMC" build q.slim -o q_exe --device-profile prof.json --dim N=64
./q_exe --input x=d/x64.npy --output-dir ob >/dev/null 2>&1 && "$NPYCMP" ob/output0.npy ref64.npy 0 >/dev/null \
  && ok "AOT executable (int8 blocks) == numpy" || bad "AOT executable"
finish
