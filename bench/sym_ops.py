#!/usr/bin/env python3
"""What keeping Pad, Slice, ceil_mode pools and Resize symbolic costs (issue 19, i19-sym2,
i19-sym3).

Builds the models of tests/cli/sym_ops_models.py (pad_hw: three pads of H and W; slice_seq:
five slices of a symbolic sequence; slice_neg: five negative-step slices (flips); pool_ceil:
three ceil_mode pools; resize_hw: linear and nearest resizes whose taps the symbolic code
computes when it runs; resize_cubic: five cubic resizes) and times `slimc bench` on one
input per model compiled symbolically (sizes known only at run time) against the same
model with --shape (static sizes: the resize taps as tables), in interleaved rounds;
prints each side's median of the rounds' median latencies and the ratio symbolic / static.
resize_aa and the aa_* models of tests/cli/resize_aa_models.py are antialiased resizes (the
taps computed when they run, up to 8 per output position at x0.25). --models picks some.
--torch adds the PyTorch CNN pad_pool_up of tests/cli/onnx_derived_dims_torch.py (reflect
pad, conv, ceil_mode pool, resizes, slices) on a 1x3x224x224 image (needs /usr/bin/python3
with torch). --base times a second build (another branch) in the same rounds, both sides,
with the ratios to it.

  python3 bench/sym_ops.py --slimc build/slimc [--base OTHER/slimc] [--torch]
                           [--rounds 5] [--runs 50] [--threads 1] [--models a,b]
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
import resize_aa_models  # noqa: E402
import sym_ops_models  # noqa: E402

SHAPES = {"pad_hw": (8, 3, 128, 128), "slice_seq": (16, 512, 8), "slice_neg": (16, 512, 8),
          "pool_ceil": (4, 4, 128, 128), "resize_hw": (2, 3, 64, 64),
          "resize_cubic": (2, 3, 64, 64), "resize_aa": (2, 3, 128, 128),
          "aa_lin_half": (2, 3, 128, 128), "aa_cub_mixed": (2, 3, 128, 128),
          "aa_tv": (1, 3, 96, 64)}
TORCH_SHAPES = {"pad_pool_up": (1, 3, 224, 224)}


def median_ms(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return float(re.search(r"([0-9.]+) ms", out).group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--slimc", required=True)
    ap.add_argument("--base", help="a second slimc, timed in the same rounds")
    ap.add_argument("--torch", action="store_true", help="add the PyTorch CNN pad_pool_up")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--models", help="comma-separated: only these")
    a = ap.parse_args()
    builds = {"new": a.slimc} | ({"base": a.base} if a.base else {})
    shapes = {m: v for m, v in SHAPES.items() if not a.models or m in a.models.split(",")}
    with tempfile.TemporaryDirectory() as d:
        sym_ops_models.make(d)
        resize_aa_models.make(d)
        if a.torch:
            subprocess.run(["/usr/bin/python3", os.path.join(HERE, "..", "tests", "cli",
                                                             "onnx_derived_dims_torch.py"), d],
                           check=True, capture_output=True)
            shapes |= TORCH_SHAPES
        cmds = {}
        for m, shape in shapes.items():
            x = os.path.join(d, f"{m}.x.npy")
            np.save(x, np.random.default_rng(0).standard_normal(shape).astype(np.float32))
            for b, exe in builds.items():
                base = [exe, "bench", os.path.join(d, f"{m}.onnx"), "--input", f"x={x}",
                        "--runs", str(a.runs), "--threads", str(a.threads)]
                cmds[m, b, "symbolic"] = base
                cmds[m, b, "static"] = base + ["--shape", "x=" + ",".join(map(str, shape))]
        times = {k: [] for k in cmds}
        for r in range(a.rounds):  # interleaved: every model, build and side once per round
            for m in shapes:
                order = list(builds) if r % 2 == 0 else list(builds)[::-1]
                for b in order:
                    for side in ("symbolic", "static"):
                        times[m, b, side].append(median_ms(cmds[m, b, side]))
        med = {k: statistics.median(v) for k, v in times.items()}
        head = "| model | input | symbolic ms | static ms | symbolic / static |"
        rule = "|---|---|---:|---:|---:|"
        if a.base:
            head += " base symbolic ms | base static ms | symbolic / base | static / base |"
            rule += "---:|---:|---:|---:|"
        print(head)
        print(rule)
        for m, shape in shapes.items():
            s, t = med[m, "new", "symbolic"], med[m, "new", "static"]
            line = f"| {m} | {list(shape)} | {s:.4f} | {t:.4f} | {s / t:.2f} |"
            if a.base:
                bs, bt = med[m, "base", "symbolic"], med[m, "base", "static"]
                line += f" {bs:.4f} | {bt:.4f} | {s / bs:.2f} | {t / bt:.2f} |"
            print(line)


if __name__ == "__main__":
    main()
