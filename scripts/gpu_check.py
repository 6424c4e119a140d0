#!/usr/bin/env python3
"""The steps of scripts/gpu_check.sh (read that file first: it runs these one by one, each
in its own process under a time limit, and this file never runs on its own).

    gpu_check.py STEP          STEP: env tests prepare compile compare time_slimc
                               time_torch gemm torch_compile report
    gpu_check.py pack BUILD DIR

Each step writes WORK/steps/STEP.json (rewritten after every row, so a step stopped at its
time limit still leaves what it measured) and prints its progress. `report` reads them all
and writes OUT/gpu_results.md (ready for bench/RESULTS.md) and OUT/gpu_results.json; its
exit status is 1 when any correctness check failed or did not finish.

The environment (set by gpu_check.sh): GC_ROOT (the repository), GC_BUILD (slimc's build
folder, or a bundle made by `pack`), GC_WORK (scratch), GC_OUT, GC_DRY=1 for the dry run
(emulated CUDA device, torch on the CPU, a tiny model subset), GC_INJECT (test hooks:
"hang:STEP" makes STEP sleep until its limit, "mismatch" makes the first comparison
fail), GC_DEADLINE (epoch seconds by which every step must be done).

numpy is needed everywhere; torch only in time_torch, gemm's cuBLAS half, torch_compile
and prepare's ONNX export and full-size weights (a step without torch says so and goes on).
"""

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.environ.get("GC_ROOT", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("GC_BUILD", os.path.join(ROOT, "build"))
WORK = os.environ.get("GC_WORK", "/tmp/slimc_gpu_check")
OUT = os.environ.get("GC_OUT", WORK)
DRY = os.environ.get("GC_DRY") == "1"
INJECT = os.environ.get("GC_INJECT", "")
DEADLINE = float(os.environ.get("GC_DEADLINE", "0")) or time.time() + 3600
SAMPLES = os.path.join(ROOT, "samples")
MODELS = os.path.join(WORK, "models")

# ---------------------------------------------------------------- what is checked
#
# Tolerances of the comparisons with the CPU (max |cuda - cpu| / max |cpu|, per output),
# as docs/cuda.md states them: fp32 1e-4; --precision fp16 / bf16 (tensor-core GEMM and
# conv, fp32 accumulation) 1e-2 / 5e-2 against the fp32 CPU run; int8 models (same
# quantization on both devices, bit-exact integer kernels, a float tail) 1e-5.
TOL = {"fp32": 1e-4, "fp16": 1e-2, "bf16": 5e-2, "int8": 1e-5}

# The targets, printed next to each number.
TARGET_B64 = 1.2          # slimc fp32 / PyTorch eager at batch 64: at most
TARGET_GEMM = 0.60        # slimc fp16 GEMM / cuBLAS: at least
TARGET_COLD_MS = 2000.0   # cold compile of resnet18 for CUDA
TARGET_WARM_MS = 50.0     # warm (cached) start

# name -> (.slim, weights that must exist, input shape without the batch, sample input)
FULL = {
    "resnet18": ("resnet18/resnet18.slim", "resnet18/resnet18.safetensors", (3, 224, 224),
                 "resnet18/full_input.npy"),
    "mobilenet_v2": ("mobilenet_v2/mobilenet_v2.slim", "mobilenet_v2/mobilenet_v2.safetensors",
                     (3, 224, 224), "mobilenet_v2/full_input.npy"),
    "transformer": ("transformer/transformer.slim", "transformer/transformer.safetensors",
                    (128, 256), "transformer/full_input.npy"),
    "mlp": ("mlp/mlp.slim", "mlp/mlp.safetensors", (784,), "mlp/input.npy"),
}
# Committed samples: (name, .slim, input .npy)
NARROW = [
    ("lenet", "lenet/lenet.slim", "lenet/input.npy"),
    ("mlp", "mlp/mlp.slim", "mlp/input.npy"),
    ("resnet_tiny", "resnet_tiny/resnet_tiny.slim", "resnet_tiny/input.npy"),
    ("textcls", "textcls/textcls.slim", "textcls/input.npy"),
    ("resnet18_narrow", "resnet18/resnet18_narrow.slim", "resnet18/input.npy"),
    ("mobilenet_v2_narrow", "mobilenet_v2/mobilenet_v2_narrow.slim", "mobilenet_v2/input.npy"),
    ("transformer_narrow", "transformer/transformer_narrow.slim", "transformer/input.npy"),
]
# int8 through slimc's quantize pass: (name, .slim, input, calibration samples)
INT8 = [
    ("lenet", "lenet/lenet.slim", "lenet/input.npy", "lenet/calib.npy"),
    ("mlp", "mlp/mlp.slim", "mlp/input.npy", "mlp/input.npy"),
    ("resnet18_narrow", "resnet18/resnet18_narrow.slim", "resnet18/input.npy", "resnet18/input.npy"),
    ("mobilenet_v2_narrow", "mobilenet_v2/mobilenet_v2_narrow.slim", "mobilenet_v2/input.npy",
     "mobilenet_v2/input.npy"),
]
INT8_PASSES = 'fold,bn_fold,quantize(int8, calibrate="%s"),dce,qchain,layout,fuse,memplan'
# bench/run.py's ONNX configurations (bench/export_onnx.py's files, made here under WORK)
BENCH_ONNX = [("mlp", 1), ("mlp", 64), ("lenet", 1), ("lenet", 64), ("resnet18", 1),
              ("mobilenet_v2", 1), ("transformer", 1)]
ONNX_SHAPE = {"mlp": (784,), "lenet": (1, 28, 28), "resnet18": (3, 224, 224),
              "mobilenet_v2": (3, 224, 224), "transformer": (128, 256)}

TIME_MODELS = ["resnet18", "mobilenet_v2", "transformer", "mlp"]
BATCHES = [1, 64]
PRECISIONS = ["fp32", "fp16", "bf16"]
GEMM = (4096, 4096, 4096)
GEMM_INT8 = (4096, 4096, 4096)
COLD_MODEL = "resnet18"

# A model every CUDA backend build runs (elementwise kernels only): the dry run's proof
# that a comparison passes, its model for the timing steps (it compiles fast on the
# emulated device), and a first sign of life on a GPU. Written to WORK by ensure_ew().
EW_SLIM = """# scripts/gpu_check.py's smoke model: elementwise ops only.
model ew(x: f32[N, 64]) -> f32[N, 64]
    return relu(x) * 2.0 + sigmoid(x)
"""
FULL["ew"] = (os.path.join(WORK, "ew.slim"), os.path.join(WORK, "ew.slim"), (64,),
              os.path.join(WORK, "ew_input.npy"))

if DRY:  # well under a minute on two quiet cores, on the emulated device
    NARROW = [n for n in NARROW if n[0] == "mlp"]
    INT8 = [n for n in INT8 if n[0] == "mlp"]
    BENCH_ONNX = []
    TIME_MODELS, BATCHES, PRECISIONS = ["ew"], [1, 4], ["fp32", "fp16"]
    GEMM, GEMM_INT8 = (64, 64, 64), (64, 64, 64)
    COLD_MODEL = "ew"


# ---------------------------------------------------------------- helpers

def log(msg):
    print(msg, flush=True)


def left():
    return DEADLINE - time.time()


class Step:
    """A step's results: rows (dicts), notes; saved atomically after every change."""

    def __init__(self, name, kind):
        self.d = {"step": name, "kind": kind, "rows": [], "notes": [], "done": False}
        self.path = os.path.join(WORK, "steps", name + ".json")
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self.save()
        if "hang:" + name in INJECT.split(","):
            log("GC_INJECT: %s hangs" % name)
            time.sleep(1e6)

    def save(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.d, f, indent=1)
        os.replace(tmp, self.path)

    def row(self, **r):
        self.d["rows"].append(r)
        log("  " + json.dumps(r)[:300])
        self.save()

    def note(self, msg):
        self.d["notes"].append(msg)
        log("note: " + msg)
        self.save()

    def finish(self):
        self.d["done"] = True
        self.save()


def slimc():
    return os.path.join(BUILD, "slimc")


def slimc_env(cache=None):
    env = dict(os.environ)
    env["SLIMC_CACHE_DIR"] = cache or os.path.join(WORK, "cache")
    lib = os.path.join(BUILD, "lib")  # shared libraries `pack` carried
    if os.path.isdir(lib):
        env["LD_LIBRARY_PATH"] = lib + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    if DRY:
        env["SLIMC_CUDA_EMULATE"] = "1"
    else:
        env.pop("SLIMC_CUDA_EMULATE", None)
    return env


def run(cmd, timeout=120, env=None, cwd=None):
    """(returncode, stdout, stderr, seconds); a timeout is returncode 124."""
    t0 = time.time()
    timeout = max(1.0, min(timeout, left() - 2))
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           env=env or slimc_env(), cwd=cwd or WORK)
        return r.returncode, r.stdout, r.stderr, time.time() - t0
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        return 124, out, "timed out after %.0f s" % timeout, time.time() - t0


