"""scripts/gpu_check.py's last step (the report) and its bundle maker (pack).

report: reads WORK/steps/*.json and writes OUT/gpu_results.md (Markdown ready to paste
into bench/RESULTS.md: the GPU's name, every check, every time with the issue's target
beside it) and OUT/gpu_results.json (the raw rows); returns 1 when a correctness check
failed or its step did not finish (stopped at its time limit, crashed).

pack BUILD DIR: copies what gpu_check.sh needs from a build folder into DIR, small enough
to carry to a GPU machine that has no package registry and no LLVM: slimc, npycmp, the
CUDA tests' executables (stripped), the shared libraries they load that a bare system
may lack (DIR/lib), and DIR/gpu_tests.json (the CUDA tests ctest knows, with their
environment).
"""

import json
import os
import shutil
import subprocess
import time

import gpu_check as gc

STEP_ORDER = ["env", "tests", "prepare", "compile", "compare", "time_slimc", "placement",
              "time_torch", "gemm", "torch_compile"]


def load_steps():
    steps = {}
    for name in STEP_ORDER:
        p = os.path.join(gc.WORK, "steps", name + ".json")
        if os.path.exists(p):
            with open(p) as f:
                steps[name] = json.load(f)
    status = {}
    p = os.path.join(gc.WORK, "steps", "status.txt")  # gpu_check.sh: "STEP rc seconds"
    if os.path.exists(p):
        for line in open(p):
            parts = line.split()
            if len(parts) == 3:
                status[parts[0]] = (int(parts[1]), float(parts[2]))
    return steps, status


def f(v, fmt="%.3f"):
    return fmt % v if isinstance(v, (int, float)) and v is not None else "—"


def ratio(a, b):
    return a / b if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else None


