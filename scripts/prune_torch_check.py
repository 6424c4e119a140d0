#!/usr/bin/python3
"""Checks slimc's prune pass against torch.nn.utils.prune on the weights of samples/lenet.

For each case it prunes the four layers (conv1, conv2, fc1, fc2) with PyTorch and with
`slimc compress MODEL --passes 'prune(...)' --dense -o OUT.slim`, reads slimc's pruned weights back
from OUT.safetensors, and compares which weights are zero. Where PyTorch's topk had to
choose among equal magnitudes (or norms) at the threshold, the positions are "tie
positions": a difference there is reported apart and is not a failure (docs/pruning.md,
"Ties"); any other difference is. With --accuracy it also measures the sample's test-set
accuracy dense and after global 90% pruning, by `slimc run` and by PyTorch.

Run with Debian's /usr/bin/python3 (it has torch): tests/cli/prune_torch.sh does. Exit status
0: every mask equal outside tie positions; 1: a difference; 2: torch is missing ("skip:").

  /usr/bin/python3 scripts/prune_torch_check.py --slimc build/slimc --tmp /tmp/x [--accuracy]
"""
import argparse
import json
import os
import struct
import subprocess
import sys

import numpy as np

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torch.nn.utils.prune as prune
except ImportError:
    print("skip: this python has no torch (%s)" % sys.executable)
    sys.exit(2)

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "..", "samples", "lenet")
LAYERS = ["conv1", "conv2", "fc1", "fc2"]


def read_safetensors(path):
    """{name: float32 array} of a safetensors file (F32 tensors only, which is all lenet has)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", (name, t["dtype"])
        b, e = t["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + b : 8 + n + e], dtype="<f4").reshape(t["shape"]).copy()
    return out


class Net(nn.Module):
    """samples/lenet/lenet.slim in PyTorch."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5)
        self.conv2 = nn.Conv2d(20, 50, 5)
        self.fc1 = nn.Linear(800, 500)
        self.fc2 = nn.Linear(500, 10)

    def forward(self, x):
        h = F.relu(F.max_pool2d(self.conv1(x), 2))
        h = F.relu(F.max_pool2d(self.conv2(h), 2))
        h = F.relu(self.fc1(torch.flatten(h, 1)))
        return F.log_softmax(self.fc2(h), dim=1)


def load_net(weights):
    net = Net()
    sd = {k: torch.from_numpy(v) for k, v in weights.items()}
    net.load_state_dict(sd)
    return net


def case_l1(amount):
    def f(net):
        for name in LAYERS:
            prune.l1_unstructured(getattr(net, name), "weight", amount=amount)
    return f


def case_global(amount):
    def f(net):
        params = [(getattr(net, n), "weight") for n in LAYERS]
        prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=amount)
    return f


def case_ln(amount, n, dim):
    def f(net):
        for name in LAYERS:
            prune.ln_structured(getattr(net, name), "weight", amount=amount, n=n, dim=dim)
    return f


CASES = [  # (label, slimc's pipeline, PyTorch's pruning, tie kind, amount)
    ("l1_unstructured 30%", "prune(method=l1_unstructured, amount=30%)", case_l1(0.3), "l1", 0.3),
    ("l1_unstructured 90%", "prune(amount=0.9)", case_l1(0.9), "l1", 0.9),
    ("l1_unstructured count 100", "prune(amount=100)", case_l1(100), "l1", 100),
    ("global L1 90%", "prune(amount=0.9, scope=global)", case_global(0.9), "global", 0.9),
    ("ln_structured L2 50% dim 0", "prune(method=ln_structured, n=2, amount=0.5, dim=0, remove=false)",
     case_ln(0.5, 2, 0), "ln", 0.5),
    ("ln_structured L1 45% dim 0", "prune(method=ln_structured, n=1, amount=0.45, remove=false)",
     case_ln(0.45, 1, 0), "ln", 0.45),
    ("ln_structured Linf 25% dim 1", "prune(method=ln_structured, n=inf, amount=25%, dim=1)",
     case_ln(0.25, float("inf"), 1), "ln", 0.25),
]


def slimc_prune(slimc, tmp, pipeline, tag):
    out = os.path.join(tmp, tag + ".slim")
    # --dense: the plain state_dict (without it, pruned weights are stored compactly)
    r = subprocess.run([slimc, "compress", os.path.join(SAMPLE, "lenet.slim"), "--passes", pipeline,
                        "--dense", "-o", out], capture_output=True, text=True)
    if r.returncode != 0:
        print("FAIL: slimc compress --passes '%s': %s" % (pipeline, r.stderr.strip()))
        return None, None
    w = read_safetensors(out[:-5] + ".safetensors")
    # slimc names the modules after their nodes (m3, m8...): find each layer by its shape
    shapes = {"conv1": (20, 1, 5, 5), "conv2": (50, 20, 5, 5), "fc1": (500, 800), "fc2": (10, 500)}
    by_shape = {tuple(v.shape): v for k, v in w.items() if k.endswith(".weight")}
    return {n: by_shape[s] for n, s in shapes.items()}, out


