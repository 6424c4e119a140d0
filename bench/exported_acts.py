#!/usr/bin/env python3
"""Exported activations and LayerNorm (issue 20, the act and lnorm passes): models whose
ONNX export spells them as arithmetic, run by slimc with the default pipeline, by slimc with
the default pipeline less act and lnorm (what ran before them), and by ONNX Runtime, one
thread, batch 1:

  mobilenet_v3_small  torchvision's (random weights, seed 0), opset 13: Hardswish as
                      HardSigmoid + Mul, the SE blocks' Hardsigmoid, ReLU
  yolo_silu           a YOLO-style backbone (Conv-BN-SiLU, 7 stages to 1/32, 320x320),
                      opset 13: SiLU as x * Sigmoid(x)
  mbv2_clip           torchvision's mobilenet_v2 (random weights), opset 13: ReLU6 as Clip
  encoder_ln          4 TransformerEncoderLayers (d 256, 4 heads, ff 1024, seq 128),
                      opset 14: LayerNorm as ReduceMean ... Add

Run with the pip Python 3 that has onnxruntime (`python3` on PATH); the models are exported
by Debian's /usr/bin/python3 (torch, torchvision) into bench/models/ when missing:

    python3 bench/exported_acts.py [--slimc build/slimc] [--rounds 5] [--runs 30]
                                   [--base OTHER/slimc] [--models a,b,...]

Each configuration is timed once per round (`slimc bench --runs N`, ORT's median of N runs);
a cell is the median over rounds, a ratio the median of per-round ratios. --base: a second
slimc build (main's, for an A/B) with the default pipeline takes the place of the column
without act/lnorm; the two builds alternate which runs first from round to round.
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
MODELS = os.path.join(HERE, "models")
OLD_DEFAULT = "qdq,fold,bn_fold,fold,dce,cse,linearize,gelu,place,qchain,layout,sparse,fuse,dce,memplan"

EXPORT = r'''
import sys, torch, torch.nn as nn, numpy as np, torchvision
torch.manual_seed(0)
name, path, xpath = sys.argv[1:4]
def cbs(i, o, s):
    return nn.Sequential(nn.Conv2d(i, o, 3, s, 1, bias=False), nn.BatchNorm2d(o), nn.SiLU())
if name == "mobilenet_v3_small":
    m, shape, opset = torchvision.models.mobilenet_v3_small(), (1, 3, 224, 224), 13
elif name == "mbv2_clip":
    m, shape, opset = torchvision.models.mobilenet_v2(), (1, 3, 224, 224), 13
elif name == "yolo_silu":
    ch = [3, 16, 32, 64, 64, 128, 128, 256]
    m = nn.Sequential(*[cbs(ch[i], ch[i + 1], 2 if i in (0, 1, 2, 4, 6) else 1) for i in range(7)])
    shape, opset = (1, 3, 320, 320), 13
else:
    layer = nn.TransformerEncoderLayer(256, 4, 1024, dropout=0.0, batch_first=True)
    m, shape, opset = nn.TransformerEncoder(layer, 4, enable_nested_tensor=False), (1, 128, 256), 14
m.eval()
for mod in m.modules():
    if isinstance(mod, nn.BatchNorm2d):
        mod.running_mean.uniform_(-0.1, 0.1); mod.running_var.uniform_(0.5, 1.5)
x = torch.randn(*shape)
np.save(xpath, x.numpy().astype("<f4"), allow_pickle=False)
torch.onnx.export(m, (x,), path, input_names=["x"], output_names=["y"], opset_version=opset,
                  do_constant_folding=True)
'''

NAMES = ["mobilenet_v3_small", "yolo_silu", "mbv2_clip", "encoder_ln"]


def paths(name):
    return (os.path.join(MODELS, "acts_%s.onnx" % name),
            os.path.join(MODELS, "acts_%s_x.npy" % name))


def export(name):
    p, x = paths(name)
    if not (os.path.exists(p) and os.path.exists(x)):
        os.makedirs(MODELS, exist_ok=True)
        subprocess.run(["/usr/bin/python3", "-c", EXPORT, name, p, x], check=True,
                       capture_output=True)


def slimc_ms(exe, name, runs, passes):
    p, x = paths(name)
    cmd = [exe, "bench", p, "--runs", str(runs), "--threads", "1", "--input", "x=" + x]
    if passes:
        cmd += ["--passes", passes]
    r = subprocess.run(cmd, cwd=ROOT, text=True, capture_output=True)
    m = re.search(r"median ([0-9.eE+-]+) ms", r.stdout)
    if r.returncode or not m:
        raise RuntimeError("%s: %s" % (" ".join(cmd), (r.stderr or r.stdout).strip()[-400:]))
    return float(m.group(1))


def ort_session(name):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(paths(name)[0], so, providers=["CPUExecutionProvider"])


def ort_ms(sess, name, runs):
    feed = {"x": np.load(paths(name)[1])}
    for _ in range(3):
        sess.run(None, feed)
    t = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run(None, feed)
        t.append(time.perf_counter() - t0)
    return statistics.median(t) * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--slimc", default=os.path.join(ROOT, "build", "slimc"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--models", default=",".join(NAMES))
    ap.add_argument("--base", help="another slimc build, timed in place of 'without act/lnorm'")
    a = ap.parse_args()
    names = a.models.split(",")
    for n in names:
        export(n)
    sess = {n: ort_session(n) for n in names}
    res = {n: {"new": [], "old": [], "ort": []} for n in names}
    load0 = os.getloadavg()[0]
    for r in range(a.rounds):
        for n in names:
            jobs = [("new", a.slimc, None),
                    ("old", a.base, None) if a.base else ("old", a.slimc, OLD_DEFAULT)]
            for key, exe, passes in jobs if r % 2 == 0 or not a.base else jobs[::-1]:
                res[n][key].append(slimc_ms(exe, n, a.runs, passes))
            res[n]["ort"].append(ort_ms(sess[n], n, a.runs))
        print("round %d done, load %.1f" % (r + 1, os.getloadavg()[0]), file=sys.stderr)
    med = statistics.median
    old, short = ("base", "base") if a.base else ("without act/lnorm", "without")
    print("| model | slimc ms | slimc %s ms | ORT ms | slimc / %s | slimc / ORT | %s / ORT |"
          % (old, short, short))
    print("|---|---:|---:|---:|---:|---:|---:|")
    for n in names:
        v = res[n]
        ratio = lambda p, q: med([x / y for x, y in zip(v[p], v[q])])  # noqa: E731
        print("| %s | %.3f | %.3f | %.3f | %.2f | %.2f | %.2f |" % (
            n, med(v["new"]), med(v["old"]), med(v["ort"]), ratio("new", "old"),
            ratio("new", "ort"), ratio("old", "ort")))
    print("\nload average (1 min) before / after: %.1f / %.1f" % (load0, os.getloadavg()[0]))


if __name__ == "__main__":
    main()
