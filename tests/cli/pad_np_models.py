#!/usr/bin/env python3
"""ONNX Pad models of tests/cli/onnx_pad_np.sh (issue 19), every mode on 1-D to 4-D inputs
with symbolic dims, and numpy's np.pad of seeded inputs as the reference.

  pad{R}d_{MODE}  x of rank R (dims d0..), MODE constant (value 1.5), reflect or edge;
                  the pads of PADS[R] (ONNX order: every begin, then every end)

  pad_np_models.py make DIR   writes DIR/NAME.onnx, and for every shape of SHAPES[R]
                              DIR/NAME.SHAPE.x.npy and DIR/NAME.SHAPE.ref.npy (np.pad)
  pad_np_models.py list       prints NAME:SHAPE, one a line
"""
import sys

import numpy as np

PADS = {1: [2, 3], 2: [1, 2, 3, 0], 3: [0, 1, 2, 2, 0, 1], 4: [1, 0, 2, 1, 0, 2, 1, 3]}
# odd sizes, each > the largest pad (reflect needs pad < dim); a 4-D one with a dim 4
SHAPES = {1: [(5,), (7,)], 2: [(5, 7), (4, 9)], 3: [(3, 5, 7), (4, 3, 5)],
          4: [(2, 3, 5, 7), (3, 4, 4, 9)]}
MODES = ["constant", "reflect", "edge"]
VALUE = 1.5


def cases():
    for r in PADS:
        for m in MODES:
            for s in SHAPES[r]:
                yield f"pad{r}d_{m}", r, m, s


def make(out):
    import onnx
    from onnx import TensorProto as T
    from onnx import helper as h
    from onnx import numpy_helper as nh

    rng = np.random.default_rng(19)
    for r in PADS:
        for m in MODES:
            name = f"pad{r}d_{m}"
            ins, inits = ["x", "p"], [nh.from_array(np.array(PADS[r], np.int64), "p")]
            if m == "constant":
                ins.append("v")
                inits.append(nh.from_array(np.array(VALUE, np.float32), "v"))
            g = h.make_graph([h.make_node("Pad", ins, ["y"], mode=m)], name,
                             [h.make_tensor_value_info("x", T.FLOAT,
                                                       [f"d{i}" for i in range(r)])],
                             [h.make_tensor_value_info("y", T.FLOAT, None)], inits)
            onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 18)]),
                      f"{out}/{name}.onnx")
    for name, r, m, s in cases():
        x = rng.standard_normal(s).astype(np.float32)
        p = PADS[r]
        width = [(p[i], p[i + r]) for i in range(r)]
        kw = {"constant_values": VALUE} if m == "constant" else {}
        y = np.pad(x, width, mode=m, **kw)
        tag = ",".join(map(str, s))
        np.save(f"{out}/{name}.{tag}.x.npy", x)
        np.save(f"{out}/{name}.{tag}.ref.npy", y)


if __name__ == "__main__":
    if sys.argv[1:2] == ["make"]:
        make(sys.argv[2])
    elif sys.argv[1:2] == ["list"]:
        for name, _, _, s in cases():
            print(f"{name}:{','.join(map(str, s))}")
    else:
        sys.exit(__doc__)
