#!/usr/bin/python3
"""Pruning a model exported from PyTorch (issue 17), checked against torch.nn.utils.prune.

An nn.Embedding -> nn.Linear -> ReLU -> nn.Linear model over [batch, seq] token ids is
exported with dynamic axes: its linears are MatMul (+ Add) by constant [in, out] weights, the
transpose of PyTorch's. `slimc compress --dense` prunes it (l1_unstructured per layer, global
L1, L2 structured over output channels); the saved weights' zero masks must equal PyTorch's
on the same weights, and the compressed model, run by slimc, must give the pruned PyTorch
model's outputs (1e-5).

  prune_onnx_torch.py SLIMC DIR     exit status 0 when every check holds
"""
import json
import struct
import subprocess
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.utils.prune as tp

warnings.filterwarnings("ignore")
slimc, out = sys.argv[1], sys.argv[2]
torch.manual_seed(0)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(50, 16)
        self.fc1 = nn.Linear(16, 32)
        self.fc2 = nn.Linear(32, 8)

    def forward(self, ids):
        return self.fc2(torch.relu(self.fc1(self.emb(ids))))


net = Net().eval()
onnx_path = f"{out}/net.onnx"
torch.onnx.export(net, (torch.randint(0, 50, (2, 5)),), onnx_path, input_names=["ids"],
                  output_names=["y"], opset_version=17,
                  dynamic_axes={"ids": {0: "batch", 1: "seq"}, "y": {0: "batch", 1: "seq"}})
ids = np.random.default_rng(1).integers(0, 50, (3, 7)).astype(np.int64)
np.save(f"{out}/ids.npy", ids)


def load_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    head = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    t = {}
    for k, v in head.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        if v["dtype"] == "F32":
            t[k] = np.frombuffer(data[a:b], dtype=np.float32).reshape(v["shape"])
    return t


failed = 0


def check(name, cond, detail=""):
    global failed
    print(("ok: " if cond else "FAILED: ") + name + (f" ({detail})" if detail and not cond else ""))
    failed += 0 if cond else 1


cases = [
    ("l1 60% per layer", "prune(amount=0.6)",
     lambda m: [tp.l1_unstructured(l, "weight", amount=0.6) for l in (m.fc1, m.fc2)]),
    ("global L1 80%", "prune(amount=0.8, scope=global)",
     lambda m: tp.global_unstructured([(m.fc1, "weight"), (m.fc2, "weight")],
                                      pruning_method=tp.L1Unstructured, amount=0.8)),
    ("L2 structured 50% dim 0", "prune(method=ln_structured, n=2, amount=0.5, dim=0, remove=false)",
     lambda m: [tp.ln_structured(l, "weight", amount=0.5, n=2, dim=0) for l in (m.fc1, m.fc2)]),
]
# L2 structured with the default remove=true on fc1: its zero output channels leave the graph
# (fc2's matching input columns with them)
# (named by its module path, as PyTorch names it); the outputs are those of PyTorch's pruned
# model with the removed channels' biases zeroed too (docs/pruning.md, "What removal computes")
def l2_remove(m):
    tp.ln_structured(m.fc1, "weight", amount=0.5, n=2, dim=0)
    with torch.no_grad():
        m.fc1.bias[(m.fc1.weight == 0).all(dim=1)] = 0


cases.append(("L2 structured 50% dim 0, channels removed",
              "prune(fc1, method=ln_structured, n=2, amount=0.5, dim=0)", l2_remove))
for k, (name, passes, torch_prune) in enumerate(cases):
    stem = f"{out}/c{k}"
    r = subprocess.run([slimc, "compress", onnx_path, "--dense", "--passes", passes, "-o",
                        stem + ".slim"], capture_output=True, text=True)
    if r.returncode != 0:
        check(f"{name}: slimc compress", False, r.stderr.strip())
        continue
    saved = load_safetensors(stem + ".safetensors")
    ref = Net().eval()
    ref.load_state_dict(net.state_dict())
    torch_prune(ref)
    if "removed" in name:
        kept = sorted(v.shape for v in saved.values() if v.ndim == 2 and v.shape != (50, 16))
        check(f"{name}: fc1 keeps 16 of 32 outputs", kept == [(8, 16), (16, 16)], f"{kept}")
    for lname, layer in (("fc1", ref.fc1), ("fc2", ref.fc2)) if "removed" not in name else ():
        w = layer.weight.detach().numpy()
        # the saved linear of that shape (PyTorch's [out, in]; the writer transposes back)
        got = [v for v in saved.values() if v.shape == w.shape]
        if len(got) != 1:
            check(f"{name}: {lname} saved once as {list(w.shape)}", False,
                  f"{len(got)} tensors of that shape in {sorted(saved)}")
            continue
        same = np.array_equal(got[0] == 0, w == 0)
        check(f"{name}: {lname} mask equals PyTorch's ({int((w == 0).sum())} zeros)", same,
              f"slimc {int((got[0] == 0).sum())} zeros")
    r = subprocess.run([slimc, "run", stem + ".slim", "--input", f"ids={out}/ids.npy",
                        "--output-dir", stem + "_out"], capture_output=True, text=True)
    if r.returncode != 0:
        check(f"{name}: slimc run of the compressed model", False, r.stderr.strip())
        continue
    y = np.load(stem + "_out/y.npy")
    with torch.no_grad():
        want = ref(torch.from_numpy(ids)).numpy()
    ok = y.shape == want.shape and np.abs(y - want).max() <= 1e-5 * max(1.0, np.abs(want).max())
    check(f"{name}: the compressed model runs as PyTorch's pruned one", ok,
          f"max diff {np.abs(y - want).max() if y.shape == want.shape else y.shape}")
print("all checks hold" if failed == 0 else f"{failed} checks failed")
sys.exit(1 if failed else 0)
