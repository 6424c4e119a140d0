#!/bin/bash
# Quantization-aware fine-tuning (issue 18): `finetune(..., qat=1)` in slimc compress. One
# full-batch SGD step of a two-layer MLP with fake-quantized weights (per-channel int8) and
# inputs (u8, minmax-calibrated on the data), straight-through gradients, against numpy's
# implementation of the same step (and PyTorch's fake_quantize_* ops when Debian's torch is
# there); the step differs from plain fine-tuning; the QAT model then quantizes to int8 and
# runs; qat=2 is refused.
source "$(dirname "$0")/lib.bash"

export PYTHONPATH="$SLIMC_SOURCE_DIR/tests/tools${PYTHONPATH:+:$PYTHONPATH}" # st_io.py
python3 - <<'PY' || { bad "numpy data"; finish; exit 1; }
import numpy as np
from st_io import write_safetensors as save_st
r = np.random.RandomState(5)
x = (r.randn(64, 8) * 1.5).astype(np.float32)
y = r.randint(0, 4, 64).astype(np.int64)
np.save("x.npy", x); np.save("y.npy", y)
save_st("mlp.safetensors", {"fc1.weight": r.randn(16, 8) * 0.4, "fc1.bias": r.randn(16) * 0.1,
                            "fc2.weight": r.randn(4, 16) * 0.4, "fc2.bias": r.randn(4) * 0.1})
PY
cat > mlp.slim <<'SLIM'
model mlp(x: f32[N, 8]) -> f32[N, 4]
    weights "mlp.safetensors"
    fc1 = Linear(8, 16)
    fc2 = Linear(16, 4)
    return fc2(relu(fc1(x)))
SLIM
STEP='epochs=1, data="x.npy", labels="y.npy", optimizer=sgd, lr=0.5, batch=64'
expect_ok "one QAT step" "$SLIMC" compress mlp.slim --passes "finetune($STEP, qat=1)" -o qat.slim
grep -q "quantization-aware, 2 layers fake-quantized" err.txt && ok "2 layers fake-quantized" || { bad "no QAT note"; cat err.txt; }
expect_ok "one plain step" "$SLIMC" compress mlp.slim --passes "finetune($STEP)" -o plain.slim

cat > ref.py <<'PY'
import sys
import numpy as np
from st_io import read_safetensors as load_st
f32 = np.float32
def act_grid(v):  # passes/calibrate.c's minmax parameters
    lo, hi = min(f32(v.min()), f32(0)), max(f32(v.max()), f32(0))
    s = f32((hi - lo) / f32(255))
    return s, int(min(max(np.rint(-np.float64(lo) / np.float64(s)), 0), 255))
def fq_act(v, s, z):
    q = np.rint(v * (f32(1) / s)) + f32(z)
    return ((np.clip(q, 0, 255) - f32(z)) * s).astype(f32), ((q >= 0) & (q <= 255))
def fq_w(w):
    m = np.abs(w).max(axis=1, keepdims=True)
    s = np.where(m > 0, m / f32(127), f32(1)).astype(f32)
    return (np.clip(np.rint(w / s), -127, 127) * s).astype(f32)
