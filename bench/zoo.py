#!/usr/bin/env python3
"""torchvision's model zoo as a user exports it (random weights, seed 0, opset 17, a dynamic
batch axis), run by slimc and checked against ONNX Runtime (issues 19 and 20: real exported
models run as shipped, match ORT, and are not much slower).

For each model: `slimc run` at batch 1 and 2 (the same file: the batch stays symbolic)
against ORT's output (max |slimc - ORT| / max |ORT| and the cosine); with --int8, slimc's
static int8 (`--quantize int8 --calibrate`, calibrated on the batch-2 input) against ORT's
fp32 output (the cosine); with --time, `slimc bench` and ORT at one thread, batch 1, in
interleaved rounds (the median of per-round ratios).

Run with the pip Python 3 that has onnxruntime (`python3` on PATH); the models are exported
by Debian's /usr/bin/python3 (torch, torchvision) into bench/models/ when missing:

    python3 bench/zoo.py [--slimc build/slimc] [--models a,b,...] [--int8]
                         [--time] [--rounds 5] [--runs 20]

Exit status 1 when a model fails to run or differs from ORT by more than 1e-4 (relative to
its largest output). A classifier whose head torchvision initializes to zero (vit_b_16) gets
a random head, so its output is not all zeros.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODELS = os.path.join(HERE, "models")

EXPORT = r'''
import sys, torch, numpy as np, torchvision.models as tvm
import torchvision.models.segmentation as seg
torch.manual_seed(0)
name, path, xpath = sys.argv[1:4]
size = 299 if name == "inception_v3" else 224
if name.startswith("seg_"):
    m = getattr(seg, name[4:])(weights=None, weights_backbone=None, aux_loss=None)
else:
    kw = {"aux_logits": False, "init_weights": True} if name in ("googlenet", "inception_v3") else {}
    m = getattr(tvm, name)(weights=None, **kw)
if name == "vit_b_16":
    torch.nn.init.normal_(m.heads.head.weight, std=0.02)
m.eval()
class Out(torch.nn.Module):  # a segmentation model's dict -> its "out"
    def __init__(self, m):
        super().__init__()
        self.m = m
    def forward(self, x):
        y = self.m(x)
        return y["out"] if isinstance(y, dict) else y
x = torch.randn(1, 3, size, size)
np.save(xpath, x.numpy().astype("<f4"), allow_pickle=False)
torch.onnx.export(Out(m), (x,), path, input_names=["x"], output_names=["y"], opset_version=17,
                  dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
'''

NAMES = ["shufflenet_v2_x1_0", "googlenet", "densenet121", "regnet_y_400mf", "regnet_x_400mf",
         "convnext_tiny", "vit_b_16", "swin_t", "maxvit_t", "efficientnet_b0",
         "efficientnet_v2_s", "mnasnet1_0", "inception_v3", "resnext50_32x4d", "wide_resnet50_2",
         "squeezenet1_0", "alexnet", "mobilenet_v3_large", "seg_lraspp_mobilenet_v3_large",
         "seg_deeplabv3_mobilenet_v3_large"]


def paths(name):
    return (os.path.join(MODELS, "zoo_%s.onnx" % name),
            os.path.join(MODELS, "zoo_%s_x.npy" % name))


def export(name):
    p, x = paths(name)
    if os.path.exists(p) and os.path.exists(x):
        return None
    os.makedirs(MODELS, exist_ok=True)
    r = subprocess.run(["/usr/bin/python3", "-c", EXPORT, name, p, x], capture_output=True,
                       text=True)
    return None if r.returncode == 0 else "export failed: " + r.stderr.strip()[-300:]


def ort_session(name, threads=1):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(paths(name)[0], so, providers=["CPUExecutionProvider"])


def slimc_run(exe, name, x, tmp, extra=()):
    """slimc's output for input x (batch taken from x), or the error text."""
    xp = os.path.join(tmp, "x.npy")
    np.save(xp, x)
    out = os.path.join(tmp, "o")
    shutil.rmtree(out, ignore_errors=True)
    cmd = [exe, "run", paths(name)[0], "--input", "x=" + xp, "--output-dir", out, *extra]
    r = subprocess.run(cmd, text=True, capture_output=True)
    if r.returncode:
        return None, r.stderr.strip()[-400:]
    return np.load(os.path.join(out, "y.npy")), None


def compare(y, ref):
    err = float(np.abs(y - ref).max() / max(np.abs(ref).max(), 1e-30))
    cos = float((y * ref).sum() / (np.linalg.norm(y) * np.linalg.norm(ref) + 1e-30))
    return err, cos


