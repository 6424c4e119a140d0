# Quantization that always applies (issue 19), on small ONNX models written here with
# onnx.helper and checked against ONNX Runtime / numpy:
#   - the six-node graph (Conv -> BatchNormalization -> Relu -> ConvTranspose -> Add with the
#     BN output -> BatchNormalization) that broke the verifier after bn_fold runs as ORT;
#   - exported linears (MatMul with a constant weight, + Add of the bias) are quantized by
#     every mode, through --quantize MODE [--calibrate FILE.npy], which runs the default
#     pipeline with quantize at its place, on run, bench, build, inspect and compress;
#     weight-only and fp16/bf16 outputs equal numpy's emulation of the same rounding;
#   - a quantize that quantizes nothing, or leaves layers float, warns naming why;
#   - static int8 keeps a layer float when the device profile predicts its int8 kernel
#     slower, and inspect --quant says so (weight-only modes are exempt);
#   - a --passes that leaves out fuse or memplan warns; option errors are errors.
# A torch-exported MLP (Debian's /usr/bin/python3) is checked too when torch is there.
source "$(dirname "$0")/lib.bash"

python3 - <<'PY'
import numpy as np, onnx, onnxruntime as ort
from onnx import TensorProto as T, helper as h, numpy_helper as nh
rng = np.random.default_rng(19)
def f(*s, k=0.3): return (rng.standard_normal(s) * k).astype("f4")
def save(nodes, name, ins, outs, inits):
    g = h.make_graph(nodes, name, [h.make_tensor_value_info(n, T.FLOAT, s) for n, s in ins],
                     [h.make_tensor_value_info(n, T.FLOAT, s) for n, s in outs],
                     [nh.from_array(a, n) for n, a in inits.items()])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)]); m.ir_version = 8
    onnx.checker.check_model(m); onnx.save(m, name + ".onnx")
def ort_run(name, feeds):
    return ort.InferenceSession(name + ".onnx", providers=["CPUExecutionProvider"]).run(None, feeds)[0]

# ---- the six nodes of issue 19 ----
C = 4
def bn(name, x, y, inits):
    for k, a in (("scale", rng.uniform(0.5, 1.5, C)), ("bias", rng.standard_normal(C)),
                 ("mean", rng.standard_normal(C) * 0.1), ("var", rng.uniform(0.5, 2, C))):
        inits[f"{name}_{k}"] = a.astype("f4")
    return h.make_node("BatchNormalization", [x] + [f"{name}_{k}" for k in ("scale", "bias", "mean", "var")],
                       [y], name=name, epsilon=1e-5)
inits = {"cw": f(C, 3, 3, 3), "cb": f(C, k=1), "tw": f(C, C, 3, 3)}
nodes = [h.make_node("Conv", ["x", "cw", "cb"], ["c"], name="conv", pads=[1, 1, 1, 1]),
         bn("bn1", "c", "b", inits), h.make_node("Relu", ["b"], ["r"], name="relu"),
         h.make_node("ConvTranspose", ["r", "tw"], ["t"], name="convt", pads=[1, 1, 1, 1]),
         h.make_node("Add", ["t", "b"], ["s"], name="add"), bn("bn2", "s", "y", inits)]
save(nodes, "bn6", [("x", [1, 3, 8, 8])], [("y", [1, C, 8, 8])], inits)
x = rng.standard_normal((1, 3, 8, 8)).astype("f4")
np.save("bn6_x.npy", x); np.save("bn6_ort.npy", ort_run("bn6", {"x": x}))

# ---- exported linears: MatMul + Add (bias second, bias first as [1, N]), MatMul alone ----
w1, b1, w2, b2, w3 = f(16, 32), f(32), f(32, 8), f(1, 8), f(8, 8)
nodes = [h.make_node("MatMul", ["x", "w1"], ["m1"], name="fc1/MatMul"),
         h.make_node("Add", ["m1", "b1"], ["a1"], name="fc1/Add"),
         h.make_node("Relu", ["a1"], ["r1"], name="relu"),
         h.make_node("MatMul", ["r1", "w2"], ["m2"], name="fc2/MatMul"),
         h.make_node("Add", ["b2", "m2"], ["a2"], name="fc2/Add"),
         h.make_node("MatMul", ["a2", "w3"], ["y"], name="fc3/MatMul")]
