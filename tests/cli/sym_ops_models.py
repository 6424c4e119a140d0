#!/usr/bin/env python3
"""ONNX models of tests/cli/onnx_sym_ops.sh (issue 19): Pad, Slice, ceil_mode pools and
Resize on symbolic dims, built with onnx.helper, and ONNX Runtime's outputs for them.

  pad_hw      x [batch, 3, H, W]: reflect (H 1 before, 2 after; W 2, 1), edge (H 0, 2;
              W 1, 0), constant 0.5 (1, 1 each) pads: y [batch, 3, H+7, W+6]
  slice_seq   x [batch, seq, 8]: y1 x[:, 1:], y2 x[:, 0:-1:2], y3 x[:, -1:], y4 x[:, :1],
              y5 x[:, 2:-1, ::3] (an end INT64_MAX, ends relative to the end, steps)
  slice_clamp x [batch, seq, 8]: x[:, 0:3] (min(3, seq): stays specialised)
  slice_neg   x [batch, seq, 8], negative steps: y1 x.flip(1) (start -1, end -INT64_MAX,
              as PyTorch exports it), y2 x[:, ::-2] (INT64_MAX, INT64_MIN), y3 x[:, -1:0:-1],
              y4 x.flip(1)[..., 6:1:-2] (two axes), y5 x[:, 0::-1]
  pool_ceil   x [batch, 4, H, W]: y1 max pool 3x3 s2 p1 ceil, then average 2x2 s2 ceil
              (count_include_pad 0); y2 max pool 2x2 s3 p1 ceil (the last window dropped
              for some sizes); y3 average 3x3 s2 ceil count_include_pad 1
  resize_hw   x [batch, 3, H, W]: y1 linear x2 half_pixel, y2 linear x2 align_corners,
              y3 linear x2 pytorch_half_pixel then nearest x0.5 asymmetric floor, y4 linear
              to the constant sizes 7 x 9 (half_pixel), y5 nearest round_prefer_ceil to
              5 x 6 (half_pixel)
  resize_cubic x [batch, 3, H, W], cubic: y1 x2 half_pixel (a = -0.75), y2 x2
              pytorch_half_pixel (PyTorch's bicubic export), y3 x2 align_corners a = -0.5
              exclude_outside, y4 to the constant sizes 7 x 9 asymmetric, y5 x0.5 half_pixel
              exclude_outside
  resize_aa   x [batch, 3, H, W]: cubic x0.5 with antialias (symbolic: H//2, W//2)

  sym_ops_models.py make DIR                 writes DIR/NAME.onnx for every model above
  sym_ops_models.py refs MODEL.onnx:SHAPE... for each, the input (MODEL.SHAPE.x.npy) and
                                             ORT's outputs (MODEL.SHAPE.OUTPUT.ref.npy)
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shapes_models  # noqa: E402  (refs, seeded, the command line)

BIG = 9223372036854775807


def make(out):
    import onnx
    from onnx import TensorProto as T
    from onnx import helper as h
    from onnx import numpy_helper as nh

    def save(name, nodes, x_dims, outs, inits):
        g = h.make_graph(nodes, name, [h.make_tensor_value_info("x", T.FLOAT, x_dims)],
                         [h.make_tensor_value_info(o, T.FLOAT, None) for o in outs],
                         [nh.from_array(v, k) for k, v in inits.items()])
        m = h.make_model(g, opset_imports=[h.make_opsetid("", 18)])
        onnx.save(m, f"{out}/{name}.onnx")

    def i64(*v):
        return np.array(v, np.int64)

    def f32(*v):
        return np.array(v, np.float32)

    img = ["batch", 3, "H", "W"]
    save("pad_hw",
         [h.make_node("Pad", ["x", "p1"], ["a"], mode="reflect"),
          h.make_node("Pad", ["a", "p2"], ["b"], mode="edge"),
          h.make_node("Pad", ["b", "p3", "v3"], ["y"], mode="constant")],
         img, ["y"],
         {"p1": i64(0, 0, 1, 2, 0, 0, 2, 1), "p2": i64(0, 0, 0, 1, 0, 0, 2, 0),
          "p3": i64(0, 0, 1, 1, 0, 0, 1, 1), "v3": f32(0.5)})

    def sl(x, y, starts, ends, axes, steps=None):
        ins = [x, f"{y}_s", f"{y}_e", f"{y}_a"] + ([f"{y}_t"] if steps else [])
        c = {f"{y}_s": i64(*starts), f"{y}_e": i64(*ends), f"{y}_a": i64(*axes)}
        if steps:
            c[f"{y}_t"] = i64(*steps)
        return h.make_node("Slice", ins, [y]), c

    nodes, inits = [], {}
    for args in [("x", "y1", [1], [BIG], [1]), ("x", "y2", [0], [-1], [1], [2]),
                 ("x", "y3", [-1], [BIG], [1]), ("x", "y4", [0], [1], [1]),
                 ("x", "y5", [2, 0], [-1, BIG], [1, 2], [1, 3])]:
        nd, c = sl(*args)
        nodes.append(nd)
        inits.update(c)
    save("slice_seq", nodes, ["batch", "seq", 8], ["y1", "y2", "y3", "y4", "y5"], inits)
    nd, c = sl("x", "y", [0], [3], [1])
    save("slice_clamp", [nd], ["batch", "seq", 8], ["y"], c)
    nodes, inits = [], {}
    for args in [("x", "y1", [-1], [-BIG], [1], [-1]),
                 ("x", "y2", [BIG], [-BIG - 1], [1], [-2]),
                 ("x", "y3", [-1], [0], [1], [-1]),
                 ("x", "y4", [-1, 6], [-BIG, 1], [1, 2], [-1, -2]),
                 ("x", "y5", [0], [-BIG - 1], [1], [-1])]:
        nd, c = sl(*args)
        nodes.append(nd)
        inits.update(c)
    save("slice_neg", nodes, ["batch", "seq", 8], ["y1", "y2", "y3", "y4", "y5"], inits)

    save("pool_ceil",
         [h.make_node("MaxPool", ["x"], ["m"], kernel_shape=[3, 3], strides=[2, 2],
                      pads=[1, 1, 1, 1], ceil_mode=1),
          h.make_node("AveragePool", ["m"], ["y1"], kernel_shape=[2, 2], strides=[2, 2],
                      ceil_mode=1),
          h.make_node("MaxPool", ["x"], ["y2"], kernel_shape=[2, 2], strides=[3, 3],
                      pads=[1, 1, 1, 1], ceil_mode=1),
          h.make_node("AveragePool", ["x"], ["y3"], kernel_shape=[3, 3], strides=[2, 2],
                      ceil_mode=1, count_include_pad=1)],
         ["batch", 4, "H", "W"], ["y1", "y2", "y3"], {})

    def rs(x, y, scales=None, sizes=None, **attrs):
        ins = [x, "", f"{y}_sc" if scales else "", f"{y}_sz" if sizes else ""]
        while ins[-1] == "":
            ins.pop()
        c = {}
        if scales:
            c[f"{y}_sc"] = f32(*scales)
        if sizes:
            c[f"{y}_sz"] = i64(*sizes)
        return h.make_node("Resize", ins, [y], **attrs), c

    nodes, inits = [], {}
    for args, attrs in [
            (("x", "y1", [1, 1, 2, 2]), dict(mode="linear")),
            (("x", "y2", [1, 1, 2, 2]),
             dict(mode="linear", coordinate_transformation_mode="align_corners")),
            (("x", "u3", [1, 1, 2, 2]),
             dict(mode="linear", coordinate_transformation_mode="pytorch_half_pixel")),
            (("u3", "y3", [1, 1, 0.5, 0.5]),
             dict(mode="nearest", coordinate_transformation_mode="asymmetric",
                  nearest_mode="floor")),
            (("x", "y4", None, [7, 9], ), dict(mode="linear", axes=[2, 3])),
            (("x", "y5", None, [5, 6]), dict(mode="nearest", nearest_mode="round_prefer_ceil",
                                              axes=[2, 3]))]:
        nd, c = rs(*args, **attrs)
        nodes.append(nd)
        inits.update(c)
    save("resize_hw", nodes, img, ["y1", "y2", "y3", "y4", "y5"], inits)
    nodes, inits = [], {}
    for args, attrs in [
            (("x", "y1", [1, 1, 2, 2]), dict(mode="cubic")),
            (("x", "y2", [1, 1, 2, 2]),
             dict(mode="cubic", coordinate_transformation_mode="pytorch_half_pixel")),
            (("x", "y3", [1, 1, 2, 2]),
             dict(mode="cubic", coordinate_transformation_mode="align_corners",
                  cubic_coeff_a=-0.5, exclude_outside=1)),
            (("x", "y4", None, [7, 9]),
             dict(mode="cubic", coordinate_transformation_mode="asymmetric", axes=[2, 3])),
            (("x", "y5", [1, 1, 0.5, 0.5]), dict(mode="cubic", exclude_outside=1))]:
        nd, c = rs(*args, **attrs)
        nodes.append(nd)
        inits.update(c)
    save("resize_cubic", nodes, img, ["y1", "y2", "y3", "y4", "y5"], inits)
    nd, c = rs("x", "y", [1, 1, 0.5, 0.5], mode="cubic", antialias=1)
    save("resize_aa", [nd], img, ["y"], c)


if __name__ == "__main__":
    shapes_models.main(make, per_output=True)
