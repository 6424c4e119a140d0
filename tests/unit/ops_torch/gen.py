"""Writes the PyTorch reference for ops.slim (tests/unit/test_ops_more.c checks slimc's
outputs against it): ops.safetensors, x.npy, q.npy and expected_K.npy for output K.
Run from anywhere with Debian's python3-torch: /usr/bin/python3 tests/unit/ops_torch/gen.py"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "samples"))
from make_samples import write_safetensors  # noqa: E402

torch.manual_seed(0)
x = torch.randn(2, 4, 8, 8)
q = torch.randn(3, 5, 8)
gn = nn.GroupNorm(2, 4)
up = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)
attn = nn.MultiheadAttention(8, 2)  # sequence first
attn2 = nn.MultiheadAttention(8, 4, bias=False, batch_first=True)
with torch.no_grad():
    gn.weight.normal_()
    gn.bias.normal_()
    attn.in_proj_bias.normal_()
    attn.out_proj.bias.normal_()
    sd = {}
    for pre, m in [("gn", gn), ("up", up), ("attn", attn), ("attn2", attn2)]:
        for k, v in m.state_dict().items():
            sd[pre + "." + k] = v
    write_safetensors(os.path.join(HERE, "ops.safetensors"), sd)
    outs = [
        F.gelu(x, approximate="tanh") + F.hardswish(x) + F.hardsigmoid(x) + F.silu(x) + F.relu6(3 * x)
        + F.leaky_relu(x, 0.1) + torch.clamp(x, max=0.2) + torch.erf(x) + torch.rsqrt(x.abs() + 1),
        F.interpolate(x, scale_factor=2.0),
        F.interpolate(x, size=(13, 7), mode="bilinear", align_corners=False),
        F.interpolate(x, size=(5, 11), mode="bilinear", align_corners=True),
        F.interpolate(x, scale_factor=1.5, mode="nearest"),
        F.adaptive_avg_pool2d(x, (3, 5)),
        F.pad(x, (1, 2, 3, 0), mode="reflect"),
        F.pad(x, (1, 2, 3, 0), mode="replicate"),
        torch.amax(x, dim=(1, 3), keepdim=True) + x.mean(dim=-1, keepdim=True).sum(dim=2, keepdim=True),
        up(gn(x)),
        attn(q, q, q)[0],
        attn2(q, q, q)[0],
        torch.where(x > 0.5, x, -x).permute(0, 2, 3, 1).transpose(1, 2)[:, 1:-1:2],
    ]
for i, o in enumerate(outs):
    np.save(os.path.join(HERE, "expected_%d.npy" % i), o.numpy().astype(np.float32))
np.save(os.path.join(HERE, "x.npy"), x.numpy())
np.save(os.path.join(HERE, "q.npy"), q.numpy())
