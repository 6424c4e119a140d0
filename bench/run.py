#!/usr/bin/env python3
"""slimc against ONNX Runtime and PyTorch on the CPU: median latencies, ratios, GFLOP/s.

Run with the pip Python 3 that has onnxruntime and numpy (`python3` on PATH):

    python3 bench/run.py                       # everything, 1 and 2 threads
    python3 bench/run.py --quick               # smoke run: short measurements, once
    python3 bench/run.py --models mlp,lenet:64 --threads 1

See bench/README.md for what is measured and how.
"""

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

import numpy as np
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODELS_DIR = os.path.join(HERE, "models")
DEB_PY = "/usr/bin/python3"
PEAK_PER_CORE = 210.0          # GFLOP/s, fp32 FMA peak of one Zen 5 core (../shared/ANCHORS.md)

# (model, batch): the benchmark's configurations, in table order.
CONFIGS = [("mlp", 1), ("mlp", 64), ("lenet", 1), ("lenet", 64),
           ("resnet18", 1), ("mobilenet_v2", 1), ("transformer", 1)]
# model -> (.slim file, input shape without the batch, full-size weights made by make_samples)
MODELS = {
    "mlp": ("samples/mlp/mlp.slim", (784,), False),
    "lenet": ("samples/lenet/lenet.slim", (1, 28, 28), False),
    "resnet18": ("samples/resnet18/resnet18.slim", (3, 224, 224), True),
    "mobilenet_v2": ("samples/mobilenet_v2/mobilenet_v2.slim", (3, 224, 224), True),
    "transformer": ("samples/transformer/transformer.slim", (128, 256), True),
}
RUNNERS = ("slimc", "slimc_onnx", "ort", "torch")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, cwd=ROOT, text=True, capture_output=True, **kw)


def first_error(text):
    for line in text.splitlines():
        if "error" in line:
            return line.strip()
    lines = [l for l in text.splitlines() if l.strip()]
    return lines[-1].strip() if lines else "failed"


# ------------------------------------------------------------------ preparation

def prepare(configs, slimc):
    """Full-size weights, ONNX exports and inputs for every configuration."""
    os.makedirs(MODELS_DIR, exist_ok=True)
    for name in sorted({m for m, _ in configs}):
        slim, _, full = MODELS[name]
        weights = os.path.join(ROOT, os.path.dirname(slim), name + ".safetensors")
        if full and not os.path.exists(weights):
            log("making full-size weights for %s" % name)
            r = sh([DEB_PY, "samples/make_samples.py", name, "--full"])
            if r.returncode:
                raise SystemExit("make_samples.py %s --full failed:\n%s" % (name, r.stderr))
    todo = []
    for name, batch in configs:
        slim = MODELS[name][0]
        weights = os.path.join(ROOT, os.path.dirname(slim), name + ".safetensors")
        onnx = onnx_path(name, batch)
        if not os.path.exists(onnx) or os.path.getmtime(onnx) < os.path.getmtime(weights):
            todo.append("%s:%d" % (name, batch))
        inp = input_path(name, batch)
        if not os.path.exists(inp):
            rng = np.random.default_rng(1000 + batch)
            x = rng.standard_normal((batch,) + MODELS[name][1]).astype("<f4")
            np.save(inp, x, allow_pickle=False)
    if todo:
        log("exporting to ONNX: %s" % " ".join(todo))
        r = sh([DEB_PY, "bench/export_onnx.py"] + todo)
        if r.returncode:
            raise SystemExit("export_onnx.py failed:\n%s" % r.stderr)


def onnx_path(name, batch):
    return os.path.join(MODELS_DIR, "%s_b%d.onnx" % (name, batch))


def input_path(name, batch):
    return os.path.join(MODELS_DIR, "%s_b%d_input.npy" % (name, batch))


def slimc_flops(slimc, name):
    r = sh([slimc, "inspect", MODELS[name][0], "--flops"])
    m = re.search(r"flops: (\d+)", r.stdout)
    return int(m.group(1)) if m else None


# ---------------------------------------------------------------------- runners

