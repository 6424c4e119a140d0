#!/usr/bin/env python3
"""Writes a pruned CNN for the sparse conv tests (tests/cli/sparse_conv.sh): DIR/cnn.slim
(symbolic batch N), DIR/cnn.safetensors with every conv weight magnitude-pruned per layer to
--density (the zeros stored densely, as torch.nn.utils.prune leaves them), DIR/x.npy (batch 2)
and numpy's output for it, DIR/y.npy (float64 math, rounded to f32).

The model: conv1 3x3 16 -> 32 (padding 1) + relu; conv2 3x3 32 -> 64 stride 2 (padding 1,
bias) + relu; conv3 1x1 64 -> 64 plus the residual h, relu; conv4 3x3 64 -> 64 dilation 2
(padding 2); on 2 x 16 x 25 x 25 (odd pixel counts: 625, then 169).

usage: sparse_cnn.py DIR [--density 0.1] [--seed 0]"""
import argparse
import os

import numpy as np

from st_io import write_safetensors

LAYERS = [  # name, C, O, k, stride, padding, dilation, bias
    ("conv1", 16, 32, 3, 1, 1, 1, False),
    ("conv2", 32, 64, 3, 2, 1, 1, True),
    ("conv3", 64, 64, 1, 1, 0, 1, True),
    ("conv4", 64, 64, 3, 1, 2, 2, True),
]


def prune_l1(w, density):
    """Zeros all but the round(density * size) largest |w| (ties by index, as slimc)."""
    k = int(round((1 - density) * w.size))
    flat = w.reshape(-1).copy()
    order = np.argsort(np.abs(flat), kind="stable")
    flat[order[:k]] = 0
    return flat.reshape(w.shape)


def conv(x, w, b, stride, pad, dil):
    """A plain float64 conv2d (NCHW, one group), the reference."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh = (h + 2 * pad - dil * (kh - 1) - 1) // stride + 1
    ow = (wd + 2 * pad - dil * (kw - 1) - 1) // stride + 1
    y = np.zeros((n, o, oh, ow))
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i * dil:i * dil + stride * (oh - 1) + 1:stride,
                       j * dil:j * dil + stride * (ow - 1) + 1:stride]
            y += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j])
    if b is not None:
        y += b[None, :, None, None]
    return y


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--density", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    os.makedirs(a.dir, exist_ok=True)
    tensors, params = {}, {}
    for name, c, o, k, _, _, _, bias in LAYERS:
        w = (rng.standard_normal((o, c, k, k)) / np.sqrt(c * k * k)).astype(np.float32)
        w = prune_l1(w, a.density)
        b = (0.1 * rng.standard_normal(o)).astype(np.float32) if bias else None
        tensors[f"{name}.weight"] = w
        if b is not None:
            tensors[f"{name}.bias"] = b
        params[name] = (w.astype(np.float64), None if b is None else b.astype(np.float64))
    write_safetensors(os.path.join(a.dir, "cnn.safetensors"), tensors)
    lines = [f"# a magnitude-pruned CNN ({a.density:.0%} density), written by "
             "tests/tools/sparse_cnn.py",
             "model cnn(x: f32[N, 16, 25, 25]) -> f32[N, 64, 13, 13]",
             '    weights "cnn.safetensors"', ""]
    for name, c, o, k, s, p, d, bias in LAYERS:
        lines.append(f"    {name} = Conv2d({c}, {o}, {k}, stride={s}, padding={p}, dilation={d}, "
                     f"bias={'true' if bias else 'false'})")
    lines += ["", "    h = relu(conv2(relu(conv1(x))))",
              "    h = relu(conv3(h) + h)",
              "    return conv4(h)", ""]
    with open(os.path.join(a.dir, "cnn.slim"), "w") as f:
        f.write("\n".join(lines))
    x = rng.standard_normal((2, 16, 25, 25)).astype(np.float32)

    def layer(name, h):
        spec = next(s for s in LAYERS if s[0] == name)
        w, b = params[name]
        return conv(h, w, b, spec[4], spec[5], spec[6])

    h = np.maximum(layer("conv2", np.maximum(layer("conv1", x.astype(np.float64)), 0)), 0)
    h = np.maximum(layer("conv3", h) + h, 0)
    y = layer("conv4", h)
    np.save(os.path.join(a.dir, "x.npy"), x)
    np.save(os.path.join(a.dir, "y.npy"), y.astype(np.float32))


if __name__ == "__main__":
    main()
