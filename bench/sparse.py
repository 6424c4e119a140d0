#!/usr/bin/env python3
"""The sparse-kernel benchmark of issue 17 (bench/RESULTS.md, "Sparse kernels"): an MLP
784-512-512-10 magnitude-pruned to 10% density (tests/tools/sparse_mlp.py, the zeros stored
densely), one thread, batch 1 and 64, in one run:

  slimc sparse   the default pipeline (the cost model picks the CSR kernel per layer)
  slimc dense    the same weights with the default pipeline minus `sparse`
  ORT dense      ONNX Runtime on the same model as ONNX (it runs zeros densely)

  DeepSparse     with --deepsparse-python PY: DeepSparse's engine on the pruned ONNX file
                 (`deepsparse.Engine(model, batch_size, num_cores=1)`, bench/deepsparse_time.py
                 run by PY, e.g. a venv in the build dir: `python3 -m venv build/dsvenv &&
                 build/dsvenv/bin/pip install deepsparse==1.8.0`; 1.9.0, the package
                 index's latest, is an end-of-life stub that fails to build); its output is checked against numpy

--rounds interleaved rounds (each: `slimc bench` median of --runs and CPU time per run,
ONNX Runtime in-process, DeepSparse in its own process), medians of the rounds. Also prints
lscpu's model name, the ratios, and the targets: batch 1 >= 2x slimc dense; batch 64 no
slower than DeepSparse (without --deepsparse-python: taken as 4.3x faster than ORT dense,
the issue's figure, and said so).

usage: python3 bench/sparse.py [--slimc build/slimc] [--runs 2000] [--dir /tmp/slimc_sparse_bench]
       [--nm 2:4 | --nm-conv 2:4 | --q8 [--resnet18] | --resnet18 [--torch-python /usr/bin/python3] |
        --conv-layers [--slimc-base OTHER_SLIMC]] [--rounds 5] [--deepsparse-python PY]

--conv-layers: one 3x3 conv at each ResNet-18 stage's shape (64 ch 56x56 ... 512 ch 7x7) with
random weights at the density 80% global pruning leaves in that stage (60%, 46%, 29%, 14%):
CPU time of the dense conv against the CSR conv kernel, and the cost model's choice;
--slimc-base times a second build's CSR kernel in the same rounds (before/after a change).

--nm-conv 2:4: the N:M conv kernel (bench/RESULTS.md, "N:M conv"): a 1x1 and a 3x3 conv at each
ResNet-18 stage's shape, the weights random and pruned N:M by magnitude along the input
channels for each tap (NVIDIA ASP's grouping), batch 1: CPU time per run of the dense conv
against the N:M conv kernel (sparse(mode=nm)), --rounds interleaved rounds, medians, and the
cost model's choice (default pipeline, `inspect --sparsity`). Target: >= 1.3x the dense conv.

--q8: prune then quantize (bench/RESULTS.md, "int8 sparse"): the MLP at 10% density in static
int8 (calibrated on 64 random rows), batch 1 and 64: slimc with the cost model's choice (a
profile measured first by `slimc profile-device --threads 1`, --dim N=batch), the int8
block-sparse kernel forced (sparse(mode=q8)), dense int8 (sparse(mode=dense)), fp32 sparse,
and ONNX Runtime's quantize_static QDQ model (per channel) of the same pruned weights; CPU time
per run, --rounds interleaved rounds, medians. Target: never slower than dense int8.

--q8 --resnet18 [--amount 0.8]: prune then quantize on convs (bench/RESULTS.md, "int8
block-sparse convs"): ResNet-18 pruned 80% (--amount) global as --resnet18 does, static int8 (calibrated on 4 images): slimc's
cost-model choice (a profile measured first), every conv forced onto the int8 block-sparse
kernel, dense int8, and ONNX Runtime's quantize_static QDQ model; CPU time per run, --rounds
interleaved rounds, medians; and per conv the forced kernel against dense int8 (`slimc bench
--profile`) with its density, blocks kept and the cost model's choice.

--nm 2:4: the N:M kernel instead (bench/RESULTS.md, "N:M"): the MLP 784-512-512-10 and one
1024 -> 1024 linear, each pruned to 2:4 by magnitude (sparse_mlp.py --nm), batch 1 and 64,
slimc with the default pipeline (the cost model's choice per layer, printed from `inspect
--sparsity`) against slimc dense, interleaved A/B for --rounds rounds (each a `slimc bench`
of --runs), the median of the rounds' medians; the load average before and after. Target:
>= 1.3x slimc dense.

--resnet18: ResNet-18 full size (`/usr/bin/python3 samples/make_samples.py resnet18 --full`
first), pruned 80% global unstructured by torch.nn.utils.prune (tests/tools/prune_resnet18.py,
run with --torch-python, which has torch), batch 1, one thread, --rounds interleaved rounds:
slimc sparse (the default pipeline: the cost model's choice per conv, printed from `inspect
--sparsity`), slimc dense, ONNX Runtime dense (in-process); each slimc round a `slimc bench
--profile` of --runs, so the per-layer times (median over the rounds) come with the totals.
Each round also takes CPU time (getrusage of the slimc children, `--runs N+1` less `--runs
1`; process_time for ORT), which a loaded machine inflates less than wall time; with
--deepsparse-python, DeepSparse on the same pruned ONNX file in each round. Targets: no
slower than DeepSparse (without it: <= 0.71x ORT dense, the issue's figure of 1.4x), and
no layer slower than dense.
"""
import argparse
import os
import re
import subprocess
import time