def first_error(text):
    """The first line that says error, and the two after it (a list of nodes, a log)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if "error" in line:
            return " / ".join(l.strip() for l in lines[i:i + 3] if l.strip())[:400]
    lines = [l for l in text.splitlines() if l.strip()]
    return lines[-1].strip()[:300] if lines else "failed"


def input_args(inputs):
    """inputs: a path (one-input model) or a list of NAME=PATH."""
    if isinstance(inputs, str):
        return ["--input", inputs]
    out = []
    for i in inputs:
        out += ["--input", i]
    return out


def precision_args(p):
    return [] if p in ("fp32", "int8") else ["--precision", p]


def slimc_run(model, inputs, device, outdir, extra=(), timeout=180):
    """Runs model; returns ({name: array}, None) or (None, error)."""
    shutil.rmtree(outdir, ignore_errors=True)
    os.makedirs(os.path.dirname(outdir), exist_ok=True)
    rc, out, err, _ = run([slimc(), "run", model] + input_args(inputs) +
                          ["--device", device, "--output-dir", outdir] + list(extra), timeout)
    if rc:
        return None, first_error(err + out) if rc != 124 else "timed out"
    slimc_run.warning = next((l.strip() for l in err.splitlines() if "warning" in l), "")
    res = {}
    for f in sorted(os.listdir(outdir)):
        if f.endswith(".npy"):
            res[f[:-4]] = np.load(os.path.join(outdir, f))
    return res, None


def rel_diff(a, ref):
    """max |a - ref| / max |ref| over floats; 0/1 (equal / not) for integers."""
    if a.shape != ref.shape:
        return float("inf")
    if not np.issubdtype(ref.dtype, np.floating):
        return 0.0 if np.array_equal(a, ref) else float("inf")
    a64, r64 = a.astype(np.float64), ref.astype(np.float64)
    if not (np.all(np.isfinite(a64)) or np.array_equal(np.isnan(a64), np.isnan(r64))):
        return float("inf")
    return float(np.max(np.abs(a64 - r64)) / max(float(np.max(np.abs(r64))), 1e-30)) if a.size else 0.0


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, a in tensors.items():
        raw = np.ascontiguousarray(a.astype("<f4")).tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((-len(h)) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for b in blobs:
            f.write(b)


def rng_input(path, shape, seed):
    if not os.path.exists(path):
        np.save(path, np.random.default_rng(seed).standard_normal(shape).astype("<f4"))
    return path


def parse_bench(text):
    m = re.search(r"median ([0-9.eE+-]+) ms", text)
    g = re.search(r"GPU median ([0-9.eE+-]+) ms", text)
    return (float(m.group(1)) if m else None), (float(g.group(1)) if g else None)


def bench_runs(batch):
    if DRY:
        return 3
    return 200 if batch == 1 else 30


def timing_input(name, batch):
    return rng_input(os.path.join(MODELS, "%s_b%d_time.npy" % (name, batch)),
                     (batch,) + FULL[name][2], 2000 + batch)


# ---------------------------------------------------------------- steps

def step_env():
    s = Step("env", "info")
    info = {}

    def out(cmd):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
            return (r.stdout or r.stderr).strip()
        except Exception as e:  # absent tool
            return "(%s)" % type(e).__name__
    info["gpu"] = out(["nvidia-smi", "--query-gpu=name,driver_version,memory.total,clocks.max.sm",
                       "--format=csv,noheader"]) if not DRY else "emulated CUDA device (dry run)"
    info["cpu"] = next((l.split(":", 1)[1].strip() for l in out(["lscpu"]).splitlines()
                        if l.startswith("Model name")), "?")
    info["cpus"] = os.cpu_count()
    info["slimc"] = out([slimc(), "--version"]).splitlines()[0] if os.path.exists(slimc()) else "missing"
    info["commit"] = out(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    rc, o, e, _ = run([slimc(), "cache", "info"], 20)
    info["nvrtc"] = next((l for l in (o + e).splitlines() if l.startswith("nvrtc")), "?")
    info["jit"] = next((l for l in (o + e).splitlines() if "compiler" in l.lower()), "?")
    info["cc"] = out(["cc", "--version"]).splitlines()[0] if shutil.which("cc") else "no cc"
    info["python"] = sys.version.split()[0]
    info["dry_run"] = DRY
    for k, v in info.items():
        s.row(key=k, value=v)
    s.finish()


def find_tests():
    """[(name, kind, exe path, env)] of the CUDA tests: the bundle's list (pack), or ctest's."""
    path = os.path.join(BUILD, "gpu_tests.json")
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    r = subprocess.run(["ctest", "--show-only=json-v1"], cwd=BUILD, capture_output=True, text=True)
    return tests_from_ctest(json.loads(r.stdout), BUILD)


def tests_from_ctest(data, build):
    tests = []
    for t in data.get("tests", []):
        name = t["name"]
        if "cuda" not in name:
            continue
        env = {}
        for p in t.get("properties", []):
            if p["name"] == "ENVIRONMENT":
                for kv in p["value"]:
                    k, _, v = kv.partition("=")
                    env[k] = v
        cmd = t["command"]
        if name.startswith("cli_"):
            exe = os.path.relpath(cmd[-1], ROOT) if cmd[-1].startswith(ROOT) else cmd[-1]
            try:  # a test that forces the emulation tests the CPU, not the GPU: CI runs it
                emulated = "export SLIMC_CUDA_EMULATE=1" in open(cmd[-1]).read()
            except OSError:
                emulated = False
            tests.append({"name": name, "kind": "cli", "exe": exe, "emulated": emulated, "env": {
                k: v for k, v in env.items()
                if k not in ("SLIMC", "NPYCMP", "DEMO", "SLIMC_SOURCE_DIR", "SLIMC_CACHE_DIR", "TEST_TMP")}})
        else:
            tests.append({"name": name, "kind": "unit", "exe": os.path.relpath(cmd[0], build), "env": {
                k: v for k, v in env.items() if k not in ("SLIMC_SOURCE_DIR", "SLIMC_CACHE_DIR")}})
    return tests


def step_tests():
    s = Step("tests", "correctness")
    tests = find_tests()
    if DRY:  # the quick ones
        tests = [t for t in tests if t["name"] in ("unit_cuda_rt", "cli_cuda_device")]
    if not tests:
        s.row(test="(none found)", status="FAIL", seconds=0, detail="no CUDA tests in %s" % BUILD)
    procs = []
    for t in [t for t in tests if t.get("emulated")]:
        s.row(test=t["name"], status="skipped", seconds=0, summary="",
              detail="runs on the emulated device only (SLIMC_CUDA_EMULATE=1): CI runs it; "
                     "the compare step runs the same models on the GPU")
    tests = [t for t in tests if not t.get("emulated")]
    for t in tests:
        for orig, rel in t.get("modules", {}).items():  # back at the path built into the test
            if not os.path.exists(orig):
                try:
                    os.makedirs(os.path.dirname(orig), exist_ok=True)
                    os.symlink(os.path.join(BUILD, rel), orig)
                except OSError as e:
                    s.note("cannot put %s at %s (%s): its tests fail" % (rel, orig, e))
        env = slimc_env(os.path.join(WORK, "cache_tests"))
        env.update(t["env"])
        env["SLIMC_SOURCE_DIR"] = ROOT
        env.setdefault("CK_DEFAULT_TIMEOUT", "300")
        if not DRY:
            env["SLIMC_TEST_GPU"] = "1"   # support_cuda.c and test_cuda_rt: the GPU, not the emulation
        env.pop("SLIMC_CUDA_EMULATE", None)
        if t["kind"] == "cli":
            env.update(SLIMC=slimc(), NPYCMP=os.path.join(BUILD, "tests", "npycmp"),
                       DEMO=os.path.join(BUILD, "slimc_demo_lenet"),
                       TEST_TMP=os.path.join(WORK, "tmp_" + t["name"]))
            cmd = ["bash", os.path.join(ROOT, t["exe"])]
        else:
            cmd = [os.path.join(BUILD, t["exe"])]
        logf = open(os.path.join(WORK, "steps", t["name"] + ".log"), "w")
        wd = os.path.join(WORK, "wd_" + t["name"])
        os.makedirs(wd, exist_ok=True)
        procs.append((t, subprocess.Popen(cmd, env=env, cwd=wd, stdout=logf,
                                          stderr=subprocess.STDOUT), time.time(), logf))
    # all at once (16 cores on the GPU machine; the suites compile with NVRTC on the CPU)
    for t, p, t0, logf in procs:
        try:
            rc = p.wait(timeout=max(1, left() - 3))
        except subprocess.TimeoutExpired:
            p.kill()
            rc = 124
        logf.close()
        with open(logf.name, errors="replace") as f:
            text = f.read()
        detail = "" if rc == 0 else ("timed out" if rc == 124 else first_error(text))
        summary = next((l for l in text.splitlines() if "Checks:" in l or " passed, " in l), "")
        skipped = next((l.strip() for l in text.splitlines() if re.search(r"SKIPPED|skipped", l)), "")
        if rc == 0 and skipped and not DRY:  # on the GPU machine a skipped GPU check is a failure
            rc, detail = 1, "skipped on the GPU machine: " + skipped[:250]
        s.row(test=t["name"], status="ok" if rc == 0 else "FAIL", seconds=round(time.time() - t0, 1),
              summary=summary.strip(), detail=detail)
    s.finish()


def step_prepare():
    """Full-size weights (make_samples.py --full), the bench's ONNX files, inputs."""
    s = Step("prepare", "setup")
    os.makedirs(MODELS, exist_ok=True)
    import importlib.util
    have_torch = importlib.util.find_spec("torch") is not None  # without importing it (seconds)
    if not have_torch:
        s.note("no torch in %s: no full-size weights, no ONNX export" % sys.executable)
    if not DRY and have_torch:
        need = [n for n in ("resnet18", "mobilenet_v2", "transformer")
                if not os.path.exists(os.path.join(SAMPLES, FULL[n][1]))]
        for n in need:
            rc, o, e, sec = run([sys.executable, os.path.join(SAMPLES, "make_samples.py"), n, "--full"],
                                120, env=dict(os.environ), cwd=ROOT)
            s.row(item="full-size weights " + n, status="ok" if rc == 0 else "FAIL",
                  seconds=round(sec, 1), detail="" if rc == 0 else first_error(e + o))
    if have_torch:
        todo = []
        for name, batch in BENCH_ONNX:
            path = os.path.join(MODELS, "%s_b%d.onnx" % (name, batch))
            rng_input(os.path.join(MODELS, "%s_b%d_input.npy" % (name, batch)),
                      (batch,) + ONNX_SHAPE[name], 1000 + batch)
            if not os.path.exists(path):
                todo.append("%s:%d:%s" % (name, batch, path))
        if todo:  # one process: torch is imported once
            rc, o, e, sec = run([sys.executable, os.path.abspath(__file__), "export"] + todo,
                                left() - 3, env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "bench")),
                                cwd=ROOT)
            done = set()
            for line in o.splitlines():
                parts = line.split("\t")
                if len(parts) == 5 and parts[0] in ("ok", "FAIL"):
                    done.add(parts[1])
                    s.row(item="ONNX " + parts[1], status=parts[0], seconds=float(parts[2]),
                          detail=parts[4] if parts[0] == "FAIL" else parts[3])
            for t in todo:
                label = "%s_b%s" % tuple(t.split(":")[:2])
                if label not in done:
                    s.row(item="ONNX " + label, status="FAIL", seconds=0,
                          detail="timed out" if rc == 124 else first_error(e + o))
    s.finish()


