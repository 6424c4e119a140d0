#!/usr/bin/env python3
"""The PyTorch-exported graphs of tests/cli/onnx_act.sh, and ONNX Runtime's outputs.

    /usr/bin/python3 onnx_act.py export DIR   # Debian's python (torch): the .onnx files
    python3 onnx_act.py ref DIR               # pip python (onnxruntime): the references

export writes, each with an input x_NAME.npy:
  acts    six 3x3 convs, each followed by an activation PyTorch exports at opset 13 as
          arithmetic: ReLU6 (Clip 0..6), SiLU (x * Sigmoid(x)), nn.Hardswish (HardSigmoid,
          Mul), F.hardsigmoid (HardSigmoid), YOLOv5's x * hardtanh(x + 3, 0, 6) / 6, and
          x * torch.sigmoid(x) written out; the input [1, 3, 17, 19] spans the hard*
          functions' -3..3 knees
  ln      Linear(40, 64) then nn.LayerNorm(64); nn.LayerNorm([5, 12]) over the last two
          dims; nn.LayerNorm(12, elementwise_affine=False), exported at opset 16 (LayerNorm
          written out as ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add)
  tf14    nn.TransformerEncoderLayer(64, 4, 128, batch_first), exported at opset 14
  affine  convs followed by constant per-channel Mul and Add ([1, C, 1, 1], [C, 1, 1], a
          scalar), a bias-free conv, a ConvTranspose, and a Mul by a [W]-shaped constant (not
          per channel: bn_fold must leave it)
  near    chains the passes must leave alone: x * sigmoid(x) whose sigmoid is also used
          elsewhere, clip(x, 0, 5), a normalization over axis 1 (not the trailing axes)
  mbv3    a MobileNetV3-style network (opset 13, [1, 3, 64, 64]): Hardswish as HardSigmoid
          and Mul, 5x5 and 7x7 depthwise convs at stride 1 and 2 on maps 32 to 4 wide,
          squeeze-excite blocks (GlobalAveragePool, 1x1 convs, Relu, HardSigmoid, the
          channel-wise Mul), residual adds
ref writes ref_NAME.npy from ONNX Runtime with its graph optimizations off (the reference
is the exported graph as written).
"""

import os
import sys


