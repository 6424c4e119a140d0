#!/usr/bin/env python3
"""Writes a pruned MLP for the sparse-kernel tests and the benchmark (tests/cli/sparse.sh,
bench/sparse.sh): DIR/mlp.slim (784-512-512-10 by default, symbolic batch N),
DIR/mlp.safetensors with the weights magnitude-pruned per layer (the zeros stored densely, as
torch.nn.utils.prune leaves them), DIR/x1.npy and DIR/x64.npy (batch 1 and 64) and numpy's
outputs for them, DIR/y1.npy and DIR/y64.npy (float64 math, rounded to f32).

usage: sparse_mlp.py DIR [--density 0.1] [--dims 784,512,512,10] [--seed 0] [--no-bias]
       [--onnx] (also DIR/mlp.onnx, for ONNX Runtime)
       [--nm 2:4] (instead of --density: in every group of M consecutive inputs of a row, the N
       largest |w| stay, as prune(method=nm); a layer whose inputs M does not divide stays dense)"""
import argparse
import json
import os
import struct

import numpy as np

from st_io import write_safetensors


def prune_l1(w, density):
    """Zeros all but the round(density * size) largest |w| (ties by index, as slimc)."""
    k = int(round((1 - density) * w.size))
    flat = w.reshape(-1).copy()
    order = np.argsort(np.abs(flat), kind="stable")
    flat[order[:k]] = 0
    return flat.reshape(w.shape)


def prune_nm(w, n, m):
    """Keeps the n largest |w| of every m consecutive inputs of each row (ties: the lower index
    is pruned first, as slimc); w as is where m does not divide its inputs."""
    if w.shape[1] % m:
        return w
    g = w.reshape(w.shape[0], -1, m)
    order = np.argsort(np.abs(g), axis=2, kind="stable")
    out = g.copy()
    np.put_along_axis(out, order[:, :, :m - n], 0, axis=2)
    return out.reshape(w.shape)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--density", type=float, default=0.1)
    ap.add_argument("--dims", default="784,512,512,10")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-bias", action="store_true")
    ap.add_argument("--onnx", action="store_true")
    ap.add_argument("--nm", default=None)
    a = ap.parse_args()
    nm = tuple(int(v) for v in a.nm.split(":")) if a.nm else None
    dims = [int(d) for d in a.dims.split(",")]
    rng = np.random.default_rng(a.seed)
    os.makedirs(a.dir, exist_ok=True)
    ws, bs, tensors = [], [], {}
    for i in range(len(dims) - 1):
        w = (rng.standard_normal((dims[i + 1], dims[i])) / np.sqrt(dims[i])).astype(np.float32)
        w = prune_nm(w, *nm) if nm else prune_l1(w, a.density)
        b = None if a.no_bias else (0.1 * rng.standard_normal(dims[i + 1])).astype(np.float32)
        ws.append(w)
        bs.append(b)
        tensors[f"fc{i + 1}.weight"] = w
        if b is not None:
            tensors[f"fc{i + 1}.bias"] = b
    write_safetensors(os.path.join(a.dir, "mlp.safetensors"), tensors)
    what = f"{a.nm} N:M" if nm else f"{a.density:.0%} density"
    lines = [f"# a magnitude-pruned MLP ({what}), written by tests/tools/sparse_mlp.py",
             f"model mlp(x: f32[N, {dims[0]}]) -> f32[N, {dims[-1]}]",
             '    weights "mlp.safetensors"', ""]
    for i in range(len(dims) - 1):
        bias = ", bias=false" if a.no_bias else ""
        lines.append(f"    fc{i + 1} = Linear({dims[i]}, {dims[i + 1]}{bias})")
    expr = "x"
    for i in range(len(dims) - 1):
        expr = f"fc{i + 1}({expr})"
        if i < len(dims) - 2:
            expr = f"relu({expr})"
    lines += ["", f"    return {expr}", ""]
    with open(os.path.join(a.dir, "mlp.slim"), "w") as f:
        f.write("\n".join(lines))
    for batch in (1, 64):
        x = rng.standard_normal((batch, dims[0])).astype(np.float32)
        h = x.astype(np.float64)
        for i, (w, b) in enumerate(zip(ws, bs)):
            h = h @ w.astype(np.float64).T + (0 if b is None else b.astype(np.float64))
            if i < len(ws) - 1:
                h = np.maximum(h, 0)
        np.save(os.path.join(a.dir, f"x{batch}.npy"), x)
        np.save(os.path.join(a.dir, f"y{batch}.npy"), h.astype(np.float32))
    if a.onnx:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
        nodes, inits, cur = [], [], "x"
        for i, (w, b) in enumerate(zip(ws, bs)):
            inits.append(numpy_helper.from_array(w, f"fc{i + 1}.weight"))
            ins = [cur, f"fc{i + 1}.weight"]
            if b is not None:
                inits.append(numpy_helper.from_array(b, f"fc{i + 1}.bias"))
                ins.append(f"fc{i + 1}.bias")
            out = f"h{i}"
            nodes.append(helper.make_node("Gemm", ins, [out], transB=1))
            cur = out
            if i < len(ws) - 1:
                nodes.append(helper.make_node("Relu", [cur], [f"r{i}"]))
                cur = f"r{i}"
        g = helper.make_graph(nodes, "mlp",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", dims[0]])],
                              [helper.make_tensor_value_info(cur, TensorProto.FLOAT, ["N", dims[-1]])],
                              inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
        onnx.save(m, os.path.join(a.dir, "mlp.onnx"))


if __name__ == "__main__":
    main()
