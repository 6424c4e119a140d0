#!/usr/bin/env python3
"""CPU time per run of the fp32 CNNs (resnet18, mobilenet_v2 from their ONNX exports), one
thread: one or two slimc builds against ONNX Runtime, in interleaved rounds. CPU time
(getrusage of the slimc children, `--runs N+1` less `--runs 1`; process_time for ORT
in-process) is what a machine shared with other work inflates least: wall-time medians read
±30-60% while four builds share the 2 cores, CPU time a few percent.

    python3 bench/cnn_cpu.py --slimc build/slimc [--base OTHER/slimc] [--models resnet18,mobilenet_v2]
                             [--rounds 5] [--runs 40]

Needs the exports bench/run.py writes (bench/models/NAME_b1.onnx and NAME_b1_input.npy): run
`python3 bench/run.py --models resnet18,mobilenet_v2 --quick` once first. Prints one Markdown
row per model: medians over the rounds, and the ratios of the medians.
"""
import argparse
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from sparse import cpu_name, ort_cpu_ms, slimc_cpu_ms  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--slimc", default="build/slimc")
    ap.add_argument("--base", help="a second slimc build (say main's) measured in the same rounds")
    ap.add_argument("--models", default="resnet18,mobilenet_v2")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=40)
    a = ap.parse_args()
    import numpy as np
    builds = [("slimc", os.path.abspath(a.slimc))]
    if a.base:
        builds.append(("base", os.path.abspath(a.base)))
    load0 = os.getloadavg()[0]
    print(f"CPU: {cpu_name()}; one thread; CPU ms per run, medians of {a.rounds} interleaved "
          f"rounds of {a.runs} runs; load {load0:.1f} at the start")
    head = "| model | slimc ms |" + (" base ms | slimc / base |" if a.base else "") + \
        " ORT ms | slimc / ORT |" + (" base / ORT |" if a.base else "")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for name in a.models.split(","):
        onnx = os.path.join(HERE, "models", f"{name}_b1.onnx")
        x = os.path.join(HERE, "models", f"{name}_b1_input.npy")
        if not os.path.exists(onnx):
            sys.exit(f"{onnx}: missing (run bench/run.py --models {name} --quick once)")
        xa = np.load(x)
        for _, b in builds:  # compile into the cache before the rounds
            subprocess.run([b, "bench", onnx, "--runs", "1", "--threads", "1", "--input",
                            f"x={x}"], capture_output=True, check=True)
        t = {k: [] for k, _ in builds}
        t["ort"] = []
        for r in range(a.rounds):
            order = builds if r % 2 == 0 else builds[::-1]
            for k, b in order:
                t[k].append(slimc_cpu_ms(b, onnx, x, a.runs))
            t["ort"].append(ort_cpu_ms(onnx, xa, a.runs))
        m = {k: statistics.median(v) for k, v in t.items()}
        row = f"| {name} | {m['slimc']:.3f} |"
        if a.base:
            row += f" {m['base']:.3f} | {m['slimc'] / m['base']:.3f} |"
        row += f" {m['ort']:.3f} | {m['slimc'] / m['ort']:.3f} |"
        if a.base:
            row += f" {m['base'] / m['ort']:.3f} |"
        print(row, flush=True)
        print("  rounds: " + "; ".join(f"{k} " + ", ".join(f"{v:.2f}" for v in vs)
                                       for k, vs in t.items()), flush=True)
    print(f"load at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