def step_report():
    steps, status = load_steps()
    lines, failed = [], []
    env = {r["key"]: r["value"] for r in steps.get("env", {}).get("rows", [])}
    lines.append("### CUDA on %s" % ("the emulated device (DRY RUN: not a GPU)" if gc.DRY
                                     else env.get("gpu", "?").split(",")[0].strip()))
    lines.append("")
    lines.append("`scripts/gpu_check.sh` (%s UTC), slimc %s at %s." % (
        time.strftime("%Y-%m-%d %H:%M", time.gmtime()), env.get("slimc", "?"), env.get("commit", "?")))
    lines.append("")
    lines.append("- GPU: %s" % env.get("gpu", "?"))
    lines.append("- CPU: %s, %s CPUs; host compiler: %s; %s" % (
        env.get("cpu", "?"), env.get("cpus", "?"), env.get("cc", "?"), env.get("nvrtc", "?")))
    torch_note = next((n for n in steps.get("time_torch", {}).get("notes", []) if n.startswith("torch ")), None)
    lines.append("- PyTorch: %s; fp32 with `allow_tf32 = False` (cuDNN and matmul)" % (torch_note or "not run"))
    lines.append("")

    # step status
    lines.append("| step | result | seconds |")
    lines.append("|---|---|---:|")
    for name in STEP_ORDER:
        rc, sec = status.get(name, (None, 0.0))
        st = steps.get(name)
        if st is None and rc is None:
            res = "not run"
        elif rc in (124, 137):
            res = "**stopped at its time limit** (%d rows kept)" % len(st["rows"]) if st else "**stopped at its time limit**"
        elif rc == 125:
            res = "skipped: no time left"
        elif st is None or not st.get("done"):
            res = "**did not finish** (exit %s)" % rc
        else:
            res = "done"
        if name in ("tests", "compare") and rc is not None and res != "done":
            failed.append("step %s: %s" % (name, res.replace("**", "")))
        lines.append("| %s | %s | %.0f |" % (name, res, sec))
    lines.append("")

    # correctness
    rows = steps.get("tests", {}).get("rows", [])
    if rows:
        lines.append("**CUDA tests on the device** (SLIMC_TEST_DEVICE=cuda suites with SLIMC_TEST_GPU=1, "
                     "test_cuda_rt, the CLI CUDA tests)")
        lines.append("")
        lines.append("| test | result | seconds | detail |")
        lines.append("|---|---|---:|---|")
        for r in rows:
            if r["status"] == "FAIL":
                failed.append("test %s" % r["test"])
            lines.append("| %s | %s | %s | %s |" % (r["test"], r["status"], r["seconds"],
                                                   (r.get("detail") or r.get("summary", "")).replace("|", "\\|")))
        lines.append("")
    rows = steps.get("compare", {}).get("rows", [])
    if rows:
        lines.append("**CUDA against the CPU** (`slimc run --device cuda` vs `--device cpu`; "
                     "max |cuda − cpu| / max |cpu| per output; fp16/bf16: `--precision` on CUDA "
                     "against fp32 on the CPU)")
        lines.append("")
        lines.append("| model | source | precision | rel. diff | tolerance | result | detail |")
        lines.append("|---|---|---|---:|---:|---|---|")
        for r in rows:
            if r["status"] == "FAIL":
                failed.append("compare %s %s %s" % (r["source"], r["model"], r["precision"]))
            lines.append("| %s | %s | %s | %s | %g | %s | %s |" % (
                r["model"], r["source"], r["precision"], f(r.get("rel"), "%.1e") if r.get("rel") != "inf" else "inf",
                r["tol"], r["status"], (r.get("detail") or "").replace("|", "\\|")))
        lines.append("")

    # timing
    ts = {(r["model"], r["batch"], r["precision"]): r for r in steps.get("time_slimc", {}).get("rows", [])}
    tt = {}
    for st in ("time_torch", "torch_compile"):
        for r in steps.get(st, {}).get("rows", []):
            tt[(r["model"], r["batch"], r["precision"], r["who"])] = r
    if ts or tt:
        lines.append("**Latency** (ms, median; GPU = CUDA events around the model's kernels, input "
                     "already on the device; host = input from and output to host memory, as "
                     "`slimc run` does; torch.compile: inductor, default mode)")
        lines.append("")
        lines.append("| model | batch | precision | slimc GPU | PyTorch eager GPU | torch.compile GPU | "
                     "slimc/eager | slimc host | eager host | target |")
        lines.append("|---|---:|---|---:|---:|---:|---:|---:|---:|---|")
        keys = sorted({k[:3] for k in tt} | set(ts),
                      key=lambda k: (gc.TIME_MODELS.index(k[0]) if k[0] in gc.TIME_MODELS else 9, k[1],
                                     gc.PRECISIONS.index(k[2]) if k[2] in gc.PRECISIONS else 9))
        for k in keys:
            s, e, c = ts.get(k, {}), tt.get(k + ("eager",), {}), tt.get(k + ("torch.compile",), {})
            r = ratio(s.get("gpu_ms"), e.get("gpu_ms"))
            target = ""
            if k[2] == "fp32" and k[1] == 1:
                target = "< 1 (faster than eager): %s" % ("met" if r and r < 1 else "NOT met" if r else "—")
            elif k[2] == "fp32":
                target = "≤ %.1f: %s" % (gc.TARGET_B64, "met" if r and r <= gc.TARGET_B64 else "NOT met" if r else "—")
            err = "; ".join("%s: %s" % (w, x.get("detail", "")) for w, x in (("slimc", s), ("eager", e), ("compile", c))
                            if x.get("status") == "FAIL")
            lines.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                k[0], k[1], k[2], f(s.get("gpu_ms")), f(e.get("gpu_ms")), f(c.get("gpu_ms")), f(r, "%.2f"),
                f(s.get("host_ms")), f(e.get("host_ms")), target + (" (failed: %s)" % err.replace("|", "\\|") if err else "")))
        lines.append("")
        for st in ("time_torch", "torch_compile", "time_slimc"):
            for n in steps.get(st, {}).get("notes", []):
                if not n.startswith("torch "):
                    lines.append("- %s: %s" % (st, n))
        lines.append("")

    rows = steps.get("gemm", {}).get("rows", [])
    if rows:
        lines.append("**GEMM** (GPU time, median of 20; slimc: `matmul` of two f32 inputs with "
                     "`--precision fp16`, and a Linear quantized to int8 by `quantize(int8)` — its "
                     "time includes quantizing the activations)")
        lines.append("")
        lines.append("| what | who | ms | TFLOP/s (TOP/s) | slimc / reference | target |")
        lines.append("|---|---|---:|---:|---:|---|")
        by = {}
        for r in rows:
            by.setdefault(r["what"].split()[0], {})[r["who"]] = r
        for r in rows:
            perf = r.get("tflops") or r.get("tops")
            kind = r["what"].split()[0]
            ref = by[kind].get("torch.matmul (cuBLAS)") or by[kind].get("torch._int_mm")
            rr, target = None, ""
            if r["who"] == "slimc" and ref:
                rr = ratio(perf, ref.get("tflops") or ref.get("tops"))
                if kind == "fp16":
                    target = "≥ %.0f%% of cuBLAS: %s" % (gc.TARGET_GEMM * 100,
                                                         "met" if rr and rr >= gc.TARGET_GEMM else "NOT met" if rr else "—")
            lines.append("| %s | %s | %s | %s | %s | %s |" % (
                r["what"], r["who"], f(r.get("ms")), f(perf, "%.1f"), f(rr, "%.2f"),
                target + (" (failed: %s)" % r.get("detail", "") if r["status"] != "ok" else "")))
        for n in steps.get("gemm", {}).get("notes", []):
            lines.append("")
            lines.append("- %s" % n)
        lines.append("")

    rows = steps.get("placement", {}).get("rows", [])
    if rows:
        lines.append("**Placement** (issue 16: `slimc bench` host-to-host median ms with `--device cpu`, "
                     "`cuda`, `auto` (the place pass, with the profile `slimc profile-device` measured "
                     "first) and `greedy` (every node with a CUDA kernel on the GPU, as ONNX Runtime "
                     "splits); `predicted` is `inspect --placement`'s total for auto; no_kernel: "
                     "one op given no CUDA kernel, `SLIMC_CUDA_NO_KERNEL`)")
        lines.append("")
        lines.append("| model | batch | case | cpu | cuda | greedy | auto | predicted | auto / best | "
                     "predicted / auto | targets |")
        lines.append("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for r in rows:
            if r.get("status") != "ok":
                lines.append("| %s | %s | %s | — | — | — | — | — | — | — | failed: %s |" % (
                    r["model"], r["batch"], r["case"], (r.get("detail") or "").replace("|", "\\|")))
                continue
            base = [v for v in (r.get("cpu_ms"), r.get("cuda_ms")) if isinstance(v, (int, float))]
            if r["case"] == "no_kernel":
                base = [v for v in (r.get("cpu_ms"), r.get("greedy_ms")) if isinstance(v, (int, float))]
            best = min(base) if base else None
            rb = ratio(r.get("auto_ms"), best)
            rp = ratio(r.get("predicted_ms"), r.get("auto_ms"))
            if r["case"] == "plain":
                t = "auto ≤ 1.05 × best: %s" % ("met" if rb is not None and rb <= 1.05 else "NOT met")
            else:
                t = "auto < greedy and < cpu: %s" % ("met" if rb is not None and rb < 1.0 else "NOT met")
            t += "; prediction within 25%%: %s" % ("met" if rp is not None and 0.75 <= rp <= 1.25 else "NOT met")
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                r["model"], r["batch"], r["case"], f(r.get("cpu_ms")), f(r.get("cuda_ms")),
                f(r.get("greedy_ms")), f(r.get("auto_ms")), f(r.get("predicted_ms")), f(rb, "%.2f"),
                f(rp, "%.2f"), t))
        for n in steps.get("placement", {}).get("notes", []):
            lines.append("")
            lines.append("- %s" % n)
        lines.append("")

    rows = steps.get("compile", {}).get("rows", [])
    if rows:
        lines.append("**Compile** (`slimc bench --device cuda --runs 1 --time`: parse + passes + codegen + "
                     "compile + load; cold: empty cache, median of 3; warm: cache hit, median of 5; "
                     "the dry run: 1 and 2)")
        lines.append("")
        lines.append("| model | start | ms (compile alone) | whole process ms | target |")
        lines.append("|---|---|---:|---:|---|")
        for r in rows:
            if r["status"] != "ok":
                lines.append("| %s | %s | — | — | failed: %s |" % (r["model"], r["kind"], r.get("detail", "")))
                continue
            met = r["start_ms"] < r["target_ms"]
            lines.append("| %s | %s | %.1f (%.1f) | %.0f | < %.0f ms: %s |" % (
                r["model"], r["kind"], r["start_ms"], r["compile_ms"], r["process_ms"], r["target_ms"],
                "met" if met else "NOT met"))
        lines.append("")

    if failed:
        lines.append("**Correctness failures:** " + "; ".join(failed))
    else:
        lines.append("All correctness checks passed.")
    text = "\n".join(lines) + "\n"
    os.makedirs(gc.OUT, exist_ok=True)
    with open(os.path.join(gc.OUT, "gpu_results.md"), "w") as fo:
        fo.write(text)
    with open(os.path.join(gc.OUT, "gpu_results.json"), "w") as fo:
        json.dump({"steps": steps, "status": {k: list(v) for k, v in status.items()},
                   "failed": failed}, fo, indent=1)
    print(text)
    return 1 if failed else 0


