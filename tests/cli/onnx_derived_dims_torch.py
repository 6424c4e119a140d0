#!/usr/bin/python3
"""Exports, with Debian's torch, the models of tests/cli/onnx_derived_dims.sh: shapes whose
dims exporters compute from symbolic ones (issue 19), with dynamic_axes.

  cls_token.onnx  x [batch, seq, 16] -> a learned CLS token concatenated in front (seq+1
                  tokens), a linear layer and a layer norm: y [batch, seq+1, 16]
  grid.onnx       x [batch, side, side, 8] -> x.reshape(b, s * s, c), a linear and a
                  softmax over the side*side tokens: y [batch, side*side, 8]
  cnn_hw.onnx     x [batch, 3, h, w] -> a stride-2 conv (h+1)//2, a depthwise conv,
                  nn.Upsample(scale_factor=2) and a conv: y [batch, 2, 2*((h+1)//2), ...]
  pad_pool_up.onnx x [batch, 3, h, w] -> F.pad reflect 1, a 3x3 conv, a 3x3 stride-2 max pool
                  with ceil_mode, bilinear nn.Upsample x2 (half_pixel), F.interpolate x0.5
                  bilinear align_corners, a conv and [:, :, 1:, :-1] slices: y [batch, 4,
                  (h//2)-1, (w//2)-1] (issue 19, i19-sym2: Pad, ceil_mode, Resize, Slice)
  stem_hw.onnx    x [batch, 3, h, w] -> a ResNet stem (7x7 stride-2 conv, batch norm, relu,
                  3x3 stride-2 max pool), a 3x3 conv, global average pool, a linear: y
                  [batch, 10], the pooled sizes derived from h and w
  flip_pad.onnx   x [batch, seq, w] -> x.flip(-1) (Slice with step -1 on a symbolic w), a
                  reflect F.pad (2, 3) of w (its pads list reversed by a step -1 Slice, as
                  the exporter writes it), .flip(1), times 2: y [batch, seq, w+5]
  bicubic.onnx    x [batch, 3, h, w] -> F.interpolate x2 bicubic (Resize cubic, a = -0.75),
                  and x2 bicubic align_corners, a 3x3 conv: y [batch, 4, 4*h, 4*w]

  onnx_derived_dims_torch.py DIR   writes the models into DIR
"""
import sys
import warnings

import torch
import torch.nn as nn

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


class Grid(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        b, s, _, c = x.shape
        return torch.softmax(self.fc(x.reshape(b, s * s, c)), dim=1)


class CnnHW(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1, stride=2)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.c2 = nn.Conv2d(8, 2, 3, padding=1)

    def forward(self, x):
        return self.c2(self.up(torch.relu(self.dw(torch.relu(self.c1(x))))))


torch.onnx.export(CnnHW().eval(), (torch.randn(1, 3, 8, 8),), f"{out}/cnn_hw.onnx",
                  input_names=["x"], output_names=["y"], opset_version=17,
                  dynamic_axes={"x": {0: "batch", 2: "h", 3: "w"},
                                "y": {0: "batch", 2: "oh", 3: "ow"}})
class PadPoolUp(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3)
        self.pool = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.c2 = nn.Conv2d(8, 4, 3, padding=1)

    def forward(self, x):
        x = self.pool(torch.relu(self.c1(nn.functional.pad(x, (1, 1, 1, 1), mode="reflect"))))
        x = nn.functional.interpolate(self.up(x), scale_factor=0.5, mode="bilinear",
                                      align_corners=True)
        return self.c2(x)[:, :, 1:, :-1]


torch.onnx.export(PadPoolUp().eval(), (torch.randn(1, 3, 16, 16),), f"{out}/pad_pool_up.onnx",
                  input_names=["x"], output_names=["y"], opset_version=17,
                  dynamic_axes={"x": {0: "batch", 2: "h", 3: "w"},
                                "y": {0: "batch", 2: "oh", 3: "ow"}})


class StemHW(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 7, padding=3, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.c2 = nn.Conv2d(8, 16, 3, padding=1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.bn(self.c1(x))))
        x = torch.relu(self.c2(x))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


stem = StemHW()
with torch.no_grad():  # batch norm statistics that are not the identity
    stem.bn.running_mean.uniform_(-0.5, 0.5)
    stem.bn.running_var.uniform_(0.5, 2.0)
torch.onnx.export(stem.eval(), (torch.randn(1, 3, 32, 32),), f"{out}/stem_hw.onnx",
                  input_names=["x"], output_names=["y"], opset_version=17,
                  dynamic_axes={"x": {0: "batch", 2: "h", 3: "w"}, "y": {0: "batch"}})
torch.onnx.export(ClsToken().eval(), (torch.randn(2, 5, 16),), f"{out}/cls_token.onnx",
                  input_names=["x"], output_names=["y"], opset_version=17,
                  dynamic_axes={"x": {0: "batch", 1: "seq"}, "y": {0: "batch", 1: "seq1"}})
torch.onnx.export(Grid().eval(), (torch.randn(2, 3, 3, 8),), f"{out}/grid.onnx",
                  input_names=["x"], output_names=["y"], opset_version=17,
                  dynamic_axes={"x": {0: "batch", 1: "side", 2: "side"},
                                "y": {0: "batch", 1: "tokens"}})


class FlipPad(nn.Module):
    def forward(self, x):
        return nn.functional.pad(x.flip(-1), (2, 3), mode="reflect").flip(1) * 2


torch.onnx.export(FlipPad().eval(), (torch.randn(2, 5, 7),), f"{out}/flip_pad.onnx",
                  input_names=["x"], output_names=["y"], opset_version=17,
                  dynamic_axes={"x": {0: "batch", 1: "seq", 2: "w"},
                                "y": {0: "batch", 1: "seq", 2: "w5"}})


class Bicubic(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        x = nn.functional.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False)
        x = nn.functional.interpolate(x, scale_factor=2, mode="bicubic", align_corners=True)
        return self.c(x)


torch.onnx.export(Bicubic().eval(), (torch.randn(1, 3, 6, 6),), f"{out}/bicubic.onnx",
                  input_names=["x"], output_names=["y"], opset_version=17,
                  dynamic_axes={"x": {0: "batch", 2: "h", 3: "w"},
                                "y": {0: "batch", 2: "oh", 3: "ow"}})