def export_many(specs):
    """NAME:BATCH:PATH ... -> one tab-separated line each: ok|FAIL, label, seconds, how, error."""
    for spec in specs:
        name, batch, path = spec.split(":", 2)
        t0 = time.time()
        try:
            how = export_one(name, int(batch), path)
            print("ok\t%s_b%s\t%.1f\t%s\t" % (name, batch, time.time() - t0, how), flush=True)
        except Exception as e:  # report, go on with the next
            msg = ("%s: %s" % (type(e).__name__, e)).replace("\t", " ").replace("\n", " ")[:300]
            print("FAIL\t%s_b%s\t%.1f\t\t%s" % (name, batch, time.time() - t0, msg), flush=True)


def export_one(name, batch, path):
    """bench/export_onnx.py's export, under whichever torch this is (the TorchScript
    exporter where it still exists: dynamo=False; else the default one)."""
    import inspect
    import torch
    import torch_models
    torch.set_num_threads(4)
    model = torch_models.build(name)
    x = torch.randn((batch,) + torch_models.MODELS[name][2], generator=torch.Generator().manual_seed(0))
    kw = dict(input_names=["x"], output_names=["y"], opset_version=17, do_constant_folding=True)
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        try:
            torch.onnx.export(model, (x,), path, dynamo=False, **kw)
            return "TorchScript exporter"
        except Exception as e:  # gone in this torch: the dynamo one
            torch.onnx.export(model, (x,), path, dynamo=True, **kw)
            return "dynamo exporter (the TorchScript one: %s)" % type(e).__name__
    torch.onnx.export(model, (x,), path, **kw)
    return "exported"


