"""Runs slimc on every case that make_redteam.py wrote into DIR and lists the findings:
a signal exit or status > 1, a sanitizer report, a timeout, an error message that does not
name the file, an exit 0 that prints a negative dim. Not a test (it takes minutes); the
kept reproducers are run by tests/cli/hostile_redteam.sh.

    python3 sweep.py SLIMC DIR [inspect|run|emit|import|build] [-j N] [--only REGEX]
"""
import argparse
import concurrent.futures as cf
import glob
import os
import re
import subprocess
import sys

BAD = re.compile(r"AddressSanitizer|runtime error:|LeakSanitizer: detected|Segmentation|internal error|Assertion")


def run_case(slimc, d, onnx_path, mode, tmp):
    name = os.path.basename(onnx_path)[:-5]
    args = [slimc, mode, onnx_path]
    if mode in ("run", "build"):
        for f in sorted(glob.glob(os.path.join(d, name + ".input.*.npy"))):
            k = f[len(os.path.join(d, name + ".input.")):-4]
            args += ["--input", f"{k}={f}"]
    out = os.path.join(tmp, name)
    if mode == "run":
        args += ["--output-dir", out, "--opt-level", "0"]
    elif mode == "emit":
        args += ["--target", "c"]
    elif mode == "import":
        os.makedirs(out, exist_ok=True)
        args = [slimc, "import", onnx_path, "-o", os.path.join(out, "m.slim")]
    elif mode == "build":
        inputs = args[3:]
        args = [slimc, "build", onnx_path, "-o", out + ".exe", "--opt-level", "0"]
    for attempt in range(5):  # the binary may be relinked under a running sweep
        try:
            p = subprocess.run(args, capture_output=True, timeout=20)
            rc, err, outp = p.returncode, p.stderr.decode("utf-8", "replace"), p.stdout.decode("utf-8", "replace")
            break
        except subprocess.TimeoutExpired:
            return name, "TIMEOUT", ""
        except OSError:
            import time
            time.sleep(10)
    else:
        return name, "could not start slimc", ""
    findings = []
    if rc < 0 or rc > 1:
        findings.append(f"rc={rc}")
    if BAD.search(err):
        findings.append("sanitizer/crash: " + BAD.search(err).group(0))
    if rc == 1:
        first = next((ln for ln in err.splitlines() if "error:" in ln), "")
        if not first.startswith(onnx_path) and not first.startswith(os.path.basename(onnx_path)):
            findings.append("error without the file name")
    if rc == 0 and re.search(r"\[[^\]]*-\d", outp + err):
        findings.append("negative dim printed")
    if mode == "build" and rc == 0:
        try:
            p = subprocess.run([out + ".exe"] + inputs + ["--output-dir", out + ".o"], capture_output=True, timeout=20)
            e2 = p.stderr.decode("utf-8", "replace")
            if p.returncode < 0 or p.returncode > 1 or BAD.search(e2):
                findings.append(f"exe rc={p.returncode} {e2[-300:]}")
        except subprocess.TimeoutExpired:
            findings.append("exe TIMEOUT")
    if findings:
        tail = "\n".join(err.splitlines()[:6])
        return name, "; ".join(findings), tail
    return name, None, rc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("slimc")
    ap.add_argument("dir")
    ap.add_argument("mode", default="inspect", nargs="?")
    ap.add_argument("-j", type=int, default=2)
    ap.add_argument("--only", default=".")
    ap.add_argument("--list", default=None, help="a file of case names to run")
    a = ap.parse_args()
    files = sorted(glob.glob(os.path.join(a.dir, "*.onnx")))
    files = [f for f in files if re.search(a.only, os.path.basename(f))]
    if a.list:
        keep = set(open(a.list).read().split())
        files = [f for f in files if os.path.basename(f)[:-5] in keep]
    tmp = os.path.join(a.dir, "..", "out_" + a.mode)
    os.makedirs(tmp, exist_ok=True)
    ok = open(os.path.join(a.dir, "..", f"ok_{a.mode}.txt"), "w")
    n_find = 0
    with cf.ThreadPoolExecutor(a.j) as ex:
        for name, finding, info in ex.map(lambda f: run_case(a.slimc, a.dir, f, a.mode, tmp), files):
            if finding:
                n_find += 1
                print(f"== {name}: {finding}\n{info}", flush=True)
            elif info == 0:
                ok.write(name + "\n")
    print(f"{len(files)} cases, {n_find} findings", flush=True)


if __name__ == "__main__":
    main()
