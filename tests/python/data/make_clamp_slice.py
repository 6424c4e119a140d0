"""Makes clamp_slice.onnx (x [N, T] + pos[:, :T], pos a [1, 64] buffer 0..63 that ONNX's
Slice clamps T to; axes N and T dynamic) that tests/python/test_slimc.py runs: slimc
compiles it once with T <= 64 a bound the inputs are checked against (issue 19):
    /usr/bin/python3 tests/python/data/make_clamp_slice.py   (Debian's torch)"""
import os

import torch

here = os.path.dirname(os.path.abspath(__file__))


class AddPositions(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("pos", torch.arange(64, dtype=torch.float32).view(1, 64))

    def forward(self, x):
        return x + self.pos[:, :x.size(1)]


torch.onnx.export(AddPositions().eval(), (torch.randn(2, 5),),
                  os.path.join(here, "clamp_slice.onnx"), input_names=["x"], output_names=["y"],
                  dynamic_axes={"x": {0: "N", 1: "T"}, "y": {0: "N", 1: "T"}}, opset_version=13)
