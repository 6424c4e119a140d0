#!/bin/bash
# `slimc train --targets` (regression, MSE; issue 18), on synthetic data (numpy): one
# full-batch SGD step of a linear layer from known weights equals numpy's closed form
# w - lr * 2/(N*O) * (y - t)^T x; a small MLP learns a smooth function (validation MSE falls
# by 5x); wrong shapes, counts, dtypes and mixing --labels with --targets are errors naming
# the file.
source "$(dirname "$0")/lib.bash"

export PYTHONPATH="$SLIMC_SOURCE_DIR/tests/tools${PYTHONPATH:+:$PYTHONPATH}" # st_io.py
python3 - <<'PY' || { bad "numpy data"; finish; exit 1; }
import numpy as np
from st_io import write_safetensors as save_st
r = np.random.RandomState(1)
x = r.randn(40, 5).astype(np.float32)
t = r.randn(40, 3).astype(np.float32)
w = (r.randn(3, 5) * 0.3).astype(np.float32); b = (r.randn(3) * 0.1).astype(np.float32)
np.save("x.npy", x); np.save("t.npy", t)
save_st("lin.safetensors", {"fc.weight": w, "fc.bias": b})
x64, t64, w64, b64 = (a.astype(np.float64) for a in (x, t, w, b))
g = 2.0 / t.size * (x64 @ w64.T + b64 - t64)
np.save("w_ref.npy", (w64 - 0.1 * g.T @ x64).astype(np.float32))
np.save("b_ref.npy", (b64 - 0.1 * g.sum(0)).astype(np.float32))
np.save("loss_ref.npy", np.array([((x64 @ w64.T + b64 - t64) ** 2).mean()]))
# a smooth function for the MLP
xs = r.uniform(-2, 2, (600, 2)).astype(np.float32)
ys = np.stack([np.sin(xs[:, 0]) * np.cos(xs[:, 1]), 0.5 * xs[:, 0] * xs[:, 1]], 1).astype(np.float32)
np.save("xs.npy", xs[:500]); np.save("ys.npy", ys[:500])
np.save("xv.npy", xs[500:]); np.save("yv.npy", ys[500:])
np.save("ys_bad.npy", ys[:500, :1]); np.save("ys_short.npy", ys[:499])
np.save("ys_int.npy", ys[:500].astype(np.int64))
PY
cat > lin.slim <<'SLIM'
model lin(x: f32[N, 5]) -> f32[N, 3]
    weights "lin.safetensors"
    fc = Linear(5, 3)
    return fc(x)
SLIM
expect_ok "one SGD step on the targets" "$SLIMC" train lin.slim --data x.npy --targets t.npy \
  --optimizer sgd --lr 0.1 --batch 40 --no-shuffle -o lin_out.safetensors
cp out.txt lin.txt
python3 - <<'PY' && ok "weights and loss = numpy's closed form" || { bad "one MSE step differs from numpy"; cat lin.txt; }
import re, sys
import numpy as np
from st_io import read_safetensors
w = read_safetensors("lin_out.safetensors")
get = w.__getitem__
ok = np.allclose(get("fc.weight"), np.load("w_ref.npy"), rtol=1e-5, atol=1e-6) and \
     np.allclose(get("fc.bias"), np.load("b_ref.npy"), rtol=1e-5, atol=1e-6)
loss = float(re.search(r"loss ([0-9.]+)", open("lin.txt").read()).group(1))
ok = ok and abs(loss - float(np.load("loss_ref.npy")[0])) < 1e-3
sys.exit(0 if ok else 1)
PY

cat > mlp.slim <<'SLIM'
model reg(x: f32[N, 2]) -> f32[N, 2]
    fc1 = Linear(2, 64)
    fc2 = Linear(64, 2)
    return fc2(tanh(fc1(x)))
SLIM
expect_ok "an MLP on a smooth function" "$SLIMC" train mlp.slim --data xs.npy --targets ys.npy \
  --val xv.npy --val-targets yv.npy --epochs 30 --lr 0.01 --batch 50 -o mlp_out.safetensors
cp out.txt mlp.txt
first=$(sed -n 's/^epoch 1\/30: .*val mse \([0-9.e+-]*\),.*/\1/p' mlp.txt)
last=$(sed -n 's/^epoch 30\/30: .*val mse \([0-9.e+-]*\),.*/\1/p' mlp.txt)
awk -v a="$first" -v b="$last" 'BEGIN { exit !(a > 0 && b < a / 5) }' \
  && ok "validation MSE falls ($first -> $last)" || { bad "val mse $first -> $last"; cat mlp.txt; }

TR=(--data xs.npy -o o.safetensors)
expect_fail "targets of the wrong shape" "ys_bad\.npy: error: dimension 1 of the targets is 1, but the model's output is f32\[N, 2\]" \
  "$SLIMC" train mlp.slim "${TR[@]}" --targets ys_bad.npy
expect_fail "too few targets" "ys_short\.npy: error: 499 targets for 500 samples" \
  "$SLIMC" train mlp.slim "${TR[@]}" --targets ys_short.npy
expect_fail "integer targets" "ys_int\.npy: error: the targets are i64; they must be f32" \
  "$SLIMC" train mlp.slim "${TR[@]}" --targets ys_int.npy
expect_fail "labels and targets" "--labels and --targets exclude each other" \
  "$SLIMC" train mlp.slim "${TR[@]}" --targets ys.npy --labels ys_int.npy
expect_fail "val without val targets" "--val needs --val-targets" \
  "$SLIMC" train mlp.slim "${TR[@]}" --targets ys.npy --val xv.npy
expect_fail "neither labels nor targets" "needs --labels Y.npy \(classes\) or --targets T.npy \(MSE\)" \
  "$SLIMC" train mlp.slim "${TR[@]}"
finish
