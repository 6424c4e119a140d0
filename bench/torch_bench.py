#!/usr/bin/python3
"""PyTorch side of the benchmark: a worker that bench/run.py drives over a pipe.

Runs under Debian's /usr/bin/python3 (python3-torch 1.13, python3-torchvision).
Started once per thread count:

    OPENBLAS_CORETYPE=SKYLAKEX OPENBLAS_NUM_THREADS=T OMP_NUM_THREADS=T \
        /usr/bin/python3 bench/torch_bench.py --threads T

then reads one JSON request per line on stdin and answers one JSON line on stdout:

    {"cmd": "time", "model": M, "input": X.npy, "runs": R, "warmup": W}
        -> {"median_ms": ..., "runs": R}
    {"cmd": "output", "model": M, "input": X.npy, "path": OUT.npy}
        -> {"ok": true}           (writes the model's output for X to OUT)
    {"cmd": "info"} -> {"torch": version, "threads": T, ...}

Each timed run is one forward pass under torch.inference_mode(), timed with
time.perf_counter(); the answer is the median of R runs after W warm-up runs.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_models  # noqa: E402

_models = {}
_inputs = {}


def model(name):
    """NAME, or NAME+qdyn: torch.ao.quantization.quantize_dynamic of its nn.Linear layers."""
    if name not in _models:
        if name.endswith("+qdyn"):
            _models[name] = torch.ao.quantization.quantize_dynamic(
                model(name[:-5]), {torch.nn.Linear}, dtype=torch.qint8)
        else:
            _models[name] = torch_models.build(name)
    return _models[name]


def tensor(path):
    if path not in _inputs:
        _inputs[path] = torch.from_numpy(np.load(path))
    return _inputs[path]


def handle(req):
    cmd = req["cmd"]
    if cmd == "info":
        return {"torch": torch.__version__, "threads": torch.get_num_threads(),
                "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", "")}
    m, x = model(req["model"]), tensor(req["input"])
    with torch.inference_mode():
        if cmd == "output":
            np.save(req["path"], m(x).numpy().astype("<f4"), allow_pickle=False)
            return {"ok": True}
        if cmd == "time":
            for _ in range(req.get("warmup", 1)):
                m(x)
            times = []
            for _ in range(req["runs"]):
                t0 = time.perf_counter()
                m(x)
                times.append(time.perf_counter() - t0)
            return {"median_ms": float(np.median(times)) * 1e3, "runs": len(times)}
    raise ValueError("unknown command %r" % cmd)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            ans = handle(json.loads(line))
        except Exception as e:  # report, keep serving
            ans = {"error": "%s: %s" % (type(e).__name__, e)}
        sys.stdout.write(json.dumps(ans) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
