#!/usr/bin/env python3
"""A/B: two slimc builds on the same models, interleaved, in one run (the machines are
shared and noisy, so the two are measured round by round, never one after the other).

    python3 bench/ab.py OLD/slimc NEW/slimc [--rounds 7] [--runs 200] [--threads 1,2]
                        [--models mlp,lenet,...] [--batch B]

Each round runs `slimc bench MODEL --runs R --threads T` once per build (the order
alternating between rounds) and reads the median it prints; a cell is the median over the
rounds (and the ratio of the fastest rounds, a second view when the machine's noise is
bimodal). A model's first call compiles it into that build's cache (excluded: each build
warms up once before the rounds). Prints a Markdown table: old ms, new ms, new / old.
The sample models run with the weights committed in samples/ (the *_narrow variants of
the large ones); resnet18 and mobilenet_v2, named in --models, run the full-size weights and
input that `samples/make_samples.py NAME --full` writes.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MODELS = {
    "mlp": ("samples/mlp/mlp.slim", "samples/mlp/input.npy"),
    "lenet": ("samples/lenet/lenet.slim", "samples/lenet/input.npy"),
    "resnet18_narrow": ("samples/resnet18/resnet18_narrow.slim", "samples/resnet18/input.npy"),
    "mobilenet_v2_narrow": ("samples/mobilenet_v2/mobilenet_v2_narrow.slim",
                            "samples/mobilenet_v2/input.npy"),
    "transformer_narrow": ("samples/transformer/transformer_narrow.slim",
                           "samples/transformer/input.npy"),
}
# Full-size models, named explicitly (--models resnet18,mobilenet_v2): their weights are not
# committed (`samples/make_samples.py NAME --full` writes them and full_input.npy).
FULL_MODELS = {
    "resnet18": ("samples/resnet18/resnet18.slim", "samples/resnet18/full_input.npy"),
    "mobilenet_v2": ("samples/mobilenet_v2/mobilenet_v2.slim",
                     "samples/mobilenet_v2/full_input.npy"),
}


def input_name(slim):
    """The first input's name in the model's `model NAME(x: ...)` line."""
    with open(slim) as f:
        m = re.search(r"\bmodel\s+\w+\s*\(\s*(\w+)\s*:", f.read())
    if not m:
        sys.exit(f"{slim}: no model line found")
    return m.group(1)


def bench(slimc, model, inp, runs, threads, cache):
    env = dict(os.environ, SLIMC_CACHE_DIR=cache)
    args = [slimc, "bench", model, "--runs", str(runs), "--threads", str(threads),
            "--input", f"{input_name(model)}={inp}"]
    p = subprocess.run(args, capture_output=True, text=True, env=env)
    m = re.search(r"median ([0-9.]+) ms", p.stdout + p.stderr)
    if p.returncode != 0 or not m:
        sys.exit(f"{' '.join(args)}: failed\n{p.stdout}{p.stderr}")
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--cache", default=os.path.join(ROOT, "build-ab-cache"),
                    help="cache directory root (one per build below it)")
    ap.add_argument("--batch", type=int, default=0,
                    help="run on the first B items of each input (default: all of it)")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="slimc-ab-")
    builds = [("old", os.path.abspath(a.old)), ("new", os.path.abspath(a.new))]
    print("| model | threads | old ms | new ms | new / old | new / old, fastest rounds |")
    print("|---|---|---|---|---|---|")
    for name in a.models.split(","):
        if name not in MODELS and name not in FULL_MODELS:
            sys.exit(f"unknown model '{name}' (known: {', '.join(list(MODELS) + list(FULL_MODELS))})")
        model, inp = (os.path.join(ROOT, p) for p in MODELS.get(name) or FULL_MODELS[name])
        if a.batch > 0:
            import numpy as np
            x = np.load(inp)[:a.batch]
            inp = os.path.join(tmp, f"{name}_b{a.batch}.npy")
            np.save(inp, np.ascontiguousarray(x))
        for t in (int(x) for x in a.threads.split(",")):
            caches = {k: os.path.join(a.cache, k) for k, _ in builds}
            for k, exe in builds:  # warm-up: compile into the cache
                bench(exe, model, inp, 3, t, caches[k])
            times = {k: [] for k, _ in builds}
            for r in range(a.rounds):
                order = builds if r % 2 == 0 else builds[::-1]
                for k, exe in order:
                    times[k].append(bench(exe, model, inp, a.runs, t, caches[k]))
            old, new = (statistics.median(times[k]) for k, _ in builds)
            fast = min(times["new"]) / min(times["old"])
            print(f"| {name} | {t} | {old:.4f} | {new:.4f} | {new / old:.3f} | {fast:.3f} |",
                  flush=True)
            print(f"  {name} t={t}: old {times['old']} new {times['new']}", file=sys.stderr)


if __name__ == "__main__":
    main()
