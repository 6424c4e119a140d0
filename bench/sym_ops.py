#!/usr/bin/env python3
"""What keeping Pad, Slice, ceil_mode pools and Resize symbolic costs (issue 19, i19-sym2).

Builds the models of tests/cli/sym_ops_models.py (pad_hw: three pads of H and W; slice_seq:
five slices of a symbolic sequence; pool_ceil: three ceil_mode pools; resize_hw: linear and
nearest resizes whose taps the symbolic code computes when it runs) and times `slimc bench`
on one input per model compiled symbolically (sizes known only at run time) against the
same model with --shape (static sizes: the resize taps as tables), in interleaved rounds;
prints each side's median of the rounds' median latencies and the ratio symbolic / static.

  python3 bench/sym_ops.py --slimc build/slimc [--rounds 5] [--runs 50] [--threads 1]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "cli"))
import sym_ops_models  # noqa: E402

SHAPES = {"pad_hw": (8, 3, 128, 128), "slice_seq": (16, 512, 8), "pool_ceil": (4, 4, 128, 128),
          "resize_hw": (2, 3, 64, 64)}


def median_ms(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return float(re.search(r"([0-9.]+) ms", out).group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--slimc", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        sym_ops_models.make(d)
        cmds = {}
        for m, shape in SHAPES.items():
            x = os.path.join(d, f"{m}.x.npy")
            np.save(x, np.random.default_rng(0).standard_normal(shape).astype(np.float32))
            base = [a.slimc, "bench", os.path.join(d, f"{m}.onnx"), "--input", f"x={x}",
                    "--runs", str(a.runs), "--threads", str(a.threads)]
            cmds[m] = {"symbolic": base,
                       "static": base + ["--shape", "x=" + ",".join(map(str, shape))]}
        times = {m: {"symbolic": [], "static": []} for m in SHAPES}
        for _ in range(a.rounds):  # interleaved: every model and side once per round
            for m in SHAPES:
                for side in ("symbolic", "static"):
                    times[m][side].append(median_ms(cmds[m][side]))
        print("| model | input | symbolic ms | static ms | symbolic / static |")
        print("|---|---|---:|---:|---:|")
        for m, shape in SHAPES.items():
            s, t = statistics.median(times[m]["symbolic"]), statistics.median(times[m]["static"])
            print(f"| {m} | {list(shape)} | {s:.4f} | {t:.4f} | {s / t:.2f} |")


if __name__ == "__main__":
    main()