import numpy as np

DENSE = "qdq,fold,bn_fold,fold,dce,cse,place,qchain,layout,fuse,dce,memplan"


def slimc_ms(slimc, model, x, runs, passes=None):
    cmd = [slimc, "bench", model, "--input", f"x={x}", "--runs", str(runs), "--threads", "1"]
    if passes:
        cmd += ["--passes", passes]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return float(re.search(r"median ([0-9.]+) ms", out).group(1))


def ort_ms(path, x, runs):
    import onnxruntime as ort
    o = ort.SessionOptions()
    o.intra_op_num_threads = 1
    o.inter_op_num_threads = 1
    s = ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])
    feed = {"x": x}
    for _ in range(50):
        s.run(None, feed)
    t = []
    for _ in range(runs):
        t0 = time.perf_counter()
        s.run(None, feed)
        t.append(time.perf_counter() - t0)
    return float(np.median(t)) * 1e3


def deepsparse(a, path, x, runs, expected=None):
    """DeepSparse's engine on the ONNX file at x's batch size, one core, through
    bench/deepsparse_time.py under --deepsparse-python: (wall ms median, CPU ms per run), or
    None with the reason printed once when there is no such interpreter or the engine fails."""
    if not a.deepsparse_python:
        return None
    if not os.path.exists(a.deepsparse_python):
        if not getattr(a, "_ds_said", False):
            print(f"DeepSparse: not run ({a.deepsparse_python} does not exist)")
            a._ds_said = True
        return None
    tool = os.path.join(os.path.dirname(os.path.abspath(__file__)), "deepsparse_time.py")
    r = subprocess.run([a.deepsparse_python, tool, path, x, str(runs)] +
                       ([expected] if expected else []), capture_output=True, text=True)
    m = re.search(r"wall_ms=([0-9.]+) cpu_ms=([0-9.]+) ok=(\d)", r.stdout)
    if not m:
        if not getattr(a, "_ds_said", False):
            err = (r.stdout + r.stderr).strip().splitlines()
            print(f"DeepSparse: failed: {err[-1] if err else 'no output'}")
            a._ds_said = True
        return None
    if m.group(3) != "1":
        print("DeepSparse: its output is not finite or differs from the reference")
    return float(m.group(1)), float(m.group(2))


def cpu_name():
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("Model name"):
            return line.split(":", 1)[1].strip()
    return "?"


def kernels(slimc, model):
    """The kernel inspect --sparsity names for each layer, e.g. {'fc1': 'n:m 2:4'}."""
    out = subprocess.run([slimc, "inspect", model, "--sparsity"], capture_output=True, text=True,
                         check=True).stdout
    ks = {}
    for line in out.splitlines():
        m = re.match(r"^  (fc\d+) +linear .*  (dense|csr|n:m \d+:\d+)$", line)
        if m:
            ks[m.group(1)] = m.group(2)
    return ks


def bench_nm(a, here):
    tool = os.path.join(here, "..", "tests", "tools", "sparse_mlp.py")
    models = [("MLP 784-512-512-10", "mlp_nm", "784,512,512,10"),
              ("linear 1024 -> 1024", "linear_nm", "1024,1024")]
    print(f"CPU: {cpu_name()}; one thread; {a.nm} by magnitude; {a.rounds} interleaved rounds of "
          f"`slimc bench --runs {a.runs}`, median of the rounds' medians")
    print(f"load average before: {' '.join(open('/proc/loadavg').read().split()[:3])}")
    print(f"{'model':<22} {'batch':>5} {'slimc n:m':>11} {'slimc dense':>12} {'speed-up':>9}  "
          f"target >= 1.3x   kernels")
    for title, sub, dims in models:
        d = os.path.join(a.dir, sub)
        subprocess.run(["python3", tool, d, "--nm", a.nm, "--dims", dims], check=True)
        model = os.path.join(d, "mlp.slim")
        ks = kernels(a.slimc, model)
        for b in (1, 64):
            x = os.path.join(d, f"x{b}.npy")
            sp, de = [], []
            for _ in range(a.rounds):
                sp.append(slimc_ms(a.slimc, model, x, a.runs))
                de.append(slimc_ms(a.slimc, model, x, a.runs, DENSE))
            spm, dem = float(np.median(sp)), float(np.median(de))
            r = dem / spm
            print(f"{title:<22} {b:>5} {spm:>8.4f} ms {dem:>9.4f} ms {r:>8.2f}x  "
                  f"{'met' if r >= 1.3 else 'MISSED':<15}  "
                  f"{', '.join(f'{k} {v}' for k, v in sorted(ks.items()))}")
    print(f"load average after: {' '.join(open('/proc/loadavg').read().split()[:3])}")


