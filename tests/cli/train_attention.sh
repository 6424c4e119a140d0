#!/bin/bash
# Training through scaled_dot_product_attention (the IR `attention` op's gradient) against
# PyTorch, autograd through the attention written out: two small models written with the
# op (one plain; one causal, with an explicit scale and two heads), the same start in both,
# SGD with momentum, batches in file order with a partial last one, 2 epochs; every
# parameter compared with torch's (float32, one thread). Skipped without Debian's torch.
source "$(dirname "$0")/lib.bash"

PY=/usr/bin/python3
if ! [ -x "$PY" ] || ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
  echo "skip: $PY has no torch: the attention training tests are not run"
  finish
  exit $?
fi
export SLIMC_CACHE_DIR=${SLIMC_CACHE_DIR:-$TEST_TMP/cache}
# one text, two models: the attention line differs
slim() {
  cat <<SLIM
model $1(x: f32[N, 6, 8]) -> f32[N, 3]
    weights "start.safetensors"
    q = Linear(8, 8)
    k = Linear(8, 8)
    v = Linear(8, 8)
    fc = Linear(48, 3)
$2
SLIM
}
slim plain "    return fc(flatten(scaled_dot_product_attention(q(x), k(x), v(x))))" >plain.slim
slim causal "    qh = permute(reshape(q(x), [-1, 6, 2, 4]), [0, 2, 1, 3])
    kh = permute(reshape(k(x), [-1, 6, 2, 4]), [0, 2, 1, 3])
    vh = permute(reshape(v(x), [-1, 6, 2, 4]), [0, 2, 1, 3])
    a = scaled_dot_product_attention(qh, kh, vh, is_causal=true, scale=0.7)
    return fc(flatten(permute(a, [0, 2, 1, 3])))" >causal.slim
export PYTHONPATH="$SLIMC_SOURCE_DIR/tests/tools${PYTHONPATH:+:$PYTHONPATH}" # st_io.py
cat > model.py <<'PY'
import numpy as np, torch, torch.nn as nn
from st_io import read_safetensors, write_safetensors
torch.set_num_threads(1)

def sdpa(q, k, v, causal=False, scale=None):
    """PyTorch's scaled_dot_product_attention, written out (Debian's torch predates it)."""
    s = q @ k.transpose(-2, -1) * (scale if scale is not None else q.shape[-1] ** -0.5)
    if causal:
        s = s.masked_fill(torch.ones(s.shape[-2:], dtype=torch.bool).triu(1), float("-inf"))
    return torch.softmax(s, -1) @ v

class M(nn.Module):
    def __init__(self, causal):
        super().__init__()
        self.q, self.k, self.v = nn.Linear(8, 8), nn.Linear(8, 8), nn.Linear(8, 8)
        self.fc = nn.Linear(48, 3)
        self.causal = causal
    def forward(self, x):
        q, k, v = self.q(x), self.k(x), self.v(x)
        if not self.causal:
            return self.fc(torch.flatten(sdpa(q, k, v), 1))
        h = lambda t: t.reshape(-1, 6, 2, 4).permute(0, 2, 1, 3)
        a = sdpa(h(q), h(k), h(v), causal=True, scale=0.7)
        return self.fc(torch.flatten(a.permute(0, 2, 1, 3), 1))

def load(path):
    return {k: torch.from_numpy(v.copy()) for k, v in read_safetensors(path).items()}

def save(path, sd):
    write_safetensors(path, {k: v.detach().numpy() for k, v in sd.items()})
PY
"$PY" - <<'PY' || { bad "making the start"; finish; exit 1; }
import numpy as np, torch
from model import M, save
torch.manual_seed(5)
save("start.safetensors", M(False).state_dict())
rng = np.random.default_rng(1)
np.save("x.npy", rng.standard_normal((70, 6, 8)).astype(np.float32))
np.save("y.npy", rng.integers(0, 3, 70).astype(np.int64))
PY
T=(--data x.npy --labels y.npy --no-shuffle --batch 16 --optimizer sgd --lr 0.2 --momentum 0.9 --epochs 2)
for m in plain causal; do
  expect_ok "$m: 2 epochs, SGD, file order" "$SLIMC" train $m.slim "${T[@]}" -o $m.out.safetensors
  "$PY" - $m <<'PY' >cmp.txt 2>&1
import sys
import numpy as np, torch, torch.nn.functional as F
from model import M, load
m = M(sys.argv[1] == "causal")
m.load_state_dict(load("start.safetensors"))
x, y = torch.from_numpy(np.load("x.npy")), torch.from_numpy(np.load("y.npy"))
opt = torch.optim.SGD(m.parameters(), lr=0.2, momentum=0.9)
for epoch in range(2):
    for i in range(0, 70, 16):
        opt.zero_grad()
        F.cross_entropy(m(x[i:i + 16]), y[i:i + 16]).backward()
        opt.step()
got, want, start = load(sys.argv[1] + ".out.safetensors"), m.state_dict(), load("start.safetensors")
assert sorted(got) == sorted(want), (sorted(got), sorted(want))
worst = moved = 0.0
for k, v in want.items():
    d = float((got[k] - v).abs().max() / (v.abs().max() + 1e-12))
    moved = max(moved, float((v - start[k]).abs().max()))
    print("%s: max |slimc - torch| / max |torch| = %.2e" % (k, d))
    worst = max(worst, d)
print("worst %.2e; the weights moved by up to %.3f" % (worst, moved))
raise SystemExit(0 if worst < 1e-5 and moved > 0.05 else 1)
PY
  [ $? -eq 0 ] && ok "$m: parameters equal torch's: $(tail -1 cmp.txt)" \
    || { bad "$m: training through attention differs from torch's"; cat cmp.txt; }
done
finish
