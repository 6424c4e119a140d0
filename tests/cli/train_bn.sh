#!/bin/bash
# Batch norm's running statistics in the training loop (issue 18) against PyTorch's train():
# a small conv + batch norm model (one layer with momentum=0.3, one with the default 0.1, one
# after a linear layer: n = N), the same start in both, SGD with momentum, batches in file
# order with a partial last one, 2 epochs; then every parameter, running_mean, running_var
# and num_batches_tracked compared with torch's (float32, one thread), and a resumed run
# equal to an uninterrupted one. A batch of one sample for a batch norm without spatial
# dims is refused, as PyTorch refuses it. Skipped without Debian's torch.
source "$(dirname "$0")/lib.bash"

# an ONNX BatchNormalization's momentum (0.75: the running value's weight) is PyTorch's
# 0.25, kept through import into the .slim model
if python3 -c 'import onnx' 2>/dev/null; then
  python3 - <<'PY'
import numpy as np
from onnx import helper, numpy_helper, TensorProto as T, save
inits = [numpy_helper.from_array(np.ones(3, np.float32), n) for n in ("s", "b", "m", "v")]
node = helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], momentum=0.75)
g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", T.FLOAT, ["N", 3, 4, 4])],
                      [helper.make_tensor_value_info("y", T.FLOAT, ["N", 3, 4, 4])], inits)
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), "bnm.onnx")
PY
  expect_ok "import an ONNX batch norm" "$SLIMC" import bnm.onnx -o bnm.slim
  grep -q "BatchNorm2d(3, eps=.*, momentum=0.25)" bnm.slim && ok "its momentum is PyTorch's 0.25" \
    || { bad "the momentum was not kept"; cat bnm.slim; }
fi

PY=/usr/bin/python3
if ! [ -x "$PY" ] || ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
  echo "skip: $PY has no torch: the batch-norm training tests are not run"
  finish
  exit $?
fi
export SLIMC_CACHE_DIR=${SLIMC_CACHE_DIR:-$TEST_TMP/cache}
cat > bn.slim <<'SLIM'
model bn(x: f32[N, 3, 8, 8]) -> f32[N, 4]
    weights "bn.safetensors"
    conv1 = Conv2d(3, 6, 3, padding=1)
    bn1 = BatchNorm2d(6, momentum=0.3)
    conv2 = Conv2d(6, 5, 3, stride=2, bias=false)
    bn2 = BatchNorm2d(5)
    fc = Linear(5 * 3 * 3, 4)
    return fc(flatten(relu(bn2(conv2(relu(bn1(conv1(x))))))))
SLIM
# the torch model, its start (random, running statistics not 0/1), the data
cat > model.py <<'PY'
import json, struct
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
torch.set_num_threads(1)

class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6, momentum=0.3)
        self.conv2, self.bn2 = nn.Conv2d(6, 5, 3, stride=2, bias=False), nn.BatchNorm2d(5)
        self.fc = nn.Linear(45, 4)
    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        return self.fc(torch.flatten(F.relu(self.bn2(self.conv2(h))), 1))

DT = {"F32": np.float32, "I64": np.int64}
def load(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    h = json.loads(raw[8:8 + n]); h.pop("__metadata__", None)
    return {k: torch.from_numpy(np.frombuffer(raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]],
                                              DT[v["dtype"]]).reshape(v["shape"]).copy()) for k, v in h.items()}

def save(path, sd):
    head, blobs, off = {}, [], 0
    for k, v in sd.items():
        a = v.detach().numpy()
        b = a.astype(a.dtype.newbyteorder("<")).tobytes()
        head[k] = {"dtype": "I64" if a.dtype == np.int64 else "F32", "shape": list(a.shape),
                   "data_offsets": [off, off + len(b)]}
        blobs.append(b); off += len(b)
    h = json.dumps(head).encode()
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
PY
"$PY" - <<'PY' || { bad "making the start"; finish; exit 1; }
import numpy as np, torch
from model import M, save
torch.manual_seed(5)
m = M()
with torch.no_grad():
    for bn in (m.bn1, m.bn2):
        bn.running_mean.uniform_(-0.5, 0.5); bn.running_var.uniform_(0.5, 2.0)
        bn.weight.uniform_(0.5, 1.5); bn.bias.uniform_(-0.2, 0.2)
