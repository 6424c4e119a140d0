#!/usr/bin/env python3
"""Two slimc builds' int8 (quantizing the .onnx itself, and on ORT's QDQ file) against ONNX
Runtime int8, by the fastest run: on a loaded shared machine the medians move with the load
(bench/int8_ort.py), the minimum of many runs much less.

Each round times every configuration once (`slimc bench --runs N --threads 1`, its `min`;
ORT: the minimum of N runs, one thread); a cell is the median over the rounds of those
minima, a ratio the median of the rounds' ratios to ORT's minimum.

    python3 bench/int8_min_ab.py --slimc build/slimc --base build-base/slimc [--rounds 5]
                                 [--runs 150] [--models resnet18,mobilenet_v2]
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

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import quant_bench as Q  # noqa: E402  (ORT's quantize_static models)
import run as B  # noqa: E402  (bench/run.py: models, inputs, ONNX exports)


def slimc_min(exe, args, inp, runs):
    r = subprocess.run([exe, "bench"] + args + ["--input", "x=" + inp, "--threads", "1", "--runs",
                                                 str(runs)], capture_output=True, text=True)
    m = re.search(r"min ([0-9.]+), p50", r.stdout)
    if r.returncode or not m:
        raise RuntimeError(B.first_error(r.stderr + r.stdout))
    return float(m.group(1))


def ort_min(sess, feed, runs):
    best = 1e30
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run(None, feed)
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--slimc", default="build/slimc")
    ap.add_argument("--base", required=True, help="the other slimc build (e.g. main's)")
    ap.add_argument("--models", default="resnet18,mobilenet_v2")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=150)
    args = ap.parse_args()
    names = args.models.split(",")
    B.prepare([(n, 1) for n in names], os.path.abspath(args.slimc))
    workdir = tempfile.mkdtemp(prefix="slimc-int8min-")
    print("load average before: %.2f %.2f %.2f" % os.getloadavg())
    keys = ["base int8", "slimc int8", "base QDQ", "slimc QDQ", "ORT int8"]
    print("| model | " + " | ".join(keys) + " | " + " | ".join(k + " / ORT" for k in keys[:4])
          + " | slimc int8 / base | slimc QDQ / base |")
    print("|---|" + "---:|" * (len(keys) + 6))
    for name in names:
        inp = B.input_path(name, 1)
        qdq = Q.ort_models(name, 1, workdir)["ort int8"]
        own = [B.onnx_path(name, 1), "--quantize", "int8", "--calibrate", Q.calib_path(name, 1)]
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        sess = ort.InferenceSession(qdq, so, providers=["CPUExecutionProvider"])
        feed = {"x": np.load(inp)}
        ort_min(sess, feed, 20)
        cfg = {"base int8": (args.base, own), "slimc int8": (args.slimc, own),
               "base QDQ": (args.base, [qdq]), "slimc QDQ": (args.slimc, [qdq])}
        t = {k: [] for k in keys}
        for _ in range(args.rounds):
            for k, (exe, a) in cfg.items():
                t[k].append(slimc_min(exe, a, inp, args.runs))
            t["ORT int8"].append(ort_min(sess, feed, args.runs))

        def ratio(a, b):
            return "%.2f" % statistics.median(x / y for x, y in zip(t[a], t[b]))

        print("| %s b1 | " % name + " | ".join("%.3f" % statistics.median(t[k]) for k in keys) + " | "
              + " | ".join(ratio(k, "ORT int8") for k in keys[:4]) + " | %s | %s |"
              % (ratio("slimc int8", "base int8"), ratio("slimc QDQ", "base QDQ")))
    print("load average after: %.2f %.2f %.2f" % os.getloadavg())


if __name__ == "__main__":
    main()