def compare_one(s, label, model, inputs, precision, extra=(), source="sample"):
    d = os.path.join(WORK, "cmp", re.sub(r"[^A-Za-z0-9_.-]", "_", "%s_%s_%s" % (source, label, precision)))
    ref, err = slimc_run(model, inputs, "cpu", d + "_cpu", extra)
    if err:  # not a CUDA failure: the model does not run on the CPU either (an import gap, ...)
        s.row(model=label, source=source, precision=precision, status="n/a", rel=None,
              tol=TOL[precision], detail="CPU run failed: " + err)
        return
    cpu_warning = getattr(slimc_run, "warning", "")
    got, err = slimc_run(model, inputs, "cuda", d + "_cuda", list(extra) + precision_args(precision))
    warning = getattr(slimc_run, "warning", "") if not err else ""
    if err and "unknown option '--precision'" in err:
        s.row(model=label, source=source, precision=precision, status="n/a", rel=None,
              tol=TOL[precision], detail="this slimc has no --precision")
        return
    if err:
        s.row(model=label, source=source, precision=precision, status="FAIL", rel=None,
              tol=TOL[precision], detail="CUDA run failed: " + err)
        return
    worst, exact = 0.0, True
    for k, r in ref.items():
        g = got.get(k)
        diff = float("inf") if g is None else rel_diff(g, r)
        exact = exact and g is not None and np.array_equal(g, r)
        worst = max(worst, diff)
    if "mismatch" in INJECT.split(",") and not getattr(compare_one, "injected", False):
        compare_one.injected = True
        worst, exact = float("inf"), False
    ok = worst <= TOL[precision]
    detail = "bit-exact" if exact else ""
    if warning and warning != cpu_warning:  # said on CUDA only: often why it differs
        detail = (detail + "; " if detail else "") + "on CUDA: " + warning[:200]
    s.row(model=label, source=source, precision=precision, status="ok" if ok else "FAIL",
          rel=worst if worst != float("inf") else "inf", tol=TOL[precision], detail=detail)


