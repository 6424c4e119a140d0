#!/usr/bin/env python3
"""Cold and warm compile time of the CUDA backend's code, without a GPU (issue 15).

    python3 bench/cuda_compile.py                       # resnet18, mobilenet_v2; median of 5
    python3 bench/cuda_compile.py --models resnet18 --repeats 3 --arch 90

On a GPU a cold `slimc run --device cuda` compiles the generated file twice: the device half
with NVRTC (cubin for the GPU's sm_XX: front end, NVVM optimizer, ptxas inside NVRTC) and the
host half as C (rt_compile: Clang in-process). Neither needs a GPU, so both are timed here:

- the file: `slimc emit MODEL --target cuda` (full-size weights: make_samples.py --full);
- NVRTC through ctypes with the runtime's options (runtime/nvrtc.c: -arch, --std=c++17):
  PTX for compute_ARCH, cubin for sm_ARCH, cubin with --split-compile=0 (NVVM optimizing
  the kernels on every core), and -fdevice-time-trace to split the time by phase;
- ptxas on that PTX alone (-O3, the default, and -O1);
- the host half: `cc -O2 -c` of the same file as C (the in-process Clang's job);
- warm: the start with every compile a cache hit, measured on the emulated device
  (`SLIMC_CUDA_EMULATE=1 slimc bench --device cuda --runs 1 --time` twice on one cache):
  parse + passes + codegen + compile (a hit) + load -- the same path a GPU's warm start
  takes, minus loading the cubin into the driver.

Prints a Markdown table (median of --repeats, the CPU named from lscpu) for bench/RESULTS.md.
"""

