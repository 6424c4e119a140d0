#!/usr/bin/env python3
"""Checks channel removal (docs/pruning.md "Removing channels") on an imported ONNX model,
against ONNX Runtime running the dense model with the removed channels zeroed.

The model, made here with onnx.helper and seeded random weights:

  x[2, 3, 8, 8] -> A: Conv 3->8 3x3 pad 1 (bias) -> BatchNormalization -> Relu = h
  h -> D: Conv 8->8 3x3 pad 1, group 8 (depthwise, bias) -> Relu -> P: Conv 8->8 1x1 (no bias)
  s = Relu(h + P)                                            (the residual ties A and P)
  s -> C: Conv 8->6 1x1 (bias) -> Relu -> Flatten -> G: Gemm 384->10 (transB=1) -> y

Case 1, a model pruned elsewhere: A's output channels 1, 4, 6 and P's 1, 4 are zero in the
file; `slimc compress --passes 'prune(method=ln_structured, amount=0)'` must remove 1 and 4
(zero in both members of the residual) and keep 6 (P still makes it), and C's zero channels
0 and 3 (so Gemm loses 2 x 64 input features). Case 2: `prune(C, method=ln_structured,
amount=50%)` on the dense model: the 3 channels of C with the smallest L2 norm (numpy
here) leave C, and 192 input features leave the Gemm. The reference zeros each removed
channel's members (its conv weights and biases, the batch norm's scale and shift, the
depthwise conv's bias) in the dense ONNX model and runs ONNX Runtime.

Exit status 0: all agree; 1: a difference.
"""
import argparse
import json
import os
import struct
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

failures = 0


def fail(msg):
    global failures
    failures += 1
    print("FAIL: " + msg)


def weights(seed):
    r = np.random.default_rng(seed)
    f = lambda *s: r.standard_normal(s).astype(np.float32) * 0.5
    return {
        "A.w": f(8, 3, 3, 3), "A.b": f(8),
        "bn.scale": (0.5 + r.random(8)).astype(np.float32), "bn.bias": f(8),
        "bn.mean": f(8), "bn.var": (0.5 + r.random(8)).astype(np.float32),
        "D.w": f(8, 1, 3, 3), "D.b": f(8),
        "P.w": f(8, 8, 1, 1),
        "C.w": f(6, 8, 1, 1), "C.b": f(6),
        "G.w": f(10, 384) * 0.2, "G.b": f(10),
    }