# ---------------------------------------------------------------- pack

SYSTEM_LIBS = ("linux-vdso", "libc.so", "libm.so", "libdl.so", "libpthread.so", "librt.so",
               "ld-linux", "libgcc_s.so", "libstdc++.so")


def pack(build, dest):
    build, dest = os.path.abspath(build), os.path.abspath(dest)
    r = subprocess.run(["ctest", "--show-only=json-v1"], cwd=build, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit("ctest --show-only in %s failed: %s" % (build, r.stderr))
    tests = gc.tests_from_ctest(json.loads(r.stdout), build)
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(os.path.join(dest, "tests"))
    os.makedirs(os.path.join(dest, "lib"))
    files = ["slimc", "tests/npycmp"] + [t["exe"] for t in tests if t["kind"] == "unit"]
    libs = set()
    for rel in files:
        src, dst = os.path.join(build, rel), os.path.join(dest, rel)
        if not os.path.exists(src):
            raise SystemExit("%s is missing: build it first (cmake --build %s)" % (src, build))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(src, dst)
        subprocess.run(["strip", "--strip-debug", dst], check=False)
        for line in subprocess.run(["ldd", src], capture_output=True, text=True).stdout.splitlines():
            parts = line.split("=>")
            if len(parts) == 2 and parts[1].strip().startswith("/"):
                path = parts[1].split("(")[0].strip()
                if not os.path.basename(path).startswith(SYSTEM_LIBS):
                    libs.add(path)
    for lib in sorted(libs):
        shutil.copy2(lib, os.path.join(dest, "lib", os.path.basename(lib)))
    # modules the tests load by the absolute path they were built with (test_cuda_rt's fake
    # driver): carried, and linked back to that path on the GPU machine (step_tests)
    modules = {}
    for fn in sorted(os.listdir(os.path.join(build, "tests"))):
        if fn.endswith(".so"):
            shutil.copy2(os.path.join(build, "tests", fn), os.path.join(dest, "tests", fn))
            modules[os.path.join(build, "tests", fn)] = os.path.join("tests", fn)
    for t in tests:
        t["modules"] = modules if t["kind"] == "unit" else {}
    with open(os.path.join(dest, "gpu_tests.json"), "w") as fo:
        json.dump(tests, fo, indent=1)
    size = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(dest) for fn in fns)
    print("packed %d files, %d libraries, %d CUDA tests into %s (%.1f MiB)" % (
        len(files), len(libs), len(tests), dest, size / 2**20))
