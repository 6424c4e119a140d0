#!/bin/bash
# `slimc compress --dense` after prune (issue 17): the state_dict loads into a PyTorch MLP
# with load_state_dict(strict=True), holds exactly the weights of the compact file decoded
# by an independent reader of docs/formats.md's "Compact sparse weights" (numpy's
# unpackbits), and PyTorch's output matches `slimc run` of the compact model. Debian's
# python has torch; skipped when it has none.
. "$(dirname "$0")/lib.bash"

PY=/usr/bin/python3
if ! [ -x "$PY" ] || ! "$PY" -c 'import torch, numpy' 2>/dev/null; then
  echo "skip: $PY has no torch (or numpy): the PyTorch load of --dense is not run"
  finish
  exit $?
fi
{ cat "$S/mlp/mlp.slim"; printf '\ncompress mlp\n    prune(amount=0.9)\n'; } > mlp90.slim
cp "$S/mlp/mlp.safetensors" .
expect_ok "compress" "$SLIMC" compress mlp90.slim -o c.slim
expect_ok "compress --dense" "$SLIMC" compress mlp90.slim --dense -o d.slim
expect_ok "run the compact model" "$SLIMC" run c.slim --input "$S/mlp/input.npy" --output-dir o
"$PY" - "$S/mlp/input.npy" >check.txt 2>&1 <<'PY'
import json, struct, sys
import numpy as np
import torch

def read(path):
    """safetensors by hand (the format is simple; Debian has no safetensors module)"""
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    head = json.loads(b[8:8 + n])
    meta = head.pop("__metadata__", {})
    dt = {"F32": np.float32, "U8": np.uint8}
    out = {k: np.frombuffer(b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]],
                            dt[v["dtype"]]).reshape(v["shape"]) for k, v in head.items()}
    return out, meta

def decode(tensors, meta):
    """docs/formats.md: NAME.values f32 [nnz], NAME.mask u8, bit i at byte i/8, LSB first"""
    out = {k: v for k, v in tensors.items() if not k.endswith((".values", ".mask"))}
    for name, form in meta.items():
        fmt, shape = form.split(":")
        assert fmt == "sparse_bitmask", form
        shape = json.loads(shape)
        count = int(np.prod(shape))
        keep = np.unpackbits(tensors[name + ".mask"], bitorder="little")[:count].astype(bool)
        dense = np.zeros(count, np.float32)
        dense[keep] = tensors[name + ".values"]
        out[name] = dense.reshape(shape)
    return out

dense, dmeta = read("d.safetensors")
compact, cmeta = decode(*read("c.safetensors")), None
assert dmeta == {}, dmeta
assert sorted(dense) == sorted(compact), (sorted(dense), sorted(compact))
for k in dense:
    assert np.array_equal(dense[k].view(np.uint32), compact[k].view(np.uint32)), k
print("ok: --dense equals the compact file decoded, bit for bit")
zeros = 1 - np.count_nonzero(dense["fc1.weight"]) / dense["fc1.weight"].size
assert abs(zeros - 0.9) < 0.001, zeros
print("ok: fc1.weight is 90% zeros")

class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = (torch.nn.Linear(784, 512), torch.nn.Linear(512, 512),
                                        torch.nn.Linear(512, 10))
    def forward(self, x):
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))

m = MLP()
m.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in dense.items()}, strict=True)
for k, v in m.state_dict().items():
    assert np.array_equal(v.numpy(), dense[k]), k
print("ok: load_state_dict(strict=True) took every tensor")
x = torch.from_numpy(np.load(sys.argv[1]))
with torch.no_grad():
    y = m(x).numpy()
ref = np.load("o/output0.npy")
err = np.abs(y - ref).max()
assert np.allclose(y, ref, rtol=1e-5, atol=1e-6), err
print(f"ok: PyTorch's output matches slimc run of the compact model (max diff {err:.2e})")
print("all checks passed")
PY
rc=$?
cat check.txt
if [ $rc -eq 0 ] && grep -q '^all checks passed$' check.txt && [ "$(grep -c '^ok: ' check.txt)" -eq 4 ]; then
  ok "the --dense state_dict loads in PyTorch and equals the compact file"
else
  bad "the PyTorch check failed (exit $rc, see above)"
fi
finish