def model(w):
    nodes = [
        helper.make_node("Conv", ["x", "A.w", "A.b"], ["a"], name="A", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["a", "bn.scale", "bn.bias", "bn.mean", "bn.var"],
                         ["an"], name="bn", epsilon=1e-5),
        helper.make_node("Relu", ["an"], ["h"], name="relu_h"),
        helper.make_node("Conv", ["h", "D.w", "D.b"], ["d"], name="D", pads=[1, 1, 1, 1], group=8),
        helper.make_node("Relu", ["d"], ["dr"], name="relu_d"),
        helper.make_node("Conv", ["dr", "P.w"], ["p"], name="P"),
        helper.make_node("Add", ["h", "p"], ["s0"], name="add"),
        helper.make_node("Relu", ["s0"], ["s"], name="relu_s"),
        helper.make_node("Conv", ["s", "C.w", "C.b"], ["c"], name="C"),
        helper.make_node("Relu", ["c"], ["cr"], name="relu_c"),
        helper.make_node("Flatten", ["cr"], ["f"], name="flatten", axis=1),
        helper.make_node("Gemm", ["f", "G.w", "G.b"], ["y"], name="G", transB=1),
    ]
    g = helper.make_graph(nodes, "chan",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])],
                          [numpy_helper.from_array(v, k) for k, v in w.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def ort_run(w, x):
    s = ort.InferenceSession(model(w).SerializeToString(), providers=["CPUExecutionProvider"])
    return s.run(None, {"x": x})[0]


def zero_members(w, res=(), c=()):
    """The dense model with the removed channels zeroed in every member."""
    z = {k: v.copy() for k, v in w.items()}
    for ch in res:  # the residual's class: A, the batch norm, D, P
        z["A.w"][ch] = 0
        z["A.b"][ch] = 0
        z["bn.scale"][ch] = 0
        z["bn.bias"][ch] = 0
        z["D.b"][ch] = 0
        z["P.w"][ch] = 0
    for ch in c:
        z["C.w"][ch] = 0
        z["C.b"][ch] = 0
    return z


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    return {k: t["shape"] for k, t in header.items() if k != "__metadata__"}


def check(exe, tmp, tag, w, step, res, c):
    path = os.path.join(tmp, tag + ".onnx")
    onnx.save(model(w), path)
    out = os.path.join(tmp, tag + ".slim")
    r = subprocess.run([exe, "compress", path, "--passes", step, "--dense", "-o", out], capture_output=True, text=True)
    if r.returncode != 0:
        fail("%s: slimc compress: %s" % (tag, r.stderr.strip()))
        return
    shapes = sorted(tuple(s) for s in read_safetensors(out.replace(".slim", ".safetensors")).values())
    nres, nc = 8 - len(res), 6 - len(c)
    want = [(nres, 3, 3, 3), (nres, 1, 3, 3), (nres, nres, 1, 1), (nc, nres, 1, 1), (10, nc * 64)]
    missing = [s for s in want if s not in shapes and (s[::-1] if len(s) == 2 else s) not in shapes]
    if missing:
        fail("%s: saved shapes %s lack %s" % (tag, shapes, missing))
    else:
        print("ok: %s: A, D, P keep %d channels, C %d, the Gemm %d inputs" % (tag, nres, nc, nc * 64))
    x = np.random.default_rng(9).standard_normal((2, 3, 8, 8)).astype(np.float32)
    np.save(os.path.join(tmp, "x.npy"), x)
    od = os.path.join(tmp, tag + "_out")
    r = subprocess.run([exe, "run", out, "--input", "x=" + os.path.join(tmp, "x.npy"), "--output-dir", od],
                       capture_output=True, text=True)
    if r.returncode != 0:
        fail("%s: slimc run: %s" % (tag, r.stderr.strip()))
        return
    got = np.load(os.path.join(od, os.listdir(od)[0]))
    ref = ort_run(zero_members(w, res, c), x)
    dense = ort_run(w, x)
    err, scale = float(np.max(np.abs(got - ref))), float(np.max(np.abs(ref)))
    if err <= 1e-4 * scale and float(np.max(np.abs(dense - ref))) > 1e-3 * scale:
        print("ok: %s: outputs agree with ONNX Runtime (max err %.3g, max %.3g)" % (tag, err, scale))
    else:
        fail("%s: max err %.3g vs ONNX Runtime (max %.3g)" % (tag, err, scale))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--slimc", required=True)
    ap.add_argument("--tmp", required=True)
    a = ap.parse_args()
    os.makedirs(a.tmp, exist_ok=True)
    # case 1: zeros from elsewhere
    w = weights(1)
    for ch in (1, 4, 6):
        w["A.w"][ch] = 0
    for ch in (1, 4):
        w["P.w"][ch] = 0
    for ch in (0, 3):
        w["C.w"][ch] = 0
    check(a.slimc, a.tmp, "elsewhere", w, "prune(method=ln_structured, amount=0)", (1, 4), (0, 3))
    # case 2: ln_structured on C
    w = weights(2)
    norms = np.sqrt((w["C.w"].astype(np.float64) ** 2).reshape(6, -1).sum(1))
    gone = sorted(np.argsort(norms, kind="stable")[:3].tolist())
    check(a.slimc, a.tmp, "ln_structured", w, "prune(C, method=ln_structured, amount=50%)", (), gone)
    print("all agree" if failures == 0 else "%d failures" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
