#!/usr/bin/env python3
"""The rnn op (issue 19): a 2-layer bidirectional LSTM (hidden 256, input 256, sequence 100,
batch 1, as onnx.helper writes it: LSTM -> Transpose/Reshape -> LSTM) on two slimc builds
(this one: one rnn op per layer; a peer, e.g. main, which unrolls the steps) and ONNX
Runtime.

    python3 bench/rnn_ab.py --slimc build/slimc --peer OTHER/slimc [--rounds 5] [--threads 1]

Compile time: `slimc bench --runs 1` wall time with an empty JIT cache (import, passes,
codegen, JIT). Run time: `slimc bench --runs R` (its median), ORT's median of R runs
(graph optimizations on, intra-op threads as --threads); rounds interleaved, medians over
rounds."""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto as TP, helper as oh, numpy_helper as nh


def make_model(path, T=100, I=256, H=256):
    rng = np.random.default_rng(0)

    def w(*s):
        return (rng.standard_normal(s) / np.sqrt(s[-1])).astype(np.float32)

    inits, nodes = [], []
    x = "x"
    for l, i in enumerate((I, 2 * H)):
        inits += [nh.from_array(w(2, 4 * H, i), f"W{l}"), nh.from_array(w(2, 4 * H, H), f"R{l}"),
                  nh.from_array(w(2, 8 * H) * 0.1, f"B{l}")]
        nodes.append(oh.make_node("LSTM", [x, f"W{l}", f"R{l}", f"B{l}"], [f"y{l}"],
                                  direction="bidirectional", hidden_size=H))
        nodes.append(oh.make_node("Transpose", [f"y{l}"], [f"t{l}"], perm=[0, 2, 1, 3]))
        nodes.append(oh.make_node("Reshape", [f"t{l}", "shp"], [f"h{l}"]))
        x = f"h{l}"
    inits.append(nh.from_array(np.array([T, 1, 2 * H], np.int64), "shp"))
    g = oh.make_graph(nodes, "bilstm2", [oh.make_tensor_value_info("x", TP.FLOAT, [T, 1, I])],
                      [oh.make_tensor_value_info(x, TP.FLOAT, [T, 1, 2 * H])], inits)
    m = oh.make_model(g, opset_imports=[oh.make_opsetid("", 14)])
    m.ir_version = 8
    onnx.save(m, path)


def slimc_run_ms(slimc, path, threads, runs, cache):
    env = dict(os.environ, SLIMC_CACHE_DIR=cache)
    r = subprocess.run([slimc, "bench", path, "--threads", str(threads), "--runs", str(runs),
                        "--warmup", "3"], text=True, capture_output=True, check=True, env=env)
    return float(re.search(r"([0-9.]+) ms", r.stdout).group(1))


def slimc_compile_s(slimc, path, threads, tmp):
    cache = tempfile.mkdtemp(dir=tmp)
    t0 = time.perf_counter()
    subprocess.run([slimc, "bench", path, "--threads", str(threads), "--runs", "1", "--warmup",
                    "0"], capture_output=True, check=True, env=dict(os.environ, SLIMC_CACHE_DIR=cache))
    dt = time.perf_counter() - t0
    shutil.rmtree(cache)
    return dt


def ort_ms(path, threads, runs):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    x = {"x": np.random.default_rng(1).standard_normal((100, 1, 256)).astype(np.float32)}
    for _ in range(3):
        s.run(None, x)
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        s.run(None, x)
        ts.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--slimc", required=True)
    ap.add_argument("--peer", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=20)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp()
    path = os.path.join(tmp, "bilstm2.onnx")
    make_model(path)
    caches = {k: tempfile.mkdtemp(dir=tmp) for k in ("slimc", "peer")}
    cells = {k: [] for k in ("slimc_compile", "peer_compile", "slimc", "peer", "ort")}
    for _ in range(a.rounds):
        cells["slimc_compile"].append(slimc_compile_s(a.slimc, path, a.threads, tmp))
        cells["peer_compile"].append(slimc_compile_s(a.peer, path, a.threads, tmp))
        cells["slimc"].append(slimc_run_ms(a.slimc, path, a.threads, a.runs, caches["slimc"]))
        cells["peer"].append(slimc_run_ms(a.peer, path, a.threads, a.runs, caches["peer"]))
        cells["ort"].append(ort_ms(path, a.threads, a.runs))
    med = {k: statistics.median(v) for k, v in cells.items()}
    print("rounds %d, threads %d, load %s" % (a.rounds, a.threads, os.getloadavg()))
    print("compile s: slimc %.2f  peer %.2f  (peer / slimc %.1fx)" %
          (med["slimc_compile"], med["peer_compile"], med["peer_compile"] / med["slimc_compile"]))
    print("run ms:    slimc %.2f  peer %.2f  ORT %.2f  (slimc / ORT %.2fx, slimc / peer %.2fx)" %
          (med["slimc"], med["peer"], med["ort"], med["slimc"] / med["ort"],
           med["slimc"] / med["peer"]))
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
