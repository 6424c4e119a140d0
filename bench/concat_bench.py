#!/usr/bin/env python3
"""Int8 through concats (qchain, docs/quantization.md "Int8 chains"): SqueezeNet 1.1, whose
fire modules concat two conv branches, in slimc fp32, int8 without and with qchain, and
slimc running ONNX Runtime's int8 file, against ONNX Runtime fp32 and its quantize_static
int8 (QDQ, per channel, u8 activations), one thread, batch 1.

Run with the pip Python 3 that has onnxruntime (`python3` on PATH); the model is exported
from torchvision (random weights, seed 0) by Debian's /usr/bin/python3:

    python3 bench/concat_bench.py [--slimc build/slimc] [--repeats 9] [--seconds 0.25]

It checks that the chained int8 output is bit for bit the unchained one and prints how far
slimc's and ONNX Runtime's int8 outputs are from the fp32 output. Every configuration is
timed once per round; a cell is the median over the rounds, a ratio the median of the
rounds' ratios.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import quant_bench as Q  # noqa: E402  (Reader, ort_time's session settings)

EXPORT = r"""
import sys, numpy as np, torch, torchvision
torch.manual_seed(0)
m = torchvision.models.squeezenet1_1(weights=None).eval()
x = torch.randn(1, 3, 224, 224)
torch.onnx.export(m, x, sys.argv[1] + "/squeezenet.onnx", input_names=["x"],
                  output_names=["y"], opset_version=13)
np.save(sys.argv[1] + "/x.npy", x.numpy())
"""
PRE = "fold,bn_fold,fold,dce,cse"
POST = "layout,fuse,memplan"


def slimc_variants(model, qdq, x):
    """name -> (model file, extra arguments)"""
    q = 'quantize(int8, calibrate="%s"),dce' % x
    return {"slimc fp32": (model, []),
            "slimc int8 (no qchain)": (model, ["--passes", ",".join([PRE, q, POST])]),
            "slimc int8": (model, ["--passes", ",".join([PRE, q, "qchain", POST])]),
            "slimc on ORT's int8 file": (qdq, [])}


def slimc_time(exe, variant, x, runs):
    model, extra = variant
    r = subprocess.run([exe, "bench", model, "--runs", str(runs), "--threads", "1", "--input",
                        "x=" + x] + extra, text=True, capture_output=True)
    m = re.search(r"median ([0-9.eE+-]+) ms", r.stdout)
    if r.returncode or not m:
        raise RuntimeError(r.stderr.strip() or r.stdout.strip())
    return float(m.group(1))


def slimc_out(exe, variant, x, out):
    model, extra = variant
    r = subprocess.run([exe, "run", model, "--input", "x=" + x, "--output-dir", out] + extra,
                       text=True, capture_output=True)
    if r.returncode:
        raise RuntimeError(r.stderr.strip())
    return np.load(os.path.join(out, "y.npy"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--slimc", default=os.path.join(ROOT, "build", "slimc"))
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--seconds", type=float, default=0.25)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="slimc-concat-")
    subprocess.run(["/usr/bin/python3", "-c", EXPORT, work], check=True)
    model, x = os.path.join(work, "squeezenet.onnx"), os.path.join(work, "x.npy")
    feed = {"x": np.load(x)}
    st = os.path.join(work, "squeezenet_int8.onnx")
    pre = os.path.join(work, "squeezenet_pre.onnx")
    Q.oq.quant_pre_process(model, pre)
    Q.oq.quantize_static(pre, st, Q.Reader(feed["x"], 1), quant_format=Q.oq.QuantFormat.QDQ,
                         per_channel=True, activation_type=Q.oq.QuantType.QUInt8,
                         weight_type=Q.oq.QuantType.QInt8)

    variants = slimc_variants(model, st, x)
    outs = {k: slimc_out(args.slimc, v, x, os.path.join(work, "out%d" % i))
            for i, (k, v) in enumerate(variants.items())}
    sessions = {}
    for k, p in (("ort fp32", model), ("ort int8", st)):
        so = Q.ort.SessionOptions()
        so.intra_op_num_threads = so.inter_op_num_threads = 1
        so.execution_mode = Q.ort.ExecutionMode.ORT_SEQUENTIAL
        sessions[k] = Q.ort.InferenceSession(p, so, providers=["CPUExecutionProvider"])
        outs[k] = sessions[k].run(None, feed)[0]
    same = np.array_equal(outs["slimc int8"], outs["slimc int8 (no qchain)"])
    ref = outs["ort fp32"]

    def rel(a):
        return float(np.linalg.norm(a - ref) / np.linalg.norm(ref))

    def ort_time(k, runs):
        t = []
        for _ in range(runs):
            t0 = time.perf_counter()
            sessions[k].run(None, feed)
            t.append(time.perf_counter() - t0)
        return statistics.median(t) * 1e3

    runners = {k: (lambda v=v: lambda runs: slimc_time(args.slimc, v, x, runs))()
               for k, v in variants.items()}
    for k in sessions:
        runners[k] = (lambda k=k: lambda runs: ort_time(k, runs))()
    runs = {k: int(min(2000, max(5, args.seconds * 1e3 / max(fn(3), 1e-3))))
            for k, fn in runners.items()}
    samples = {k: [] for k in runners}
    for _ in range(args.repeats):
        for k, fn in runners.items():
            samples[k].append(fn(runs[k]))

    def ratio(a, b):
        return statistics.median(p / q for p, q in zip(samples[a], samples[b]))

    print("| squeezenet1_1 b1 | median ms | / slimc fp32 | / ORT int8 | rel. error vs fp32 |")
    print("|---|---:|---:|---:|---:|")
    for k in runners:
        print("| %s | %.3f | %.2f | %.2f | %.4f |" % (
            k, statistics.median(samples[k]), ratio(k, "slimc fp32"), ratio(k, "ort int8"),
            rel(outs[k])))
    print()
    print("chained int8 output == unchained: %s" % same)
    print("slimc on ORT's int8 file vs ORT int8: %.4f relative" % float(
        np.linalg.norm(outs["slimc on ORT's int8 file"] - outs["ort int8"]) /
        np.linalg.norm(outs["ort int8"])))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