save(nodes, "mm", [("x", [2, 5, 16])], [("y", [2, 5, 8])],
     {"w1": w1, "b1": b1, "w2": w2, "b2": b2, "w3": w3})
x = rng.standard_normal((2, 5, 16)).astype("f4")
np.save("mm_x.npy", x); np.save("mm_ort.npy", ort_run("mm", {"x": x}))
np.save("mm_calib.npy", rng.standard_normal((16, 5, 16)).astype("f4"))
# numpy's emulation of the weight-only formats: each linear's weight [O, K] = w.T rounded
def group_q(w, qmax, group):  # symmetric, one scale per `group` weights of a row
    wt = w.T.copy(); O, K = wt.shape
    g = wt.reshape(O, K // group, group)
    s = (np.abs(g).max(axis=2, keepdims=True) / np.float32(qmax)).astype("f4")
    s[s == 0] = 1
    return (np.clip(np.rint(g / s), -qmax, qmax) * s).reshape(O, K).T.astype("f4")
def bf16(w):
    u = w.view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000).astype(np.uint32).view(np.float32)
def int4(w):  # groups of 32, else the largest power of two that divides K
    K = w.shape[0]; gs = next(c for c in (32, 16, 8, 4, 2) if K % c == 0)
    return group_q(w, 7, gs)
same = lambda a: a
for mode, rw, rx in (("int8-weight", lambda w: group_q(w, 127, w.shape[0]), same), ("int4", int4, same),
                     ("fp16", lambda w: w.astype(np.float16).astype("f4"), same),
                     ("bf16", bf16, bf16)):  # bf16 computes in bf16: its inputs rounded too
    a1 = np.maximum(rx(x) @ rw(w1) + b1, 0)
    np.save(f"mm_{mode}.npy", (rx(rx(a1) @ rw(w2) + b2) @ rw(w3)).astype("f4"))

# ---- layers quantize cannot take: a batched weight, a weight that is an input ----
nodes = [h.make_node("MatMul", ["x", "wb"], ["m"], name="batched"),
         h.make_node("MatMul", ["m", "w"], ["y"], name="dynamic_w")]
save(nodes, "skip", [("x", [2, 5, 16]), ("w", [8, 4])], [("y", [2, 5, 4])], {"wb": f(2, 16, 8)})
# one quantizable layer and one batched
nodes = [h.make_node("MatMul", ["x", "w1"], ["m"], name="fc"),
         h.make_node("MatMul", ["m", "wb"], ["y"], name="batched")]
save(nodes, "part", [("x", [2, 5, 16])], [("y", [2, 5, 8])], {"w1": f(16, 32), "wb": f(2, 32, 8)})
# a conv alone (dynamic int8 takes linears only); no layer at all
save([h.make_node("Conv", ["x", "cw"], ["y"], name="conv")], "conv", [("x", [1, 3, 8, 8])],
     [("y", [1, 4, 6, 6])], {"cw": f(4, 3, 3, 3)})
save([h.make_node("Relu", ["x"], ["y"], name="relu")], "relu", [("x", [2, 3])], [("y", [2, 3])], {})
PY
[ -f mm.onnx ] || { bad "the test models were not written"; finish; exit; }

# ---- bn_fold on the six nodes ----
expect_ok "six nodes: run (bn_fold after add and conv_transpose)" \
  "$SLIMC" run bn6.onnx --input x=bn6_x.npy --output-dir o_bn6
"$NPYCMP" o_bn6/y.npy bn6_ort.npy 1e-5 && ok "six nodes: as ONNX Runtime" || bad "six nodes differ from ORT"
grep -q "internal error" err.txt && bad "six nodes: internal error" || ok "six nodes: no internal error"