def tie_positions(scores, k, prune_smallest=True):
    """Positions of scores (flat) where a top-k selection of k had to choose among equal values
    at the threshold; empty when the threshold's equal values all fall on one side."""
    s = np.asarray(scores).ravel()
    if k <= 0 or k >= s.size:
        return np.zeros(s.size, bool)
    order = np.sort(s) if prune_smallest else -np.sort(-s)
    t = order[k - 1]
    eq = s == t
    inside = np.count_nonzero((s < t) if prune_smallest else (s > t))
    return eq if inside + np.count_nonzero(eq) > k else np.zeros(s.size, bool)


def global_ties(orig, amount):
    """{layer: bool array} of the tie positions of global L1 over the layers concatenated."""
    allw = np.concatenate([np.abs(orig[n + ".weight"]).ravel() for n in LAYERS])
    t = tie_positions(allw, round(amount * allw.size))
    out, at = {}, 0
    for n in LAYERS:
        w = orig[n + ".weight"]
        out[n] = t[at : at + w.size].reshape(w.shape)
        at += w.size
    return out


def compare(label, kind, amount, pipeline, prune_fn, orig, slimc, tmp, tag):
    net = load_net(orig)
    prune_fn(net)
    sw, _ = slimc_prune(slimc, tmp, pipeline, tag)
    if sw is None:
        return False
    ok = True
    for n in LAYERS:
        tw = getattr(net, n).weight.detach().numpy()
        mask = getattr(net, n).weight_mask.detach().numpy()
        w0 = orig[n + ".weight"]
        # where PyTorch had to choose among equal scores at the threshold
        if kind == "l1":
            ties = tie_positions(np.abs(w0), int(np.count_nonzero(mask == 0))).reshape(w0.shape)
        elif kind == "global":
            ties = global_ties(orig, amount)[n]
        else:  # ln: equal norms of slices, as torch computes them
            hook = next(iter(getattr(net, n)._forward_pre_hooks.values()))
            dims = tuple(d for d in range(w0.ndim) if d != hook.dim)
            norms = torch.norm(torch.from_numpy(w0), p=hook.n, dim=dims).numpy()
            kept = int(np.count_nonzero(mask.sum(axis=dims) != 0))
            shape = [1] * w0.ndim
            shape[hook.dim] = w0.shape[hook.dim]
            ties = np.broadcast_to(tie_positions(norms, kept, prune_smallest=False).reshape(shape),
                                   w0.shape)
        tz, sz = tw == 0, sw[n] == 0
        diff = tz != sz
        kept_same = np.array_equal(tw[~tz & ~sz].view(np.uint32), sw[n][~tz & ~sz].view(np.uint32))
        bad_pos = np.count_nonzero(diff & ~ties)
        tie_diff = np.count_nonzero(diff & ties)
        line = "%s: %s: torch zeros %d, slimc zeros %d of %d" % (label, n, np.count_nonzero(tz),
                                                                  np.count_nonzero(sz), tz.size)
        if np.count_nonzero(ties):
            line += "; %d tie positions, %d differ there" % (np.count_nonzero(ties), tie_diff)
        if bad_pos or not kept_same or np.count_nonzero(tz) != np.count_nonzero(sz):
            print("FAIL: " + line + "; %d positions differ outside ties%s" % (
                bad_pos, "" if kept_same else "; kept values differ"))
            ok = False
        else:
            print("ok: " + line + ": masks equal" + (" outside ties" if np.count_nonzero(ties) else ""))
    return ok


def accuracy(slimc, tmp, orig):
    x = np.load(os.path.join(SAMPLE, "test_x.npy"))
    y = np.load(os.path.join(SAMPLE, "test_y.npy"))

    def slimc_acc(model):
        outdir = os.path.join(tmp, "acc_" + os.path.basename(model))
        r = subprocess.run([slimc, "run", model, "--input", "x=" + os.path.join(SAMPLE, "test_x.npy"),
                            "--output-dir", outdir], capture_output=True, text=True)
        if r.returncode != 0:
            print("FAIL: slimc run %s: %s" % (model, r.stderr.strip()))
            return float("nan")
        return float(np.mean(np.load(os.path.join(outdir, "output0.npy")).argmax(1) == y))

    def torch_acc(net):
        with torch.no_grad():
            return float(np.mean(net(torch.from_numpy(x)).numpy().argmax(1) == y))

    _, pruned = slimc_prune(slimc, tmp, "prune(amount=0.9, scope=global)", "acc_global90")
    net = load_net(orig)
    dense_t = torch_acc(net)
    prune.global_unstructured([(getattr(net, n), "weight") for n in LAYERS],
                              pruning_method=prune.L1Unstructured, amount=0.9)
    print("accuracy on samples/lenet/test_x.npy (%d digits):" % len(y))
    print("  dense:            slimc %.2f%%, PyTorch %.2f%%" % (100 * slimc_acc(os.path.join(SAMPLE, "lenet.slim")),
                                                              100 * dense_t))
    print("  global L1 90%%:    slimc %.2f%%, PyTorch %.2f%%" % (100 * slimc_acc(pruned), 100 * torch_acc(net)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--slimc", required=True)
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--accuracy", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.tmp, exist_ok=True)
    orig = read_safetensors(os.path.join(SAMPLE, "lenet.safetensors"))
    ok = True
    for i, (label, pipeline, fn, kind, amount) in enumerate(CASES):
        ok = compare(label, kind, amount, pipeline, fn, orig, a.slimc, a.tmp, "case%d" % i) and ok
    if a.accuracy:
        accuracy(a.slimc, a.tmp, orig)
    print("all masks equal" if ok else "masks differ")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
