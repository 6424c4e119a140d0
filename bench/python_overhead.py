#!/usr/bin/env python3
"""The Python package's call overhead (issue 22's target): m(x) on a sample at batch 1,
against the same C calls made through ctypes alone (slimc_exec_run_into, the call m(x)
makes, and slimc_exec_run, which allocates the outputs), the C API's own timing of the
same runs (m.bench, the statistics of `slimc bench`), the slimc CLI's `slimc bench --json`,
and onnxruntime.InferenceSession.run on the same model in the same process (one thread
each). Each row is the median of single timed calls; --repeat R measures the whole table
R times, in turn and in reverse order every other pass, and prints each row's median over
the passes (and every pass's value).

    PYTHONPATH=python SLIMC_LIBRARY=build/libslimc.so SLIMC_CACHE_DIR=build/cache \\
        python3 bench/python_overhead.py [--model mlp] [--seconds 2] [--repeat 1]

The ONNX file is bench/models/MODEL_b1.onnx (made by `/usr/bin/python3 bench/export_onnx.py
mlp:1`, the samples' weights); without it, or without onnxruntime, that row is left out."""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

import slimc

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def per_call_us(fn, seconds):
    """The median time of one call in microseconds, each call timed on its own (as
    slimc bench's p50 is), so that a loaded machine's stalls do not decide it."""
    for _ in range(200):
        fn()
    clock, times = time.perf_counter, []
    end = clock() + seconds
    while clock() < end or len(times) < 1000:
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return float(np.median(times)) * 1e6


def rows_to_measure(a, slim, x, m, mo, sess):
    """[(name, function returning microseconds)], one per row."""
    from slimc._lib import lib, Tensor
    m(x)
    m(x)  # the plan for x's shape is made: m._in and m._into are filled in
    ctx, ex, t_in, t_into = m._ctx, m._exec, m._in, m._into
    keep = np.empty_like(m(x))  # an output buffer for the bare calls, reused
    t_out = (Tensor * 1)()

    def raw_into():
        m._into_t[0].data = keep.ctypes.data  # m(x) points it at its own fresh arrays
        return per_call_us(lambda: lib.slimc_exec_run_into(ctx, ex, t_in, 1, t_into, 1),
                           a.seconds)

    def raw_run():
        def call():
            lib.slimc_exec_run(ctx, ex, t_in, 1, t_out, 1)
            lib.slimc_free(t_out[0].data)
        return per_call_us(call, a.seconds)

    runs = max(1000, int(a.seconds / 60e-6))

    def c_bench():
        us = m.bench(x, runs=runs, warmup=100)["p50_ms"] * 1e3
        m(x)
        m(x)  # bench filled m._in: make the plan again
        return us

    def cli_bench():
        with tempfile.TemporaryDirectory() as d:
            np.save(os.path.join(d, "x.npy"), x)
            out = os.path.join(d, "b.json")
            subprocess.run([a.slimc, "bench", slim, "--input", "x=" + os.path.join(d, "x.npy"),
                            "--runs", str(runs), "--warmup", "100", "--threads", "1",
                            "--json", out], check=True, capture_output=True)
            with open(out) as f:
                j = json.load(f)
        return j.get("latency_ms", j)["p50"] * 1e3

    rows = [("slimc python m(x), .slim", lambda: per_call_us(lambda: m(x), a.seconds)),
            ("ctypes slimc_exec_run_into alone, .slim", raw_into),
            ("ctypes slimc_exec_run alone, .slim", raw_run),
            ("slimc C API bench p50 (in process), .slim", c_bench)]
    if os.path.exists(a.slimc):
        rows.append(("slimc bench CLI p50 (another process), .slim", cli_bench))
    if mo is not None:
        rows.append(("slimc python m(x), ONNX", lambda: per_call_us(lambda: mo(x), a.seconds)))
    if sess is not None:
        import onnxruntime as ort
        feed = {sess.get_inputs()[0].name: x}
        rows.append(("onnxruntime InferenceSession.run, ONNX (%s)" % ort.__version__,
                     lambda: per_call_us(lambda: sess.run(None, feed), a.seconds)))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="mlp")
    ap.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    ap.add_argument("--repeat", type=int, default=1, help="passes over the table")
    ap.add_argument("--slimc", default=os.path.join(ROOT, "build", "slimc"), help="the CLI")
    a = ap.parse_args()
    slim = os.path.join(ROOT, "samples", a.model, a.model + ".slim")
    onnx_path = os.path.join(HERE, "models", "%s_b1.onnx" % a.model)
    x = np.load(os.path.join(ROOT, "samples", a.model, "input.npy"))[:1].copy()
    m = slimc.compile(slim, threads=1)
    mo = sess = None
    if os.path.exists(onnx_path):
        mo = slimc.compile(onnx_path, threads=1)
        try:
            import onnxruntime as ort
        except ImportError:
            print("note: onnxruntime is not importable: its row is left out", file=sys.stderr)
        else:
            so = ort.SessionOptions()
            so.intra_op_num_threads = 1
            so.inter_op_num_threads = 1
            sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    else:
        print("note: %s not found (/usr/bin/python3 bench/export_onnx.py %s:1): the ONNX rows "
              "are left out" % (onnx_path, a.model), file=sys.stderr)
    rows = rows_to_measure(a, slim, x, m, mo, sess)
    passes = []
    for r in range(max(1, a.repeat)):  # the rows in turn, the order reversed every other pass
        order = range(len(rows)) if r % 2 == 0 else range(len(rows) - 1, -1, -1)
        got = {k: rows[k][1]() for k in order}
        passes.append([got[k] for k in range(len(rows))])
    print("%s, batch 1, 1 thread; numpy %s, slimc %s; median of %d pass%s" % (
        a.model, np.__version__, slimc.__version__, len(passes), "" if len(passes) == 1 else "es"))
    for k, (name, _) in enumerate(rows):
        us = [p[k] for p in passes]
        print("  %-52s %8.2f us   (%s)" % (name, float(np.median(us)),
                                           " ".join("%.1f" % u for u in us)))


if __name__ == "__main__":
    main()
