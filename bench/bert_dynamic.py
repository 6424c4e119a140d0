#!/usr/bin/env python3
"""A BERT-style sentence encoder (issue 19's target): slimc's dynamic int8
(`--quantize int8-dynamic`) against ONNX Runtime's `quantize_dynamic` model of the same ONNX
file, one thread each (--threads N: N each), and the cosine of each one's sentence embeddings to fp32.

The encoder is all-MiniLM-L6-v2's shape: 6 layers, hidden 384, 12 heads, feed-forward 1536,
GELU, post-LayerNorm, mean pooling over the tokens, written with nn.Linear (exported as
MatMul + Add, as PyTorch exports every linear of a 3-D input). Its weights are PyTorch's
default initialisation with a fixed seed (no pretrained weights are downloaded), its input
the token embeddings [batch, seq, 384] (the embedding lookup is not part of it). Exported
with Debian's /usr/bin/python3 (torch), timed with `python3` (onnxruntime):

    python3 bench/bert_dynamic.py [--slimc build/slimc] [--seq 128] [--batch 1] [--rounds 5]
                                  [--threads 1]

Each round times every configuration once (slimc: `slimc bench --runs R`, its median; ORT:
the median of R runs), so a slow minute of a shared machine hits them alike; a cell is the
median over the rounds. The cosines are over --sentences inputs (one per sentence).
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEB_PY = "/usr/bin/python3"

EXPORT = r'''
import sys, torch, torch.nn as nn
path, seq, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.manual_seed(0)
H, HEADS, FF, LAYERS = 384, 12, 1536, 6

class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(H, H) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(H), nn.LayerNorm(H)
        self.ff1, self.ff2 = nn.Linear(H, FF), nn.Linear(FF, H)
    def forward(self, x):
        b, s, _ = x.shape
        def heads(t):
            return t.reshape(b, s, HEADS, H // HEADS).transpose(1, 2)
        q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
        a = torch.softmax(q @ k.transpose(-1, -2) / (H // HEADS) ** 0.5, dim=-1) @ v
        x = self.ln1(x + self.o(a.transpose(1, 2).reshape(b, s, H)))
        return self.ln2(x + self.ff2(nn.functional.gelu(self.ff1(x))))

class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList(Layer() for _ in range(LAYERS))
    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x.mean(dim=1)  # the sentence embedding: mean pooling

m = Encoder().eval()
x = torch.randn(batch, seq, H)
torch.onnx.export(m, (x,), path, input_names=["x"], output_names=["emb"], opset_version=17,
                  do_constant_folding=True)
'''


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sh(cmd):
    r = subprocess.run(cmd, cwd=ROOT, text=True, capture_output=True)
    if r.returncode:
        raise SystemExit("%s failed:\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
    return r


def cosines(a, b):
    a, b = a.reshape(a.shape[0], -1).astype(np.float64), b.reshape(b.shape[0], -1).astype(np.float64)
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--slimc", default=os.path.join(ROOT, "build/slimc"))
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="threads of both runtimes (default 1)")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--sentences", type=int, default=16)
    ap.add_argument("--dir", default=os.path.join(ROOT, "bench/models/bert"))
    args = ap.parse_args()

    import onnxruntime as ort
    from onnxruntime import quantization as oq

    os.makedirs(args.dir, exist_ok=True)
    fp32 = os.path.join(args.dir, "bert_l6_h384_b%d_s%d.onnx" % (args.batch, args.seq))
    q8 = fp32.replace(".onnx", "_ort_qdyn.onnx")
    if not os.path.exists(fp32):
        log("exporting %s with %s" % (fp32, DEB_PY))
        with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
            f.write(EXPORT)
        try:
            sh([DEB_PY, f.name, fp32, str(args.seq), str(args.batch)])
        finally:
            os.unlink(f.name)
    if not os.path.exists(q8):
        oq.quantize_dynamic(fp32, q8, weight_type=oq.QuantType.QInt8)

    def session(path):
        so = ort.SessionOptions()
        so.intra_op_num_threads = args.threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])

    ort_f, ort_q = session(fp32), session(q8)
    rng = np.random.default_rng(7)
    xs = [rng.standard_normal((args.batch, args.seq, 384)).astype("<f4")
          for _ in range(args.sentences)]
    inp = os.path.join(args.dir, "x.npy")
    np.save(inp, xs[0], allow_pickle=False)

    # ---- accuracy: sentence embeddings of each input against ORT fp32's
    slimc_modes = {"slimc fp32": [], "slimc int8-dynamic": ["--quantize", "int8-dynamic"]}
    embs = {k: [] for k in ["ORT fp32", "ORT quantize_dynamic"] + list(slimc_modes)}
    for i, x in enumerate(xs):
        p = os.path.join(args.dir, "s%d.npy" % i)
        np.save(p, x, allow_pickle=False)
        embs["ORT fp32"].append(ort_f.run(None, {"x": x})[0])
        embs["ORT quantize_dynamic"].append(ort_q.run(None, {"x": x})[0])
    for name, extra in slimc_modes.items():
        # one compile, every sentence: the inputs stacked on a leading axis would change
        # the model, so run each (the compile cache makes the later ones cheap)
        for i in range(len(xs)):
            d = os.path.join(args.dir, "out_%s_%d" % (name.split()[1], i))
            r = sh([args.slimc, "run", fp32, "--threads", "1", "--input",
                    "x=" + os.path.join(args.dir, "s%d.npy" % i), "--output-dir", d] + extra)
            if i == 0 and r.stderr.strip():
                log("%s: %s" % (name, r.stderr.strip().splitlines()[-1]))
            embs[name].append(np.load(os.path.join(d, "emb.npy")))
    ref = np.concatenate(embs["ORT fp32"])
    cos = {k: cosines(np.concatenate(v), ref) for k, v in embs.items()}

    # ---- speed, interleaved rounds
    def time_ort(s):
        for _ in range(3):
            s.run(None, {"x": xs[0]})
        t = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            s.run(None, {"x": xs[0]})
            t.append(time.perf_counter() - t0)
        return statistics.median(t) * 1e3

    def time_slimc(extra):
        r = sh([args.slimc, "bench", fp32, "--threads", str(args.threads), "--runs", str(args.runs),
                "--input",
                "x=" + inp] + extra)
        m = re.search(r"median ([0-9.eE+-]+) ms", r.stdout)
        if not m:
            raise SystemExit("no median in slimc bench's output:\n" + r.stdout)
        return float(m.group(1))

    times = {k: [] for k in embs}
    for rnd in range(args.rounds):
        times["ORT fp32"].append(time_ort(ort_f))
        times["ORT quantize_dynamic"].append(time_ort(ort_q))
        for name, extra in slimc_modes.items():
            times[name].append(time_slimc(extra))
        log("round %d: %s" % (rnd + 1, ", ".join("%s %.2f" % (k, v[-1]) for k, v in times.items())))

    print("BERT-style encoder, 6 layers, hidden 384, batch %d, seq %d, %d thread(s); load %s"
          % (args.batch, args.seq, args.threads, " ".join("%.2f" % l for l in os.getloadavg())))
    print()
    print("| configuration | median ms (min-max of %d rounds) | cosine to fp32, min / mean of %d inputs |"
          % (args.rounds, len(xs)))
    print("|---|---:|---:|")
    for k in embs:
        t = times[k]
        print("| %s | %.2f (%.2f-%.2f) | %.6f / %.6f |"
              % (k, statistics.median(t), min(t), max(t), cos[k].min(), cos[k].mean()))
    f = [a / b for a, b in zip(times["slimc fp32"], times["ORT fp32"])]
    r = [a / b for a, b in zip(times["slimc int8-dynamic"], times["ORT quantize_dynamic"])]
    print()
    print("slimc fp32 / ORT fp32: median %.2f (rounds: %s)"
          % (statistics.median(f), " ".join("%.2f" % x for x in f)))
    print("slimc int8-dynamic / ORT quantize_dynamic: median %.2f (rounds: %s)"
          % (statistics.median(r), " ".join("%.2f" % x for x in r)))


if __name__ == "__main__":
    main()
