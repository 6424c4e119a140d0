#!/usr/bin/python3
"""Models of issue 19's ops exported by PyTorch's torch.onnx.export (Debian's torch).

    ops_torch.py GROUP OUTDIR     GROUP: slice (torch.flip, reflect pad), rnn (LSTM, GRU)

Writes, as tests/onnx/ops_cases.py does, OUTDIR/NAME.onnx, NAME.input.K.npy and
NAME.ref.OUT.npy (PyTorch's own output: this python may lack onnxruntime) and the case
names in OUTDIR/cases.txt."""
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn.functional as F

warnings.filterwarnings("ignore")
torch.manual_seed(19)
OUT = sys.argv[2]


def export(name, mod, inputs, in_names, out_names, opset=14):
    mod.eval()
    path = os.path.join(OUT, name + ".onnx")
    torch.onnx.export(mod, tuple(inputs), path, opset_version=opset, input_names=in_names,
                      output_names=out_names)
    with torch.no_grad():
        res = mod(*inputs)
    if not isinstance(res, (tuple, list)):
        res = (res,)
    flat = []
    for r in res:
        flat.extend(r if isinstance(r, (tuple, list)) else [r])
    for k, v in zip(in_names, inputs):
        np.save(os.path.join(OUT, f"{name}.input.{k}.npy"), v.numpy())
    for k, v in zip(out_names, flat):
        np.save(os.path.join(OUT, f"{name}.ref.{k}.npy"), v.numpy())
    with open(os.path.join(OUT, "cases.txt"), "a") as f:
        f.write(name + "\n")


class FlipPad(torch.nn.Module):
    def forward(self, x):
        return torch.flip(x, [2, 3]) * 2.0, F.pad(x, (2, 1, 1, 2), mode="reflect")


class Rnn(torch.nn.Module):
    """An nn.LSTM/GRU returning its output and final states (h, c for LSTM)."""

    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x, h0, *c0):
        y, st = self.rnn(x, (h0, c0[0]) if c0 else h0)
        return (y,) + (st if isinstance(st, tuple) else (st,))


def slice_cases():
    export("torch_flip_reflect", FlipPad(), [torch.randn(1, 2, 5, 6)], ["x"], ["flip", "pad"])


def rnn_cases():
    T, B, I, H = 6, 3, 5, 4
    for bi in (False, True):
        D = 2 if bi else 1
        tag = "bi" if bi else "fw"
        lstm = Rnn(torch.nn.LSTM(I, H, num_layers=2, bidirectional=bi))
        export(f"torch_lstm_{tag}", lstm, [torch.randn(T, B, I), torch.randn(2 * D, B, H),
                                           torch.randn(2 * D, B, H)],
               ["x", "h0", "c0"], ["y", "hn", "cn"])
        gru = Rnn(torch.nn.GRU(I, H, bidirectional=bi, batch_first=True))
        export(f"torch_gru_{tag}_batch_first", gru, [torch.randn(B, T, I), torch.randn(D, B, H)],
               ["x", "h0"], ["y", "hn"])


GROUPS = {"slice": slice_cases, "rnn": rnn_cases}

if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    open(os.path.join(OUT, "cases.txt"), "w").close()
    GROUPS[sys.argv[1]]()