def profile_ms(slimc, model, x, runs, passes=None):
    """slimc bench --profile: the median and each node's ms/run, {node: ms}."""
    cmd = [slimc, "bench", model, "--input", f"x={x}", "--runs", str(runs), "--threads", "1",
           "--profile"]
    if passes:
        cmd += ["--passes", passes]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    nodes = {}
    for line in out.splitlines():
        m = re.match(r"^ +([0-9.]+) +[0-9.]+% +[0-9.]+ +[0-9.]+ +(\S+) \(", line)
        if m:
            nodes[m.group(2)] = float(m.group(1))
    return float(re.search(r"median ([0-9.]+) ms", out).group(1)), nodes


def child_cpu_ms(cmd):
    """CPU time (user + system) of running cmd to completion, ms (resource.getrusage of the
    children): what a loaded machine does not inflate as it does wall time."""
    import resource
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, capture_output=True, check=True)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return 1e3 * (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)


def slimc_cpu_ms(slimc, model, x, runs, passes=None, rand=False):
    """CPU ms of one run: (bench --runs runs+1) - (bench --runs 1), over runs (rand: bench's
    own random input)."""
    cmd = [slimc, "bench", model, "--threads", "1", "--warmup", "0"]
    if not rand:
        cmd += ["--input", f"x={x}"]
    if passes:
        cmd += ["--passes", passes]
    return (child_cpu_ms(cmd + ["--runs", str(runs + 1)]) - child_cpu_ms(cmd + ["--runs", "1"])) / runs


def ort_cpu_ms(path, x, runs):
    import onnxruntime as ort
    o = ort.SessionOptions()
    o.intra_op_num_threads = 1
    o.inter_op_num_threads = 1
    s = ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])
    for _ in range(5):
        s.run(None, {"x": x})
    t0 = time.process_time()
    for _ in range(runs):
        s.run(None, {"x": x})
    return (time.process_time() - t0) / runs * 1e3


def bench_resnet18(a, here):
    d = os.path.join(a.dir, "resnet18")
    subprocess.run([a.torch_python, os.path.join(here, "..", "tests", "tools", "prune_resnet18.py"),
                    d, "--amount", "0.8"], check=True, stdout=subprocess.DEVNULL)
    model, x = os.path.join(d, "resnet18.slim"), os.path.join(d, "x.npy")
    out = subprocess.run([a.slimc, "inspect", model, "--sparsity"], capture_output=True,
                         text=True, check=True).stdout
    dens, kern = {}, {}
    for line in out.splitlines():
        m = re.match(r"^  (\S+) +(conv2d|linear) +\S+ +([0-9.]+)% .*  (dense|csr|n:m \d+:\d+)$",
                     line)
        if m:
            dens[m.group(1)], kern[m.group(1)] = float(m.group(3)), m.group(4)
    print(f"CPU: {cpu_name()}; one thread; ResNet-18 224x224 batch 1, 80% global unstructured "
          f"(torch.nn.utils.prune); {a.rounds} interleaved rounds (slimc: `slimc bench --profile "
          f"--runs {a.runs}`, ORT: {a.runs} runs in-process), medians of the rounds")
    print(f"load average before: {' '.join(open('/proc/loadavg').read().split()[:3])}")
    sp, de, ort, lsp, lde = [], [], [], {}, {}
    csp, cde, cort, wds, cds = [], [], [], [], []
    xa = np.load(x)
    for _ in range(a.rounds):
        t, n = profile_ms(a.slimc, model, x, a.runs)
        sp.append(t)
        for k, v in n.items():
            lsp.setdefault(k, []).append(v)
        t, n = profile_ms(a.slimc, model, x, a.runs, DENSE)
        de.append(t)
        for k, v in n.items():
            lde.setdefault(k, []).append(v)
        ort.append(ort_ms(os.path.join(d, "resnet18.onnx"), xa, a.runs))
        csp.append(slimc_cpu_ms(a.slimc, model, x, a.runs))
        cde.append(slimc_cpu_ms(a.slimc, model, x, a.runs, DENSE))
        cort.append(ort_cpu_ms(os.path.join(d, "resnet18.onnx"), xa, a.runs))
        ds = deepsparse(a, os.path.join(d, "resnet18.onnx"), x, a.runs, os.path.join(d, "y.npy"))
        if ds:
            wds.append(ds[0])
            cds.append(ds[1])
    spm, dem, ortm = (float(np.median(v)) for v in (sp, de, ort))
    cspm, cdem, cortm = (float(np.median(v)) for v in (csp, cde, cort))
    print(f"load average after: {' '.join(open('/proc/loadavg').read().split()[:3])}")
    print(f"{'slimc sparse':>13} {'slimc dense':>12} {'ORT dense':>10} {'vs slimc dense':>15} "
          f"{'vs ORT dense':>13}")
    print(f"{spm:>10.3f} ms {dem:>9.3f} ms {ortm:>7.3f} ms {spm / dem:>14.2f}x {spm / ortm:>12.2f}x"
          "   (time ratios: under 1 is faster)")
    print(f"{cspm:>10.3f} ms {cdem:>9.3f} ms {cortm:>7.3f} ms {cspm / cdem:>14.2f}x "
          f"{cspm / cortm:>12.2f}x   (CPU time per run)")
    if wds:
        wdm, cdm = float(np.median(wds)), float(np.median(cds))
        print(f"DeepSparse (pruned model): {wdm:.3f} ms wall, {cdm:.3f} ms CPU; ORT dense / "
              f"DeepSparse {ortm / wdm:.2f}x wall, {cortm / cdm:.2f}x CPU")
        print(f"target slimc sparse <= DeepSparse: {'met' if cspm <= cdm else 'MISSED'} "
              f"(time ratio slimc / DeepSparse: CPU {cspm / cdm:.2f}x, wall {spm / wdm:.2f}x)")
    else:
        print(f"target <= 0.71x ORT dense (the issue's DeepSparse figure; DeepSparse not run): "
              f"{'met' if spm / ortm <= 0.71 else 'MISSED'} (wall {spm / ortm:.2f}x, CPU time "
              f"{cspm / cortm:.2f}x)")
    print(f"\n{'layer (fused group)':<40} {'density':>8} {'kernel':>7} {'sparse ms':>10} "
          f"{'dense ms':>9} {'ratio':>6}")
    for k in sorted(lde, key=lambda k: -float(np.median(lde[k]))):
        if k not in dens:
            continue
        s_, d_ = float(np.median(lsp.get(k, [0]))), float(np.median(lde[k]))
        print(f"{k:<40} {dens[k]:>7.1f}% {kern[k]:>7} {s_:>10.3f} {d_:>9.3f} "
              f"{s_ / d_ if d_ else 0:>6.2f}")


