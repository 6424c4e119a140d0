#!/usr/bin/env python3
"""Static int8 against fp32 with the default pipeline (issue 19: "slimc static int8 is never
slower than slimc fp32"; resnet18 and mobilenet_v2 int8 <= 0.6x fp32), one thread:

    fp32       slimc bench MODEL --input x=X
    int8       ... --quantize int8 --calibrate C          (the host's own choice per layer)
    int8 all   ... and --device-profile tests/data/profile_int8_fast.json (every conv int8,
               what a CPU with VNNI chooses), to show what the choice saves

Run with `python3` after samples/make_samples.py NAME --full made the full-size weights:

    python3 bench/quant_cpu.py [--slimc build/slimc] [--models lenet:1,lenet:64,...] [--rounds 3]

Each round times every configuration once (`slimc bench --runs R`, its median), so a slow
minute of a shared machine hits them alike; a cell is the median of the rounds, a ratio the
median of the rounds' ratios ("by the mins": the best round of each, int8 then int8 all
over fp32). Calibration: lenet's calib.npy; for the others 4 random images.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODELS = {  # name -> (.slim, input shape without the batch, runs of slimc bench)
    "lenet": ("samples/lenet/lenet.slim", (1, 28, 28), 400),
    "resnet18": ("samples/resnet18/resnet18.slim", (3, 224, 224), 10),
    "mobilenet_v2": ("samples/mobilenet_v2/mobilenet_v2.slim", (3, 224, 224), 20),
}
PIN = os.path.join(ROOT, "tests/data/profile_int8_fast.json")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sh(cmd):
    r = subprocess.run(cmd, cwd=ROOT, text=True, capture_output=True)
    if r.returncode:
        raise SystemExit("%s failed:\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--slimc", default=os.path.join(ROOT, "build/slimc"))
    ap.add_argument("--models", default="lenet:1,lenet:64,mobilenet_v2:1,resnet18:1")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", default=os.path.join(ROOT, "bench/models/quant_cpu"))
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    configs = [(m, int(b)) for m, b in (c.split(":") for c in args.models.split(","))]
    variants = {}
    for name, batch in configs:
        slim, shape, runs = MODELS[name]
        x = os.path.join(args.dir, "%s_b%d.npy" % (name, batch))
        cal = os.path.join(ROOT, "samples/lenet/calib.npy")
        if not os.path.exists(x):
            rng = np.random.default_rng(100 + batch)
            np.save(x, rng.standard_normal((batch,) + shape).astype("<f4"), allow_pickle=False)
        if name != "lenet":
            cal = os.path.join(args.dir, "%s_calib.npy" % name)
            if not os.path.exists(cal):
                rng = np.random.default_rng(5)
                np.save(cal, rng.standard_normal((4,) + shape).astype("<f4"), allow_pickle=False)
        base = [args.slimc, "bench", slim, "--threads", "1", "--input", "x=" + x,
                "--runs", str(runs if batch == 1 else max(40, runs // batch))]
        q = ["--quantize", "int8", "--calibrate", cal]
        variants[(name, batch)] = {"fp32": base, "int8": base + q,
                                   "int8 all": base + q + ["--device-profile", PIN]}
        r = sh([args.slimc, "inspect", slim, "--quant"] + q)
        m = re.search(r"(\d+) layers quantized, (\d+) float", r.stdout)
        log("%s: int8 layers with the host's choice: %s" % (name, m.group(0) if m else "?"))
        for line in r.stdout.splitlines():
            if "predicted slower" in line:
                log("  " + line.strip()[:160])
    times = {k: {v: [] for v in vs} for k, vs in variants.items()}
    for rnd in range(args.rounds):
        for k, vs in variants.items():
            for v, cmd in vs.items():
                r = sh(cmd)
                m = re.search(r"median ([0-9.eE+-]+) ms", r.stdout)
                times[k][v].append(float(m.group(1)))
            log("round %d %s b%d: %s" % (rnd + 1, k[0], k[1],
                                         ", ".join("%s %.3f" % (v, t[-1]) for v, t in times[k].items())))
    print("one thread; load average at the end %s" % " ".join("%.2f" % l for l in os.getloadavg()))
    print()
    print("| model | fp32 ms | int8 ms | int8 all ms | int8 / fp32 | int8 all / fp32 | by the mins |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for (name, batch), t in times.items():
        med = {v: statistics.median(x) for v, x in t.items()}
        r8 = statistics.median(a / b for a, b in zip(t["int8"], t["fp32"]))
        ra = statistics.median(a / b for a, b in zip(t["int8 all"], t["fp32"]))
        mins = {v: min(x) for v, x in t.items()}
        print("| %s b%d | %.3f | %.3f | %.3f | %.2f (%s) | %.2f (%s) | %.2f / %.2f |" % (
            name, batch, med["fp32"], med["int8"], med["int8 all"],
            r8, " ".join("%.2f" % (a / b) for a, b in zip(t["int8"], t["fp32"])),
            ra, " ".join("%.2f" % (a / b) for a, b in zip(t["int8 all"], t["fp32"])),
            mins["int8"] / mins["fp32"], mins["int8 all"] / mins["fp32"]))


if __name__ == "__main__":
    main()
