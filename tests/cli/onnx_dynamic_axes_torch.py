#!/usr/bin/python3
"""Exports, with Debian's torch, the models of tests/cli/onnx_dynamic_axes.sh: a small
nn.TransformerEncoder (batch_first, 2 layers, d_model 16, 2 heads) with dynamic_axes
{0: batch, 1: seq}, and a small CNN with nn.Upsample(scale_factor=2) with a dynamic batch.

  onnx_dynamic_axes_torch.py DIR   writes DIR/transformer.onnx and DIR/cnn_upsample.onnx
"""
import sys
import warnings

import torch
import torch.nn as nn

warnings.filterwarnings("ignore")
out = sys.argv[1]
torch.manual_seed(0)
layer = nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32, dropout=0.0,
                                   batch_first=True)
tx = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False).eval()
torch.onnx.export(tx, (torch.randn(2, 5, 16),), f"{out}/transformer.onnx", input_names=["x"],
                  output_names=["y"], opset_version=17,
                  dynamic_axes={"x": {0: "batch", 1: "seq"}, "y": {0: "batch", 1: "seq"}})


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 4, 3, padding=1)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.c2 = nn.Conv2d(4, 2, 3, padding=1)

    def forward(self, x):
        return self.c2(self.up(torch.relu(self.c1(x))))


torch.onnx.export(Cnn().eval(), (torch.randn(1, 3, 8, 8),), f"{out}/cnn_upsample.onnx",
                  input_names=["x"], output_names=["y"], opset_version=17,
                  dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