# ---- every mode quantizes the exported linears (3 of 3) ----
# quantized MODE ARGS...: run with --quantize, the note says 3 of 3
quantized() {
  local mode=$1; shift
  expect_ok "$mode: run" "$SLIMC" run mm.onnx --input x=mm_x.npy --output-dir "o_$mode" "$@"
  grep -q "note: quantize([a-z0-9, _]*): 3 of 3 layers quantized" err.txt && ok "$mode: 3 of 3 quantized" \
    || { bad "$mode: the note"; cat err.txt; }
  ! grep -q "warning" err.txt && ok "$mode: no warning" || { bad "$mode: a warning"; cat err.txt; }
}
quantized int8-dynamic --quantize int8-dynamic
"$NPYCMP" o_int8-dynamic/y.npy mm_ort.npy 0.03 && ok "int8-dynamic: within 3% of ORT fp32" || bad "int8-dynamic: far from ORT"
quantized int8 --quantize int8 --calibrate mm_calib.npy
"$NPYCMP" o_int8/y.npy mm_ort.npy 0.03 && ok "int8: within 3% of ORT fp32" || bad "int8: far from ORT"
for mode in int8-weight int4 fp16 bf16; do
  quantized "$mode" --quantize "$mode"
  "$NPYCMP" "o_$mode/y.npy" "mm_$mode.npy" 1e-4 && ok "$mode: numpy's emulation of its rounding" \
    || bad "$mode: differs from numpy's emulation"
done
# the same with --passes (quantize after fold, then fuse and memplan: no warning about them)
expect_ok "--passes quantize(int8, dynamic)" "$SLIMC" run mm.onnx --input x=mm_x.npy \
  --passes 'fold,quantize(int8, dynamic),layout,fuse,memplan' --output-dir o_p
grep -q "3 of 3 layers quantized" err.txt && ! grep -q "warning" err.txt && ok "--passes: 3 of 3, no warning" \
  || { bad "--passes quantize"; cat err.txt; }
# --calibrate alone is int8; inspect --quant lists each layer as qlinear
expect_ok "inspect --calibrate --quant" "$SLIMC" inspect mm.onnx --calibrate mm_calib.npy --quant
[ "$(grep -cE "^  fc[123]_MatMul +qlinear +i8\[" out.txt)" = 3 ] && grep -q "3 layers quantized, 0 float" out.txt \
  && ok "inspect: three qlinear layers" || { bad "inspect --quant"; cat out.txt err.txt; }
# the default pipeline runs around quantize: fold before it, fuse and memplan after
expect_ok "--quantize keeps the default pipeline" "$SLIMC" inspect mm.onnx --quantize int8-dynamic \
  --print-after all
order=$(grep -oE "^; IR after [a-z_]+" err.txt | awk '{print $4}' | tr '\n' ' ')
case "$order" in
  *"fold act bn_fold fold dce cse quantize conv_taps linearize gelu lnorm attention place qchain layout sparse qtaps fuse dce memplan"*) ok "quantize at its place: $order" ;;
  *) bad "pipeline order: $order" ;;
esac
expect_ok "bench --quantize" "$SLIMC" bench mm.onnx --quantize int4 --runs 2 --warmup 0
expect_ok "build --quantize" "$SLIMC" build mm.onnx --quantize int8-dynamic -o mm_q.bin
expect_ok "the built executable runs" ./mm_q.bin --input x=mm_x.npy --output-dir o_bin
"$NPYCMP" o_bin/y.npy o_int8-dynamic/y.npy 1e-6 && ok "built = run" || bad "the built executable differs"
expect_ok "compress --quantize" "$SLIMC" compress mm.onnx --quantize int8 --calibrate mm_calib.npy -o small.slim
expect_ok "run the compressed model" "$SLIMC" run small.slim --input x=mm_x.npy --output-dir o_small
"$NPYCMP" o_small/y.npy mm_ort.npy 0.03 && ok "compressed: within 3% of ORT fp32" || bad "compressed model far from ORT"

