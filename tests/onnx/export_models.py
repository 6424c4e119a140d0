"""Exports the real models of issue 4 from PyTorch to ONNX, with random weights and fixed
seeds, plus one input each. Run with Debian's python3 (python3-torch, python3-torchvision):

    /usr/bin/python3 tests/onnx/export_models.py OUT_DIR [--all]

Without --all only the small models committed under tests/onnx/models/ are written (mlp,
lenet, transformer encoder layer, lstm); --all adds resnet18, mobilenet_v2 and
efficientnet_b0 (for the benchmark, not committed). tests/onnx/ort_reference.py then
records ONNX Runtime's outputs next to each model."""
import os
import sys

import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(0)
np.random.seed(0)
OPSET = 17


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(64, 128), nn.Linear(128, 64), nn.Linear(64, 10)

    def forward(self, x):
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 6, 5, padding=2), nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(16 * 5 * 5, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return torch.log_softmax(self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x))))), dim=1)


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(d_model=32, nhead=4, dim_feedforward=64, dropout=0.0,
                                                batch_first=True)

    def forward(self, x):
        return self.layer(x)


class SmallLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(input_size=8, hidden_size=16, batch_first=True)
        self.fc = nn.Linear(16, 4)

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.fc(y[:, -1])


def export(name, model, x, out_dir):
    model.eval()
    path = os.path.join(out_dir, name + ".onnx")
    # not under torch.no_grad(): that would send TransformerEncoderLayer down its fused
    # fast path, which has no ONNX export
    torch.onnx.export(model, (x,), path, input_names=["input"], output_names=["output"],
                      opset_version=OPSET, do_constant_folding=True)
    np.save(os.path.join(out_dir, name + ".input.npy"), x.numpy())
    print("wrote", path, os.path.getsize(path), "bytes")


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    export("mlp", MLP(), torch.randn(2, 64), out_dir)
    export("lenet", LeNet(), torch.randn(1, 1, 28, 28), out_dir)
    export("transformer_layer", Encoder(), torch.randn(1, 10, 32), out_dir)
    export("lstm", SmallLSTM(), torch.randn(1, 6, 8), out_dir)
    if "--all" in sys.argv:
        import torchvision.models as tvm
        for name, ctor in [("resnet18", tvm.resnet18), ("mobilenet_v2", tvm.mobilenet_v2),
                           ("efficientnet_b0", tvm.efficientnet_b0)]:
            torch.manual_seed(0)
            export(name, ctor(), torch.randn(1, 3, 224, 224), out_dir)


if __name__ == "__main__":
    main()