def export(d):
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.manual_seed(0)

    class YoloHswish(nn.Module):
        def forward(self, x):
            return x * F.hardtanh(x + 3, 0.0, 6.0) / 6

    class SigmoidGate(nn.Module):
        def forward(self, x):
            return x * torch.sigmoid(x)

    class HardSigmoid(nn.Module):
        def forward(self, x):
            return F.hardsigmoid(x)

    class Acts(nn.Module):
        def __init__(self):
            super().__init__()
            acts = [nn.ReLU6(), nn.SiLU(), nn.Hardswish(), HardSigmoid(), YoloHswish(),
                    SigmoidGate()]
            layers = []
            for i, a in enumerate(acts):
                layers += [nn.Conv2d(3 if i == 0 else 8, 8, 3, padding=1), a]
            self.body = nn.Sequential(*layers)
            for m in self.body:
                if isinstance(m, nn.Conv2d):  # outputs spread over about -6..6
                    nn.init.normal_(m.weight, 0.0, 0.6)

        def forward(self, x):
            return self.body(x)

    class Ln(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(40, 64)
            self.ln1 = nn.LayerNorm(64)
            self.ln2 = nn.LayerNorm([5, 12])
            self.ln3 = nn.LayerNorm(12, elementwise_affine=False)
            for p in (self.ln1.weight, self.ln1.bias, self.ln2.weight, self.ln2.bias):
                nn.init.normal_(p, 0.5, 0.3)

        def forward(self, x):
            y = self.ln1(self.fc(x))           # [3, 5, 64]
            y = y[:, :, :60].reshape(3, 5, 5, 12)
            return self.ln3(self.ln2(y) * 2.0)

    class Near(nn.Module):
        def forward(self, x):                  # [2, 6, 10]
            s = torch.sigmoid(x)
            a = x * s + s
            b = torch.clamp(x, 0.0, 5.0)
            d = x - x.mean(1, keepdim=True)
            c = d / torch.sqrt((d * d).mean(1, keepdim=True) + 1e-5)
            return a + b + c

    class Affine(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(3, 8, 3, padding=1)
            self.c2 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
            self.ct = nn.ConvTranspose2d(8, 6, 2, stride=2)
            self.c3 = nn.Conv2d(6, 4, 1)
            self.register_buffer("k1", torch.randn(1, 8, 1, 1))
            self.register_buffer("b1", torch.randn(8, 1, 1))
            self.register_buffer("b2", torch.randn(1, 6, 1, 1))
            self.register_buffer("kw", torch.randn(18))

        def forward(self, x):                  # [1, 3, 9, 9]
            y = torch.relu(self.c1(x) * self.k1 + self.b1)
            y = self.c2(y) * 0.75
            y = self.ct(y) + self.b2
            return self.c3(y) * self.kw

    class SqueezeExcite(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.fc1 = nn.Conv2d(c, c // 4, 1)
            self.fc2 = nn.Conv2d(c // 4, c, 1)

        def forward(self, x):
            s = F.adaptive_avg_pool2d(x, 1)
            return x * F.hardsigmoid(self.fc2(F.relu(self.fc1(s))))

    def cbn(i, o, k, s=1, g=1):
        return [nn.Conv2d(i, o, k, s, k // 2, groups=g, bias=False), nn.BatchNorm2d(o)]

    class Block(nn.Module):  # MobileNetV3's inverted residual
        def __init__(self, i, e, o, k, s, se):
            super().__init__()
            layers = cbn(i, e, 1) + [nn.Hardswish()] + cbn(e, e, k, s, e) + [nn.Hardswish()]
            layers += ([SqueezeExcite(e)] if se else []) + cbn(e, o, 1)
            self.body = nn.Sequential(*layers)
            self.res = s == 1 and i == o

        def forward(self, x):
            return x + self.body(x) if self.res else self.body(x)

    class Mbv3(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(
                *cbn(3, 16, 3, 2), nn.Hardswish(),
                Block(16, 48, 16, 5, 1, True),    # 32x32: the 5x5 depthwise kernel
                Block(16, 64, 24, 5, 2, True),    # to 16x16, stride 2
                Block(24, 72, 24, 5, 1, True),
                Block(24, 96, 40, 5, 2, True),    # to 8x8: two rows a vector
                Block(40, 120, 40, 5, 1, True),
                Block(40, 120, 48, 7, 1, False),  # 7x7
                Block(48, 144, 48, 7, 2, True),   # to 4x4
                *cbn(48, 96, 1), nn.Hardswish())
            self.fc = nn.Linear(96, 10)
            for m in self.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.running_mean.uniform_(-0.1, 0.1)
                    m.running_var.uniform_(0.5, 1.5)

        def forward(self, x):
            return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.body(x), 1), 1))

    models = {
        "mbv3": (Mbv3(), (1, 3, 64, 64), 13),
        "affine": (Affine(), (1, 3, 9, 9), 13),
        "near": (Near(), (2, 6, 10), 13),
        "acts": (Acts(), (1, 3, 17, 19), 13),
        "ln": (Ln(), (3, 5, 40), 16),
        "tf14": (nn.TransformerEncoderLayer(64, 4, 128, dropout=0.0, batch_first=True),
                 (2, 11, 64), 14),
    }
    for name, (m, shape, opset) in models.items():
        m.eval()
        x = torch.randn(*shape) * (2.0 if name == "acts" else 1.0)
        np.save(os.path.join(d, "x_%s.npy" % name), x.numpy().astype("<f4"), allow_pickle=False)
        torch.onnx.export(m, (x,), os.path.join(d, name + ".onnx"), input_names=["x"],
                          output_names=["y"], opset_version=opset, do_constant_folding=True)


def ref(d):
    import numpy as np
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    for name in ("acts", "ln", "tf14", "near", "affine", "mbv3"):
        s = ort.InferenceSession(os.path.join(d, name + ".onnx"), so,
                                 providers=["CPUExecutionProvider"])
        y = s.run(None, {"x": np.load(os.path.join(d, "x_%s.npy" % name))})[0]
        np.save(os.path.join(d, "ref_%s.npy" % name), y, allow_pickle=False)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("export", "ref"):
        sys.exit(__doc__)
    os.makedirs(sys.argv[2], exist_ok=True)
    (export if sys.argv[1] == "export" else ref)(sys.argv[2])