class Slimc:
    """slimc on the .slim sample (onnx=False) or on the very .onnx file ONNX Runtime runs."""

    def __init__(self, exe, onnx=False):
        self.exe, self.onnx = exe, onnx

    def model(self, name, batch):
        return onnx_path(name, batch) if self.onnx else MODELS[name][0]

    def time(self, name, batch, threads, runs):
        r = sh([self.exe, "bench", self.model(name, batch), "--runs", str(runs), "--threads",
                str(threads), "--input", "x=" + input_path(name, batch)])
        m = re.search(r"median ([0-9.eE+-]+) ms", r.stdout)
        if r.returncode or not m:
            raise RuntimeError(first_error(r.stderr + r.stdout))
        return float(m.group(1))

    def output(self, name, batch, threads):
        d = os.path.join(MODELS_DIR, "out_slimc%s_%s_b%d" % ("_onnx" if self.onnx else "", name, batch))
        r = sh([self.exe, "run", self.model(name, batch), "--input", "x=" + input_path(name, batch),
                "--output-dir", d, "--threads", str(threads)])
        if r.returncode:
            raise RuntimeError(first_error(r.stderr + r.stdout))
        outs = sorted(f for f in os.listdir(d) if f.endswith(".npy"))
        return np.load(os.path.join(d, outs[0]))


