#!/usr/bin/env python3
"""Quantization benchmark (issue 6): slimc fp32 / int8 / dynamic int8 / fp16 / bf16 / int4 /
int8 weight-only against ONNX Runtime's quantize_static and quantize_dynamic models and
PyTorch's quantize_dynamic, one thread, with the weight bytes of each format and lenet's
top-1 accuracy on the held-out digits.

Run with the pip Python 3 that has onnxruntime (`python3` on PATH), after bench/run.py has
made the full-size weights and ONNX files (it calls it for them if they are missing):

    python3 bench/quant_bench.py [--slimc build/slimc] [--models mlp:1,lenet:64] [--repeats 3]

Every configuration is timed once per round (--repeats rounds), so a slow minute of a
shared machine hits all of them alike: a cell is the median over the rounds, a ratio the
median of the rounds' ratios. Prints markdown tables; results and the command go to
bench/RESULTS.md by hand.
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
import onnxruntime as ort
from onnxruntime import quantization as oq

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import run as B  # noqa: E402  (bench/run.py: models, inputs, the PyTorch worker)

CONFIGS = [("mlp", 1), ("mlp", 64), ("lenet", 64), ("resnet18", 1), ("mobilenet_v2", 1),
           ("transformer", 1)]
PRE = "fold,bn_fold,fold,dce,cse,"
POST = ",dce,qchain,layout,fuse,memplan"
VARIANTS = [  # name, quantize(...) arguments (None: fp32), needs calibration
    ("fp32", None, False),
    ("int8", "int8, calibrate=\"{cal}\"", True),
    ("int8 dynamic", "int8, dynamic", False),
    ("int8 w-only", "int8, weight_only", False),
    ("int4 w-only", "int4", False),
    ("fp16", "fp16", False),
    ("bf16", "bf16", False),
]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def calib_path(name, batch):
    """Calibration samples: lenet's own digits; for the others the benchmark input."""
    if name == "lenet":
        return os.path.join(ROOT, "samples/lenet/calib.npy")
    return B.input_path(name, batch)


def passes(variant, name, batch):
    q = dict((v[0], v[1]) for v in VARIANTS)[variant]
    return None if q is None else PRE + "quantize(" + q.format(cal=calib_path(name, batch)) + ")" + POST


def slimc_time(exe, name, batch, variant, runs):
    cmd = [exe, "bench", B.MODELS[name][0], "--runs", str(runs), "--threads", "1",
           "--input", "x=" + B.input_path(name, batch)]
    p = passes(variant, name, batch)
    if p:
        cmd += ["--passes", p]
    r = B.sh(cmd)
    m = re.search(r"median ([0-9.eE+-]+) ms", r.stdout)
    if r.returncode or not m:
        raise RuntimeError(B.first_error(r.stderr + r.stdout))
    return float(m.group(1))


def slimc_bytes(exe, name, batch, variant):
    """(quantized layers' bytes, the same layers as f32) from inspect --quant."""
    p = passes(variant, name, batch)
    if not p:
        return None
    r = B.sh([exe, "inspect", B.MODELS[name][0], "--quant", "--passes", p])
    m = re.search(r"with their scales\) ([0-9.]+) (B|KiB|MiB) vs ([0-9.]+) (B|KiB|MiB) as f32", r.stdout)
    if not m:
        return None
    unit = {"B": 1, "KiB": 1024, "MiB": 1024 * 1024}
    return float(m.group(1)) * unit[m.group(2)], float(m.group(3)) * unit[m.group(4)]


def lenet_accuracy(exe, variant):
    out = tempfile.mkdtemp(prefix="slimc-qb-")
    cmd = [exe, "run", "samples/lenet/lenet.slim", "--input", "x=samples/lenet/test_x.npy",
           "--output-dir", out]
    p = passes(variant, "lenet", 64)
    if p:
        cmd += ["--passes", p]
    r = B.sh(cmd)
    if r.returncode:
        return None
    o = np.load(os.path.join(out, "output0.npy"))
    y = np.load(os.path.join(ROOT, "samples/lenet/test_y.npy"))
    return float((o.argmax(1) == y).mean() * 100)


class Reader(oq.CalibrationDataReader):
    def __init__(self, data, batch):
        self.items = [{"x": data[i:i + batch]} for i in range(0, len(data) - batch + 1, batch)] or [{"x": data}]
        self.it = iter(self.items)

    def get_next(self):
        return next(self.it, None)