def bench_conv_layers(a, here):
    """One 3x3 conv (padding 1, no bias) at each ResNet-18 stage's shape and the density
    global 80% pruning leaves there, random weights, batch 1: CPU time per run of the dense
    conv against the CSR conv kernel (sparse(mode=csr), whatever the cost model says),
    --rounds interleaved rounds, medians; and what the cost model predicts."""
    import sys
    sys.path.insert(0, os.path.join(here, "..", "tests", "tools"))
    from st_io import write_safetensors
    d = os.path.join(a.dir, "conv_layers")
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(0)
    stages = [("layer1", 64, 56, 0.60), ("layer2", 128, 28, 0.46), ("layer3", 256, 14, 0.29),
              ("layer4", 512, 7, 0.14)]
    for name, c, hw, dens in stages:
        w = rng.standard_normal((c, c, 3, 3)).astype(np.float32)
        w[rng.random(w.shape) > dens] = 0
        write_safetensors(os.path.join(d, f"{name}.safetensors"), {"c.weight": w})
        with open(os.path.join(d, f"{name}.slim"), "w") as f:
            f.write(f"model m(x: f32[1, {c}, {hw}, {hw}]) -> f32[1, {c}, {hw}, {hw}]\n"
                    f'    weights "{name}.safetensors"\n'
                    f"    c = Conv2d({c}, {c}, 3, padding=1, bias=false)\n    return c(x)\n")
    dense, csr = "layout,fuse,memplan", "layout,sparse(mode=csr),fuse,memplan"
    print(f"CPU: {cpu_name()}; one thread; CPU time per run (getrusage), {a.rounds} interleaved "
          f"rounds of --runs {a.runs}, medians")
    print(f"load average before: {' '.join(open('/proc/loadavg').read().split()[:3])}")
    base = f" {'base csr':>8} {'base/dense':>10}" if a.slimc_base else ""
    print(f"{'conv 3x3':<26} {'density':>8} {'dense ms':>9} {'csr ms':>8} {'csr/dense':>10}{base}  "
          "cost model (default profile)")
    for name, c, hw, dens in stages:
        model = os.path.join(d, f"{name}.slim")
        de, sp, bs = [], [], []
        for _ in range(a.rounds):
            de.append(slimc_cpu_ms(a.slimc, model, "-", a.runs, dense, rand=True))
            sp.append(slimc_cpu_ms(a.slimc, model, "-", a.runs, csr, rand=True))
            if a.slimc_base:
                bs.append(slimc_cpu_ms(a.slimc_base, model, "-", a.runs, csr, rand=True))
        ins = subprocess.run([a.slimc, "inspect", model, "--sparsity"], capture_output=True,
                             text=True, check=True).stdout
        why = next((ln.strip() for ln in ins.splitlines() if ln.startswith("    c:")), "?")
        dm, sm = float(np.median(de)), float(np.median(sp))
        bm = f" {float(np.median(bs)):>8.3f} {float(np.median(bs)) / dm:>10.2f}" if bs else ""
        print(f"{name + f' {c}->{c} {hw}x{hw}':<26} {100 * dens:>7.0f}% {dm:>9.3f} {sm:>8.3f} "
              f"{sm / dm:>10.2f}{bm}  {why}")
    print(f"load average after: {' '.join(open('/proc/loadavg').read().split()[:3])}")