save("bn.safetensors", m.state_dict())
rng = np.random.default_rng(1)
np.save("x.npy", rng.standard_normal((150, 3, 8, 8)).astype(np.float32))
np.save("y.npy", rng.integers(0, 4, 150).astype(np.int64))
PY
T=(--data x.npy --labels y.npy --no-shuffle --batch 32 --optimizer sgd --lr 0.1 --momentum 0.9)
expect_ok "2 epochs, SGD, file order" "$SLIMC" train bn.slim "${T[@]}" --epochs 2 -o out.safetensors
"$PY" - <<'PY' >cmp.txt 2>&1
import numpy as np, torch, torch.nn.functional as F
from model import M, load
m = M()
m.load_state_dict(load("bn.safetensors"))
m.train()
x, y = torch.from_numpy(np.load("x.npy")), torch.from_numpy(np.load("y.npy"))
opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
for epoch in range(2):
    for i in range(0, 150, 32):
        opt.zero_grad()
        F.cross_entropy(m(x[i:i + 32]), y[i:i + 32]).backward()
        opt.step()
got, want = load("out.safetensors"), m.state_dict()
assert sorted(got) == sorted(want), (sorted(got), sorted(want))
worst, moved = 0.0, 0.0
start = load("bn.safetensors")
for k, v in want.items():
    if v.dtype == torch.int64:
        print("%s: slimc %d, torch %d" % (k, int(got[k]), int(v)))
        if int(got[k]) != int(v):
            worst = 1.0
        continue
    d = float((got[k] - v).abs().max() / (v.abs().max() + 1e-12))
    if "running" in k:
        moved = max(moved, float((v - start[k]).abs().max()))
    print("%s: max |slimc - torch| / max |torch| = %.2e" % (k, d))
    worst = max(worst, d)
print("worst %.2e; the running statistics moved by up to %.3f" % (worst, moved))
raise SystemExit(0 if worst < 1e-5 and moved > 0.05 else 1)
PY
[ $? -eq 0 ] && ok "parameters and running statistics equal torch's: $(tail -1 cmp.txt)" \
  || { bad "batch norm training differs from torch's"; cat cmp.txt; }

# resume: the running statistics travel in the checkpoint
expect_ok "1 epoch with a checkpoint" "$SLIMC" train bn.slim "${T[@]}" --epochs 1 --checkpoint-dir ck -o one.safetensors
expect_ok "resume to epoch 2" "$SLIMC" train bn.slim "${T[@]}" --epochs 2 --resume ck/checkpoint.safetensors -o res.safetensors
cmp -s out.safetensors res.safetensors && ok "resumed = uninterrupted, running statistics included" \
  || bad "the resumed run differs"

# a batch norm over [N, C] (no spatial dims) and a last batch of one sample
cat > bn1d.slim <<'SLIM'
model bn1d(x: f32[N, 3, 1, 1]) -> f32[N, 4]
    bn = BatchNorm2d(3)
    fc = Linear(3, 4)
    return fc(flatten(bn(x)))
SLIM
"$PY" -c "
import numpy as np
np.save('x5.npy', np.random.default_rng(0).standard_normal((5, 3, 1, 1)).astype(np.float32))
np.save('y5.npy', np.array([0, 1, 2, 3, 0], np.int64))"
expect_fail "a batch norm with one value a channel" \
  "x5.npy: error: batch 2 of epoch 1 gives batch norm 'bn.running_mean' one value a channel" \
  "$SLIMC" train bn1d.slim --data x5.npy --labels y5.npy --batch 4 --no-shuffle -o b.safetensors
[ ! -f b.safetensors ] && ok "no output after the error" || bad "an output was written"
finish
