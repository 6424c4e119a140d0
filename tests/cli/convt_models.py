#!/usr/bin/env python3
"""ONNX ConvTranspose models of tests/cli/onnx_convt.sh: asymmetric pads, output_shape (one
a row past the full output: the bias alone there), auto_pad SAME_UPPER and SAME_LOWER, an
output_padding inside asymmetric pads, 1-D and grouped; ONNX Runtime's outputs of seeded inputs as the
reference.

  convt_models.py make DIR   writes DIR/NAME.onnx, DIR/NAME.x.npy and DIR/NAME.ref.npy
                             (and gn_convt, for slimc compress)
  convt_models.py list       prints the names, one a line
"""
import sys

import numpy as np

# name: (x shape, weight shape, group, attributes)
CASES = {
    "asym_pads": ((1, 3, 5, 6), (3, 4, 3, 3), 1, dict(strides=[2, 2], pads=[0, 1, 2, 1])),
    "out_shape": ((2, 3, 4, 5), (3, 2, 3, 3), 1, dict(strides=[2, 2], output_shape=[8, 10])),
    "out_shape_odd": ((1, 2, 4, 4), (2, 3, 3, 3), 1, dict(strides=[2, 2], output_shape=[9, 8])),
    "out_shape_big": ((1, 1, 3, 3), (1, 2, 3, 3), 1, dict(strides=[3, 2], output_shape=[10, 8])),
    "same_upper": ((1, 3, 5, 4), (3, 2, 3, 3), 1, dict(strides=[2, 2], auto_pad="SAME_UPPER")),
    "same_lower": ((1, 3, 5, 4), (3, 2, 4, 3), 1, dict(strides=[2, 3], auto_pad="SAME_LOWER")),
    "op_in_pads": ((1, 2, 4, 4), (2, 2, 3, 3), 1,
                   dict(strides=[3, 2], pads=[1, 0, 2, 1], output_padding=[1, 1])),
    "grouped_dil": ((1, 4, 5, 5), (4, 1, 3, 3), 2,
                    dict(strides=[2, 1], dilations=[2, 1], pads=[2, 0, 1, 1])),
    "one_d_shape": ((2, 3, 7), (3, 2, 4), 1, dict(strides=[2], output_shape=[15])),
}


def make(out):
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto as T
    from onnx import helper as h
    from onnx import numpy_helper as nh

    rng = np.random.default_rng(7)
    for name, (xs, ws, group, attrs) in CASES.items():
        w = rng.standard_normal((ws[0], ws[1] * 1, *ws[2:])).astype(np.float32)
        b = rng.standard_normal(ws[1] * group).astype(np.float32)
        node = h.make_node("ConvTranspose", ["x", "W", "B"], ["y"], group=group, **attrs)
        g = h.make_graph([node], name, [h.make_tensor_value_info("x", T.FLOAT, list(xs))],
                         [h.make_tensor_value_info("y", T.FLOAT, None)],
                         [nh.from_array(w, "W"), nh.from_array(b, "B")])
        m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
        m.ir_version = 8
        onnx.save(m, f"{out}/{name}.onnx")
        x = rng.standard_normal(xs).astype(np.float32)
        np.save(f"{out}/{name}.x.npy", x)
        sess = ort.InferenceSession(f"{out}/{name}.onnx", providers=["CPUExecutionProvider"])
        np.save(f"{out}/{name}.ref.npy", sess.run(None, {"x": x})[0])


def make_compress(out):
    """gn_convt.onnx: InstanceNormalization -> GroupNormalization -> ConvTranspose (symmetric
    pads) -> Gather of constant channels, for `slimc compress` (its .slim printer: GroupNorm
    and ConvTranspose2d modules, an i64 Parameter for the index)."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto as T
    from onnx import helper as h
    from onnx import numpy_helper as nh

    rng = np.random.default_rng(11)
    c = 4
    inits = {"s1": rng.standard_normal(c), "b1": rng.standard_normal(c),
             "s2": rng.standard_normal(c), "b2": rng.standard_normal(c),
             "W": rng.standard_normal((c, 3, 4, 4)), "B": rng.standard_normal(3)}
    nodes = [h.make_node("InstanceNormalization", ["x", "s1", "b1"], ["i"], epsilon=1e-5),
             h.make_node("GroupNormalization", ["i", "s2", "b2"], ["g"], num_groups=2,
                         epsilon=1e-5),
             h.make_node("ConvTranspose", ["g", "W", "B"], ["t"], strides=[2, 2],
                         pads=[1, 1, 1, 1]),
             h.make_node("Gather", ["t", "idx"], ["y"], axis=1)]
    g = h.make_graph(nodes, "gn_convt", [h.make_tensor_value_info("x", T.FLOAT, [2, c, 5, 6])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)],
                     [nh.from_array(v.astype(np.float32), k) for k, v in inits.items()] +
                     [nh.from_array(np.array([2, 0], np.int64), "idx")])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 21)])
    m.ir_version = 10
    onnx.save(m, f"{out}/gn_convt.onnx")
    x = rng.standard_normal((2, c, 5, 6)).astype(np.float32)
    np.save(f"{out}/gn_convt.x.npy", x)
    sess = ort.InferenceSession(f"{out}/gn_convt.onnx", providers=["CPUExecutionProvider"])
    np.save(f"{out}/gn_convt.ref.npy", sess.run(None, {"x": x})[0])


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
        make_compress(sys.argv[2])
    else:
        print("\n".join(CASES))
