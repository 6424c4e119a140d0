#!/usr/bin/env python3
"""The PyTorch-exported graphs of tests/cli/onnx_patterns.sh, and ONNX Runtime's outputs.

    /usr/bin/python3 onnx_patterns.py export DIR   # Debian's python (torch): the .onnx files
    python3 onnx_patterns.py ref DIR               # pip python (onnxruntime): the references

export writes, each with an input x_NAME.npy:
  tf_relu    nn.TransformerEncoderLayer(64, 4, 128, batch_first) as bench/export_onnx.py
             exports it: the fused in_proj as MatMul + Add + three Slices, post-norm, ReLU;
             batch 2, an odd sequence length (37)
  tf_gelu    the same layer with activation="gelu" (exported as the Div/Erf/Add/Mul/Mul
             chain) and norm_first, batch 1, sequence 19
  mlp_tanh   Linear(48, 96), F.gelu(approximate="tanh") (the Pow/Mul/Add/Mul/Tanh chain),
             Linear(96, 24) on a 3-D input [3, 5, 48] (so both linears are MatMul + Add)
  tf_causal  the tf_relu layer called with a causal float src_mask (0 / -inf, a constant
             of the export: MatMul, Add(mask), Softmax, MatMul), batch 2, sequence 21
  bert_attn  a BERT self-attention block as HF's BertSelfAttention writes it: view +
             permute into heads, matmul(q, k.transpose(-1, -2)) / sqrt(d), + an extended
             [B, 1, 1, S] mask ((1 - m) * -10000, the last 5 keys of batch 1 hidden),
             softmax, matmul(., v), permute + reshape back, then the output Linear;
             batch 2, sequence 17, 4 heads of 16
ref writes ref_NAME.npy from ONNX Runtime (its graph optimizations off: the reference is the
exported graph as written), and erf.onnx: one Erf node over a dense grid x_erf.npy of
[-6, 6] (and the values around 0, 4 and the infinities), with ref_erf.npy from libm's erf
in double rounded to f32.
"""

import math
import os
import sys


def export(d):
    import numpy as np
    import torch
    import torch.nn as nn

    torch.manual_seed(0)

    class MlpTanh(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(48, 96), nn.Linear(96, 24)

        def forward(self, x):
            return self.b(nn.functional.gelu(self.a(x), approximate="tanh"))

    class Causal(nn.Module):
        def __init__(self):
            super().__init__()
            self.tf = nn.TransformerEncoderLayer(64, 4, 128, dropout=0.0, batch_first=True)

        def forward(self, x):
            s = x.shape[1]
            mask = torch.triu(torch.full((s, s), float("-inf")), diagonal=1)
            return self.tf(x, src_mask=mask)

    class BertAttn(nn.Module):
        def __init__(self, e=64, h=4):
            super().__init__()
            self.h, self.d = h, e // h
            self.q, self.k, self.v, self.o = (nn.Linear(e, e) for _ in range(4))
            m = torch.ones(2, 17)
            m[1, -5:] = 0
            self.register_buffer("ext", (1.0 - m[:, None, None, :]) * -10000.0)

        def heads(self, t):
            return t.view(t.shape[0], t.shape[1], self.h, self.d).permute(0, 2, 1, 3)

        def forward(self, x):
            q, k, v = self.heads(self.q(x)), self.heads(self.k(x)), self.heads(self.v(x))
            s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.d) + self.ext
            c = torch.matmul(torch.softmax(s, dim=-1), v).permute(0, 2, 1, 3).contiguous()
            return self.o(c.view(x.shape[0], x.shape[1], self.h * self.d))

    models = {
        "tf_causal": (Causal(), (2, 21, 64)),
        "bert_attn": (BertAttn(), (2, 17, 64)),
        "tf_relu": (nn.TransformerEncoderLayer(64, 4, 128, dropout=0.0, batch_first=True),
                    (2, 37, 64)),
        "tf_gelu": (nn.TransformerEncoderLayer(64, 4, 128, dropout=0.0, activation="gelu",
                                               batch_first=True, norm_first=True), (1, 19, 64)),
        "mlp_tanh": (MlpTanh(), (3, 5, 48)),
    }
    for name, (m, shape) in models.items():
        m.eval()
        x = torch.randn(*shape)
        np.save(os.path.join(d, "x_%s.npy" % name), x.numpy().astype("<f4"), allow_pickle=False)
        # with autograd on: under no_grad TransformerEncoderLayer takes its fused fast path
        # (aten::_transformer_encoder_layer_fwd), which has no ONNX export
        torch.onnx.export(m, (x,), os.path.join(d, name + ".onnx"), input_names=["x"],
                          output_names=["y"], opset_version=17, do_constant_folding=True)


def ref(d):
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    for name in ("tf_relu", "tf_gelu", "mlp_tanh", "tf_causal", "bert_attn"):
        s = ort.InferenceSession(os.path.join(d, name + ".onnx"), so,
                                 providers=["CPUExecutionProvider"])
        y = s.run(None, {"x": np.load(os.path.join(d, "x_%s.npy" % name))})[0]
        np.save(os.path.join(d, "ref_%s.npy" % name), y, allow_pickle=False)

    grid = np.concatenate([np.linspace(-6, 6, 600001, dtype=np.float64),
                           np.linspace(-1e-3, 1e-3, 2001), np.linspace(3.9, 4.1, 2001),
                           [1e-30, -1e-30, 0.0, 1e30, -1e30, math.inf, -math.inf]])
    x = grid.astype("<f4")
    n = int(x.size)
    g = helper.make_graph([helper.make_node("Erf", ["x"], ["y"])], "erf",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, os.path.join(d, "erf.onnx"))
    np.save(os.path.join(d, "x_erf.npy"), x, allow_pickle=False)
    y = np.array([math.erf(float(v)) for v in x], dtype=np.float64).astype("<f4")
    np.save(os.path.join(d, "ref_erf.npy"), y, allow_pickle=False)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("export", "ref"):
        sys.exit(__doc__)
    os.makedirs(sys.argv[2], exist_ok=True)
    (export if sys.argv[1] == "export" else ref)(sys.argv[2])