def ensure_ew():
    if not os.path.exists(FULL["ew"][0]):
        with open(FULL["ew"][0], "w") as f:
            f.write(EW_SLIM)
    rng_input(FULL["ew"][3], (8, 64), 7)


def step_compare():
    s = Step("compare", "correctness")
    compare_one(s, "ew", FULL["ew"][0], FULL["ew"][3], "fp32", source="smoke")
    for name, slim, inp in NARROW:
        compare_one(s, name, os.path.join(SAMPLES, slim), os.path.join(SAMPLES, inp), "fp32")
    for name, slim, inp, calib in INT8:
        # quantized on the fly (the same --passes on both devices) ...
        compare_one(s, name, os.path.join(SAMPLES, slim), os.path.join(SAMPLES, inp), "int8",
                    ["--passes", INT8_PASSES % os.path.join(SAMPLES, calib)])
        # ... and saved quantized by `slimc compress` (QuantLinear/QuantConv2d in the file)
        q = os.path.join(WORK, "int8", name + "_int8.slim")
        os.makedirs(os.path.dirname(q), exist_ok=True)
        rc, o, e, _ = run([slimc(), "compress", os.path.join(SAMPLES, slim), "--passes",
                           'quantize(int8, calibrate="%s")' % os.path.join(SAMPLES, calib), "-o", q], 120)
        if rc:
            s.row(model=name, source="compressed", precision="int8", status="n/a", rel=None,
                  tol=TOL["int8"], detail="slimc compress failed: " + first_error(e + o))
            continue
        compare_one(s, name, q, os.path.join(SAMPLES, inp), "int8", source="compressed")
    for name in TIME_MODELS:  # the full-size models, each precision
        slim, weights, _, inp = FULL[name]
        if not os.path.exists(os.path.join(SAMPLES, weights)):
            s.row(model=name, source="sample (full)", precision="fp32", status="n/a", rel=None,
                  tol=TOL["fp32"], detail="no full-size weights (prepare)")
            continue
        for p in PRECISIONS:
            if p == "fp32" and (name == "ew" or any(slim == n[1] for n in NARROW)):
                continue  # compared above (mlp: the same file)
            compare_one(s, name, os.path.join(SAMPLES, slim), os.path.join(SAMPLES, inp), p,
                        source="smoke" if name == "ew" else "sample (full)")
    for name, batch in BENCH_ONNX:
        path = os.path.join(MODELS, "%s_b%d.onnx" % (name, batch))
        if not os.path.exists(path):
            s.row(model="%s_b%d" % (name, batch), source="bench ONNX", precision="fp32", status="n/a",
                  rel=None, tol=TOL["fp32"], detail="not exported (prepare)")
            continue
        compare_one(s, "%s_b%d" % (name, batch), path,
                    os.path.join(MODELS, "%s_b%d_input.npy" % (name, batch)), "fp32", source="bench ONNX")
    s.finish()