class Ort:
    def __init__(self):
        self.sessions = {}

    def session(self, name, batch, threads):
        key = (name, batch, threads)
        if key not in self.sessions:
            so = ort.SessionOptions()
            so.intra_op_num_threads = threads
            so.inter_op_num_threads = 1
            so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            self.sessions[key] = ort.InferenceSession(
                onnx_path(name, batch), so, providers=["CPUExecutionProvider"])
        return self.sessions[key]

    def time(self, name, batch, threads, runs):
        s = self.session(name, batch, threads)
        feed = {"x": np.load(input_path(name, batch))}
        for _ in range(max(2, runs // 10)):
            s.run(None, feed)
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            s.run(None, feed)
            times.append(time.perf_counter() - t0)
        return statistics.median(times) * 1e3

    def output(self, name, batch, threads):
        s = self.session(name, batch, threads)
        return s.run(None, {"x": np.load(input_path(name, batch))})[0]


class Torch:
    """A /usr/bin/python3 bench/torch_bench.py worker per thread count."""

    def __init__(self):
        self.workers = {}

    def worker(self, threads):
        if threads not in self.workers:
            env = dict(os.environ, OPENBLAS_CORETYPE="SKYLAKEX",
                       OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
            self.workers[threads] = subprocess.Popen(
                [DEB_PY, os.path.join(HERE, "torch_bench.py"), "--threads", str(threads)],
                cwd=ROOT, env=env, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        return self.workers[threads]

    def ask(self, threads, req):
        w = self.worker(threads)
        w.stdin.write(json.dumps(req) + "\n")
        w.stdin.flush()
        line = w.stdout.readline()
        if not line:
            raise RuntimeError("torch_bench.py worker died")
        ans = json.loads(line)
        if "error" in ans:
            raise RuntimeError(ans["error"])
        return ans

    def time(self, name, batch, threads, runs):
        return self.ask(threads, {"cmd": "time", "model": name, "input": input_path(name, batch),
                                  "runs": runs, "warmup": max(2, runs // 10)})["median_ms"]

    def output(self, name, batch, threads):
        path = os.path.join(MODELS_DIR, "out_torch_%s_b%d.npy" % (name, batch))
        self.ask(threads, {"cmd": "output", "model": name, "input": input_path(name, batch),
                           "path": path})
        return np.load(path)

    def close(self):
        for w in self.workers.values():
            w.stdin.close()
            w.wait()


# -------------------------------------------------------------------- measuring

def rel_diff(a, ref):
    if a is None or ref is None or a.shape != ref.shape:
        return None
    return float(np.max(np.abs(a.astype(np.float64) - ref)) / max(np.max(np.abs(ref)), 1e-30))


def measure(cfg, threads_list, runners, args, results, errors):
    name, batch = cfg
    # Agreement of the three outputs (PyTorch as reference), at 1 thread.
    outs = {}
    for rn, r in runners.items():
        try:
            outs[rn] = r.output(name, batch, 1)
        except Exception as e:
            outs[rn] = None
            errors.setdefault((name, batch, rn), str(e))
    check = {rn: rel_diff(outs[rn], outs["torch"]) for rn in ("slimc", "slimc_onnx", "ort")}
    for threads in threads_list:
        key = (name, batch, threads)
        # Runs per measurement: enough for about args.seconds, from a short first try
        # (which is also the warm-up: compile cache, sessions, weights loaded).
        nruns = {}
        for rn, r in runners.items():
            if (name, batch, rn) in errors:
                continue
            try:
                est = r.time(name, batch, threads, 3)
                nruns[rn] = int(min(args.max_runs, max(args.min_runs, args.seconds * 1e3 / max(est, 1e-3))))
            except Exception as e:
                errors.setdefault((name, batch, rn), str(e))
        meds = {rn: [] for rn in nruns}
        order = list(nruns)
        for rep in range(args.repeats):
            for rn in order[rep % len(order):] + order[:rep % len(order)] if order else []:
                time.sleep(0.05)          # let the previous runner's threads go idle
                try:
                    meds[rn].append(runners[rn].time(name, batch, threads, nruns[rn]))
                except Exception as e:
                    errors.setdefault((name, batch, rn), str(e))
        res = {rn: (statistics.median(v) if v else None) for rn, v in meds.items()}
        res["runs"] = nruns
        res["spread"] = {rn: (max(v) - min(v)) / statistics.median(v) if len(v) > 1 else 0.0
                         for rn, v in meds.items() if v}
        res["check"] = check
        res["load"] = os.getloadavg()[0]
        results[key] = res
        log("%-13s b%-3d t%d  %s" % (name, batch, threads, "  ".join(
            "%s %s" % (rn, "%.4g ms (spread %.0f%%)" % (res[rn], 100 * res["spread"][rn])
                       if res.get(rn) else "-") for rn in RUNNERS)))


def fmt(v, f="%.3f"):
    return f % v if v is not None else "—"


def table(results, flops, threads_list, errors):
    out = []
    out.append("| model | batch | threads | slimc ms | slimc (.onnx) ms | ORT ms | PyTorch ms | slimc/ORT | "
               "slimc (.onnx)/ORT | slimc/PyTorch | slimc GFLOP/s | % of peak | max rel. diff vs PyTorch (slimc / slimc .onnx / ORT) | load |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    for (name, batch, threads), r in results.items():
        s, so, o, t = r.get("slimc"), r.get("slimc_onnx"), r.get("ort"), r.get("torch")
        gf = flops.get(name)
        gflops = gf * batch / (s * 1e6) if (gf and s) else None
        peak = gflops / (PEAK_PER_CORE * threads) * 100 if gflops else None
        chk = r["check"]
        out.append("| %s | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s / %s | %.1f |" % (
            name, batch, threads, fmt(s), fmt(so), fmt(o), fmt(t),
            fmt(s / o if s and o else None, "%.2f"), fmt(so / o if so and o else None, "%.2f"),
            fmt(s / t if s and t else None, "%.2f"),
            fmt(gflops, "%.1f"), fmt(peak, "%.0f%%"),
            fmt(chk.get("slimc"), "%.1e"), fmt(chk.get("slimc_onnx"), "%.1e"),
            fmt(chk.get("ort"), "%.1e"), r["load"]))
    if errors:
        out.append("")
        out.append("Failures (— in the table):")
        out.append("")
        for (name, batch, rn), e in errors.items():
            out.append("- %s batch %d, %s: `%s`" % (name, batch, rn, e[:300]))
    return "\n".join(out)


def environment(slimc, torch_info, load_before):
    def out(cmd):
        try:
            return sh(cmd).stdout.strip()
        except OSError:
            return "?"
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                cpu += ", AVX-512" if " avx512f" in line else ", no AVX-512"
                break
    except OSError:
        pass
    return [
        "- date: %s UTC; machine: %s, %d CPUs; %s" % (
            time.strftime("%Y-%m-%d %H:%M", time.gmtime()), cpu, os.cpu_count(), platform.platform()),
        "- slimc: `%s` (%s), commit %s%s" % (
            os.path.relpath(slimc, ROOT), out([slimc, "--version"]).splitlines()[0] if out([slimc, "--version"]) else "?",
            out(["git", "rev-parse", "--short", "HEAD"]),
            " + uncommitted changes" if out(["git", "status", "--porcelain", "--untracked-files=no"]) else ""),
        "- ONNX Runtime %s (pip, Python %s): intra_op_num_threads=T, inter_op_num_threads=1, "
        "sequential execution, ORT_ENABLE_ALL, CPUExecutionProvider" % (ort.__version__, platform.python_version()),
        "- PyTorch %s (Debian python3-torch): torch.set_num_threads(T), inference_mode; "
        "OPENBLAS_CORETYPE=%s (Debian's OpenBLAS 0.3.21 does not know Zen 5), "
        "OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=T" % (torch_info.get("torch", "?"),
                                                   torch_info.get("openblas_coretype", "?")),
        "- load average (1 min) before / after the run: %.2f / %.2f (2 cores: anything else "
        "running shows up in the numbers)" % (load_before, os.getloadavg()[0]),
        "- peak: %.0f GFLOP/s per core (fp32 FMA, ../shared/ANCHORS.md); %% of peak = slimc "
        "GFLOP/s / (%.0f x threads); FLOPs from `slimc inspect --flops` x batch "
        "(multiply-add = 2)" % (PEAK_PER_CORE, PEAK_PER_CORE),
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="all",
                    help="comma list of models (mlp, lenet, resnet18, mobilenet_v2, transformer) "
                         "or model:batch (mlp:64); default all")
    ap.add_argument("--threads", default="1,2", help="comma list of thread counts (default 1,2)")
    ap.add_argument("--slimc", default=os.path.join(ROOT, "build", "slimc"),
                    help="the slimc binary (default build/slimc)")
    ap.add_argument("--repeats", type=int, default=5,
                    help="measurements per runner, interleaved; the median is reported (default 5)")
    ap.add_argument("--seconds", type=float, default=0.5,
                    help="about how long one measurement runs (default 0.5)")
    ap.add_argument("--min-runs", type=int, default=10)
    ap.add_argument("--max-runs", type=int, default=5000)
    ap.add_argument("--wait-load", type=float, default=0.0, metavar="L",
                    help="before starting, wait (at most --wait-max seconds) until the "
                         "1-minute load average is below L")
    ap.add_argument("--wait-max", type=float, default=600.0)
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: --repeats 1 --seconds 0.05 --min-runs 3")
    args = ap.parse_args()
    if args.quick:
        args.repeats, args.seconds, args.min_runs = 1, 0.05, 3
    slimc = os.path.abspath(args.slimc)
    if not os.access(slimc, os.X_OK):
        raise SystemExit("no slimc at %s: build it first (cmake --build build)" % slimc)
    threads_list = [int(t) for t in args.threads.split(",")]
    if args.models == "all":
        configs = list(CONFIGS)
    else:
        configs = []
        for m in args.models.split(","):
            name, _, b = m.partition(":")
            if name not in MODELS:
                raise SystemExit("unknown model %r (have: %s)" % (name, ", ".join(MODELS)))
            configs += [c for c in CONFIGS if c[0] == name and (not b or c[1] == int(b))]
    if args.wait_load > 0:
        t0 = time.time()
        while os.getloadavg()[0] >= args.wait_load and time.time() - t0 < args.wait_max:
            time.sleep(5)
        log("load average %.2f after waiting %.0f s" % (os.getloadavg()[0], time.time() - t0))
    load_before = os.getloadavg()[0]
    prepare(configs, slimc)
    flops = {name: slimc_flops(slimc, name) for name in {c[0] for c in configs}}
    runners = {"slimc": Slimc(slimc), "slimc_onnx": Slimc(slimc, onnx=True), "ort": Ort(), "torch": Torch()}
    torch_info = runners["torch"].ask(1, {"cmd": "info"})
    results, errors = {}, {}
    try:
        for cfg in configs:
            measure(cfg, threads_list, runners, args, results, errors)
    finally:
        runners["torch"].close()
    print("Command: `python3 bench/run.py %s`\n" % " ".join(sys.argv[1:]))
    print("\n".join(environment(slimc, torch_info, load_before)))
    print("- each cell: median over %d interleaved measurements of the median of one "
          "measurement's runs (about %.2g s of runs each, %d..%d runs, after warm-up); "
          "load = 1-minute load average when the row was done\n"
          % (args.repeats, args.seconds, args.min_runs, args.max_runs))
    print(table(results, flops, threads_list, errors))


if __name__ == "__main__":
    main()