def nm_mask(w, n, m):
    """Keeps the n largest |w| of every m consecutive input channels (dim 1) of each (o, kh, kw)."""
    o, c, kh, kw = w.shape
    g = np.abs(w).transpose(0, 2, 3, 1).reshape(o, kh, kw, c // m, m)
    keep = np.argsort(-g, axis=-1, kind="stable")[..., :n]
    mask = np.zeros_like(g, dtype=bool)
    np.put_along_axis(mask, keep, True, axis=-1)
    return w * mask.reshape(o, kh, kw, c).transpose(0, 3, 1, 2)


def bench_nm_conv(a, here):
    """A 1x1 and a 3x3 conv per ResNet-18 stage at N:M along C: dense against the N:M conv
    kernel (CPU time per run, interleaved rounds, medians) and the cost model's choice."""
    import sys
    sys.path.insert(0, os.path.join(here, "..", "tests", "tools"))
    from st_io import write_safetensors
    n, m = (int(v) for v in a.nm_conv.split(":"))
    d = os.path.join(a.dir, "nm_conv")
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(0)
    layers = []
    for stage, c, hw in (("layer1", 64, 56), ("layer2", 128, 28), ("layer3", 256, 14),
                         ("layer4", 512, 7)):
        for k in (1, 3):
            name = f"{stage}_{k}x{k}"
            w = nm_mask(rng.standard_normal((c, c, k, k)).astype(np.float32), n, m)
            write_safetensors(os.path.join(d, f"{name}.safetensors"), {"c.weight": w})
            with open(os.path.join(d, f"{name}.slim"), "w") as f:
                f.write(f"model m(x: f32[1, {c}, {hw}, {hw}]) -> f32[1, {c}, {hw}, {hw}]\n"
                        f'    weights "{name}.safetensors"\n'
                        f"    c = Conv2d({c}, {c}, {k}, padding={k // 2}, bias=false)\n"
                        "    return c(x)\n")
            layers.append((name, c, hw, k))
    dense, nm = "layout,fuse,memplan", "layout,sparse(mode=nm),fuse,memplan"
    print(f"CPU: {cpu_name()}; one thread; {n}:{m} along C per tap; CPU time per run "
          f"(getrusage), {a.rounds} interleaved rounds of --runs {a.runs}, medians")
    print(f"load average before: {' '.join(open('/proc/loadavg').read().split()[:3])}")
    print(f"{'conv':<26} {'dense ms':>9} {'n:m ms':>8} {'speed-up':>9}  cost model (default "
          "pipeline and profile)")
    for name, c, hw, k in layers:
        model = os.path.join(d, f"{name}.slim")
        de, sp = [], []
        for _ in range(a.rounds):
            de.append(slimc_cpu_ms(a.slimc, model, "-", a.runs, dense, rand=True))
            sp.append(slimc_cpu_ms(a.slimc, model, "-", a.runs, nm, rand=True))
        ins = subprocess.run([a.slimc, "inspect", model, "--sparsity"], capture_output=True,
                             text=True, check=True).stdout
        why = next((ln.strip() for ln in ins.splitlines() if ln.startswith("    c:")), "?")
        dm, sm = float(np.median(de)), float(np.median(sp))
        print(f"{f'{name} {c}->{c} {hw}x{hw}':<26} {dm:>9.3f} {sm:>8.3f} {dm / sm:>8.2f}x  {why}")
    print(f"load average after: {' '.join(open('/proc/loadavg').read().split()[:3])}")


def q8_cpu_ms(slimc, model, x, runs, extra):
    """CPU ms of one run of `slimc bench model` with the extra arguments (as slimc_cpu_ms)."""
    cmd = [slimc, "bench", model, "--threads", "1", "--warmup", "0", "--input", f"x={x}"] + extra
    return (child_cpu_ms(cmd + ["--runs", str(runs + 1)]) - child_cpu_ms(cmd + ["--runs", "1"])) / runs


def bench_q8(a, here):
    """Prune then quantize: the MLP at 10% density (sparse_mlp.py, zeros in the file) in static
    int8, calibrated on 64 random rows: slimc's cost-model choice with a profile measured here
    (`slimc profile-device --threads 1`, --dim N=batch so the plan is the batch's), the int8
    block-sparse kernel forced, dense int8, fp32 sparse (the CSR kernel by cost), and ONNX
    Runtime's quantize_static QDQ (per channel) of the same pruned model, dense; --rounds
    interleaved rounds of CPU time per run, medians."""
    import onnxruntime.quantization as oq
    d = os.path.join(a.dir, "q8")
    subprocess.run(["python3", os.path.join(here, "..", "tests", "tools", "sparse_mlp.py"), d,
                    "--density", "0.1", "--onnx"], check=True)
    model = os.path.join(d, "mlp.slim")
    cal = np.random.default_rng(3).standard_normal((64, 784)).astype(np.float32)
    calp = os.path.join(d, "calib.npy")
    np.save(calp, cal)
    prof = os.path.join(d, "profile.json")
    subprocess.run([a.slimc, "profile-device", "--threads", "1", "-o", prof], check=True,
                   capture_output=True)
    q = f'quantize(int8, calibrate="{calp}")'
    pipe = ("qdq,fold,act,bn_fold,fold,dce,cse," + q +
            ",linearize,gelu,lnorm,attention,place,qchain,layout,sparse(mode=%s),fuse,dce,memplan")

    class Reader(oq.CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"x": cal}])

        def get_next(self):
            return next(self.it, None)
    ort_q = os.path.join(d, "mlp_int8.onnx")
    oq.quantize_static(os.path.join(d, "mlp.onnx"), ort_q, Reader(),
                       quant_format=oq.QuantFormat.QDQ, per_channel=True,
                       activation_type=oq.QuantType.QUInt8, weight_type=oq.QuantType.QInt8)
    print(f"CPU: {cpu_name()}; one thread; MLP 784-512-512-10, 90% unstructured (magnitude), "
          f"static int8; {a.rounds} interleaved rounds of CPU time per run, medians")
    print(f"load average before: {' '.join(open('/proc/loadavg').read().split()[:3])}")
    for b in (1, 64):
        x = os.path.join(d, f"x{b}.npy")
        chosen = ["--quantize", "int8", "--calibrate", calp, "--device-profile", prof, "--dim",
                  f"N={b}"]
        out = subprocess.run([a.slimc, "inspect", model, "--sparsity"] + chosen,
                             capture_output=True, text=True, check=True).stdout
        ks = {m.group(1): m.group(2) for m in
              re.finditer(r"^  (fc\d) +qlinear .*  (dense|int8 blocks)$", out, re.M)}
        runners = {
            "slimc int8 (cost model)": lambda r: q8_cpu_ms(a.slimc, model, x, r, chosen),
            "slimc int8 blocks (forced)": lambda r: q8_cpu_ms(a.slimc, model, x, r,
                                                              ["--passes", pipe % "q8"]),
            "slimc int8 dense": lambda r: q8_cpu_ms(a.slimc, model, x, r,
                                                    ["--passes", pipe % "dense"]),
            "slimc fp32 sparse": lambda r: q8_cpu_ms(a.slimc, model, x, r,
                                                     ["--device-profile", prof, "--dim", f"N={b}"]),
            "ORT int8 dense": lambda r: ort_cpu_ms(ort_q, np.load(x), r),
        }
        runs = {"ORT int8 dense": max(50, a.runs // 2)}
        t = {k: [] for k in runners}
        for _ in range(a.rounds):
            for k, fn in runners.items():
                t[k].append(fn(runs.get(k, a.runs)))
        med = {k: float(np.median(v)) for k, v in t.items()}
        dense = med["slimc int8 dense"]
        print(f"batch {b}: kernels chosen: {', '.join(f'{k} {v}' for k, v in sorted(ks.items()))}")
        for k, v in med.items():
            print(f"  {k:<28} {v:9.4f} ms  dense int8 / this {dense / v:5.2f}x")
    print(f"load average after: {' '.join(open('/proc/loadavg').read().split()[:3])}")


def bench_q8_resnet18(a, here):
    """Prune then quantize on convs: ResNet-18 pruned --amount global (as --resnet18) in static int8,
    calibrated on 4 images (the sample's and 3 random): slimc's cost-model choice with a profile
    measured here (`slimc profile-device --threads 1`), every conv on the int8 block-sparse
    kernel (sparse(mode=q8)), dense int8 (sparse(mode=dense)), and ONNX Runtime's
    quantize_static QDQ (per channel) of the same pruned model; batch 1, one thread, --rounds
    interleaved rounds of CPU time per run, medians; then per conv (`slimc bench --profile`,
    median over the rounds) the forced block-sparse kernel against dense int8, with the
    density, the blocks of 4 kept and the cost model's choice."""
    import onnxruntime.quantization as oq
    d = os.path.join(a.dir, f"resnet18_q8_{a.amount}")
    subprocess.run([a.torch_python, os.path.join(here, "..", "tests", "tools", "prune_resnet18.py"),
                    d, "--amount", str(a.amount)], check=True, stdout=subprocess.DEVNULL)
    model, x = os.path.join(d, "resnet18.slim"), os.path.join(d, "x.npy")
    xa = np.load(x)
    cal = np.concatenate([xa, np.random.default_rng(3).standard_normal(
        (3,) + xa.shape[1:]).astype(np.float32)])
    calp = os.path.join(d, "calib.npy")
    np.save(calp, cal)
    prof = os.path.join(d, "profile.json")
    subprocess.run([a.slimc, "profile-device", "--threads", "1", "-o", prof], check=True,
                   capture_output=True)
    q = f'quantize(int8, calibrate="{calp}")'
    pipe = ("qdq,fold,act,bn_fold,fold,dce,cse," + q +
            ",conv_taps,linearize,gelu,lnorm,attention,place,qchain,layout,sparse(mode=%s),fuse,"
            "dce,memplan")
    chosen = ["--quantize", "int8", "--calibrate", calp, "--device-profile", prof]

    class Reader(oq.CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"x": cal[i:i + 1]} for i in range(len(cal))])

        def get_next(self):
            return next(self.it, None)
    ort_q = os.path.join(d, "resnet18_int8.onnx")
    oq.quantize_static(os.path.join(d, "resnet18.onnx"), ort_q, Reader(),
                       quant_format=oq.QuantFormat.QDQ, per_channel=True,
                       activation_type=oq.QuantType.QUInt8, weight_type=oq.QuantType.QInt8)
    out = subprocess.run([a.slimc, "inspect", model, "--sparsity"] + chosen, capture_output=True,
                         text=True, check=True).stdout
    info = {}
    for m in re.finditer(r"^  (\S+) +qconv2d +\S+ +([0-9.]+)% .*  (dense|int8 blocks)\n"
                         r"    \S+: (.*)$", out, re.M):
        kept = re.search(r"(\d+) of (\d+) blocks of 4 kept", m.group(4))
        info[m.group(1)] = (float(m.group(2)), m.group(3),
                            int(kept.group(1)) / int(kept.group(2)) if kept else 1.0, m.group(4))
    print(f"CPU: {cpu_name()}; one thread; ResNet-18 224x224 batch 1, {100 * a.amount:g}% global "
          f"unstructured (torch.nn.utils.prune), static int8; {a.rounds} interleaved rounds of CPU time per "
          f"run ({a.runs} runs), medians")
    print(f"load average before: {' '.join(open('/proc/loadavg').read().split()[:3])}")
    runners = {
        "slimc int8 (cost model)": lambda r: q8_cpu_ms(a.slimc, model, x, r, chosen),
        "slimc int8 blocks (forced)": lambda r: q8_cpu_ms(a.slimc, model, x, r,
                                                          ["--passes", pipe % "q8"]),
        "slimc int8 dense": lambda r: q8_cpu_ms(a.slimc, model, x, r, ["--passes", pipe % "dense"]),
        "ORT int8 (QDQ, per channel)": lambda r: ort_cpu_ms(ort_q, xa, r),
    }
    t = {k: [] for k in runners}
    lsp, lde = {}, {}
    for fn in runners.values():  # compiles into the JIT cache: no round pays for it
        fn(1)
    for _ in range(a.rounds):
        for k, fn in runners.items():
            t[k].append(fn(a.runs))
        for passes, acc in ((pipe % "q8", lsp), (pipe % "dense", lde)):
            for k, v in profile_ms(a.slimc, model, x, a.runs, passes)[1].items():
                acc.setdefault(k, []).append(v)
    med = {k: float(np.median(v)) for k, v in t.items()}
    print(f"load average after: {' '.join(open('/proc/loadavg').read().split()[:3])}")
    dense, ortm = med["slimc int8 dense"], med["ORT int8 (QDQ, per channel)"]
    n_q8 = sum(1 for v in info.values() if v[1] == "int8 blocks")
    print(f"cost model: int8 blocks for {n_q8} of {len(info)} convs")
    for k, v in med.items():
        print(f"  {k:<30} {v:8.3f} ms  dense int8 / this {dense / v:5.2f}x  ORT int8 / this "
              f"{ortm / v:5.2f}x")
    print(f"\n{'conv (fused group)':<36} {'density':>8} {'kept':>6} {'blocks ms':>10} "
          f"{'dense ms':>9} {'dense/blocks':>13}  cost model")
    for k in sorted(lde, key=lambda k: -float(np.median(lde[k]))):
        name = k.split("+")[0]
        if name not in info:
            continue
        s_, d_ = float(np.median(lsp.get(k, [0]))), float(np.median(lde[k]))
        dn, kern, kept, why = info[name]
        print(f"{k:<36} {dn:>7.1f}% {kept:>6.2f} {s_:>10.3f} {d_:>9.3f} "
              f"{d_ / s_ if s_ else 0:>12.2f}x  {kern}")