import argparse
import ctypes
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODELS = {
    "resnet18": ("samples/resnet18/resnet18.slim", "samples/resnet18/resnet18_narrow.slim"),
    "mobilenet_v2": ("samples/mobilenet_v2/mobilenet_v2.slim",
                     "samples/mobilenet_v2/mobilenet_v2_narrow.slim"),
    "transformer": ("samples/transformer/transformer.slim",
                    "samples/transformer/transformer_narrow.slim"),
    "mlp": ("samples/mlp/mlp.slim", None),
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Nvrtc:
    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        v = (ctypes.c_int(), ctypes.c_int())
        self.lib.nvrtcVersion(ctypes.byref(v[0]), ctypes.byref(v[1]))
        self.version = "%d.%d" % (v[0].value, v[1].value)

    def compile(self, src, opts, want="ptx"):
        """((wall s, CPU s), output bytes or None, log)"""
        prog = ctypes.c_void_p()
        rc = self.lib.nvrtcCreateProgram(ctypes.byref(prog), src, b"model.cu", 0, None, None)
        assert rc == 0, rc
        arr = (ctypes.c_char_p * len(opts))(*[o.encode() for o in opts])
        t0, c0 = time.perf_counter(), time.process_time()
        rc = self.lib.nvrtcCompileProgram(prog, len(opts), arr)
        sec = (time.perf_counter() - t0, time.process_time() - c0)  # wall, CPU (all threads)
        n = ctypes.c_size_t()
        self.lib.nvrtcGetProgramLogSize(prog, ctypes.byref(n))
        buf = ctypes.create_string_buffer(n.value)
        self.lib.nvrtcGetProgramLog(prog, buf)
        out = None
        if rc == 0:
            size_fn, get_fn = ((self.lib.nvrtcGetPTXSize, self.lib.nvrtcGetPTX) if want == "ptx"
                               else (self.lib.nvrtcGetCUBINSize, self.lib.nvrtcGetCUBIN))
            size_fn(prog, ctypes.byref(n))
            b = ctypes.create_string_buffer(n.value)
            get_fn(prog, b)
            out = b.raw
        self.lib.nvrtcDestroyProgram(ctypes.byref(prog))
        return sec, out, buf.value.decode(errors="replace") if rc == 0 else "rc %d: %s" % (rc, buf.value.decode(errors="replace"))


def nvrtc_path(slimc):
    r = subprocess.run([slimc, "cache", "info"], capture_output=True, text=True)
    m = re.search(r"^nvrtc: \S+ \((.+)\)", r.stdout, re.M)
    if m:
        return m.group(1)
    for p in ("/usr/local/cuda/lib64/libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12"):
        try:
            ctypes.CDLL(p)
            return p
        except OSError:
            pass
    raise SystemExit("NVRTC not found (slimc cache info names none)")


def cpu_name():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        return next(l.split(":", 1)[1].strip() for l in out.splitlines() if l.startswith("Model name"))
    except (OSError, StopIteration):
        return "?"


def med(xs):
    """(median wall, median CPU) of (wall, CPU) pairs; a plain median of numbers."""
    if not xs:
        return None
    if isinstance(xs[0], tuple):
        return (statistics.median(x[0] for x in xs), statistics.median(x[1] for x in xs))
    return statistics.median(xs)


def trace_phases(nv, src, opts, tmp):
    """NVRTC's -fdevice-time-trace (NVRTC writes PATH.json, one JSON object per compile
    stage): (ms per event name, the 8 largest, nested events counted in their parents too;
    ms of NVVM's optimization per kernel)."""
    path = os.path.join(tmp, "trace")
    for p in (path, path + ".json"):
        if os.path.exists(p):
            os.remove(p)
    _, out, _ = nv.compile(src, opts + ["-fdevice-time-trace=" + path], "cubin")
    p = path + ".json" if os.path.exists(path + ".json") else path
    if out is None or not os.path.exists(p):
        return None
    text, dec, i, phases, kernels = open(p).read(), json.JSONDecoder(), 0, {}, {}
    while i < len(text):
        while i < len(text) and text[i] in " \n\r\t,":
            i += 1
        if i >= len(text):
            break
        try:
            obj, i = dec.raw_decode(text, i)
        except ValueError:
            break
        for e in obj.get("traceEvents", []) if isinstance(obj, dict) else obj:
            if e.get("ph") == "X" and "dur" in e:
                name = e.get("name", "?")
                if name == "OptFunction":  # NVVM's per-kernel optimization
                    k = e.get("args", {}).get("detail", "?")
                    kernels[k] = kernels.get(k, 0.0) + e["dur"] / 1e3
                    continue
                if name == "Processing Header File":
                    name += " " + os.path.basename(e.get("args", {}).get("detail", ""))
                phases[name] = phases.get(name, 0.0) + e["dur"] / 1e3
    return (dict(sorted(phases.items(), key=lambda kv: -kv[1])[:8]),
            dict(sorted(kernels.items(), key=lambda kv: -kv[1])))


def measure(name, args, nv, tmp):
    full, narrow = MODELS[name]
    slim = full
    weights = os.path.join(ROOT, os.path.dirname(full), os.path.basename(full).replace(".slim", ".safetensors"))
    if not os.path.exists(weights):
        if not narrow:
            raise SystemExit("%s: no weights" % name)
        log("%s: no full-size weights (make_samples.py %s --full): the narrow variant" % (name, name))
        slim = narrow
    d = os.path.join(tmp, name)
    env = dict(os.environ, SLIMC_CACHE_DIR=os.path.join(tmp, "cache_" + name))
    r = subprocess.run([args.slimc, "emit", os.path.join(ROOT, slim), "--target", "cuda", "-o", d],
                       capture_output=True, text=True, env=env)
    if r.returncode:
        return {"model": name, "error": (r.stderr.strip().splitlines() or ["emit failed"])[0]}
    cu = [f for f in os.listdir(d) if f.endswith((".cu", ".c"))][0]
    path = os.path.join(d, cu)
    src = open(path, "rb").read()
    res = {"model": name, "slim": slim, "bytes": len(src),
           "kernels": len(re.findall(rb"SLIMC_KERNEL\s+\w+\s*\(", src))}
    arch = args.arch
    base = ["--std=c++17"]
    ptx_t, cubin_t, split_t, ptxas3, ptxas1, host = [], [], [], [], [], []
    ptx = None
    def child(cmd):
        """((wall s, CPU s of the child), returncode, stderr)"""
        r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        rr = subprocess.run(cmd, capture_output=True, text=True)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        return ((time.perf_counter() - t0, r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime),
                rr.returncode, rr.stderr)

    for i in range(args.repeats):
        t, ptx, lg = nv.compile(src, ["-arch=compute_%d" % arch] + base, "ptx")
        if ptx is None:
            res["error"] = "NVRTC: " + lg[:300]
            return res
        ptx_t.append(t)
        t, out, lg = nv.compile(src, ["-arch=sm_%d" % arch] + base, "cubin")
        cubin_t.append(t) if out else None
        t, out, lg = nv.compile(src, ["-arch=sm_%d" % arch, "--split-compile=0"] + base, "cubin")
        split_t.append(t) if out else None
        pp = os.path.join(tmp, "k.ptx")
        open(pp, "wb").write(ptx.rstrip(b"\0"))
        for opt, acc in (("-O3", ptxas3), ("-O1", ptxas1)):
            t, rc, _ = child([args.ptxas, "-arch=sm_%d" % arch, opt, "-o", os.path.join(tmp, "k.cubin"), pp])
            if rc == 0:
                acc.append(t)
        t, rc, err = child([args.cc, "-O2", "-fPIC", "-x", "c", "-c", path, "-o", os.path.join(tmp, "h.o")])
        if rc == 0:
            host.append(t)
        elif i == 0:
            res["host_error"] = (err.strip().splitlines() or ["failed"])[0][:200]
        log("%s: round %d: ptx %.2f s (CPU %.2f), cubin %.2f s (CPU %.2f)" % (
            name, i + 1, ptx_t[-1][0], ptx_t[-1][1], cubin_t[-1][0] if cubin_t else -1,
            cubin_t[-1][1] if cubin_t else -1))
    res.update(ptx=med(ptx_t), cubin=med(cubin_t), cubin_split=med(split_t), ptxas_O3=med(ptxas3),
               ptxas_O1=med(ptxas1), host_cc=med(host), ptx_bytes=len(ptx))
    tr = trace_phases(nv, src, ["-arch=sm_%d" % arch] + base, tmp)
    res["phases"], res["kernel_ms"] = tr if tr else (None, None)
    # warm start: the emulated device, every compile a cache hit
    warm = []
    for i in range(args.repeats + 1):
        r = subprocess.run([args.slimc, "bench", os.path.join(ROOT, slim), "--device", "cuda", "--runs", "1",
                            "--time"],
                           capture_output=True, text=True, env=dict(env, SLIMC_CUDA_EMULATE="1"))
        m = re.search(r"parse ([0-9.]+) ms, passes ([0-9.]+) ms, codegen ([0-9.]+) ms, "
                      r"compile ([0-9.]+) ms, load ([0-9.]+) ms", r.stderr)
        if r.returncode or not m:
            res["warm_error"] = (r.stderr.strip().splitlines() or ["failed"])[0][:200]
            break
        if i:  # the first fills the cache
            warm.append(sum(float(v) for v in m.groups()) / 1e3)
    res["warm"] = med(warm)
    return res


def fmt(v, scale=1.0, f="%.2f"):
    """a (wall, CPU) pair as "CPU (wall)"; a number as it is."""
    if isinstance(v, tuple):
        return (f + " (" + f + ")") % (v[1] * scale, v[0] * scale)
    return f % (v * scale) if isinstance(v, (int, float)) else "—"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="resnet18,mobilenet_v2")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--arch", type=int, default=90, help="sm_/compute_ of the compiles (default 90: H100)")
    ap.add_argument("--slimc", default=os.path.join(ROOT, "build", "slimc"))
    ap.add_argument("--ptxas", default=os.environ.get("SLIMC_PTXAS", "/usr/local/cuda/bin/ptxas"))
    ap.add_argument("--cc", default=shutil.which("clang-14") or "cc",
                    help="the host half's compiler (default clang-14: the in-process JIT is Clang 14)")
    args = ap.parse_args()
    nv = Nvrtc(nvrtc_path(args.slimc))
    tmp = tempfile.mkdtemp(prefix="slimc_cuda_compile.")
    try:
        rows = [measure(m, args, nv, tmp) for m in args.models.split(",")]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("Command: `python3 bench/cuda_compile.py %s`\n" % " ".join(sys.argv[1:]))
    print("- %s, %d CPUs (load average %.1f at the end); NVRTC %s; ptxas %s; host half: `%s -O2 -c`"
          % (cpu_name(), os.cpu_count(), os.getloadavg()[0], nv.version, args.ptxas, args.cc))
    print("- each cell: CPU seconds (wall seconds), median of %d -- on a shared machine the CPU "
          "time is what a quiet one's wall time would be; the compiles for sm_%d (cubin) / "
          "compute_%d (PTX) with --std=c++17, as runtime/nvrtc.c; warm = the start with every "
          "compile a cache hit (emulated device), parse to load, wall ms\n"
          % (args.repeats, args.arch, args.arch))
    print("| model | .cu KiB | kernels | NVRTC PTX | NVRTC cubin (cold, as on a GPU) | cubin, --split-compile=0 "
          "| ptxas -O3 alone | ptxas -O1 alone | host half | warm start ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        if "error" in r:
            print("| %s | — | — | — | — | — | — | — | — | — (%s) |" % (r["model"], r["error"]))
            continue
        print("| %s | %.0f | %d | %s | %s | %s | %s | %s | %s | %s |" % (
            r["model"] + ("" if r["slim"] == MODELS[r["model"]][0] else " (narrow)"), r["bytes"] / 1024,
            r["kernels"], fmt(r["ptx"]), fmt(r["cubin"]), fmt(r["cubin_split"]), fmt(r["ptxas_O3"]),
            fmt(r["ptxas_O1"]), fmt(r["host_cc"]), fmt(r.get("warm"), 1e3, "%.0f")))
    for r in rows:
        if r.get("phases"):
            print("\n%s, NVRTC's -fdevice-time-trace of one cubin compile (ms, the largest phases; "
                  "nested ones count in their parents too): %s" % (
                      r["model"], ", ".join("%s %.0f" % kv for kv in r["phases"].items())))
        if r.get("kernel_ms"):
            km = r["kernel_ms"]
            tot = sum(km.values())
            gemm = {k: v for k, v in km.items() if "gemm" in k or "conv" in k}
            top = list(km.items())[:3]
            print("\n%s, NVVM's optimization per kernel: %d kernels, %.0f ms in all; the %d GEMM/conv "
                  "kernels %.0f ms (%.0f%%, %.0f ms each on average); the largest: %s" % (
                      r["model"], len(km), tot, len(gemm), sum(gemm.values()),
                      100 * sum(gemm.values()) / max(tot, 1e-9), sum(gemm.values()) / max(len(gemm), 1),
                      ", ".join("%s %.0f" % kv for kv in top)))
        for k in ("host_error", "warm_error"):
            if r.get(k):
                print("\n%s: %s: %s" % (r["model"], k, r[k]))

if __name__ == "__main__":
    main()
