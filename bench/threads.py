#!/usr/bin/env python3
"""Thread scaling of one slimc build: each model at --threads 1 and 2 (or --threads LIST),
interleaved round by round (the order alternating), medians over the rounds.

    python3 bench/threads.py BUILD/slimc [--rounds 7] [--runs 200] [--threads 1,2]
                             [--models mlp,lenet,...] [--batches 1,64]

Uses bench/ab.py's models and its `slimc bench` runner. Prints a Markdown table: ms at
each thread count and the speed-up of each over the first (t1 / tN; above 1: faster).
--batches adds mlp and lenet at those batch sizes (samples/*/input.npy cut or repeated
along the batch; "" for none).
"""
import argparse
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ab  # noqa: E402

# Full-size models, named explicitly (--models resnet18): bench/ab.py's FULL_MODELS.
FULL_MODELS = ab.FULL_MODELS


def model_files(name):
    """(model, input) paths of a model named in bench/ab.py's MODELS or in FULL_MODELS."""
    if name not in ab.MODELS and name not in FULL_MODELS:
        sys.exit(f"unknown model '{name}' (known: {', '.join(list(ab.MODELS) + list(FULL_MODELS))})")
    return tuple(os.path.join(ab.ROOT, p) for p in ab.MODELS.get(name) or FULL_MODELS[name])


def batched(name, n, tmp):
    """The model's input cut or repeated to batch n: (model, input path)."""
    import numpy as np
    model, inp = model_files(name)
    x = np.load(inp)
    x = np.concatenate([x] * -(-n // x.shape[0]))[:n]
    path = os.path.join(tmp, f"{name}_b{n}.npy")
    np.save(path, x)
    return model, path


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("slimc")
    ap.add_argument("--models", default=",".join(ab.MODELS))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--batches", default="1,64")
    ap.add_argument("--cache", default=os.path.join(ab.ROOT, "build-ab-cache", "threads"))
    a = ap.parse_args()
    exe = os.path.abspath(a.slimc)
    ts = [int(x) for x in a.threads.split(",")]
    tmp = tempfile.mkdtemp()
    cases = []
    for name in a.models.split(","):
        cases.append((name, *model_files(name)))
    for n in (int(b) for b in a.batches.split(",") if b):
        for name in ("mlp", "lenet"):
            cases.append((f"{name} b{n}", *batched(name, n, tmp)))
    head = " | ".join(f"{t} thr ms" for t in ts)
    sp = " | ".join(f"x at {t}" for t in ts[1:])
    print(f"| model | {head} | {sp} |")
    print("|---" * (1 + len(ts) + len(ts) - 1) + "|")
    for label, model, inp in cases:
        for t in ts:  # warm-up: compile into the cache
            ab.bench(exe, model, inp, 3, t, a.cache)
        times = {t: [] for t in ts}
        for r in range(a.rounds):
            for t in (ts if r % 2 == 0 else ts[::-1]):
                times[t].append(ab.bench(exe, model, inp, a.runs, t, a.cache))
        med = {t: statistics.median(v) for t, v in times.items()}
        cells = " | ".join(f"{med[t]:.4f}" for t in ts)
        ups = " | ".join(f"{med[ts[0]] / med[t]:.2f}" for t in ts[1:])
        print(f"| {label} | {cells} | {ups} |", flush=True)


if __name__ == "__main__":
    main()
