#!/usr/bin/env python3
"""Runtime numbers of issue 5 (bench/RESULTS.md, "Runtime (issue 5)"):
end-to-end `slimc run` of lenet on a cold and a warm cache, in-process vs subprocess
compile time, and -O2 vs -O3 (compile time and run time of the generated code).

    python3 bench/runtime_bench.py [BUILD/slimc] [--runs 20]

Wall-clock medians, and the median CPU time (user + sys of the slimc process), which a
busy machine disturbs less. Uses a private cache directory; SLIMC_JIT=cc|clang picks
the compiler (SLIMC_CC the subprocess one)."""
import os, resource, shutil, statistics, subprocess, sys, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
args = [a for a in sys.argv[1:] if not a.startswith("--")]
slimc = args[0] if args else os.path.join(root, "build", "slimc")
runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 20
model = [f"{root}/samples/lenet/lenet.slim", "--input", f"{root}/samples/lenet/input.npy"]
cache = tempfile.mkdtemp(prefix="slimc-bench-")


def run(env, extra=(), clear=False):
    if clear:
        shutil.rmtree(cache, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run([slimc, "run", *model, "--time", *extra], env=env, capture_output=True, text=True)
    wall = (time.perf_counter() - t0) * 1e3
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        sys.exit(r.stderr)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1e3
    line = [l for l in r.stderr.splitlines() if l.startswith("time:")][-1]
    parts = {p.split()[0]: float(p.split()[1]) for p in line[5:].split(",")}
    return wall, cpu, parts


def median_of(env, extra=(), clear=False):
    rs = [run(env, extra, clear) for _ in range(runs)]
    return (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs),
            statistics.median(r[2]["compile"] for r in rs), statistics.median(r[2]["run"] for r in rs))


env = dict(os.environ, SLIMC_CACHE_DIR=cache)

clang = dict(env, SLIMC_JIT="clang")
gcc = dict(env, SLIMC_JIT="cc", SLIMC_CC="gcc")
clang_sub = dict(env, SLIMC_JIT="cc", SLIMC_CC="clang-14")
print(f"slimc run lenet, median of {runs} (wall ms / cpu ms / compile ms / run ms)")
for name, e in [("in-process clang", clang), ("subprocess gcc", gcc), ("subprocess clang-14", clang_sub)]:
    print("  cold, %-20s %7.1f / %7.1f / %7.1f / %6.2f" % ((name,) + median_of(e, clear=True)))
run(clang)
print("  warm, %-20s %7.1f / %7.1f / %7.1f / %6.2f" % (("in-process clang",) + median_of(clang)))
for lvl in ("2", "3"):
    for name, e in [("in-process clang", clang), ("subprocess gcc", gcc)]:
        print("  -O%s cold, %-17s %7.1f / %7.1f / %7.1f / %6.2f" % ((lvl, name) + median_of(e, ["--opt-level", lvl], clear=True)))
shutil.rmtree(cache, ignore_errors=True)
