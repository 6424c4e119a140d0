#!/usr/bin/env python3
"""slimc int8 against ONNX Runtime int8 on the bench's ONNX exports (issue 20's int8 target).

For every bench model (the ONNX files bench/run.py exports), ONNX Runtime's own static int8
model is made with `quantize_static` (QDQ, per channel, u8 activations, s8 weights) from the
same calibration samples slimc gets, and five configurations are timed:

    slimc fp32          slimc on the fp32 .onnx
    slimc int8          slimc quantizing the fp32 .onnx itself with the default pipeline
                        (`--quantize int8 --calibrate CAL.npy`)
    slimc int8 (QDQ)    slimc running ORT's QDQ file
    ort fp32, ort int8  ONNX Runtime on the fp32 .onnx and on its QDQ file

at one thread (`--threads 1,2` adds two threads; ORT gets the same intra-op thread count).
Every configuration is timed once per round (--repeats rounds, interleaved), so a slow minute
of a shared machine hits all of them: a cell is the median over the rounds, a ratio the
median of the rounds' ratios. The cosine of each int8 output to ORT's fp32 output is printed
beside (issue 19: slimc's should be at least ORT int8's), as the mean and the minimum over
the benchmark input (the calibration sample) and --held-out inputs it was not calibrated
on: lenet's test digits, for the other models normal samples with the benchmark input's
mean and deviation (seeded). On one input the two int8 models' cosines differ by chance:
mobilenet_v2 with its random weights gave 0.9728 against 0.9793 on the calibration input,
but over 32 inputs slimc's mean is 0.9764 against 0.9756, ahead on 20 (the two use the same
scales and weight codes; ORT also rounds the residual adds' outputs to u8).

`--base OTHER_SLIMC` (a second build, e.g. main in build-base/) adds "base int8" and "base
int8 (QDQ)", timed in the same rounds, and the ratios of this build to it.

Run with the pip Python 3 that has onnxruntime, from the repository root:

    python3 bench/int8_ort.py [--slimc build/slimc] [--models resnet18:1,transformer:1]
                              [--threads 1,2] [--repeats 5] [--seconds 0.3]
                              [--base build-base/slimc]

Prints markdown tables; results and the command go to bench/RESULTS.md by hand.
"""

import argparse
import os
import re
import statistics
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import quant_bench as Q  # noqa: E402  (calibration samples, ORT's quantize_static models)
import run as B  # noqa: E402  (bench/run.py: models, inputs, ONNX exports)

CONFIGS = [("mlp", 1), ("mlp", 64), ("lenet", 64), ("resnet18", 1), ("mobilenet_v2", 1),
           ("transformer", 1)]