def ort_models(name, batch, workdir):
    """ORT's own int8 models of the benchmark's ONNX file: QDQ static and dynamic."""
    src = B.onnx_path(name, batch)
    pre = os.path.join(workdir, "%s_b%d_pre.onnx" % (name, batch))
    try:
        oq.quant_pre_process(src, pre)
    except Exception:
        pre = src
    st = os.path.join(workdir, "%s_b%d_static.onnx" % (name, batch))
    dy = os.path.join(workdir, "%s_b%d_dynamic.onnx" % (name, batch))
    cal = np.load(calib_path(name, batch))
    if name == "lenet":
        cal = cal[: (len(cal) // batch) * batch] if len(cal) >= batch else cal
    oq.quantize_static(pre, st, Reader(cal, batch), quant_format=oq.QuantFormat.QDQ,
                       per_channel=True, activation_type=oq.QuantType.QUInt8,
                       weight_type=oq.QuantType.QInt8)
    oq.quantize_dynamic(pre, dy, weight_type=oq.QuantType.QInt8)
    return {"ort fp32": src, "ort int8": st, "ort int8 dynamic": dy}


def ort_time(path, name, batch, runs):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    feed = {"x": np.load(B.input_path(name, batch))}
    for _ in range(max(2, runs // 10)):
        s.run(None, feed)
    t = []
    for _ in range(runs):
        t0 = time.perf_counter()
        s.run(None, feed)
        t.append(time.perf_counter() - t0)
    return statistics.median(t) * 1e3


def rounds(runners, seconds, repeats):
    """Times every runner (runs -> median ms) once per round, repeats rounds, each with
    about `seconds` of runs (sized from a 3-run estimate); {name: [ms per round]}. A runner
    that fails is reported and dropped."""
    def failed(k, e):
        log("  %s: %s" % (k, str(e).splitlines()[0] if str(e) else e))

    runs, samples = {}, {}
    for k, fn in runners.items():
        try:
            est = fn(3)
            runs[k] = int(min(2000, max(5, seconds * 1e3 / max(est, 1e-3))))
            samples[k] = []
        except Exception as e:
            failed(k, e)
    for _ in range(repeats):
        for k in list(samples):
            try:
                samples[k].append(runners[k](runs[k]))
            except Exception as e:
                failed(k, e)
                del samples[k]
    return samples


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--slimc", default=os.path.join(ROOT, "build", "slimc"))
    ap.add_argument("--models", default=",".join("%s:%d" % c for c in CONFIGS))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=0.3)
    ap.add_argument("--variants", default=",".join(v[0] for v in VARIANTS),
                    help="slimc variants to time (comma-separated), e.g. fp32,int8")
    args = ap.parse_args()
    timed = set(args.variants.split(","))
    configs = [(m.split(":")[0], int(m.split(":")[1])) for m in args.models.split(",")]
    B.prepare(configs, args.slimc)
    torch = B.Torch()
    workdir = tempfile.mkdtemp(prefix="slimc-qbench-")
    rows = []
    for name, batch in configs:
        log("%s b%d" % (name, batch))
        ort_paths = ort_models(name, batch, workdir)
        runners = {}
        for v, _, _ in VARIANTS:
            if v not in timed:
                continue
            runners["slimc " + v] = (lambda v=v: lambda runs: slimc_time(args.slimc, name, batch, v, runs))()
        for k, p in ort_paths.items():
            runners[k] = (lambda p=p: lambda runs: ort_time(p, name, batch, runs))()
        runners["torch fp32"] = lambda runs: torch.time(name, batch, 1, runs)
        runners["torch int8 dynamic"] = lambda runs: torch.ask(1, {
            "cmd": "time", "model": name + "+qdyn", "input": B.input_path(name, batch),
            "runs": runs, "warmup": max(2, runs // 10)})["median_ms"]
        # Rounds: every runner once per round, so that a slow minute of the (shared) machine
        # hits all of them; a cell is the median over the rounds, a ratio the median of the
        # rounds' ratios.
        samples = rounds(runners, args.seconds, args.repeats)
        res = {k: statistics.median(v) for k, v in samples.items() if v}
        sizes = {v: slimc_bytes(args.slimc, name, batch, v) for v, _, _ in VARIANTS}
        rows.append((name, batch, res, sizes, samples))
    torch.close()

    def ms(x):
        return "%.3f" % x if x else "—"

    keys = ["slimc " + v for v, _, _ in VARIANTS] + ["ort fp32", "ort int8", "ort int8 dynamic",
                                                      "torch fp32", "torch int8 dynamic"]
    print("| model | " + " | ".join(keys) + " |")
    print("|---|" + "---:|" * len(keys))
    for name, batch, res, _, _ in rows:
        print("| %s b%d | " % (name, batch) + " | ".join(ms(res.get(k)) for k in keys) + " |")
    print()
    print("| model | slimc int8 / slimc fp32 | slimc int8 / ORT int8 | slimc int8 dyn / ORT int8 dyn | slimc int8 dyn / torch int8 dyn |")
    print("|---|---:|---:|---:|---:|")
    for name, batch, res, _, samples in rows:
        def ratio(a, b):
            if not samples.get(a) or not samples.get(b):
                return "—"
            return "%.2f" % statistics.median(x / y for x, y in zip(samples[a], samples[b]))
        print("| %s b%d | %s | %s | %s | %s |" % (name, batch, ratio("slimc int8", "slimc fp32"),
                                                 ratio("slimc int8", "ort int8"),
                                                 ratio("slimc int8 dynamic", "ort int8 dynamic"),
                                                 ratio("slimc int8 dynamic", "torch int8 dynamic")))
    print()
    print("| model | " + " | ".join(v for v, _, _ in VARIANTS[1:]) + " |")
    print("|---|" + "---:|" * (len(VARIANTS) - 1))
    for name, batch, _, sizes, _ in rows:
        cells = []
        for v, _, _ in VARIANTS[1:]:
            s = sizes.get(v)
            cells.append("%.2fx (%.0f KiB)" % (s[1] / s[0], s[0] / 1024) if s else "—")
        print("| %s b%d | " % (name, batch) + " | ".join(cells) + " |")
    if any(n == "lenet" for n, _ in configs):
        print()
        print("| lenet top-1 (450 held-out digits) | " + " | ".join(v for v, _, _ in VARIANTS) + " |")
        print("|---|" + "---:|" * len(VARIANTS))
        print("| slimc | " + " | ".join("%.2f%%" % a if a is not None else "—"
                                        for a in (lenet_accuracy(args.slimc, v) for v, _, _ in VARIANTS)) + " |")


if __name__ == "__main__":
    main()
