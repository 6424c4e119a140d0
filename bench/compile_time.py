#!/usr/bin/env python3
"""Compile time of large exported models (issue 20): `slimc bench --runs 1 --time` with an
empty compile cache (cold) and again with the cache it filled (warm), per stage.

The models are bench/bert_dynamic.py's BERT-style encoder (hidden 384, 12 heads, GELU,
post-LayerNorm, mean pooling) exported with Debian's /usr/bin/python3 (torch) at several
depths, and each one after ONNX Runtime's quantize_dynamic (MatMulInteger,
DynamicQuantizeLinear): 6 layers is 269 ONNX nodes (401 quantized), 24 layers 1,079
(1,607 quantized), 34 layers 1,529 (2,277 quantized).

    python3 bench/compile_time.py [--slimc build/slimc] [--peer OTHER/slimc] [--rounds 3]
                                  [--layers 6,24,34] [--jobs 0,1] [--seq 128]

Each round compiles every model once cold and once warm for every --jobs value
($SLIMC_JIT_JOBS: 0 = one part per CPU, 1 = one translation unit) and with --peer (another
slimc, e.g. a build of an earlier commit), so a slow minute of a shared machine hits them
alike; a cell is the median over the rounds. "cpu" is the user + system time of the cold
process (compile threads and cc processes included): on a loaded machine the wall time
mostly measures the other load. For the warm start, "CPU ms" is what the process had used
when the model was loaded (`--time`'s "start ... ms of CPU" line; nan for a slimc without
it), and "process CPU" the whole warm process, its one run included (comparable across
builds).
"""

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import bert_dynamic  # noqa: E402  (its EXPORT script and the Debian python path)

STAGES = ("parse", "passes", "codegen", "compile", "load", "run")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def export(path, layers, seq):
    src = bert_dynamic.EXPORT.replace("H, HEADS, FF, LAYERS = 384, 12, 1536, 6",
                                      "H, HEADS, FF, LAYERS = 384, 12, 1536, %d" % layers)
    assert "LAYERS = 384, 12, 1536, %d\n" % layers in src.replace("H, HEADS, FF, ", "")
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(src)
    try:
        bert_dynamic.sh([bert_dynamic.DEB_PY, f.name, path, str(seq), "1"])
    finally:
        os.unlink(f.name)


def models(args):
    import onnx
    from onnxruntime import quantization as oq
    os.makedirs(args.dir, exist_ok=True)
    out = []
    for layers in args.layers:
        fp32 = os.path.join(args.dir, "bert_l%d_h384_b1_s%d.onnx" % (layers, args.seq))
        q8 = fp32.replace(".onnx", "_ort_qdyn.onnx")
        if not os.path.exists(fp32):
            log("exporting %s" % fp32)
            export(fp32, layers, args.seq)
        if not os.path.exists(q8):
            oq.quantize_dynamic(fp32, q8, weight_type=oq.QuantType.QInt8)
        for p, kind in ((fp32, "fp32"), (q8, "ORT qdyn")):
            n = len(onnx.load(p, load_external_data=False).graph.node)
            out.append(("%d layers %s" % (layers, kind), p, n))
    return out


def child_cpu():
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def bench_once(slimc, model, cache, jobs):
    env = dict(os.environ, SLIMC_CACHE_DIR=cache)
    env.pop("SLIMC_JIT_JOBS", None)
    if jobs:
        env["SLIMC_JIT_JOBS"] = str(jobs)
    c0 = child_cpu()
    r = subprocess.run([slimc, "bench", model, "--threads", "1", "--runs", "1", "--time"],
                       cwd=ROOT, env=env, text=True, capture_output=True)
    if r.returncode:
        raise SystemExit("slimc bench %s failed:\n%s%s" % (model, r.stdout, r.stderr))
    m = re.search(r"time: parse ([0-9.]+) ms, passes ([0-9.]+) ms, codegen ([0-9.]+) ms, "
                  r"compile ([0-9.]+) ms, load ([0-9.]+) ms, run ([0-9.]+) ms", r.stderr)
    if not m:
        raise SystemExit("no --time line in slimc bench's output:\n" + r.stderr)
    t = dict(zip(STAGES, map(float, m.groups())))
    c = re.search(r"time: start ([0-9.]+) ms of CPU", r.stderr)  # slimc since i20-warm
    t["start_cpu"] = float(c.group(1)) if c else float("nan")
    t["start"] = t["parse"] + t["passes"] + t["codegen"] + t["compile"] + t["load"]
    t["cpu"] = child_cpu() - c0
    return t


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--slimc", default=os.path.join(ROOT, "build/slimc"))
    ap.add_argument("--layers", default="6,24,34")
    ap.add_argument("--jobs", default="0,1")
    ap.add_argument("--peer", help="another slimc to time in the same rounds (its default split)")
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", default=os.path.join(ROOT, "bench/models/bert"))
    args = ap.parse_args()
    args.layers = [int(x) for x in args.layers.split(",")]
    configs = [("jobs %d" % int(j), args.slimc, int(j)) for j in args.jobs.split(",")]
    if args.peer:
        configs.append(("peer", args.peer, 0))

    ms = models(args)
    cells = {}
    cache_root = tempfile.mkdtemp(prefix="slimc-compile-time-")
    try:
        for rnd in range(args.rounds):
            for name, path, _ in ms:
                for label, slimc, j in configs:
                    cache = os.path.join(cache_root, "c")
                    shutil.rmtree(cache, ignore_errors=True)
                    cold = bench_once(slimc, path, cache, j)
                    warm = bench_once(slimc, path, cache, j)
                    cells.setdefault((name, label), []).append((cold, warm))
                    log("round %d: %s, %s: cold compile %.0f ms (cpu %.2f s), start %.0f ms; "
                        "warm start %.1f ms (cpu %.1f ms)"
                        % (rnd + 1, name, label, cold["compile"], cold["cpu"], cold["start"],
                           warm["start"], warm["start_cpu"]))
    finally:
        shutil.rmtree(cache_root, ignore_errors=True)

    def med(xs, key):
        return statistics.median(x[key] for x in xs)

    print("Compile time, `slimc bench --runs 1 --time`, medians of %d interleaved rounds; load %s"
          % (args.rounds, " ".join("%.2f" % x for x in os.getloadavg())))
    print()
    print("| model | ONNX nodes | slimc | cold: parse ms | passes | codegen | compile | load "
          "| cold start ms | cold cpu s | warm start ms (run excluded) | warm start, CPU ms "
          "| warm process CPU ms (one run included) |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, _, n in ms:
        for label, _, _ in configs:
            v = cells[(name, label)]
            cold, warm = [c for c, _ in v], [w for _, w in v]
            print("| %s | %d | %s | %.0f | %.0f | %.0f | %.0f | %.1f | %.0f | %.2f | %.1f | %.1f "
                  "| %.0f |"
                  % (name, n, label, med(cold, "parse"), med(cold, "passes"),
                     med(cold, "codegen"), med(cold, "compile"), med(cold, "load"),
                     med(cold, "start"), med(cold, "cpu"), med(warm, "start"),
                     med(warm, "start_cpu"), 1e3 * med(warm, "cpu")))


if __name__ == "__main__":
    main()