# ---- what is not quantized is named ----
expect_ok "nothing quantized: still runs" "$SLIMC" inspect skip.onnx --quantize int8-dynamic
grep -qE "warning: quantize\(int8, dynamic\): nothing quantized \(0 of 2 layers\); the largest: matmul 'batched' \([0-9.]+ (k|M)?FLOP\): op matmul with batched weight; matmul 'dynamic_w' \([0-9.]+ (k|M)?FLOP\): weights are not constant" err.txt \
  && ok "nothing quantized: why, largest first" || { bad "nothing-quantized warning"; cat err.txt; }
expect_ok "part quantized" "$SLIMC" inspect part.onnx --quantize int4
grep -qE "warning: quantize\(int4\): 1 of 2 layers quantized, 1 left float; the largest: matmul 'batched' .*: op matmul with batched weight" err.txt \
  && ok "part quantized: the float layer named" || { bad "partly-quantized warning"; cat err.txt; }
expect_ok "conv with dynamic int8" "$SLIMC" inspect conv.onnx --quantize int8-dynamic
grep -qE "warning: .*nothing quantized \(0 of 1 layers\); the largest: conv2d 'conv' .*: this mode quantizes linear layers only" err.txt \
  && ok "conv: dynamic takes linears only" || { bad "conv warning"; cat err.txt; }
expect_ok "no layer" "$SLIMC" inspect relu.onnx --quantize fp16
grep -q "warning: quantize(fp16): nothing to quantize: the model has no conv2d or linear layer" err.txt \
  && ok "no layer: said" || { bad "no-layer warning"; cat err.txt; }
expect_ok "static int8, nothing to calibrate" "$SLIMC" inspect skip.onnx --quantize int8 --calibrate mm_calib.npy
grep -q "nothing quantized (0 of 2 layers)" err.txt && ok "static int8: nothing quantized, why" || { bad "static int8 warning"; cat err.txt; }

# ---- int8 or float per layer, by the cost model (static int8; the device profile's rates) ----
# slow_int8.json: a CPU whose int8 GEMM is far slower than its f32 one (a CPU without VNNI
# measured through the portable loops); fast_int8.json: the other way round
for r in 0.5:slow 5000:fast; do
  cat > "${r#*:}_int8.json" <<EOF
{"slimc_device_profile": 1, "about": "test: gemm_int8 ${r%%:*}",
 "devices": {"cpu": {"name": "test CPU", "bandwidth_gbs": 1000, "launch_us": 1,
   "gflops": {"gemm_f32": 50, "conv_f32": 50, "gemm_int8": ${r%%:*}, "gemm_f16": 50,
              "elementwise": 10, "reduce": 10, "data": 10}}}}
EOF
done
expect_ok "int8 slower: inspect --quant" "$SLIMC" inspect mm.onnx --calibrate mm_calib.npy --quant \
  --device-profile slow_int8.json
[ "$(grep -cE "^  fc[123]_MatMul +linear .* float: int8 predicted slower \([0-9.e-]+ ms int8 vs [0-9.e-]+ ms float, cost model\)" out.txt)" = 3 ] \
  && grep -q "0 layers quantized, 3 float" out.txt && ok "int8 slower: every layer float, said why" \
  || { bad "cost model: slow int8"; cat out.txt err.txt; }
grep -q "warning: quantize(int8): nothing quantized: all 3 layers kept float on purpose" err.txt \
  && ok "int8 slower: the warning says so" || { bad "cost-model warning"; cat err.txt; }
expect_ok "int8 slower: runs as fp32" "$SLIMC" run mm.onnx --input x=mm_x.npy --calibrate mm_calib.npy \
  --device-profile slow_int8.json --output-dir o_slow
"$NPYCMP" o_slow/y.npy mm_ort.npy 1e-5 && ok "int8 slower: fp32's numbers" || bad "int8 slower: not fp32"
expect_ok "int8 faster: inspect --quant" "$SLIMC" inspect mm.onnx --calibrate mm_calib.npy --quant \
  --device-profile fast_int8.json
