#!/usr/bin/python3
"""Exports, with Debian's torch, the models of tests/cli/onnx_derived_dims.sh: shapes whose
dims exporters compute from symbolic ones (issue 19), with dynamic_axes.

  cls_token.onnx  x [batch, seq, 16] -> a learned CLS token concatenated in front (seq+1
                  tokens), a linear layer and a layer norm: y [batch, seq+1, 16]
  pad_tokens.onnx x [batch, seq, 8] -> F.pad of two tokens after and one before, then a
                  linear and a softmax over the tokens: y [batch, seq+3, 8]

  onnx_derived_dims_torch.py DIR   writes the models into DIR
"""
import sys
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

warnings.filterwarnings("ignore")
out = sys.argv[1]
torch.manual_seed(0)


class ClsToken(nn.Module):
    def __init__(self):
        super().__init__()
        self.cls = nn.Parameter(torch.randn(1, 1, 16))
        self.fc = nn.Linear(16, 16)
        self.ln = nn.LayerNorm(16)

    def forward(self, x):
        t = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1)
        return self.ln(torch.relu(self.fc(t)))


class PadTokens(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        t = F.pad(x, (0, 0, 1, 2))
        return torch.softmax(self.fc(t), dim=1)


for name, model, shape in [("cls_token", ClsToken(), (2, 5, 16)),
                           ("pad_tokens", PadTokens(), (2, 5, 8))]:
    torch.onnx.export(model.eval(), (torch.randn(*shape),), f"{out}/{name}.onnx",
                      input_names=["x"], output_names=["y"], opset_version=17,
                      dynamic_axes={"x": {0: "batch", 1: "seq"}, "y": {0: "batch", 1: "seq1"}})
