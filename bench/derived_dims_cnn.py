#!/usr/bin/python3
"""What keeping a CNN's height and width symbolic costs (issue 19, derived dims).

Exports, with Debian's torch, a small CNN with dynamic_axes on batch, height and width (a
stride-2 3x3 conv to 32 channels, a depthwise 3x3, a 1x1 to 64, nn.Upsample x2, a 3x3 to
16), then times `slimc bench` on a 1x3xSxS input compiled symbolically (the sizes known
only at run time: codegen/c/conv_sym.c) against the same model with --shape (static
sizes: codegen/c/conv.c), in interleaved rounds; prints each side's median of the rounds'
median latencies and the ratio symbolic / static.

  /usr/bin/python3 bench/derived_dims_cnn.py --slimc build/slimc [--size 224] [--rounds 5]
"""
import argparse
import os
import re
import statistics
import subprocess
import tempfile
import warnings

import numpy as np
import torch
import torch.nn as nn

warnings.filterwarnings("ignore")


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 32, 3, padding=1, stride=2)
        self.dw = nn.Conv2d(32, 32, 3, padding=1, groups=32)
        self.pw = nn.Conv2d(32, 64, 1)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.c2 = nn.Conv2d(64, 16, 3, padding=1)

    def forward(self, x):
        x = torch.relu(self.c1(x))
        x = torch.relu(self.dw(x))
        x = torch.relu(self.pw(x))
        return self.c2(self.up(x))


def median_ms(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return float(re.search(r"([0-9.]+) ms", out).group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--slimc", required=True)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as d:
        model, x = os.path.join(d, "cnn.onnx"), os.path.join(d, "x.npy")
        torch.onnx.export(Cnn().eval(), (torch.randn(1, 3, 64, 64),), model,
                          input_names=["x"], output_names=["y"], opset_version=17,
                          dynamic_axes={"x": {0: "batch", 2: "h", 3: "w"},
                                        "y": {0: "batch", 2: "oh", 3: "ow"}})
        s = a.size
        np.save(x, np.random.RandomState(0).randn(1, 3, s, s).astype(np.float32))
        base = [a.slimc, "bench", model, "--input", f"x={x}", "--runs", str(a.runs),
                "--threads", str(a.threads), "--cache-dir", os.path.join(d, "cache")]
        sides = {"symbolic": base, "static": base + ["--shape", f"x=1,3,{s},{s}"]}
        for cmd in sides.values():  # compile once, untimed
            median_ms(cmd)
        times = {k: [] for k in sides}
        for _ in range(a.rounds):
            for k, cmd in sides.items():
                times[k].append(median_ms(cmd))
        med = {k: statistics.median(v) for k, v in times.items()}
        for k, v in times.items():
            print(f"{k:9s} median {med[k]:.3f} ms  rounds {' '.join(f'{t:.3f}' for t in v)}")
        print(f"symbolic / static: {med['symbolic'] / med['static']:.3f}")


if __name__ == "__main__":
    main()