grep -q "3 layers quantized, 0 float" out.txt && ok "int8 faster: every layer int8" || { bad "fast int8"; cat out.txt; }
# weight-only and fp16 are exempt: they trade speed for memory
expect_ok "int8 slower, weight-only" "$SLIMC" inspect mm.onnx --quantize int8-weight --quant \
  --device-profile slow_int8.json
grep -q "3 layers quantized, 0 float" out.txt && ok "weight-only: exempt from the cost model" || { bad "weight-only exempt"; cat out.txt; }

# ---- --passes without fuse or memplan warns (one line) ----
expect_ok "--passes without fuse" "$SLIMC" run mm.onnx --input x=mm_x.npy --passes 'fold,memplan'
[ "$(grep -c "warning: --passes replaces the default pipeline and leaves out fuse (" err.txt)" = 1 ] \
  && ok "missing fuse: one line" || { bad "missing fuse"; cat err.txt; }
expect_ok "--passes without both" "$SLIMC" run mm.onnx --input x=mm_x.npy --passes 'fold,quantize(int8, dynamic)'
grep -q "leaves out fuse and memplan" err.txt && ok "missing both: named" || { bad "missing both"; cat err.txt; }
expect_ok "--passes with both" "$SLIMC" run mm.onnx --input x=mm_x.npy --passes 'fold, fuse ,memplan'
! grep -q "leaves out" err.txt && ok "fuse and memplan there: no warning" || { bad "a false warning"; cat err.txt; }

# ---- option errors ----
expect_fail "--quantize int8 without samples" "--quantize int8 needs calibration samples: --calibrate FILE.npy" \
  "$SLIMC" run mm.onnx --input x=mm_x.npy --quantize int8
expect_fail "--calibrate with int4" "--calibrate goes with --quantize int8 \(int4 needs no calibration\)" \
  "$SLIMC" inspect mm.onnx --quantize int4 --calibrate mm_calib.npy
expect_fail "unknown mode" "--quantize takes int8, int8-dynamic, int8-weight, int4, fp16 or bf16, not 'int3'" \
  "$SLIMC" inspect mm.onnx --quantize int3
expect_fail "--quantize with --passes" "--quantize runs the default pipeline with quantize at its place" \
  "$SLIMC" run mm.onnx --input x=mm_x.npy --quantize fp16 --passes fold,memplan
expect_fail "compress: --quantize with --passes" "give one or the other" \
  "$SLIMC" compress mm.onnx --quantize fp16 --passes fold -o c.slim
expect_fail "--calibrate: a missing file" "nope\.npy" "$SLIMC" run mm.onnx --input x=mm_x.npy --calibrate nope.npy

# ---- a torch-exported MLP (nn.Linear on 3-D input exports as MatMul + Add) ----
PY=/usr/bin/python3
if ! [ -x "$PY" ] || ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
  echo "skip: $PY has no torch (or numpy): the torch-exported MLP is not checked"
else
  "$PY" - <<'PY' >torch.txt 2>&1 || { bad "torch export"; cat torch.txt; }
import torch, numpy as np
torch.manual_seed(19)
m = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.GELU(), torch.nn.Linear(32, 8)).eval()
x = torch.randn(2, 5, 16)
torch.onnx.export(m, x, "tmlp.onnx", input_names=["x"], output_names=["y"], opset_version=13)
np.save("tmlp_x.npy", x.numpy()); np.save("tmlp_ref.npy", m(x).detach().numpy())
PY
  expect_ok "torch MLP: dynamic int8" "$SLIMC" run tmlp.onnx --input x=tmlp_x.npy --quantize int8-dynamic --output-dir o_t
  grep -q "2 of 2 layers quantized" err.txt && ok "torch MLP: 2 of 2 quantized" || { bad "torch MLP note"; cat err.txt; }
  "$NPYCMP" o_t/y.npy tmlp_ref.npy 0.03 && ok "torch MLP: within 3% of PyTorch fp32" || bad "torch MLP far from PyTorch"
fi
finish