KEYS = ["slimc fp32", "slimc int8", "slimc int8 (QDQ)", "ort fp32", "ort int8"]
BASE_KEYS = ["base int8", "base int8 (QDQ)"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def slimc_args(key, name, batch, qdq):
    """(model file, extra arguments) of a slimc configuration ("base ..." as "slimc ...")."""
    key = key.replace("base ", "slimc ")
    if key == "slimc int8 (QDQ)":
        return qdq, []
    extra = ["--quantize", "int8", "--calibrate", Q.calib_path(name, batch)] if key == "slimc int8" else []
    return B.onnx_path(name, batch), extra


def slimc_time(exe, key, name, batch, qdq, threads, runs):
    model, extra = slimc_args(key, name, batch, qdq)
    r = B.sh([exe, "bench", model, "--runs", str(runs), "--threads", str(threads), "--input",
              "x=" + B.input_path(name, batch)] + extra)
    m = re.search(r"median ([0-9.eE+-]+) ms", r.stdout)
    if r.returncode or not m:
        raise RuntimeError(B.first_error(r.stderr + r.stdout))
    return float(m.group(1))


def slimc_output(exe, key, name, batch, qdq, workdir, x_path):
    model, extra = slimc_args(key, name, batch, qdq)
    d = tempfile.mkdtemp(prefix="out-", dir=workdir)
    r = B.sh([exe, "run", model, "--threads", "1", "--input", "x=" + x_path, "--output-dir", d] + extra)
    if r.returncode:
        raise RuntimeError(B.first_error(r.stderr + r.stdout))
    return np.load(os.path.join(d, sorted(f for f in os.listdir(d) if f.endswith(".npy"))[0]))


class OrtRunner:
    """One ORT session per (file, threads), kept across rounds."""

    def __init__(self, path, name, batch, threads):
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        self.feed = {"x": np.load(B.input_path(name, batch))}

    def time(self, runs):
        for _ in range(max(2, runs // 10)):
            self.s.run(None, self.feed)
        t = []
        for _ in range(runs):
            t0 = time.perf_counter()
            self.s.run(None, self.feed)
            t.append(time.perf_counter() - t0)
        return statistics.median(t) * 1e3

    def output(self, x_path):
        return self.s.run(None, {"x": np.load(x_path)})[0]


def accuracy_inputs(name, batch, held_out, workdir):
    """The benchmark input's path, then `held_out` inputs the calibration did not see."""
    x = np.load(B.input_path(name, batch))
    paths = [B.input_path(name, batch)]
    rng = np.random.default_rng(20261207)
    digits = np.load(os.path.join(ROOT, "samples/lenet/test_x.npy")) if name == "lenet" else None
    for i in range(held_out):
        if digits is not None and len(digits) >= batch:
            start = rng.integers(0, len(digits) - batch + 1)
            h = digits[start:start + batch].reshape(x.shape)
        else:
            h = rng.standard_normal(x.shape) * float(x.std()) + float(x.mean())
        paths.append(os.path.join(workdir, "%s_b%d_held_out%d.npy" % (name, batch, i)))
        np.save(paths[-1], h.astype(np.float32))
    return paths


def cosine(a, b):
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-30))


def measure(args, name, batch, threads, workdir, paths):
    runners = {}
    for k in KEYS[:3]:
        runners[k] = lambda runs, k=k: slimc_time(args.slimc, k, name, batch, paths["ort int8"],
                                                  threads, runs)
    for k in KEYS[3:]:
        o = OrtRunner(paths[k], name, batch, threads)
        runners[k] = o.time
    if args.base:
        for k in BASE_KEYS:
            runners[k] = lambda runs, k=k: slimc_time(args.base, k, name, batch, paths["ort int8"],
                                                      threads, runs)
    return Q.rounds(runners, args.seconds, args.repeats)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--slimc", default=os.path.join(ROOT, "build", "slimc"))
    ap.add_argument("--models", default=",".join("%s:%d" % c for c in CONFIGS))
    ap.add_argument("--threads", default="1", help="thread counts, comma-separated (e.g. 1,2)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=0.3)
    ap.add_argument("--held-out", type=int, default=15,
                    help="inputs besides the calibration sample that the cosines are taken over")
    ap.add_argument("--base", help="a second slimc (e.g. main's build) timed in the same rounds")
    args = ap.parse_args()
    args.slimc = os.path.abspath(args.slimc)
    if args.base:
        args.base = os.path.abspath(args.base)
    configs = [(m.split(":")[0], int(m.split(":")[1])) for m in args.models.split(",")]
    threads_list = [int(t) for t in args.threads.split(",")]
    B.prepare(configs, args.slimc)
    workdir = tempfile.mkdtemp(prefix="slimc-int8ort-")
    log("load average before: %.2f %.2f %.2f" % os.getloadavg())
    rows = []
    for name, batch in configs:
        log("%s b%d" % (name, batch))
        qp = Q.ort_models(name, batch, workdir)
        paths = {"ort fp32": qp["ort fp32"], "ort int8": qp["ort int8"]}
        # Cosine of each output to ORT's fp32 output, per accuracy input.
        cos = {}
        fp32, int8 = (OrtRunner(paths[k], name, batch, 1) for k in ("ort fp32", "ort int8"))
        for x_path in accuracy_inputs(name, batch, args.held_out, workdir):
            ref = fp32.output(x_path)
            cos.setdefault("ort int8", []).append(cosine(int8.output(x_path), ref))
            for k in ("slimc fp32", "slimc int8", "slimc int8 (QDQ)"):
                try:
                    out = slimc_output(args.slimc, k, name, batch, paths["ort int8"], workdir, x_path)
                    cos.setdefault(k, []).append(cosine(out, ref))
                except Exception as e:
                    log("  %s output: %s" % (k, str(e).splitlines()[0] if str(e) else e))
        for t in threads_list:
            rows.append((name, batch, t, measure(args, name, batch, t, workdir, paths), cos))
    log("load average after: %.2f %.2f %.2f" % os.getloadavg())

    def med(s, k):
        return "%.3f" % statistics.median(s[k]) if s.get(k) else "—"

    def ratio(s, a, b):
        if not s.get(a) or not s.get(b):
            return "—"
        return "%.2f" % statistics.median(x / y for x, y in zip(s[a], s[b]))

    print("Median ms of %d interleaved rounds; ratios are medians of the rounds' ratios." % args.repeats)
    print()
    print("| model | threads | " + " | ".join(KEYS) + " | slimc int8 / ORT int8 | slimc QDQ / ORT int8 "
          "| slimc fp32 / ORT fp32 | slimc int8 / slimc fp32 |")
    print("|---|---:|" + "---:|" * (len(KEYS) + 4))
    for name, batch, t, s, _ in rows:
        print("| %s b%d | %d | " % (name, batch, t) + " | ".join(med(s, k) for k in KEYS) + " | %s | %s | %s | %s |"
              % (ratio(s, "slimc int8", "ort int8"), ratio(s, "slimc int8 (QDQ)", "ort int8"),
                 ratio(s, "slimc fp32", "ort fp32"), ratio(s, "slimc int8", "slimc fp32")))
    if args.base:
        print()
        print("| model | threads | base int8 | base int8 (QDQ) | slimc int8 / base | slimc QDQ / base "
              "| base int8 / ORT int8 | base QDQ / ORT int8 |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for name, batch, t, s, _ in rows:
            print("| %s b%d | %d | %s | %s | %s | %s | %s | %s |"
                  % (name, batch, t, med(s, "base int8"), med(s, "base int8 (QDQ)"),
                     ratio(s, "slimc int8", "base int8"), ratio(s, "slimc int8 (QDQ)", "base int8 (QDQ)"),
                     ratio(s, "base int8", "ort int8"), ratio(s, "base int8 (QDQ)", "ort int8")))
    print()
    print("Cosine to ORT fp32, mean (min) over the calibration input and %d held-out inputs:"
          % args.held_out)
    print()
    print("| model | slimc fp32 | slimc int8 | slimc int8 (QDQ) | ORT int8 | slimc int8 ahead of ORT int8 |")
    print("|---|---:|---:|---:|---:|---:|")
    seen = set()
    for name, batch, _, _, cos in rows:
        if (name, batch) in seen:
            continue
        seen.add((name, batch))
        cells = ["%.6f (%.6f)" % (statistics.mean(cos[k]), min(cos[k])) if cos.get(k) else "—"
                 for k in ("slimc fp32", "slimc int8", "slimc int8 (QDQ)", "ort int8")]
        ahead = "—"
        if len(cos.get("slimc int8", [])) == len(cos["ort int8"]):
            ahead = "%d of %d" % (sum(a >= b for a, b in zip(cos["slimc int8"], cos["ort int8"])), len(cos["ort int8"]))
        print("| %s b%d | " % (name, batch) + " | ".join(cells) + " | %s |" % ahead)


if __name__ == "__main__":
    main()