def step_compile():
    """Cold (empty cache) and warm (cache hit) start of COLD_MODEL on CUDA: `slimc bench
    --runs 1 --time`, parse + passes + codegen + compile + load (the run excluded), and the
    whole process; medians of 3 cold and 5 warm (dry run: 1 and 2)."""
    s = Step("compile", "timing")
    slim, weights, shape, _ = FULL[COLD_MODEL]
    if not os.path.exists(os.path.join(SAMPLES, weights)):
        s.note("no full-size weights for %s" % COLD_MODEL)
        s.finish()
        return
    x = rng_input(os.path.join(MODELS, "%s_b1_time.npy" % COLD_MODEL), (1,) + shape, 2001)
    os.makedirs(MODELS, exist_ok=True)

    def once(cache):
        rc, o, e, sec = run([slimc(), "bench", os.path.join(SAMPLES, slim), "--device", "cuda",
                             "--runs", "1", "--time", "--input", x], 120, env=slimc_env(cache))
        m = re.search(r"parse ([0-9.]+) ms, passes ([0-9.]+) ms, codegen ([0-9.]+) ms, "
                      r"compile ([0-9.]+) ms, load ([0-9.]+) ms", e)
        if rc or not m:
            return None, first_error(e + o)
        return (sum(float(v) for v in m.groups()), float(m.group(4)), sec * 1e3), None

    for kind, n in (("cold", 1 if DRY else 3), ("warm", 2 if DRY else 5)):
        res, err = [], None
        for i in range(n):
            cache = os.path.join(WORK, "cache_cold%d" % i if kind == "cold" else "cache_warm")
            if kind == "cold":
                shutil.rmtree(cache, ignore_errors=True)
            elif i == 0:
                once(cache)  # fills it
            r, err = once(cache)
            if r:
                res.append(r)
        if not res:
            s.row(model=COLD_MODEL, kind=kind, status="FAIL", detail=err)
            continue
        s.row(model=COLD_MODEL, kind=kind, status="ok", runs=len(res),
              start_ms=statistics.median(r[0] for r in res),
              compile_ms=statistics.median(r[1] for r in res),
              process_ms=statistics.median(r[2] for r in res),
              target_ms=TARGET_COLD_MS if kind == "cold" else TARGET_WARM_MS)
    s.finish()


def step_time_slimc():
    s = Step("time_slimc", "timing")
    os.makedirs(MODELS, exist_ok=True)
    for batch in BATCHES:
        for name in TIME_MODELS:
            slim, weights, _, _ = FULL[name]
            if not os.path.exists(os.path.join(SAMPLES, weights)):
                continue
            x = timing_input(name, batch)
            for p in PRECISIONS:
                rc, o, e, _ = run([slimc(), "bench", os.path.join(SAMPLES, slim), "--device", "cuda",
                                   "--runs", str(bench_runs(batch)), "--input", x] + precision_args(p), 120)
                host, gpu = parse_bench(o)
                if rc or host is None:
                    s.row(model=name, batch=batch, precision=p, status="FAIL", detail=first_error(e + o))
                else:
                    s.row(model=name, batch=batch, precision=p, status="ok", host_ms=host, gpu_ms=gpu,
                          runs=bench_runs(batch))
    s.finish()


# issue 16: the default pipeline with the greedy split ONNX Runtime makes (every node with a
# CUDA kernel on the GPU, the rest on the CPU) in place of the place pass's minimum cut
# the place step of the default pipeline, costed at the batch the model is timed at
PLACE_PIPELINE = "qdq,fold,bn_fold,fold,dce,cse,place(%s, symbols=%d),qchain,layout,fuse,dce,memplan"
# the mixed case: one op given no CUDA kernel in the middle of the model (SLIMC_CUDA_NO_KERNEL)
NO_KERNEL = {"transformer": "softmax", "resnet18": "max_pool2d", "mobilenet_v2": "mean",
             "mlp": "relu", "ew": "mul"}


def parse_predicted(text):
    m = re.search(r"^  predicted ([0-9.eE+-]+) ms", text, re.M)
    return float(m.group(1)) if m else None


def step_placement():
    """--device auto against all-CPU, all-GPU and the greedy split, at batch 1 and 64, with a
    device profile measured here first; then each model with one op forced onto the CPU."""
    s = Step("placement", "timing")
    os.makedirs(MODELS, exist_ok=True)
    prof = os.path.join(WORK, "device-profile.json")
    if DRY:  # the emulated GPU's profile takes longer than the dry run has
        rc, o, e, sec = None, "", "", 0
        s.note("the dry run places with the built-in profile")
    else:
        rc, o, e, sec = run([slimc(), "profile-device", "--device", "auto", "-o", prof], 60)
    if rc is None:
        extra = []
    elif rc:
        s.note("profile-device failed (the built-in profile is used): %s" % first_error(e + o))
        extra = []
    else:
        s.note("profile-device measured the profile in %.1f s" % sec)
        extra = ["--device-profile", prof]
    for case in ("plain", "no_kernel"):
        for batch in BATCHES:
            for name in TIME_MODELS:
                if left() < 15:
                    s.note("out of time before %s b%d (%s)" % (name, batch, case))
                    s.finish()
                    return
                slim, weights, _, _ = FULL[name]
                if not os.path.exists(os.path.join(SAMPLES, weights)):
                    continue
                model, x = os.path.join(SAMPLES, slim), timing_input(name, batch)
                env = slimc_env()
                if case == "no_kernel":
                    env["SLIMC_CUDA_NO_KERNEL"] = NO_KERNEL.get(name, "softmax")
                ins = ["--input", x]
                row = {"model": name, "batch": batch, "case": case}
                auto = ["--device", "auto", "--passes", PLACE_PIPELINE % ("auto", batch)] + extra
                modes = (("cpu", ["--device", "cpu"]), ("auto", auto),
                         ("greedy", ["--device", "auto", "--passes",
                                     PLACE_PIPELINE % ("greedy", batch)] + extra))
                if case == "plain":
                    modes = modes[:1] + (("cuda", ["--device", "cuda"]),) + modes[1:]
                status = "ok"
                for mode, args in modes:
                    rc, o, e, _ = run([slimc(), "bench", model, "--runs", str(bench_runs(batch))] +
                                      ins + args, 120, env=env)
                    host, _ = parse_bench(o)
                    row[mode + "_ms"] = host
                    if rc or host is None:
                        status = "FAIL"
                        row["detail"] = "%s: %s" % (mode, first_error(e + o))
                rc, o, e, _ = run([slimc(), "inspect", model, "--placement"] + auto, 60, env=env)
                row["predicted_ms"] = parse_predicted(o)
                row["status"] = status
                s.row(**row)
    s.finish()