def bench_mlp(a, here):
    """The MLP at 10% density, batch 1 and 64: --rounds interleaved rounds of slimc sparse,
    slimc dense, ORT dense and (with --deepsparse-python) DeepSparse, each round a median of
    --runs wall times and a CPU time per run; medians of the rounds."""
    subprocess.run(["python3", os.path.join(here, "..", "tests", "tools", "sparse_mlp.py"), a.dir,
                    "--onnx"], check=True)
    model, onnx_path = os.path.join(a.dir, "mlp.slim"), os.path.join(a.dir, "mlp.onnx")
    print(f"CPU: {cpu_name()}; one thread; MLP 784-512-512-10, 10% density; {a.rounds} "
          f"interleaved rounds of {a.runs} runs each, medians of the rounds")
    print(f"load average before: {' '.join(open('/proc/loadavg').read().split()[:3])}")
    names = ["slimc sparse", "slimc dense", "ORT dense", "DeepSparse"]
    for b in (1, 64):
        x = os.path.join(a.dir, f"x{b}.npy")
        xa = np.load(x)
        wall = {k: [] for k in names}
        cpu = {k: [] for k in names}
        for _ in range(a.rounds):
            wall["slimc sparse"].append(slimc_ms(a.slimc, model, x, a.runs))
            cpu["slimc sparse"].append(slimc_cpu_ms(a.slimc, model, x, a.runs))
            wall["slimc dense"].append(slimc_ms(a.slimc, model, x, a.runs, DENSE))
            cpu["slimc dense"].append(slimc_cpu_ms(a.slimc, model, x, a.runs, DENSE))
            wall["ORT dense"].append(ort_ms(onnx_path, xa, a.runs))
            cpu["ORT dense"].append(ort_cpu_ms(onnx_path, xa, a.runs))
            ds = deepsparse(a, onnx_path, x, a.runs, os.path.join(a.dir, f"y{b}.npy"))
            if ds:
                wall["DeepSparse"].append(ds[0])
                cpu["DeepSparse"].append(ds[1])
        print(f"batch {b}: {'':<14} {'wall ms':>9} {'CPU ms':>9} {'ORT/this (wall, CPU)':>22}")
        med = {k: (float(np.median(wall[k])), float(np.median(cpu[k]))) for k in names if wall[k]}
        for k, (w, c) in med.items():
            print(f"  {k:<20} {w:>9.4f} {c:>9.4f} {med['ORT dense'][0] / w:>10.2f}x "
                  f"{med['ORT dense'][1] / c:>9.2f}x")
        sp, de = med["slimc sparse"], med["slimc dense"]
        if b == 1:
            r = de[1] / sp[1]
            print(f"  target >= 2x slimc dense: {'met' if r >= 2 else 'MISSED'} (CPU {r:.2f}x, "
                  f"wall {de[0] / sp[0]:.2f}x)")
        if "DeepSparse" in med:
            r = med["DeepSparse"][1] / sp[1]
            tgt = "" if b == 1 else ", target >= 1: " + ("met" if r >= 1 else "MISSED")
            print(f"  DeepSparse time / slimc sparse time: {r:.2f} (CPU; wall "
                  f"{med['DeepSparse'][0] / sp[0]:.2f}; over 1: slimc faster){tgt}")
        elif b == 64:
            r = med["ORT dense"][1] / sp[1]
            print(f"  target >= 4.3x ORT dense (the issue's DeepSparse figure; DeepSparse not "
                  f"run): {'met' if r >= 4.3 else 'MISSED'} ({r:.2f}x)")
    print(f"load average after: {' '.join(open('/proc/loadavg').read().split()[:3])}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--slimc", default="build/slimc")
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--dir", default="/tmp/slimc_sparse_bench")
    ap.add_argument("--nm", default=None, help="N:M, e.g. 2:4: the N:M benchmark instead")
    ap.add_argument("--nm-conv", default=None,
                    help="N:M, e.g. 2:4: dense convs against the N:M conv kernel instead")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--resnet18", action="store_true", help="the pruned ResNet-18 instead")
    ap.add_argument("--conv-layers", action="store_true",
                    help="one 3x3 conv per ResNet-18 stage, dense against the CSR conv kernel")
    ap.add_argument("--torch-python", default="/usr/bin/python3",
                    help="a python with torch and torchvision (--resnet18)")
    ap.add_argument("--slimc-base", default=None,
                    help="--conv-layers: a second slimc (e.g. a build of the base commit) whose "
                         "CSR conv kernel is timed in the same rounds")
    ap.add_argument("--deepsparse-python", default=None,
                    help="a python with deepsparse 1.8 (e.g. a venv in the build dir): time "
                         "DeepSparse's engine in the same rounds (MLP, --resnet18)")
    ap.add_argument("--amount", type=float, default=0.8,
                    help="--q8 --resnet18: the fraction pruned (global L1)")
    ap.add_argument("--q8", action="store_true",
                    help="prune then quantize: int8 block-sparse against dense int8, fp32 sparse "
                         "and ORT int8")
    a = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    if a.q8 and a.resnet18:
        return bench_q8_resnet18(a, here)
    if a.q8:
        return bench_q8(a, here)
    if a.resnet18:
        return bench_resnet18(a, here)
    if a.conv_layers:
        return bench_conv_layers(a, here)
    if a.nm_conv:
        return bench_nm_conv(a, here)
    if a.nm:
        return bench_nm(a, here)
    return bench_mlp(a, here)

if __name__ == "__main__":
    main()
