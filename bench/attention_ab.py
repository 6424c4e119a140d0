#!/usr/bin/env python3
"""The attention op (issue 20): two slimc builds side by side, and ONNX Runtime, on
exported transformers at several sequence lengths.

    python3 bench/attention_ab.py --slimc build/slimc --peer OTHER/slimc [--rounds 5]
                                  [--threads 1] [--runs 20] [--configs tf:128,bert:128,...]

Models (exported once with Debian's /usr/bin/python3 and torch, batch 1):
  tf:S     nn.TransformerEncoderLayer(256, 4, 1024, batch_first) as bench/export_onnx.py
           exports it (the bench's "transformer"), sequence S
  bert:S   bench/bert_dynamic.py's 6-layer MiniLM-shaped encoder (hidden 384, 12 heads),
           sequence S, fp32
  bertq:S  the same with --quantize int8-dynamic (slimc only)
Each round times every configuration once, interleaved (slimc: `slimc bench --runs R`,
its median; ORT: the median of R runs with graph optimizations on), so a slow minute of a
shared machine hits all alike; a cell is the median over the rounds.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEB_PY = "/usr/bin/python3"
sys.path.insert(0, HERE)
import bert_dynamic  # noqa: E402  (its EXPORT script)

EXPORT_TF = r'''
import sys, torch, torch.nn as nn
path, seq = sys.argv[1], int(sys.argv[2])
torch.manual_seed(0)
m = nn.TransformerEncoderLayer(256, 4, 1024, dropout=0.0, batch_first=True).eval()
x = torch.randn(1, seq, 256)
torch.onnx.export(m, (x,), path, input_names=["x"], output_names=["y"], opset_version=17,
                  do_constant_folding=True)
'''


def model_path(d, kind, seq):
    path = os.path.join(d, "%s_%d.onnx" % ("tf" if kind == "tf" else "bert", seq))
    if not os.path.exists(path):
        script = EXPORT_TF if kind == "tf" else bert_dynamic.EXPORT
        args = [DEB_PY, "-c", script, path, str(seq)] + ([] if kind == "tf" else ["1"])
        subprocess.run(args, check=True, capture_output=True)
    return path


def slimc_ms(slimc, path, threads, runs, quant):
    cmd = [slimc, "bench", path, "--threads", str(threads), "--runs", str(runs), "--warmup", "3"]
    if quant:
        cmd += ["--quantize", "int8-dynamic"]
    r = subprocess.run(cmd, text=True, capture_output=True, check=True)
    return float(re.search(r"([0-9.]+) ms", r.stdout).group(1))


def ort_ms(sess, feed, runs):
    for _ in range(3):
        sess.run(None, feed)
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        sess.run(None, feed)
        ts.append((time.perf_counter() - t) * 1e3)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--slimc", default=os.path.join(ROOT, "build/slimc"))
    ap.add_argument("--peer", required=True, help="the other slimc (main's build)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--configs", default="tf:128,tf:256,tf:512,bert:128,bert:512,bertq:128")
    ap.add_argument("--dir", default=os.path.join(ROOT, "bench/models/attention"))
    a = ap.parse_args()
    import onnxruntime as ort

    os.makedirs(a.dir, exist_ok=True)
    configs = []
    for c in a.configs.split(","):
        kind, seq = c.split(":")
        path = model_path(a.dir, "tf" if kind == "tf" else "bert", int(seq))
        so = ort.SessionOptions()
        so.intra_op_num_threads = a.threads
        so.inter_op_num_threads = 1
        sess = None if kind == "bertq" else ort.InferenceSession(
            path, so, providers=["CPUExecutionProvider"])
        feed = None
        if sess:
            i = sess.get_inputs()[0]
            feed = {i.name: np.random.default_rng(0).uniform(-1, 1, i.shape).astype(np.float32)}
        configs.append((c, path, kind == "bertq", sess, feed))
    cells = {c[0]: {"mine": [], "peer": [], "ort": []} for c in configs}
    for r in range(a.rounds):
        for name, path, quant, sess, feed in configs:
            order = [("mine", a.slimc), ("peer", a.peer)] if r % 2 == 0 else \
                [("peer", a.peer), ("mine", a.slimc)]
            for who, exe in order:
                cells[name][who].append(slimc_ms(exe, path, a.threads, a.runs, quant))
            if sess:
                cells[name]["ort"].append(ort_ms(sess, feed, a.runs))
        print("round %d done, load %.1f" % (r + 1, os.getloadavg()[0]), file=sys.stderr)
    print("| config | this branch (ms) | peer (ms) | this / peer | ORT (ms) | this / ORT | peer / ORT |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, *_ in configs:
        m = statistics.median(cells[name]["mine"])
        p = statistics.median(cells[name]["peer"])
        o = statistics.median(cells[name]["ort"]) if cells[name]["ort"] else float("nan")
        print("| %s | %.3f | %.3f | %.2f | %.3f | %.2f | %.2f |" % (name, m, p, m / p, o, m / o, p / o))


if __name__ == "__main__":
    main()