def gemm_files():
    """WORK/gemm: gemm.slim (matmul of two inputs), qlin.slim (Linear, int8 by --passes),
    their inputs and weights."""
    d = os.path.join(WORK, "gemm")
    os.makedirs(d, exist_ok=True)
    m, k, n = GEMM
    rng = np.random.default_rng(5)
    with open(os.path.join(d, "gemm.slim"), "w") as f:
        f.write("model gemm(a: f32[%d, %d], b: f32[%d, %d]) -> f32[%d, %d]\n    return matmul(a, b)\n"
                % (m, k, k, n, m, n))
    for nm, shape in (("a", (m, k)), ("b", (k, n))):
        p = os.path.join(d, nm + ".npy")
        if not os.path.exists(p):
            np.save(p, rng.standard_normal(shape, dtype=np.float32))
    m, k, n = GEMM_INT8
    with open(os.path.join(d, "qlin.slim"), "w") as f:
        f.write('model qlin(x: f32[N, %d]) -> f32[N, %d]\n    weights "qlin.safetensors"\n\n'
                '    fc = Linear(%d, %d)\n\n    return fc(x)\n' % (k, n, k, n))
    if not os.path.exists(os.path.join(d, "qlin.safetensors")):
        write_safetensors(os.path.join(d, "qlin.safetensors"),
                          {"fc.weight": rng.standard_normal((n, k), dtype=np.float32) / np.sqrt(k),
                           "fc.bias": np.zeros(n, np.float32)})
    rng_input(os.path.join(d, "x.npy"), (m, k), 6)
    rng_input(os.path.join(d, "calib.npy"), (8, k), 8)
    return d


def step_gemm():
    """slimc's fp16 GEMM and int8 linear on the GPU; then torch.matmul (cuBLAS) and
    torch._int_mm when torch is here (the same step, so that both run on the same GPU state)."""
    s = Step("gemm", "timing")
    d = gemm_files()
    m, k, n = GEMM
    rc, o, e, _ = run([slimc(), "bench", os.path.join(d, "gemm.slim"), "--device", "cuda", "--runs",
                       "3" if DRY else "20", "--input", "a=" + os.path.join(d, "a.npy"), "--input",
                       "b=" + os.path.join(d, "b.npy")] + precision_args("fp16"), 180)
    host, gpu = parse_bench(o)
    s.row(what="fp16 GEMM %dx%dx%d" % GEMM, who="slimc", status="ok" if host else "FAIL",
          ms=gpu, host_ms=host, tflops=2.0 * m * n * k / (gpu * 1e9) if gpu else None,
          detail="" if host else first_error(e + o))
    m, k, n = GEMM_INT8
    rc, o, e, _ = run([slimc(), "bench", os.path.join(d, "qlin.slim"), "--device", "cuda", "--runs",
                       "3" if DRY else "20", "--input", os.path.join(d, "x.npy"), "--passes",
                       INT8_PASSES % os.path.join(d, "calib.npy")], 180)
    host, gpu = parse_bench(o)
    s.row(what="int8 linear %dx%dx%d" % GEMM_INT8, who="slimc", status="ok" if host else "FAIL",
          ms=gpu, host_ms=host, tops=2.0 * m * n * k / (gpu * 1e9) if gpu else None,
          detail="" if host else first_error(e + o))
    try:
        torch, dev = torch_setup()
    except ImportError:
        s.note("no torch in %s: no cuBLAS / _int_mm reference" % sys.executable)
        s.finish()
        return
    m, k, n = GEMM
    try:
        a = torch.randn(m, k, device=dev).half()
        b = torch.randn(k, n, device=dev).half()
        ms = torch_time(torch, dev, lambda: torch.matmul(a, b), 20)
        s.row(what="fp16 GEMM %dx%dx%d" % GEMM, who="torch.matmul (cuBLAS)", status="ok", ms=ms,
              tflops=2.0 * m * n * k / (ms * 1e9))
    except Exception as e:  # fp16 matmul on an old torch's CPU
        s.row(what="fp16 GEMM %dx%dx%d" % GEMM, who="torch.matmul (cuBLAS)", status="FAIL",
              detail="%s: %s" % (type(e).__name__, str(e)[:200]))
    m, k, n = GEMM_INT8
    if not hasattr(torch, "_int_mm") or dev == "cpu":
        s.note("torch._int_mm: not in this torch, or not on a GPU")
    else:
        try:
            ai = torch.randint(-128, 127, (m, k), device=dev, dtype=torch.int8)
            bi = torch.randint(-128, 127, (k, n), device=dev, dtype=torch.int8)
            ms = torch_time(torch, dev, lambda: torch._int_mm(ai, bi), 20)
            s.row(what="int8 linear %dx%dx%d" % GEMM_INT8, who="torch._int_mm", status="ok", ms=ms,
                  tops=2.0 * m * n * k / (ms * 1e9))
        except Exception as e:
            s.row(what="int8 linear %dx%dx%d" % GEMM_INT8, who="torch._int_mm", status="FAIL",
                  detail="%s: %s" % (type(e).__name__, str(e)[:200]))
    s.finish()


