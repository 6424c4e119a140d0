"""Makes tiny.onnx (Linear 16->8, ReLU, Linear 8->4, softmax; batch axis N) with the input
and PyTorch's output that tests/python/test_slimc.py checks slimc against:
    /usr/bin/python3 tests/python/data/make_tiny.py   (Debian's torch)"""
import os

import numpy as np
import torch

here = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(16, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4),
                          torch.nn.Softmax(dim=1)).eval()
x = torch.randn(3, 16)
with torch.no_grad():
    y = net(x)
torch.onnx.export(net, (x,), os.path.join(here, "tiny.onnx"), input_names=["x"],
                  output_names=["probs"], dynamic_axes={"x": {0: "N"}, "probs": {0: "N"}},
                  opset_version=13)
np.save(os.path.join(here, "tiny_input.npy"), x.numpy())
np.save(os.path.join(here, "tiny_expected.npy"), y.numpy())