def bench_ms(exe, name, runs, extra=()):
    p, x = paths(name)
    cmd = [exe, "bench", p, "--runs", str(runs), "--threads", "1", "--input", "x=" + x, *extra]
    r = subprocess.run(cmd, text=True, capture_output=True)
    m = re.search(r"median ([0-9.eE+-]+) ms", r.stdout)
    if r.returncode or not m:
        raise RuntimeError("%s: %s" % (" ".join(cmd), (r.stderr or r.stdout).strip()[-400:]))
    return float(m.group(1))


def ort_ms(sess, x, runs):
    for _ in range(3):
        sess.run(None, {"x": x})
    t = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run(None, {"x": x})
        t.append(time.perf_counter() - t0)
    return statistics.median(t) * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--slimc", default=os.path.join(ROOT, "build", "slimc"))
    ap.add_argument("--models", default=",".join(NAMES))
    ap.add_argument("--int8", action="store_true", help="also static int8 (cosine to ORT fp32)")
    ap.add_argument("--time", action="store_true", help="also time slimc and ORT, 1 thread")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--passes", help="slimc's pass pipeline instead of the default one (say, "
                    "the default less a pass, to time a model without it)")
    a = ap.parse_args()
    pipeline = ("--passes", a.passes) if a.passes else ()
    names = a.models.split(",")
    failed = []
    rows = {}
    tmp = tempfile.mkdtemp(prefix="slimc_zoo_")
    try:
        for n in names:
            err = export(n)
            if err:
                rows[n] = {"status": err}
                failed.append(n)
                continue
            sess = ort_session(n)
            x1 = np.load(paths(n)[1])
            x2 = np.random.default_rng(1).standard_normal((2,) + x1.shape[1:]).astype(np.float32)
            row = {"status": "ok"}
            for b, x in ((1, x1), (2, x2)):
                ref = sess.run(None, {"x": x})[0]
                y, msg = slimc_run(a.slimc, n, x, tmp, pipeline)
                if y is None or y.shape != ref.shape:
                    row["status"] = msg or "shape %s, ORT %s" % (y.shape, ref.shape)
                    break
                row["err%d" % b], row["cos%d" % b] = compare(y, ref)
                if row["err%d" % b] > 1e-4:
                    row["status"] = "differs from ORT"
                if a.int8 and b == 2:
                    cal = os.path.join(tmp, "cal.npy")
                    np.save(cal, x2)
                    q, msg = slimc_run(a.slimc, n, x, tmp, ("--quantize", "int8", "--calibrate", cal))
                    row["int8"] = compare(q, ref)[1] if q is not None else msg
            if row["status"] != "ok":
                failed.append(n)
            rows[n] = row
            print("%s: %s" % (n, row), file=sys.stderr, flush=True)
        timed = [n for n in names if a.time and rows[n]["status"] == "ok"]
        t = {n: {"slimc": [], "ort": [], "ratio": []} for n in timed}
        sessions = {n: ort_session(n) for n in timed}
        load0 = os.getloadavg()[0]
        for r in range(a.rounds if timed else 0):
            for n in timed:
                s = bench_ms(a.slimc, n, a.runs, pipeline)
                o = ort_ms(sessions[n], np.load(paths(n)[1]), a.runs)
                t[n]["slimc"].append(s)
                t[n]["ort"].append(o)
                t[n]["ratio"].append(s / o)
            print("round %d done, load %.1f" % (r + 1, os.getloadavg()[0]), file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    med = statistics.median
    head = "| model | status | max err b1 | max err b2 | cosine b2 |"
    sep = "|---|---|---:|---:|---:|"
    if a.int8:
        head += " int8 cosine to ORT fp32 |"
        sep += "---:|"
    if a.time:
        head += " slimc ms | ORT ms | slimc / ORT |"
        sep += "---:|---:|---:|"
    print(head)
    print(sep)
    for n in names:
        v = rows[n]
        cells = [n, v["status"] if len(v["status"]) < 80 else v["status"][:77] + "..."]
        cells += ["%.1e" % v[k] if k in v else "-" for k in ("err1", "err2")]
        cells.append("%.6f" % v["cos2"] if "cos2" in v else "-")
        if a.int8:
            q = v.get("int8", "-")
            cells.append("%.6f" % q if isinstance(q, float) else "failed")
        if a.time:
            if n in t and t[n]["ratio"]:
                cells += ["%.3f" % med(t[n]["slimc"]), "%.3f" % med(t[n]["ort"]),
                          "%.2f" % med(t[n]["ratio"])]
            else:
                cells += ["-", "-", "-"]
        print("| " + " | ".join(cells) + " |")
    if a.time and any(t[n]["ratio"] for n in t):
        ratios = [med(t[n]["ratio"]) for n in t if t[n]["ratio"]]
        geo = float(np.exp(np.mean(np.log(ratios))))
        print("\ngeometric mean slimc / ORT: %.2f; load average (1 min) before / after: "
              "%.1f / %.1f" % (geo, load0, os.getloadavg()[0]))
    if failed:
        print("\nfailed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
