#!/usr/bin/env python3
"""The two-input models of tests/cli/calib_multi.sh (static int8 of models with several
inputs), and ONNX Runtime's fp32 outputs and static int8 accuracy on the same samples.

    /usr/bin/python3 calib_multi.py export DIR   # Debian's python (torch): the .onnx files
    python3 calib_multi.py ref DIR               # pip python (onnxruntime): the references

export writes, each with calibration samples c_NAME.npz (keyed by input name, np.savez)
and held-out samples e_NAME.npz (and the same arrays as .npy files, c_NAME_INPUT.npy):
  cnn2   a small CNN on x [N, 3, 24, 24] (conv 3->16 3x3, relu, conv 16->32 3x3 stride 2,
         relu, conv 32->32 3x3, relu, global average pool, linear 32->32) plus a second f32
         input z [N, 32] added before the head (relu, linear 32->10); batch dynamic
  enc    a BERT-style encoder: input_ids [N, 16] (int64, vocabulary 200) through an
         embedding plus a learned position embedding, then two post-norm layers of
         self-attention (4 heads of 16, masked by the int64 attention_mask [N, 16] as
         HF's BertModel extends it: (1 - m) * -10000) and a GELU feed-forward (64 -> 256 ->
         64), then mean pooling over the unmasked tokens; batch dynamic
ref writes, from ONNX Runtime (graph optimizations off), ref_NAME.npy: the fp32 outputs on
the held-out samples; NAME_ort_int8.onnx: quantize_static (QDQ, per-channel int8 weights,
u8 activations, MinMax) with a CalibrationDataReader over the calibration samples; and
ort_NAME.txt: the cosine of ORT's int8 outputs to its fp32 ones (all outputs flattened).
"""

import os
import sys

N_CAL, N_EVAL = 48, 32


def export(d):
    import math

    import numpy as np
    import torch
    import torch.nn as nn

    torch.manual_seed(0)
    rng = np.random.default_rng(0)

    class Cnn2(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.c2 = nn.Conv2d(3, 16, 3, padding=1), nn.Conv2d(16, 32, 3, 2, 1)
            self.c3 = nn.Conv2d(32, 32, 3, padding=1)
            self.fc, self.head = nn.Linear(32, 32), nn.Linear(32, 10)

        def forward(self, x, z):
            h = torch.relu(self.c3(torch.relu(self.c2(torch.relu(self.c1(x))))))
            h = self.fc(h.mean(dim=(2, 3)))
            return self.head(torch.relu(h + z))

    class Layer(nn.Module):
        def __init__(self, e=64, h=4, f=256):
            super().__init__()
            self.h, self.dh = h, e // h
            self.q, self.k, self.v, self.o = (nn.Linear(e, e) for _ in range(4))
            self.n1, self.n2 = nn.LayerNorm(e), nn.LayerNorm(e)
            self.f1, self.f2 = nn.Linear(e, f), nn.Linear(f, e)

        def heads(self, t):
            return t.view(t.shape[0], t.shape[1], self.h, self.dh).permute(0, 2, 1, 3)

        def forward(self, x, ext):
            q, k, v = self.heads(self.q(x)), self.heads(self.k(x)), self.heads(self.v(x))
            s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.dh) + ext
            c = torch.matmul(torch.softmax(s, dim=-1), v).permute(0, 2, 1, 3).contiguous()
            x = self.n1(x + self.o(c.view(x.shape[0], x.shape[1], self.h * self.dh)))
            return self.n2(x + self.f2(nn.functional.gelu(self.f1(x))))

    class Enc(nn.Module):
        def __init__(self, vocab=200, s=16, e=64):
            super().__init__()
            self.tok, self.pos = nn.Embedding(vocab, e), nn.Parameter(torch.randn(s, e) * 0.1)
            self.layers = nn.ModuleList([Layer(e) for _ in range(2)])

        def forward(self, input_ids, attention_mask):
            m = attention_mask.to(torch.float32)
            ext = (1.0 - m[:, None, None, :]) * -10000.0
            x = self.tok(input_ids) + self.pos
            for layer in self.layers:
                x = layer(x, ext)
            w = m[:, :, None]
            return (x * w).sum(dim=1) / w.sum(dim=1)

    def enc_samples(n):
        ids = rng.integers(1, 200, size=(n, 16)).astype(np.int64)
        mask = np.ones((n, 16), np.int64)
        for i, keep in enumerate(rng.integers(4, 17, size=n)):
            mask[i, keep:] = 0
            ids[i, keep:] = 0
        return {"input_ids": ids, "attention_mask": mask}

    def cnn_samples(n):
        return {"x": rng.standard_normal((n, 3, 24, 24)).astype(np.float32),
                "z": (0.5 * rng.standard_normal((n, 32))).astype(np.float32)}

    os.makedirs(d, exist_ok=True)
    for name, model, samples in (("cnn2", Cnn2(), cnn_samples), ("enc", Enc(), enc_samples)):
        model.eval()
        cal, ev = samples(N_CAL), samples(N_EVAL)
        names = list(cal)
        args = tuple(torch.from_numpy(v[:2]) for v in cal.values())
        torch.onnx.export(model, args, os.path.join(d, name + ".onnx"), input_names=names,
                          output_names=["y"], opset_version=17,
                          dynamic_axes={k: {0: "batch"} for k in names + ["y"]})
        for tag, s in (("c", cal), ("e", ev)):
            np.savez(os.path.join(d, "%s_%s.npz" % (tag, name)), **s)
            for k, v in s.items():
                np.save(os.path.join(d, "%s_%s_%s.npy" % (tag, name, k)), v)


def ref(d):
    import numpy as np
    import onnxruntime as ort
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)

    class Reader(CalibrationDataReader):
        def __init__(self, samples):
            n = len(next(iter(samples.values())))
            self.it = iter([{k: v[i:i + 1] for k, v in samples.items()} for i in range(n)])

        def get_next(self):
            return next(self.it, None)

    def run(path, feeds):
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        return s.run(None, feeds)[0]

    def cosine(a, b):
        a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
        return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))

    for name in ("cnn2", "enc"):
        src = os.path.join(d, name + ".onnx")
        cal = dict(np.load(os.path.join(d, "c_%s.npz" % name)))
        ev = dict(np.load(os.path.join(d, "e_%s.npz" % name)))
        y = run(src, ev)
        np.save(os.path.join(d, "ref_%s.npy" % name), y)
        q = os.path.join(d, name + "_ort_int8.onnx")
        quantize_static(src, q, Reader(cal), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
        with open(os.path.join(d, "ort_%s.txt" % name), "w") as f:
            f.write("%.6f\n" % cosine(run(q, ev), y))


if __name__ == "__main__":
    {"export": export, "ref": ref}[sys.argv[1]](sys.argv[2])
