#!/usr/bin/env python3
"""The sparse-kernel benchmark of issue 17 (bench/RESULTS.md, "Sparse kernels"): an MLP
784-512-512-10 magnitude-pruned to 10% density (tests/tools/sparse_mlp.py, the zeros stored
densely), one thread, batch 1 and 64, in one run:

  slimc sparse   the default pipeline (the cost model picks the CSR kernel per layer)
  slimc dense    the same weights with the default pipeline minus `sparse`
  ORT dense      ONNX Runtime on the same model as ONNX (it runs zeros densely)

slimc is timed by `slimc bench` (median of --runs), ONNX Runtime in-process (median of the
same number of runs, after a warm-up). Also prints lscpu's model name and the speed-ups, and
the targets: batch 1 >= 2x slimc dense; batch 64 no slower than DeepSparse, taken as 4.3x
faster than ORT dense (the issue's figure; DeepSparse itself is not run here).

usage: python3 bench/sparse.py [--slimc build/slimc] [--runs 2000] [--dir /tmp/slimc_sparse_bench]

--nm 2:4: the N:M kernel instead (bench/RESULTS.md, "N:M"): the MLP 784-512-512-10 and one
1024 -> 1024 linear, each pruned to 2:4 by magnitude (sparse_mlp.py --nm), batch 1 and 64,
slimc with the default pipeline (the cost model's choice per layer, printed from `inspect
--sparsity`) against slimc dense, interleaved A/B for --rounds rounds (each a `slimc bench`
of --runs), the median of the rounds' medians; the load average before and after. Target:
>= 1.3x slimc dense.
"""
import argparse
import os
import re
import subprocess
import time

import numpy as np

DENSE = "qdq,fold,bn_fold,fold,dce,cse,place,qchain,layout,fuse,dce,memplan"


def slimc_ms(slimc, model, x, runs, passes=None):
    cmd = [slimc, "bench", model, "--input", f"x={x}", "--runs", str(runs), "--threads", "1"]
    if passes:
        cmd += ["--passes", passes]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return float(re.search(r"median ([0-9.]+) ms", out).group(1))


def ort_ms(path, x, runs):
    import onnxruntime as ort
    o = ort.SessionOptions()
    o.intra_op_num_threads = 1
    o.inter_op_num_threads = 1
    s = ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])
    feed = {"x": x}
    for _ in range(50):
        s.run(None, feed)
    t = []
    for _ in range(runs):
        t0 = time.perf_counter()
        s.run(None, feed)
        t.append(time.perf_counter() - t0)
    return float(np.median(t)) * 1e3


def cpu_name():
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("Model name"):
            return line.split(":", 1)[1].strip()
    return "?"


def kernels(slimc, model):
    """The kernel inspect --sparsity names for each layer, e.g. {'fc1': 'n:m 2:4'}."""
    out = subprocess.run([slimc, "inspect", model, "--sparsity"], capture_output=True, text=True,
                         check=True).stdout
    ks = {}
    for line in out.splitlines():
        m = re.match(r"^  (fc\d+) +linear .*  (dense|csr|n:m \d+:\d+)$", line)
        if m:
            ks[m.group(1)] = m.group(2)
    return ks


def bench_nm(a, here):
    tool = os.path.join(here, "..", "tests", "tools", "sparse_mlp.py")
    models = [("MLP 784-512-512-10", "mlp_nm", "784,512,512,10"),
              ("linear 1024 -> 1024", "linear_nm", "1024,1024")]
    print(f"CPU: {cpu_name()}; one thread; {a.nm} by magnitude; {a.rounds} interleaved rounds of "
          f"`slimc bench --runs {a.runs}`, median of the rounds' medians")
    print(f"load average before: {' '.join(open('/proc/loadavg').read().split()[:3])}")
    print(f"{'model':<22} {'batch':>5} {'slimc n:m':>11} {'slimc dense':>12} {'speed-up':>9}  "
          f"target >= 1.3x   kernels")
    for title, sub, dims in models:
        d = os.path.join(a.dir, sub)
        subprocess.run(["python3", tool, d, "--nm", a.nm, "--dims", dims], check=True)
        model = os.path.join(d, "mlp.slim")
        ks = kernels(a.slimc, model)
        for b in (1, 64):
            x = os.path.join(d, f"x{b}.npy")
            sp, de = [], []
            for _ in range(a.rounds):
                sp.append(slimc_ms(a.slimc, model, x, a.runs))
                de.append(slimc_ms(a.slimc, model, x, a.runs, DENSE))
            spm, dem = float(np.median(sp)), float(np.median(de))
            r = dem / spm
            print(f"{title:<22} {b:>5} {spm:>8.4f} ms {dem:>9.4f} ms {r:>8.2f}x  "
                  f"{'met' if r >= 1.3 else 'MISSED':<15}  "
                  f"{', '.join(f'{k} {v}' for k, v in sorted(ks.items()))}")
    print(f"load average after: {' '.join(open('/proc/loadavg').read().split()[:3])}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--slimc", default="build/slimc")
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--dir", default="/tmp/slimc_sparse_bench")
    ap.add_argument("--nm", default=None, help="N:M, e.g. 2:4: the N:M benchmark instead")
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    if a.nm:
        return bench_nm(a, here)
    subprocess.run(["python3", os.path.join(here, "..", "tests", "tools", "sparse_mlp.py"), a.dir,
                    "--onnx"], check=True)
    cpu = "?"
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("Model name"):
            cpu = line.split(":", 1)[1].strip()
    model = os.path.join(a.dir, "mlp.slim")
    print(f"CPU: {cpu}; one thread; median of {a.runs} runs; MLP 784-512-512-10, 10% density")
    print(f"{'batch':>5} {'slimc sparse':>13} {'slimc dense':>12} {'ORT dense':>10} "
          f"{'vs slimc dense':>15} {'vs ORT dense':>13}")
    for b in (1, 64):
        x = os.path.join(a.dir, f"x{b}.npy")
        sp = slimc_ms(a.slimc, model, x, a.runs)
        de = slimc_ms(a.slimc, model, x, a.runs, DENSE)
        ort = ort_ms(os.path.join(a.dir, "mlp.onnx"), np.load(x), a.runs)
        print(f"{b:>5} {sp:>10.4f} ms {de:>9.4f} ms {ort:>7.4f} ms {de / sp:>14.2f}x {ort / sp:>12.2f}x")
        if b == 1:
            print(f"      target >= 2x slimc dense: {'met' if de / sp >= 2 else 'MISSED'}")
        else:
            print(f"      target >= 4.3x ORT dense (DeepSparse): "
                  f"{'met' if ort / sp >= 4.3 else 'MISSED by %.0f%%' % (100 * (1 - ort / sp / 4.3))}")


if __name__ == "__main__":
    main()