# ---------------------------------------------------------------- PyTorch

def torch_setup():
    import torch
    dev = "cuda" if (not DRY and torch.cuda.is_available()) else "cpu"
    torch.backends.cudnn.allow_tf32 = False        # fp32 is fp32
    torch.backends.cuda.matmul.allow_tf32 = False
    if dev == "cpu":
        torch.set_num_threads(1)
    return torch, dev


def torch_time(torch, dev, fn, runs, warmup=5):
    """Median ms of fn(): CUDA events around each call on a GPU, perf_counter on the CPU."""
    for _ in range(warmup):
        fn()
    times = []
    if dev == "cuda":
        torch.cuda.synchronize()
        for _ in range(runs):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            b.synchronize()
            times.append(a.elapsed_time(b))
    else:
        for _ in range(runs):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def torch_models_for(torch, name, p, dev):
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    import torch_models
    if name == "ew":
        class Ew(torch.nn.Module):
            def forward(self, x):
                return torch.relu(x) * 2.0 + torch.sigmoid(x)
        model = Ew().to(dev)
    else:
        model = torch_models.build(name).to(dev)
    dt = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[p]
    return model.to(dt), dt


def time_torch_one(s, torch, dev, name, batch, p, compiled):
    if not os.path.exists(os.path.join(SAMPLES, FULL[name][1])):
        return
    who = "torch.compile" if compiled else "eager"
    try:
        model, dt = torch_models_for(torch, name, p, dev)
        xh = torch.from_numpy(np.load(timing_input(name, batch)))
        x = xh.to(dev, dt)
        fn = model
        if compiled:
            fn = torch.compile(model)
        with torch.inference_mode():
            t0 = time.time()
            fn(x)  # compile (torch.compile), warm-up
            first = (time.time() - t0) * 1e3
            runs = bench_runs(batch)
            gpu = torch_time(torch, dev, lambda: fn(x), runs)
            # host in, host out, as `slimc bench` runs (pageable memory both ways)
            host = torch_time(torch, "cpu", lambda: fn(xh.to(dev, dt)).float().cpu(), max(3, runs // 4), 2)
        s.row(model=name, batch=batch, precision=p, who=who, status="ok", gpu_ms=gpu, host_ms=host,
              first_ms=first)
    except Exception as e:  # report, go on with the next
        s.row(model=name, batch=batch, precision=p, who=who, status="FAIL",
              detail="%s: %s" % (type(e).__name__, str(e)[:200]))


def step_time_torch():
    s = Step("time_torch", "timing")
    try:
        torch, dev = torch_setup()
    except ImportError:
        s.note("no torch in %s" % sys.executable)
        s.finish()
        return
    s.note("torch %s on %s" % (torch.__version__, torch.cuda.get_device_name(0) if dev == "cuda" else "the CPU"))
    for batch in BATCHES:
        for name in TIME_MODELS:
            for p in PRECISIONS:
                time_torch_one(s, torch, dev, name, batch, p, False)
    s.finish()


def step_torch_compile():
    """torch.compile (inductor, default mode) at fp16, then fp32: the slowest step, run last;
    what its time limit leaves out is missing from the table (and said so)."""
    s = Step("torch_compile", "timing")
    try:
        torch, dev = torch_setup()
    except ImportError:
        s.note("no torch in %s" % sys.executable)
        s.finish()
        return
    if not hasattr(torch, "compile"):
        s.note("torch %s has no torch.compile" % torch.__version__)
        s.finish()
        return
    for p in ("fp16", "fp32"):
        if p not in PRECISIONS:
            continue
        for batch in reversed(BATCHES):
            for name in TIME_MODELS:
                if left() < 20:
                    s.note("out of time before %s b%d %s" % (name, batch, p))
                    s.finish()
                    return
                time_torch_one(s, torch, dev, name, batch, p, True)
                torch._dynamo.reset()
    s.finish()


STEPS = {"env": step_env, "tests": step_tests, "prepare": step_prepare, "compile": step_compile,
         "compare": step_compare, "time_slimc": step_time_slimc, "time_torch": step_time_torch,
         "gemm": step_gemm, "torch_compile": step_torch_compile, "placement": step_placement}

if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "export":
        export_many(sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == "pack":
        import gpu_check_report
        gpu_check_report.pack(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 2 and sys.argv[1] == "report":
        import gpu_check_report
        sys.exit(gpu_check_report.step_report())
    elif len(sys.argv) == 2 and sys.argv[1] in STEPS:
        os.makedirs(WORK, exist_ok=True)
        ensure_ew()
        STEPS[sys.argv[1]]()
    else:
        sys.exit(__doc__)