def step(w, x, y, qat, lr=0.5):
    w1, b1, w2, b2 = w["fc1.weight"], w["fc1.bias"], w["fc2.weight"], w["fc2.bias"]
    if qat:  # the grids: the fp32 graph's ranges on the data
        s1, z1 = act_grid(x)
        s2, z2 = act_grid(np.maximum(x @ w1.T + b1, 0))
        xq, m1 = fq_act(x, s1, z1)
        w1q, w2q = fq_w(w1), fq_w(w2)
    else:
        xq, w1q, w2q = x, w1, w2
    h = np.maximum(xq.astype(np.float64) @ w1q.T + b1, 0)
    if qat:
        hq, m2 = fq_act(h.astype(f32), s2, z2)
        hq = hq.astype(np.float64)
    else:
        hq, m2 = h, np.ones_like(h, bool)
    o = hq @ w2q.T + b2
    p = np.exp(o - o.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
    do = p.copy(); do[np.arange(len(y)), y] -= 1; do /= len(y)
    g = {"fc2.weight": do.T @ hq, "fc2.bias": do.sum(0)}
    dh = (do @ w2q) * m2 * (h > 0)
    g["fc1.weight"] = dh.T @ xq; g["fc1.bias"] = dh.sum(0)
    return {k: w[k] - lr * g[k] for k in w}
w0 = load_st("mlp.safetensors")
x, y = np.load("x.npy"), np.load("y.npy")
ok = True
for name, qat in (("qat", True), ("plain", False)):
    got, ref = load_st(name + ".safetensors"), step(w0, x, y, qat)
    for k in w0:
        d_ref, d_got = ref[k] - w0[k], got[k] - w0[k]
        err = np.linalg.norm(d_got - d_ref) / np.linalg.norm(d_ref)
        if not err < 2e-3:
            print("%s %s: relative error of the update %.3g" % (name, k, err)); ok = False
sys.exit(0 if ok else 1)
PY
python3 ref.py && ok "QAT and plain steps = numpy's" || bad "a step differs from numpy's"
python3 - <<'PY' && ok "QAT's step differs from plain fine-tuning" || bad "qat=1 changed nothing"
import sys
sys.exit(0 if open("qat.safetensors", "rb").read() != open("plain.safetensors", "rb").read() else 1)
PY

PY=/usr/bin/python3
if [ -x "$PY" ] && "$PY" -c 'import torch' 2>/dev/null; then
  "$PY" - <<'PY' && ok "QAT step = PyTorch's fake_quantize ops" || bad "QAT step differs from PyTorch"
import sys
import numpy as np, torch
exec(open("ref.py").read().split("w0 = load_st")[0])
w0 = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in load_st("mlp.safetensors").items()}
x, y = torch.from_numpy(np.load("x.npy")), torch.from_numpy(np.load("y.npy"))
s1, z1 = act_grid(x.numpy())
s2, z2 = act_grid(np.maximum(x.numpy() @ w0["fc1.weight"].detach().numpy().T + w0["fc1.bias"].detach().numpy(), 0))
def fqw(w):
    s = (w.detach().abs().amax(1) / 127).clamp_min(1e-30)
    s = torch.where(w.detach().abs().amax(1) > 0, s, torch.ones_like(s))
    return torch.fake_quantize_per_channel_affine(w, s, torch.zeros(len(s), dtype=torch.int32), 0, -127, 127)
h = torch.relu(torch.nn.functional.linear(torch.fake_quantize_per_tensor_affine(x, float(s1), z1, 0, 255), fqw(w0["fc1.weight"]), w0["fc1.bias"]))
o = torch.nn.functional.linear(torch.fake_quantize_per_tensor_affine(h, float(s2), z2, 0, 255), fqw(w0["fc2.weight"]), w0["fc2.bias"])
torch.nn.functional.cross_entropy(o, y).backward()
got = load_st("qat.safetensors")
ok = True
for k, v in w0.items():
    d_ref = (-0.5 * v.grad).numpy(); d_got = got[k] - v.detach().numpy()
    err = np.linalg.norm(d_got - d_ref) / np.linalg.norm(d_ref)
    if not err < 2e-3:
        print("%s: relative error %.3g" % (k, err)); ok = False
sys.exit(0 if ok else 1)
PY
else
  echo "note: $PY has no torch: the PyTorch comparison is not run (numpy's above is)"
fi

python3 -c 'import numpy as np; np.save("calib.npy", np.load("x.npy")[:32])'
expect_ok "QAT, then int8" "$SLIMC" compress mlp.slim --passes "finetune($STEP, qat=1), quantize(int8, calibrate=\"calib.npy\")" -o q.slim
expect_ok "the int8 model runs" "$SLIMC" run q.slim --input x.npy
expect_fail "qat=2" "finetune: qat is a whole number in \[0, 1\], not '2'" \
  "$SLIMC" compress mlp.slim --passes "finetune($STEP, qat=2)" -o bad.slim
finish
